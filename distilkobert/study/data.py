"""The study's data: the labelled NSMC rows from a dataset or the official files, the splits carved by a hash of
the id, and the teacher-labelled unlabelled reviews.

NSMC comes as the rest of the project reads it: a dataset folder or Hub dataset repo built by `distilkobert dataset
nsmc`, or the official-format files (`ratings_train.txt`, optionally `ratings_test.txt`). Every split is a
deterministic function of the review ids (never of file order or a random state), so the `cpu`, `quick` and
`full` modes share one sealed test pool and any rerun gets the same rows. A dataset's train and validation rows
together are the rows of its ratings_train.txt, so the study carves its own validation (by hash, as for the
file) from both; a dataset's test split, like --test-file, is the test pool.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distilkobert.data.loading import load_dataset_pinned
from distilkobert.data.nsmc import Row, parse_nsmc_file
from distilkobert.data.sources import SourceError

DATASET_SPLITS = ("train", "validation", "test")
_HUB_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def id_hash(namespace: str, row_id: str) -> float:
    """A uniform number in [0, 1) from (namespace, id)."""
    digest = hashlib.sha256(namespace.encode() + b"\0" + row_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class NsmcSplits:
    train: list[Row]
    validation: list[Row]
    test: list[Row]
    report: dict = field(default_factory=dict)
    train_pool: list[Row] = field(default_factory=list)  # every training row before subsampling
    identity: dict[str, Any] = field(default_factory=dict)  # the source's content (read_nsmc)


def carve_splits(rows: list[Row], *, test_fraction: float, validation_fraction: float) -> dict[str, list[Row]]:
    """train / validation / test pools by the hash of each id: test first, then validation from the rest."""
    pools: dict[str, list[Row]] = {"train": [], "validation": [], "test": []}
    for row in rows:
        if id_hash("nsmc-study-test", row[0]) < test_fraction:
            pools["test"].append(row)
        elif id_hash("nsmc-study-validation", row[0]) < validation_fraction / (1 - test_fraction):
            pools["validation"].append(row)
        else:
            pools["train"].append(row)
    return pools


def subsample(rows: list[Row], size: int | None, namespace: str) -> list[Row]:
    """The `size` rows with the smallest hash of their id (all rows when size is None), in that hash order."""
    ranked = sorted(rows, key=lambda r: id_hash(namespace, r[0]))
    return ranked if size is None else ranked[:size]


@dataclass
class LabelledNsmc:
    """The labelled rows a study reads: `rows` (every non-test row, in source order), `test_rows` when the source
    has a test split (else None: the test pool is carved from `rows`), the source's content identity (for the
    splits stage's key) and what was read (for the results)."""

    rows: list[Row]
    test_rows: list[Row] | None
    identity: dict[str, Any]
    report: dict[str, Any]


def is_hub_repo_id(source: str) -> bool:
    """Is `source` shaped like a Hub dataset repo id `namespace/name` (and not a local path that exists)?"""
    return not Path(source).exists() and bool(_HUB_REPO_ID.fullmatch(source)) and not source.endswith(
        (".txt", ".tsv", ".gz"))


def read_nsmc(source: str | Path, *, revision: str | None = None, test_file: str | Path | None = None) -> LabelledNsmc:
    """The labelled NSMC rows of `source`: an official-format file, or a dataset folder / Hub dataset repo built by
    `distilkobert dataset nsmc` (at `revision`); `test_file`, an official-format test file, gives the test rows.

    Raises `NsmcFormatError` (a bad row of a file, named by file and line) or `SourceError` (a source that cannot
    be read or does not hold NSMC rows, named with the split and row).
    """
    seen: dict[str, str] = {}
    if Path(source).is_file():
        rows, stats = parse_nsmc_file(source, seen_ids=seen)
        data = LabelledNsmc(rows, None, {"file": {"bytes": Path(source).stat().st_size, "sha256": stats.sha256}},
                            {"train_file": str(source), "rows_read": stats.rows_read, "empty_documents": stats.empties,
                             "unquoted_twice": stats.unquoted})
    elif Path(source).is_dir() or is_hub_repo_id(str(source)):
        data = _read_nsmc_dataset(str(source), revision, seen)
    else:
        raise SourceError(f"{source}: no such file or folder (nor a Hub dataset repo id NAMESPACE/NAME)")
    if test_file is not None:
        if data.test_rows is not None:
            raise SourceError(f"--test-file {test_file}: the dataset {source} has its own test split; give one of them")
        data.test_rows, test_stats = parse_nsmc_file(test_file, seen_ids=seen)
        data.identity["test_file"] = {"bytes": Path(test_file).stat().st_size, "sha256": test_stats.sha256}
        data.report.update(test_file=str(test_file), test_rows_read=test_stats.rows_read)
    return data


