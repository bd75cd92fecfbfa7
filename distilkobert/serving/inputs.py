"""Streaming readers of the inputs of ``distilkobert predict``: one :class:`Record` per input row, in order.

Formats: ``text`` (one text per line), ``tsv`` (NSMC: a header with a ``document`` column, usually
``id<TAB>document<TAB>label``; documents with ``"`` are CSV-quoted twice, unquoted by the NSMC reader's
rules) and ``jsonl`` (one JSON object per line, the text in ``--text-field``). Plain or gzip files, read line
by line: nothing holds more than one line in memory.

A row that cannot be read (invalid UTF-8, invalid JSON, bad NSMC quoting, wrong number of fields) is *not*
dropped: it becomes a record with ``text=None`` and ``error`` saying why, so the output keeps one row per
input row. An empty (or whitespace-only) text likewise keeps its position with ``error="empty text"``.
Problems that make the whole file unreadable (unknown format, a TSV without a ``document`` column, a JSONL
row without the text field) raise :class:`ServingError` naming the file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from distilkobert.data.nsmc import QuotingError, unquote_document
from distilkobert.data.sources import SourceError, iter_lines, open_binary

from .errors import ServingError

FORMATS = ("text", "tsv", "jsonl")
_SUFFIX_FORMATS = {".txt": "text", ".text": "text", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
NSMC_HEADER = ("id", "document", "label")
EMPTY = "empty text"


@dataclass
class Record:
    """One input row: ``line`` is its 1-based line number in the file; ``text`` is None when it could not be
    read, then ``error`` says why (``error`` is also set, to ``"empty text"``, for an empty text)."""

    line: int
    text: str | None
    id: str | None = None
    gold: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _open(path: Path) -> BinaryIO:
    try:
        return open_binary(path)
    except SourceError as exc:
        raise ServingError(f"--input {exc}") from None


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start}"


def _text_record(line: int, text: str, **extra: Any) -> Record:
    return Record(line=line, text=text, error=EMPTY if not text.strip() else None, **extra)


def detect_format(path: str | os.PathLike, requested: str = "auto") -> str:
    """The input format: ``requested`` unless "auto", else from the name (``.gz`` ignored); a ``.txt`` file
    whose first line is the NSMC header (the official ``ratings_*.txt``) is read as tsv."""
    if requested != "auto":
        if requested not in FORMATS:
            raise ServingError(f"--input-format {requested}: expected auto, {', '.join(FORMATS)}")
        return requested
    path = Path(path)
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    suffix = Path(name).suffix.lower()
    fmt = _SUFFIX_FORMATS.get(suffix)
    if fmt is None:
        raise ServingError(f"--input {path}: unknown input format {suffix or '(no extension)'!r}: expected .txt "
                           "(one text per line), .tsv (NSMC) or .jsonl, optionally .gz, or give --input-format "
                           f"{'|'.join(FORMATS)}")
    if fmt == "text":
        with _open(path) as handle:
            first = next(_lines(handle, path), (1, b""))[1]
        if tuple(first.split(b"\t")) == tuple(h.encode() for h in NSMC_HEADER):
            return "tsv"
    return fmt


def _lines(handle: BinaryIO, path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of the input (LF, CRLF or CR endings); a truncated .gz is a `ServingError`."""
    try:
        yield from iter_lines(handle, path)
    except SourceError as exc:
        raise ServingError(f"--input {exc}") from None


def read_text(path: Path) -> Iterator[Record]:
    with _open(path) as handle:
        for line, raw in _lines(handle, path):
            text, error = _decode(raw)
            yield Record(line, None, error=error) if text is None else _text_record(line, text)


def read_tsv(path: Path) -> Iterator[Record]:
    with _open(path) as handle:
        lines = _lines(handle, path)
        first = next(lines, None)
        if first is None:
            return
        header_text, error = _decode(first[1])
        header = (header_text or "").split("\t")
        if error or "document" not in header:
            raise ServingError(f"{path}:1: expected a tab-separated header with a 'document' column (NSMC: "
                               f"{chr(9).join(NSMC_HEADER)!r}), found {(header_text or repr(first[1]))[:80]!r}")
        doc_col = header.index("document")
        id_col = header.index("id") if "id" in header else None
        label_col = header.index("label") if "label" in header else None
        for line, raw in lines:
            text, error = _decode(raw)
            if text is None:
                yield Record(line, None, error=error)
                continue
            fields = text.split("\t")
            row_id = fields[id_col] if id_col is not None and id_col < len(fields) else None
            if len(fields) != len(header):
                yield Record(line, None, id=row_id, error=f"expected {len(header)} tab-separated fields, found "
                                                          f"{len(fields)}")
                continue
            gold: Any = fields[label_col] if label_col is not None else None
            if isinstance(gold, str) and gold.lstrip("-").isdigit():
                gold = int(gold)
            try:
                document, _ = unquote_document(fields[doc_col])
            except QuotingError as exc:
                yield Record(line, None, id=row_id, gold=gold, error=str(exc))
                continue
            yield _text_record(line, document, id=row_id, gold=gold)


def read_jsonl(path: Path, text_field: str = "text", id_field: str = "id", label_field: str = "label"
               ) -> Iterator[Record]:
    with _open(path) as handle:
        for line, raw in _lines(handle, path):
            text, error = _decode(raw)
            if text is None:
                yield Record(line, None, error=error)
                continue
            if not text.strip():
                yield Record(line, None, error="empty line (no JSON object)")
                continue
            try:
                obj = json.loads(text)
                error = f"expected a JSON object, found {type(obj).__name__}"
            except json.JSONDecodeError as exc:
                obj, error = None, f"invalid JSON at column {exc.colno}: {exc.msg}"
            if not isinstance(obj, dict):
                if line == 1:  # not one bad row: the file is not JSON lines at all
                    raise ServingError(f"{path}:1: not JSON lines ({error}; found {text[:60]!r}); give the format "
                                       "with --input-format")
                yield Record(line, None, error=error)
                continue
            if text_field not in obj:
                raise ServingError(f"{path}:{line}: no field {text_field!r} (fields: {', '.join(map(str, obj))}); "
                                   "choose the text field with --text-field")
            row_id = obj.get(id_field)
            row_id = None if row_id is None else str(row_id)
            value = obj[text_field]
            if not isinstance(value, str):
                yield Record(line, None, id=row_id, error=f"field {text_field!r} is {type(value).__name__}, not text")
                continue
            yield _text_record(line, value, id=row_id, gold=obj.get(label_field))


def read_records(path: str | os.PathLike, fmt: str = "auto", *, text_field: str = "text",
                 id_field: str = "id") -> Iterator[Record]:
    """The records of ``path`` in order, streamed (see the module docstring for the formats)."""
    path = Path(path)
    fmt = detect_format(path, fmt)
    if fmt == "text":
        return read_text(path)
    if fmt == "tsv":
        return read_tsv(path)
    return read_jsonl(path, text_field=text_field, id_field=id_field)
