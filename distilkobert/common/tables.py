"""Markdown tables: the one writer behind dataset cards, model cards, results tables and benchmark output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["markdown_table", "format_cell"]


def format_cell(value: Any) -> str:
    """A cell's text: integers with thousands separators, None as "-", anything else as `str`."""
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _escape(text: str) -> str:
    # a "|" inside a cell would end it, a newline would end the row
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, align: str | None = None,
                   pad: bool = False) -> str:
    """A GitHub-flavoured Markdown table.

    Cells go through `format_cell` and are escaped. `align` has one letter per column, "l" or "r" (default:
    all "l"): "r" columns get a `---:` separator and, with `pad`, are right-justified. `pad` widens every
    column to its longest cell so that the plain text lines up too (benchmark and results output).
    """
    header_cells = [_escape(str(h)) for h in headers]
    body = [[_escape(format_cell(c)) for c in row] for row in rows]
    for number, row in enumerate(body, 1):
        if len(row) != len(header_cells):
            raise ValueError(f"markdown_table: row {number} has {len(row)} cells for {len(header_cells)} columns")
    align = align or "l" * len(header_cells)
    if len(align) != len(header_cells) or set(align) - {"l", "r"}:
        raise ValueError(f"markdown_table: align {align!r} needs one 'l' or 'r' per column ({len(header_cells)})")
    if pad:
        widths = [max([len(h), 3] + [len(r[i]) for r in body]) for i, h in enumerate(header_cells)]
    else:
        widths = [0] * len(header_cells)

    def line(cells: Sequence[str], justify: bool) -> str:
        out = []
        for cell, width, side in zip(cells, widths, align):
            out.append(cell.rjust(width) if justify and side == "r" else cell.ljust(width))
        return "| " + " | ".join(out) + " |"

    if pad:
        separator = "| " + " | ".join("-" * (w - 1) + ":" if side == "r" else "-" * w
                                      for w, side in zip(widths, align)) + " |"
    else:
        separator = "|" + "|".join("---:" if side == "r" else "---" for side in align) + "|"
    return "\n".join([line(header_cells, False), separator] + [line(r, True) for r in body])