def _read_nsmc_dataset(name: str, revision: str | None, seen: dict[str, str]) -> LabelledNsmc:
    """Rows of a dataset built by `distilkobert dataset nsmc`: train then validation (the labelled pool), test."""
    try:
        loaded = load_dataset_pinned(name, revision)
    except ValueError as err:
        raise SourceError(str(err)) from None
    splits = loaded.dataset
    unknown = sorted(set(splits) - set(DATASET_SPLITS))
    if unknown or "train" not in splits:
        raise SourceError(f"dataset {name}: has splits {sorted(splits)}; an NSMC dataset has train, optionally "
                          "validation and test (build it with `distilkobert dataset nsmc`)")
    rows = {split: _dataset_rows(name, split, splits[split], seen) for split in DATASET_SPLITS if split in splits}
    report = {"dataset": name, "revision": revision, "resolved_revision": loaded.resolved_revision,
              "dataset_splits": {split: len(r) for split, r in rows.items()}, "rows_read": len(rows["train"]) +
              len(rows.get("validation", []))}
    return LabelledNsmc(rows["train"] + rows.get("validation", []), rows.get("test"), {"dataset": loaded.identity},
                        report)


def _dataset_rows(name: str, split: str, table: Any, seen: dict[str, str]) -> list[Row]:
    """(id, document, label) rows of one split; a missing column, a label other than 0 / 1 or an id seen before
    is an error naming the split and row (a None document reads as "", as the dataset command writes it)."""
    missing = [c for c in ("id", "document", "label") if c not in table.column_names]
    if missing:
        raise SourceError(f"dataset {name}: split {split!r} lacks column(s) {missing} (has {table.column_names})")
    rows: list[Row] = []
    where = f"dataset {name}: split {split!r} row"
    columns = table.select_columns(["id", "document", "label"]).to_dict()
    for index, (row_id, document, label) in enumerate(zip(columns["id"], columns["document"], columns["label"])):
        if label not in (0, 1) or isinstance(label, bool):
            raise SourceError(f"{where} {index} (id {row_id!r}): label {label!r} is not 0 (negative) or 1 (positive)")
        row_id = str(row_id)
        if row_id in seen:
            raise SourceError(f"{where} {index}: duplicate id {row_id!r} (first in {seen[row_id]})")
        seen[row_id] = f"split {split!r} row {index}"
        rows.append((row_id, document or "", int(label)))
    return rows


def load_nsmc_splits(source: str | Path, *, revision: str | None = None, test_file: str | Path | None = None,
                     train_size: int | None, validation_size: int | None, test_size: int | None,
                     test_fraction: float = 0.1, validation_fraction: float = 0.05) -> NsmcSplits:
    """Read the NSMC source (`read_nsmc`) and carve the study's splits.

    Without test rows in the source the test pool is the hash-chosen `test_fraction` of the labelled ids; with
    them, they are the test pool and nothing is carved for test. Sizes subsample each pool by hash.
    """
    data = read_nsmc(source, revision=revision, test_file=test_file)
    report = dict(data.report)
    if data.test_rows is not None:
        pools = carve_splits(data.rows, test_fraction=0.0, validation_fraction=validation_fraction)
        pools["test"] = data.test_rows
    else:
        pools = carve_splits(data.rows, test_fraction=test_fraction, validation_fraction=validation_fraction)
    report["pools"] = {name: len(pool) for name, pool in pools.items()}
    splits = NsmcSplits(
        train=subsample(pools["train"], train_size, "nsmc-study-train-order"),
        validation=subsample(pools["validation"], validation_size, "nsmc-study-validation-order"),
        test=subsample(pools["test"], test_size, "nsmc-study-test-order"),
        report=report,
        train_pool=pools["train"],
        identity=data.identity,
    )
    report["used"] = {"train": len(splits.train), "validation": len(splits.validation), "test": len(splits.test)}
    return splits


@dataclass
class UnlabelledReport:
    lines_read: int = 0
    kept: int = 0
    empty: int = 0
    undecodable: int = 0
    control_characters: int = 0
    duplicates: int = 0
    in_heldout_splits: int = 0
    first_bad_lines: list[str] = field(default_factory=list)

    def note(self, path: Path, line_no: int, reason: str) -> None:
        if len(self.first_bad_lines) < 10:
            self.first_bad_lines.append(f"{path}:{line_no}: {reason}")


def read_unlabelled(path: str | Path, *, exclude: set[str], limit: int | None) -> tuple[list[str], UnlabelledReport]:
    """Unlabelled reviews (one per line, .gz allowed): every usable one, in hash order; `report.kept` counts the
    first `limit` of them, the ones the study labels with the teacher (the rest still count vocabulary pieces).

    Every line that is not used is counted by reason: empty, undecodable UTF-8, binary (control characters),
    a duplicate of an earlier line, or the text of a validation / test review (`exclude`: teacher labels on
    held-out texts would leak them into training).
    """
    path = Path(path)
    report = UnlabelledReport()
    seen: set[str] = set()
    texts: list[str] = []
    for line_no, raw in _raw_lines(path):
        report.lines_read += 1
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as err:
            report.undecodable += 1
            report.note(path, line_no, f"invalid UTF-8 at byte {err.start}")
            continue
        if not text:
            report.empty += 1
            continue
        if any(ord(c) < 32 and c not in "\t" for c in text) or "\x7f" in text:
            report.control_characters += 1
            report.note(path, line_no, "control characters (binary data?)")
            continue
        if text in seen:
            report.duplicates += 1
            continue
        seen.add(text)
        if text in exclude:
            report.in_heldout_splits += 1
            continue
        texts.append(text)
    texts.sort(key=lambda t: id_hash("unlabelled-order", t))
    report.kept = len(texts) if limit is None else min(limit, len(texts))
    return texts, report


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            yield line_no, raw.rstrip(b"\r\n")
