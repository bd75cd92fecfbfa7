"""What a dataset build found and wrote: the result records of the NSMC and corpus builds.

The builders (`distilkobert.data.nsmc`, `distilkobert.data.corpus`) fill them; the dataset cards
(`distilkobert.data.cards`) and the command line (`distilkobert.data.cli`) read them. The NSMC label names live
here because the per-file counts are keyed by them; `distilkobert.data.nsmc` is where callers import them from.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

LABEL_NAMES = ("negative", "positive")
ID2LABEL = dict(enumerate(LABEL_NAMES))
LABEL2ID = {name: i for i, name in ID2LABEL.items()}
DROP_REASONS = ("invalid_utf8", "invalid_json", "missing_field", "empty", "too_short", "duplicate")


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


@dataclass
class SourceStats:
    """Counts for one source. Invariant: documents_read + chunks_from_split - long_documents_split
    == documents_written + sum(dropped.values())."""

    name: str
    kind: str
    licence: str
    note: str
    documents_read: int = 0
    documents_written: int = 0
    characters_written: int = 0
    train: int = 0
    validation: int = 0
    long_documents_split: int = 0
    chunks_from_split: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: {r: 0 for r in DROP_REASONS})
    altered: dict[str, int] = field(default_factory=lambda: {"nfc": 0, "control_chars": 0, "whitespace": 0})
    invalid_items: int = 0  # invalid UTF-8 / JSON / missing field: each reported with file and line
    reported: list[str] = field(default_factory=list)


@dataclass
class CorpusBuildResult:
    output_dir: str
    splits: dict[str, int]
    characters: dict[str, int]
    sources: list[SourceStats]
    seed: int
    options: dict[str, Any]
    seconds: float = 0.0

    @property
    def dropped(self) -> dict[str, int]:
        total: Counter = Counter()
        for s in self.sources:
            total.update(s.dropped)
        return {r: total[r] for r in DROP_REASONS}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dropped"] = self.dropped
        data["documents_read"] = sum(s.documents_read for s in self.sources)
        return data
