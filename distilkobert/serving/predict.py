"""Batched, streaming prediction: records in, one JSON line per record out, in input order.

Every input row gives exactly one output row ``{"line", "id"?, "label", "score", "gold"?}``. A row that was
not classified (empty text, unreadable line) keeps its position with ``"label": null, "score": null`` and an
``"error"`` saying why; unreadable rows are also reported on stderr with their line number and counted in
the summary, never dropped. Only ``batch_size`` records are held in memory at a time.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from tqdm import tqdm

from .errors import ServingError
from .inputs import EMPTY, Record

MAX_REPORTED = 20  # unreadable rows listed one by one on stderr; the rest are counted


class Classifier(Protocol):
    id2label: dict[int, str]
    truncated: int

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]: ...


@dataclass
class PredictSummary:
    """What a prediction run did with every input row."""

    rows: int = 0
    predicted: int = 0
    empty: int = 0
    unreadable: int = 0
    unreadable_lines: list[int] = field(default_factory=list)
    truncated: int = 0
    labels: Counter = field(default_factory=Counter)
    gold_rows: int = 0
    gold_correct: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.gold_correct / self.gold_rows if self.gold_rows else None

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "predicted": self.predicted, "empty": self.empty, "unreadable": self.unreadable,
                "unreadable_lines": self.unreadable_lines, "truncated": self.truncated, "labels": dict(self.labels),
                "gold_rows": self.gold_rows, "accuracy": self.accuracy}


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


_BOOLEANS = {"true": 1, "false": 0}


def gold_label(gold: Any, id2label: dict[int, str]) -> str | None:
    """The input's label as one of the model's label names, or None when it is not one.

    Class indices in any spelling (0 / 1, "0" / "1", 0.0 / 1.0, "1.0", true / false) map through ``id2label``;
    a label name matches case-insensitively ("Positive" is "positive").
    """
    if isinstance(gold, bool):
        gold = int(gold)
    if isinstance(gold, float) and gold.is_integer():
        gold = int(gold)
    if isinstance(gold, str):
        text = gold.strip()
        names = {name.lower(): name for name in id2label.values()}
        if text.lower() in names:
            return names[text.lower()]
        if text.lower() in _BOOLEANS:
            gold = _BOOLEANS[text.lower()]
        else:
            try:
                number = float(text)
            except ValueError:
                return None
            if not number.is_integer():
                return None
            gold = int(number)
    if isinstance(gold, int):
        return id2label.get(gold)
    return None


def _gold_name(record: Record, id2label: dict[int, str], source: str) -> str:
    name = gold_label(record.gold, id2label)
    if name is None:
        known = ", ".join(f"{i} / {n}" for i, n in sorted(id2label.items()))
        raise ServingError(f"{source}:{record.line}: label {record.gold!r} is not one of the model's labels ({known}; "
                           "true / false and 0.0 / 1.0 work too)")
    return name


def predict_records(classifier: Classifier, records: Iterable[Record], *, batch_size: int = 32,
                    summary: PredictSummary | None = None, source: str = "input",
                    warn: TextIO | None = None) -> Iterator[dict[str, Any]]:
    """Yield one output row per record, in order, classifying the readable ones ``batch_size`` at a time."""
    summary = summary if summary is not None else PredictSummary()
    warn = warn or sys.stderr
    truncated_before = classifier.truncated
    for batch in _batches(records, batch_size):
        predictions = iter(classifier.predict([r.text for r in batch if r.ok]))
        for record in batch:
            summary.rows += 1
            row: dict[str, Any] = {"line": record.line}
            if record.id is not None:
                row["id"] = record.id
            if record.ok:
                row.update(next(predictions))
                summary.predicted += 1
                summary.labels[row["label"]] += 1
            else:
                row.update(label=None, score=None, error=record.error)
                if record.error == EMPTY:
                    summary.empty += 1
                else:
                    summary.unreadable += 1
                    if len(summary.unreadable_lines) < MAX_REPORTED:
                        summary.unreadable_lines.append(record.line)
                        print(f"{source}:{record.line}: {record.error} (kept in the output with label null)",
                              file=warn)
            if record.gold is not None:
                if record.ok:  # an unknown label is an error; on an unreadable row it is kept as it was
                    row["gold"] = _gold_name(record, classifier.id2label, source)
                    summary.gold_rows += 1
                    summary.gold_correct += row["gold"] == row["label"]
                else:
                    row["gold"] = gold_label(record.gold, classifier.id2label) or record.gold
            yield row
        summary.truncated = classifier.truncated - truncated_before


def check_output_file(output: str | os.PathLike, source: str | os.PathLike) -> None:
    """Refuse, before any work, an ``--output`` that cannot be written or would replace the input.

    A folder, a path whose folder does not exist, and the input file itself (also under another name, through
    a symlink or a hard link) raise :class:`ServingError` naming ``--output``. "-" (stdout) is always fine.
    """
    if str(output) == "-":
        return
    out = Path(output)
    if out.is_dir():
        raise ServingError(f"--output {output}: is a folder; give the path of a .jsonl file to write")
    parent = out.parent
    if not parent.is_dir():
        raise ServingError(f"--output {output}: the folder {parent} does not exist")
    if out.exists() and Path(source).exists() and os.path.samefile(out, source):
        raise ServingError(f"--output {output}: is the --input file {source}; write the predictions to another file")
    if not os.access(parent, os.W_OK):
        raise ServingError(f"--output {output}: the folder {parent} is not writable")


def run_predict(classifier: Classifier, records: Iterable[Record], output: str | os.PathLike, *,
                batch_size: int = 32, progress: bool = True, source: str = "input") -> PredictSummary:
    """Write the predictions of ``records`` to ``output`` (jsonl; "-" = stdout) and return the summary.

    The file is written under a temporary name next to it and renamed at the end, so a failed run leaves no
    output that looks complete (and the previous file, if any, as it was). An input without a single row is an
    error.
    """
    check_output_file(output, source)
    summary = PredictSummary()
    to_stdout = str(output) == "-"
    out_path = Path(output)
    handle: TextIO
    if to_stdout:
        handle, tmp_path = sys.stdout, out_path
    else:
        fd, name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".partial", dir=out_path.parent)
        os.chmod(name, 0o644)  # mkstemp creates 0600; the predictions are an ordinary file
        handle, tmp_path = open(fd, "w", encoding="utf-8"), Path(name)
    try:
        rows = predict_records(classifier, records, batch_size=batch_size, summary=summary, source=source)
        with tqdm(rows, desc="predict", unit=" rows", file=sys.stderr, disable=not progress, mininterval=1.0) as bar:
            for row in bar:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        if summary.rows == 0:
            raise ServingError(f"--input {source}: empty input (no rows to classify)")
    except BaseException:
        if not to_stdout:
            handle.close()
            tmp_path.unlink(missing_ok=True)
        raise
    if not to_stdout:
        handle.close()
        os.replace(tmp_path, out_path)
    return summary


def format_summary(summary: PredictSummary, output: str) -> str:
    parts = [f"{summary.rows:,} rows -> {output}: {summary.predicted:,} classified "
             f"({', '.join(f'{k} {v:,}' for k, v in sorted(summary.labels.items())) or 'none'})"]
    if summary.empty:
        parts.append(f"{summary.empty:,} empty (label null)")
    if summary.unreadable:
        shown = ", ".join(map(str, summary.unreadable_lines))
        more = "" if summary.unreadable <= len(summary.unreadable_lines) else ", ..."
        parts.append(f"{summary.unreadable:,} unreadable (label null; lines {shown}{more})")
    if summary.truncated:
        parts.append(f"{summary.truncated:,} texts cut at the model's maximum length")
    if summary.accuracy is not None:
        parts.append(f"accuracy against the input's labels {100 * summary.accuracy:.2f}% "
                     f"({summary.gold_correct:,}/{summary.gold_rows:,})")
    return "; ".join(parts)
