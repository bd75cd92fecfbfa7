"""The study's data: NSMC splits carved by a hash of the id, and the teacher-labelled unlabelled reviews.

Every split is a deterministic function of the review ids (never of file order or a random state), so the
`cpu`, `quick` and `full` modes share one sealed test pool and any rerun gets the same rows.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from distilkobert.data.nsmc import Row, parse_nsmc_file


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


def load_nsmc_splits(train_file: str | Path, *, test_file: str | Path | None, train_size: int | None,
                     validation_size: int | None, test_size: int | None, test_fraction: float = 0.1,
                     validation_fraction: float = 0.05) -> NsmcSplits:
    """Read the NSMC file(s) and carve the study's splits.

    Without `test_file` the test pool is the hash-chosen `test_fraction` of `train_file` ids; with it, the
    official test file is the test pool and nothing is carved for test. Sizes subsample each pool by hash.
    """
    seen: dict[str, str] = {}
    rows, stats = parse_nsmc_file(train_file, seen_ids=seen)
    report = {"train_file": str(train_file), "rows_read": stats.rows_read, "empty_documents": stats.empties,
              "unquoted_twice": stats.unquoted}
    if test_file is not None:
        test_rows, test_stats = parse_nsmc_file(test_file, seen_ids=seen)
        pools = carve_splits(rows, test_fraction=0.0, validation_fraction=validation_fraction)
        pools["test"] = test_rows
        report["test_file"] = str(test_file)
        report["test_rows_read"] = test_stats.rows_read
    else:
        pools = carve_splits(rows, test_fraction=test_fraction, validation_fraction=validation_fraction)
    report["pools"] = {name: len(pool) for name, pool in pools.items()}
    splits = NsmcSplits(
        train=subsample(pools["train"], train_size, "nsmc-study-train-order"),
        validation=subsample(pools["validation"], validation_size, "nsmc-study-validation-order"),
        test=subsample(pools["test"], test_size, "nsmc-study-test-order"),
        report=report,
        train_pool=pools["train"],
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
