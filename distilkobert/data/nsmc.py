"""NSMC (Naver sentiment movie corpus): exact parsing of the official files and the dataset build.

The official `ratings_train.txt` / `ratings_test.txt` are tab-separated (`id<TAB>document<TAB>label`, one
header line). Every document that contains a double quote is CSV-quoted *twice* (the crawl wrote its file
with quoting and the split script quoted it again), so it is unquoted twice, each level validated; the
result may itself begin and end with `"`, so "strip the outer quotes" would be wrong.

`build_nsmc(...)` writes parquet splits + a dataset card (`distilkobert.data.cards`) that
`datasets.load_dataset(folder)` loads. The command line is `distilkobert.data.cli` (`distilkobert dataset nsmc`);
the `datasets.GeneratorBasedBuilder` form is `distilkobert.data.nsmc_builder.NsmcBuilder`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from distilkobert.common.output_dir import check_output_dir, staged_output

# The label map is defined with the build records; the rest of the package imports it from here.
from distilkobert.data.build_results import ID2LABEL as ID2LABEL
from distilkobert.data.build_results import LABEL2ID as LABEL2ID
from distilkobert.data.build_results import LABEL_NAMES, BadRow, NsmcBuildResult, NsmcFileStats
from distilkobert.data.cards import render_nsmc_card
from distilkobert.data.parquet import arrow_schema
from distilkobert.data.sources import SourceError, is_url, iter_lines, open_binary, sha256_of

OFFICIAL_BASE_URL = "https://raw.githubusercontent.com/e9t/nsmc/master/"
OFFICIAL_TRAIN_URL = OFFICIAL_BASE_URL + "ratings_train.txt"
OFFICIAL_TEST_URL = OFFICIAL_BASE_URL + "ratings_test.txt"
HEADER = "id\tdocument\tlabel"
FEATURES: dict[str, Any] = {
    "id": {"dtype": "string", "_type": "Value"},
    "document": {"dtype": "string", "_type": "Value"},
    "label": {"names": list(LABEL_NAMES), "_type": "ClassLabel"},
}
_LABEL_RE = re.compile(r"-?[0-9]+")
ON_BAD_ROWS = ("error", "skip")
CITATION = """@misc{park2016nsmc,
  author       = {Lucy Park},
  title        = {Naver Sentiment Movie Corpus v1.0},
  year         = {2016},
  howpublished = {\\url{https://github.com/e9t/nsmc}}
}"""


class NsmcFormatError(Exception):
    """A row of an NSMC file is invalid; the message names the file and line."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file, self.line, self.reason = file, line, reason


class QuotingError(ValueError):
    """A document field is not validly CSV-quoted (at the level given in the message)."""


def _unquote_field(text: str, level: int) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise QuotingError(f"invalid quoting at level {level}: a field with a double quote must be enclosed in "
                           f"double quotes")
    inner = text[1:-1]
    # A valid quoted field only has doubled quotes inside: every run of quotes has even length.
    if '"' in inner.replace('""', ""):
        raise QuotingError(f"invalid quoting at level {level}: lone double quote inside a quoted field")
    return inner.replace('""', '"')


def unquote_document(raw: str) -> tuple[str, bool]:
    """The original review from an official-file field: `(text, was_unquoted)`.

    A field without `"` is the review itself. A field with `"` must be a valid CSV-quoted field whose
    content is again a valid CSV-quoted field; its content is the review. Raises `QuotingError` otherwise.
    """
    if '"' not in raw:
        return raw, False
    return _unquote_field(_unquote_field(raw, 1), 2), True


Row = tuple[str, str, int]


def parse_nsmc_file(
    location: str | os.PathLike,
    *,
    on_bad_rows: str = "error",
    seen_ids: dict[str, str] | None = None,
    url_hint: str = "",
) -> tuple[list[Row], NsmcFileStats]:
    """Parse one official-format NSMC file (local path, plain or gzip, or URL) into `(id, document, label)`.

    `seen_ids` (id -> "file:line") is shared between files so that an id repeated across train and test
    is caught too. With `on_bad_rows="error"` the first bad row raises `NsmcFormatError`; with `"skip"` it
    is recorded in the stats and left out. A missing or wrong header always raises.
    """
    if on_bad_rows not in ON_BAD_ROWS:
        raise ValueError(f"on_bad_rows must be one of {ON_BAD_ROWS}, not {on_bad_rows!r}")
    name = str(location)
    seen = {} if seen_ids is None else seen_ids
    stats = NsmcFileStats(file=name)
    rows: list[Row] = []
    label_counts = [0, 0]

    def bad(line_no: int, reason: str) -> None:
        if on_bad_rows == "error":
            raise NsmcFormatError(name, line_no, reason + " (use --on-bad-rows skip to skip such rows)")
        stats.skipped.append(BadRow(name, line_no, reason))

    handle = open_binary(location, url_hint=url_hint)
    line_no = 0
    try:
        with handle:
            for line_no, raw in iter_lines(handle, name):  # LF, CRLF or CR (old Mac) line endings
                if line_no == 1:
                    header = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
                    if header != HEADER:
                        raise NsmcFormatError(name, 1, f"expected the header {HEADER!r}, found {header[:80]!r}")
                    continue
                stats.rows_read += 1
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    bad(line_no, f"invalid UTF-8 at byte {exc.start}")
                    continue
                fields = text.split("\t")
                if len(fields) != 3:
                    bad(line_no, f"expected 3 tab-separated fields, found {len(fields)}")
                    continue
                row_id, raw_doc, raw_label = fields
                if not row_id:
                    bad(line_no, "empty id")
                    continue
                if not _LABEL_RE.fullmatch(raw_label):
                    bad(line_no, f"label {raw_label[:40]!r} is not an integer")
                    continue
                label = int(raw_label)
                if label not in (0, 1):
                    bad(line_no, f"label {label} is out of range (0 = negative, 1 = positive)")
                    continue
                try:
                    document, was_quoted = unquote_document(raw_doc)
                except QuotingError as exc:
                    bad(line_no, str(exc))
                    continue
                first = seen.get(row_id)
                if first is not None:
                    bad(line_no, f"duplicate id {row_id} (first seen at {first})")
                    continue
                seen[row_id] = f"{name}:{line_no}"
                rows.append((row_id, document, label))
                label_counts[label] += 1
                stats.empties += document == ""
                stats.unquoted += was_quoted
    except (OSError, EOFError) as exc:  # truncated or corrupt gzip, read error
        raise SourceError(f"{name}: read error after line {line_no}: {exc}") from None
    if line_no == 0:
        raise NsmcFormatError(name, 1, "the file is empty (expected the header line)")
    stats.rows_kept = len(rows)
    stats.labels = dict(zip(LABEL_NAMES, label_counts))
    stats.sha256 = sha256_of(location)
    return rows, stats


def _split_key(seed: int, row_id: str) -> bytes:
    return hashlib.sha256(f"{seed}\0{row_id}".encode()).digest()


def carve_validation(rows: Sequence[Row], size: int, seed: int) -> tuple[list[Row], list[Row]]:
    """Split `rows` into (train, validation), `size` rows stratified by label, deterministically.

    Each label gets its share of `size` (largest-remainder rounding); within a label the rows with the
    smallest sha256(seed, id) are taken. The result depends only on the ids, labels, seed and size (not on
    row order or library versions); both parts keep the file order.
    """
    if size < 0:
        raise ValueError("validation size must be >= 0")
    if size >= len(rows):
        raise ValueError(f"validation size {size} must be smaller than the {len(rows)} training rows")
    if size == 0:
        return list(rows), []
    by_label: dict[int, list[int]] = {}
    for index, row in enumerate(rows):
        by_label.setdefault(row[2], []).append(index)
    labels = sorted(by_label)
    exact = {lab: size * len(by_label[lab]) / len(rows) for lab in labels}
    quota = {lab: int(exact[lab]) for lab in labels}
    for lab in sorted(labels, key=lambda lab: (-(exact[lab] - quota[lab]), lab))[: size - sum(quota.values())]:
        quota[lab] += 1
    chosen: set[int] = set()
    for lab in labels:
        ranked = sorted(by_label[lab], key=lambda i: _split_key(seed, rows[i][0]))
        chosen.update(ranked[: quota[lab]])
    train = [row for i, row in enumerate(rows) if i not in chosen]
    validation = [row for i, row in enumerate(rows) if i in chosen]
    return train, validation


def same_source(a: str | os.PathLike | None, b: str | os.PathLike | None) -> bool:
    """Do `a` and `b` name the same input: the same URL, or the same local file under any name (symlink, ..)?"""
    if a is None or b is None:
        return False
    if is_url(a) or is_url(b):
        return str(a) == str(b)
    return Path(a).exists() and Path(b).exists() and os.path.samefile(a, b)


def load_nsmc_splits(
    train_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    *,
    validation_size: int = 5000,
    seed: int = 42,
    on_bad_rows: str = "error",
) -> tuple[dict[str, list[Row]], list[NsmcFileStats]]:
    """Parse the sources and carve the validation split: `({split: rows}, [file stats])`.

    With neither file given the official URLs are used for both; with only `train_file` there is no test
    split (the caller warns); with only `test_file` the train file comes from the official URL.
    """
    test_source: str | os.PathLike | None = test_file
    if train_file is None:
        train_file = OFFICIAL_TRAIN_URL
        if test_file is None:
            test_source = OFFICIAL_TEST_URL
    if same_source(train_file, test_source):
        raise ValueError(f"--test-file {test_source}: is the --train-file; the test split must be other reviews")
    seen: dict[str, str] = {}
    train_rows, train_stats = parse_nsmc_file(
        train_file, on_bad_rows=on_bad_rows, seen_ids=seen,
        url_hint="No network? Download ratings_train.txt and pass --train-file PATH.")
    stats = [train_stats]
    train, validation = carve_validation(train_rows, validation_size, seed)
    splits: dict[str, list[Row]] = {"train": train}
    if validation_size:
        splits["validation"] = validation
    if test_source is not None:
        test_rows, test_stats = parse_nsmc_file(
            test_source, on_bad_rows=on_bad_rows, seen_ids=seen,
            url_hint="No network? Download ratings_test.txt and pass --test-file PATH.")
        if not test_rows:
            raise ValueError(f"--test-file {test_source}: no test row left ({test_stats.rows_read} read, "
                             f"{len(test_stats.skipped)} skipped); the test split would be empty")
        splits["test"] = test_rows
        stats.append(test_stats)
    return splits, stats


def _write_split(data_dir: Path, split: str, rows: Sequence[Row]) -> int:
    schema = arrow_schema(FEATURES, {"id": pa.string(), "document": pa.string(), "label": pa.int64()})
    columns = {"id": [r[0] for r in rows], "document": [r[1] for r in rows], "label": [r[2] for r in rows]}
    table = pa.table(columns, schema=schema)
    pq.write_table(table, data_dir / f"{split}-00000-of-00001.parquet", compression="zstd")
    return table.nbytes


def build_nsmc(
    output_dir: str | os.PathLike,
    train_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    *,
    validation_size: int = 5000,
    seed: int = 42,
    on_bad_rows: str = "error",
    overwrite: bool = False,
    version: str | None = None,
    command: str | None = None,
) -> NsmcBuildResult:
    """Build the NSMC dataset folder (parquet splits + README.md card) at `output_dir`.

    Raises `NsmcFormatError`, `SourceError`, `OutputDirError` or `ValueError` with a clear message.
    """
    inputs = {"--train-file": train_file, "--test-file": test_file}  # never deleted by --overwrite
    check_output_dir(output_dir, overwrite, inputs=inputs)
    splits, stats = load_nsmc_splits(train_file, test_file, validation_size=validation_size, seed=seed,
                                     on_bad_rows=on_bad_rows)
    split_labels = {s: {n: sum(1 for r in rows if r[2] == i) for i, n in enumerate(LABEL_NAMES)}
                    for s, rows in splits.items()}
    result = NsmcBuildResult(output_dir=str(output_dir), splits={s: len(r) for s, r in splits.items()},
                             split_labels=split_labels, files=stats, seed=seed, validation_size=validation_size)
    with staged_output(output_dir, overwrite, inputs=inputs) as staging:
        data_dir = staging / "data"
        data_dir.mkdir()
        num_bytes = {s: _write_split(data_dir, s, rows) for s, rows in splits.items()}
        card = render_nsmc_card(result, num_bytes, command or "(built from Python: build_nsmc)", version,
                                on_bad_rows, label_names=LABEL_NAMES, citation=CITATION)
        (staging / "README.md").write_text(card, encoding="utf-8")
    return result


def split_real_nsmc(source: str | os.PathLike, out_dir: str | os.PathLike,
                    test_size: int = 10_000) -> tuple[Path, Path]:
    """Split an NSMC-format file without a test split into train / test files in the official format, byte for byte.

    The 'test' rows are chosen by a hash of their id (deterministic, about `test_size` rows), so they are never
    seen by training or model selection. Returns the paths of `nsmc_train.tsv` and `nsmc_test.tsv` in `out_dir`.
    """
    source, out_dir = Path(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_path, test_path = out_dir / "nsmc_train.tsv", out_dir / "nsmc_test.tsv"
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8", newline="") as f:
        lines = f.readlines()
    header, rows = lines[0], lines[1:]
    threshold = test_size / max(len(rows), 1)
    with open(train_path, "w", encoding="utf-8", newline="") as tr, open(test_path, "w", encoding="utf-8",
                                                                           newline="") as te:
        tr.write(header)
        te.write(header)
        for line in rows:
            key = line.split("\t", 1)[0].encode("utf-8")
            h = int.from_bytes(hashlib.sha256(b"nsmc-test\0" + key).digest()[:8], "big") / 2**64
            (te if h < threshold else tr).write(line)
    return train_path, test_path
