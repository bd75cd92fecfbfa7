"""NSMC (Naver sentiment movie corpus): exact parsing of the official files and the dataset build.

The official `ratings_train.txt` / `ratings_test.txt` are tab-separated (`id<TAB>document<TAB>label`, one
header line). Every document that contains a double quote is CSV-quoted *twice* (the crawl wrote its file
with quoting and the split script quoted it again), so it is unquoted twice, each level validated; the
result may itself begin and end with `"`, so "strip the outer quotes" would be wrong.

`build_nsmc(...)` writes parquet splits + a dataset card that `datasets.load_dataset(folder)` loads;
`main(argv)` is `distilkobert dataset nsmc` / `python dataset_scripts/nsmc.py`. `NsmcBuilder` (a
`datasets.GeneratorBasedBuilder`) is importable from here too; it is loaded lazily so that importing this
module does not import `datasets` before the Hub endpoint is configured.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from distilkobert.data.sources import SourceError, open_binary, sha256_of

OFFICIAL_BASE_URL = "https://raw.githubusercontent.com/e9t/nsmc/master/"
OFFICIAL_TRAIN_URL = OFFICIAL_BASE_URL + "ratings_train.txt"
OFFICIAL_TEST_URL = OFFICIAL_BASE_URL + "ratings_test.txt"
HEADER = "id\tdocument\tlabel"
LABEL_NAMES = ("negative", "positive")
FEATURES: dict[str, Any] = {
    "id": {"dtype": "string", "_type": "Value"},
    "document": {"dtype": "string", "_type": "Value"},
    "label": {"names": list(LABEL_NAMES), "_type": "ClassLabel"},
}
_LABEL_RE = re.compile(r"-?[0-9]+")
ON_BAD_ROWS = ("error", "skip")


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


@dataclass
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class NsmcFileStats:
    """What parsing one file found; every row read is either kept or in `skipped`."""

    file: str
    rows_read: int = 0
    rows_kept: int = 0
    empties: int = 0
    unquoted: int = 0
    labels: dict[str, int] = field(default_factory=lambda: {name: 0 for name in LABEL_NAMES})
    skipped: list[BadRow] = field(default_factory=list)
    sha256: str | None = None


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
            for line_no, raw in enumerate(handle, 1):
                if raw.endswith(b"\n"):
                    raw = raw[:-1]
                    if raw.endswith(b"\r"):
                        raw = raw[:-1]
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


@dataclass
class NsmcBuildResult:
    output_dir: str
    splits: dict[str, int]
    split_labels: dict[str, dict[str, int]]
    files: list[NsmcFileStats]
    seed: int
    validation_size: int

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def empties(self) -> int:
        return sum(f.empties for f in self.files)

    @property
    def unquoted(self) -> int:
        return sum(f.unquoted for f in self.files)

    @property
    def skipped(self) -> list[BadRow]:
        return [bad for f in self.files for bad in f.skipped]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(rows_read=self.rows_read, empties=self.empties, unquoted=self.unquoted,
                    skipped_count=len(self.skipped))
        return data


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
        splits["test"] = test_rows
        stats.append(test_stats)
    return splits, stats


def _write_split(data_dir: Path, split: str, rows: Sequence[Row]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from distilkobert.data.parquet import arrow_schema

    schema = arrow_schema(FEATURES, {"id": pa.string(), "document": pa.string(), "label": pa.int64()})
    columns = {"id": [r[0] for r in rows], "document": [r[1] for r in rows], "label": [r[2] for r in rows]}
    table = pa.table(columns, schema=schema)
    pq.write_table(table, data_dir / f"{split}-00000-of-00001.parquet", compression="zstd")
    return table.nbytes


CITATION = """@misc{park2016nsmc,
  author       = {Lucy Park},
  title        = {Naver Sentiment Movie Corpus v1.0},
  year         = {2016},
  howpublished = {\\url{https://github.com/e9t/nsmc}}
}"""


def render_nsmc_card(result: NsmcBuildResult, num_bytes: dict[str, int], command: str,
                     version: str | None, on_bad_rows: str) -> str:
    from distilkobert import __version__
    from distilkobert.data.output import data_files_config, md_table, render_card

    metadata: dict[str, Any] = {
        "pretty_name": "NSMC (Naver Sentiment Movie Corpus)",
        "language": ["ko"],
        "license": "cc0-1.0",
        "task_categories": ["text-classification"],
        "task_ids": ["sentiment-classification"],
        "size_categories": ["100K<n<1M" if result.rows_read >= 100_000 else "n<1K" if result.rows_read < 1000
                            else "1K<n<10K" if result.rows_read < 10_000 else "10K<n<100K"],
        "configs": data_files_config(list(result.splits)),
        "dataset_info": {
            "features": [
                {"name": "id", "dtype": "string"},
                {"name": "document", "dtype": "string"},
                {"name": "label", "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(LABEL_NAMES)}}}},
            ],
            "splits": [{"name": s, "num_bytes": num_bytes[s], "num_examples": n} for s, n in result.splits.items()],
            "dataset_size": sum(num_bytes.values()),
        },
    }
    split_rows = [[s, n, result.split_labels[s]["negative"], result.split_labels[s]["positive"]]
                  for s, n in result.splits.items()]
    file_rows = [[f"`{f.file}`", f.sha256 or "(URL)", f.rows_read, f.rows_kept, f.empties, f.unquoted,
                  len(f.skipped)] for f in result.files]
    skipped = result.skipped
    skipped_text = "None." if not skipped else "\n".join(f"- `{b}`" for b in skipped[:200]) + (
        f"\n- ... and {len(skipped) - 200} more" if len(skipped) > 200 else "")
    has_test = "test" in result.splits
    body = f"""
# NSMC: Naver Sentiment Movie Corpus

Movie reviews from Naver Movies, each labelled `negative` (rating 1-4) or `positive` (rating 9-10).
Built by `distilkobert dataset nsmc` (distilkobert {__version__}) from the official files; loads with
`datasets.load_dataset(...)` from plain parquet, no loading script.

- **Source:** https://github.com/e9t/nsmc (`ratings_train.txt`, `ratings_test.txt`), by Lucy Park.
- **Licence:** CC0 1.0 (public domain dedication), as the original.
- **Features:** `id` (string, the review id), `document` (string, the review; may be empty),
  `label` (`ClassLabel`: 0 = `negative`, 1 = `positive`).

## Splits

{md_table(["split", "rows", "negative", "positive"], split_rows)}

`validation` has {result.splits.get("validation", 0):,} rows carved from the official training file,
stratified by label: each label gets its share of the size (largest-remainder rounding) and, within a label,
the rows with the smallest `sha256(f"{{seed}}\\0{{id}}")` are taken (seed {result.seed}). The split therefore
depends only on ids, labels, seed and size. {"`test` is the official test file, untouched." if has_test else
"**No test split:** no test file was given to this build."} NSMC has no official validation split; select
checkpoints on `validation`, never on `test`.

## Format and parsing rules

The official files are UTF-8, tab-separated, with the header `id<TAB>document<TAB>label`, one row per line.
Every document containing a double quote is CSV-quoted **twice** in the official files (the crawl's file was
written with quoting and the split script quoted it again). Each such field was unquoted twice, checking at
each level that it is a valid quoted field (enclosed in `"`, inner quotes doubled); the result is the original
review, which may itself begin and end with `"` (so outer quotes are never simply stripped). Empty documents
are kept as empty strings. A row with the wrong number of fields, invalid UTF-8, an empty id, a non-integer or
out-of-range label, invalid quoting, or an id already seen (in either file) is a bad row: the build stops
naming file and line, or with `--on-bad-rows skip` it is skipped and listed below. This build used
`--on-bad-rows {on_bad_rows}`.

{md_table(["file", "sha256", "rows read", "rows kept", "empty documents", "unquoted documents", "skipped"], file_rows)}

Skipped rows:

{skipped_text}

## How it was built

```
{command}
```

Version: {version or "(not tagged)"}; seed: {result.seed}; validation size: {result.validation_size:,}.

## Citation

```bibtex
{CITATION}
```
"""
    return render_card(metadata, body)


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
    from distilkobert.data.output import check_output_dir, staged_output

    check_output_dir(output_dir, overwrite)
    splits, stats = load_nsmc_splits(train_file, test_file, validation_size=validation_size, seed=seed,
                                     on_bad_rows=on_bad_rows)
    split_labels = {s: {n: sum(1 for r in rows if r[2] == i) for i, n in enumerate(LABEL_NAMES)}
                    for s, rows in splits.items()}
    result = NsmcBuildResult(output_dir=str(output_dir), splits={s: len(r) for s, r in splits.items()},
                             split_labels=split_labels, files=stats, seed=seed, validation_size=validation_size)
    with staged_output(output_dir, overwrite) as staging:
        data_dir = staging / "data"
        data_dir.mkdir()
        num_bytes = {s: _write_split(data_dir, s, rows) for s, rows in splits.items()}
        card = render_nsmc_card(result, num_bytes, command or "(built from Python: build_nsmc)", version,
                                on_bad_rows)
        (staging / "README.md").write_text(card, encoding="utf-8")
    return result


def format_summary(result: NsmcBuildResult) -> str:
    lines = ["NSMC build summary"]
    for f in result.files:
        lines.append(f"  {f.file}: rows read {f.rows_read:,}, kept {f.rows_kept:,}, empty documents "
                     f"{f.empties:,}, unquoted {f.unquoted:,}, skipped {len(f.skipped):,}; labels "
                     + ", ".join(f"{k} {v:,}" for k, v in f.labels.items()))
    lines.append(f"  rows read: {result.rows_read:,}   empty documents: {result.empties:,}   "
                 f"unquoted: {result.unquoted:,}   skipped: {len(result.skipped):,}")
    for split, n in result.splits.items():
        labels = ", ".join(f"{k} {v:,}" for k, v in result.split_labels[split].items())
        lines.append(f"  {split}: {n:,} rows ({labels})")
    for bad in result.skipped[:50]:
        lines.append(f"  skipped {bad}")
    if len(result.skipped) > 50:
        lines.append(f"  ... {len(result.skipped) - 50} more skipped rows (all listed in the dataset card)")
    lines.append(f"  written to {result.output_dir}")
    return "\n".join(lines)


def build_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="distilkobert dataset nsmc",
        description="Build the NSMC dataset (train / validation / test parquet + dataset card) from the official "
                    "files, parsed exactly (double CSV unquoting), and optionally publish it with a version tag.",
        epilog="With neither --train-file nor --test-file the official files are downloaded from "
               f"{OFFICIAL_BASE_URL}. With --train-file but no --test-file there is NO test split (a warning is "
               "printed). Output loads with datasets.load_dataset(OUTPUT_DIR).",
    )
    p.add_argument("--train-file", help="ratings_train.txt: local path (plain or .gz) or URL "
                                        "(default: the official URL)")
    p.add_argument("--test-file", help="ratings_test.txt: local path (plain or .gz) or URL (default: the official "
                                       "URL when --train-file is not given either)")
    p.add_argument("--validation-size", type=int, default=5000,
                   help="rows carved from train into validation, stratified by label; 0 = no validation split "
                        "(default: 5000)")
    p.add_argument("--seed", type=int, default=42, help="seed of the deterministic validation carve (default: 42)")
    p.add_argument("--on-bad-rows", choices=ON_BAD_ROWS, default="error",
                   help="error: stop at the first bad row, naming file and line (default); skip: leave bad rows "
                        "out and report each by line and reason")
    p.add_argument("--output-dir", required=True, help="folder to write (parquet under data/ + README.md)")
    p.add_argument("--overwrite", action="store_true", help="replace --output-dir if it exists and is not empty")
    p.add_argument("--push-to-hub", metavar="REPO_ID", help="publish the folder as this dataset repo on the "
                   "configured Hub (HF_ENDPOINT, default: the local server); needs --version")
    p.add_argument("--version", help="version tag for the published commit (e.g. v1.0); an existing tag is refused")
    p.add_argument("--summary-json", metavar="PATH", help="also write the build summary as JSON to PATH")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """`distilkobert dataset nsmc ...`: returns 0 on success, 1 on a data/Hub error, 2 on a usage error."""
    parser = build_arg_parser()
    args = parser.parse_args(argv)
    if args.push_to_hub and not args.version:
        parser.error("--push-to-hub needs --version TAG")
    if args.validation_size < 0:
        parser.error("--validation-size must be >= 0")
    if args.push_to_hub:
        from distilkobert.data.output import prepare_hub

        if not prepare_hub(args.push_to_hub, args.version):
            return 1
    if args.train_file is not None and args.test_file is None:
        print("warning: --train-file given without --test-file: the dataset will have NO test split "
              "(train and validation only). Pass --test-file ratings_test.txt for the official test split.",
              file=sys.stderr)
    from distilkobert.data.output import OutputDirError, command_line

    try:
        result = build_nsmc(args.output_dir, args.train_file, args.test_file,
                            validation_size=args.validation_size, seed=args.seed, on_bad_rows=args.on_bad_rows,
                            overwrite=args.overwrite, version=args.version,
                            command=command_line("distilkobert dataset nsmc", argv))
    except (NsmcFormatError, SourceError, OutputDirError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from distilkobert.data.output import report_and_publish

    return report_and_publish(format_summary(result), result.to_dict(), output_dir=args.output_dir,
                              summary_json=args.summary_json, repo_id=args.push_to_hub, version=args.version)


def __getattr__(name: str) -> Any:
    if name in ("NsmcBuilder", "NsmcConfig"):
        from distilkobert.data import nsmc_builder

        return getattr(nsmc_builder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
