"""The pretraining corpus: combined sources, cleaned, deduplicated, split, written as a parquet dataset.

Sources (combinable): local text files or globs (plain or gzip; one document per line, or blank-line
separated paragraphs with `paragraphs=True`), JSON lines (`.jsonl`/`.ndjson`/`.json`, optionally `.gz`) with a
text field, and Hub datasets `name[:config]:split:column` read with datasets streaming.

Each document is NFC-normalised, stripped of control/invisible format characters and whitespace-collapsed;
optionally a document longer than `split_long` characters is cut at sentence ends into chunks of at most that
length; then too-short and exact-duplicate texts (8-byte keyed blake2b, one set of ints) are dropped. Every
drop and alteration is counted per source. Processing is a single streaming pass: rows go to parquet writers
in row groups, so memory is bounded by one row group per split, the dedup set (`HashSet64`, 16-32 bytes
per unique document) and, with `validation_size`, that many validation documents.

Split: with `validation_fraction` f a document is in `validation` iff its keyed hash < f * 2**64 (stable as
the corpus grows); with `validation_size` N the N documents with the smallest keyed hashes are (exact count).

The dataset card is rendered by `distilkobert.data.cards`; the command line is `distilkobert.data.cli`
(`distilkobert dataset corpus`); the `datasets.GeneratorBasedBuilder` form is
`distilkobert.data.corpus_builder.CorpusBuilder`. `datasets` reads HF_ENDPOINT when imported, so a command that
reads Hub sources configures the endpoint before importing this module.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import heapq
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa

from distilkobert.common.output_dir import check_output_dir, staged_output
from distilkobert.data.build_results import DROP_REASONS, CorpusBuildResult, SourceStats
from distilkobert.data.cards import render_corpus_card
from distilkobert.data.cleaning import clean_text, pack_sentences
from distilkobert.data.dedup import HashSet64
from distilkobert.data.parquet import SplitWriter, arrow_schema
from distilkobert.data.sources import SourceError, is_hub_dataset_spec, iter_lines, open_binary

FEATURES: dict[str, Any] = {"text": {"dtype": "string", "_type": "Value"}}
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
MAX_REPORTED_PER_SOURCE = 20  # printed; all are counted, the first 100 kept for the card


class CorpusError(Exception):
    """A corpus source or option is unusable; the message names it."""


@dataclass
class SourceSpec:
    """One input: a file (`text` / `jsonl`) or a Hub dataset (`hub`)."""

    name: str
    kind: str
    given_as: str
    location: str = ""
    config: str | None = None
    split: str | None = None
    column: str | None = None
    licence: str = "unknown"
    note: str = ""


# ---------------------------------------------------------------------------------------------------- sources

def _is_json_name(path: str) -> bool:
    name = path[:-3] if path.endswith(".gz") else path
    return name.endswith(JSON_SUFFIXES)


def resolve_sources(specs: Sequence[str]) -> list[SourceSpec]:
    """Expand paths/globs to one `SourceSpec` per file (sorted) and parse Hub specs; unknowns raise."""
    resolved: list[SourceSpec] = []
    for spec in specs:
        if os.path.isfile(spec):
            paths = [spec]
        elif glob.has_magic(spec):
            paths = sorted(p for p in glob.glob(spec) if os.path.isfile(p))
            if not paths:
                raise CorpusError(f"source {spec!r}: the glob matches no file")
        elif os.path.isdir(spec):
            raise CorpusError(f"source {spec!r} is a folder; give files or a glob such as {spec.rstrip('/')}/*.gz")
        elif is_hub_dataset_spec(spec):
            parts = spec.split(":")
            name, config = parts[0], (parts[1] if len(parts) == 4 else None)
            resolved.append(SourceSpec(name=spec, kind="hub", given_as=spec, location=name, config=config,
                                       split=parts[-2], column=parts[-1]))
            continue
        else:
            raise CorpusError(f"source {spec!r}: no such file, and not a Hub dataset spec "
                              "name[:config]:split:column")
        for path in paths:
            resolved.append(SourceSpec(name=path, kind="jsonl" if _is_json_name(path) else "text", given_as=spec,
                                       location=path))
    names = [s.name for s in resolved]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CorpusError(f"source given more than once: {', '.join(duplicates)}")
    return resolved


def apply_annotations(sources: Sequence[SourceSpec], values: Sequence[str], attr: str, option: str) -> None:
    """Apply `PATTERN=VALUE` (or a bare `VALUE` for every source) to `attr` of the matching sources.

    A pattern matches a source's name, its file name, or the spec it came from (fnmatch). The last matching
    value wins; a pattern that matches nothing is an error (a typo would otherwise go unnoticed).
    """
    for item in values:
        pattern, sep, value = item.partition("=")
        if not sep:
            for s in sources:
                setattr(s, attr, item)
            continue
        matched = [s for s in sources if fnmatch.fnmatchcase(s.name, pattern) or s.given_as == pattern
                   or fnmatch.fnmatchcase(os.path.basename(s.name), pattern)]
        if not matched:
            raise CorpusError(f"{option} {item!r}: the pattern {pattern!r} matches no source "
                              f"(sources: {', '.join(s.name for s in sources)})")
        for s in matched:
            setattr(s, attr, value)


# A raw item from a source: (line number or row index, text) or (line, None, drop reason, detail).
RawItem = tuple[int, "str | None", str, str]


def _iter_lines(spec: SourceSpec) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a text source: LF, CRLF or CR endings; a truncated gzip names the file and line."""
    try:
        with open_binary(spec.location) as handle:
            yield from iter_lines(handle, spec.name)
    except SourceError as exc:  # corrupt or truncated gzip, read error
        raise CorpusError(str(exc)) from None


def _decode(raw: bytes) -> tuple[str | None, str]:
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start}"


def iter_text_lines(spec: SourceSpec) -> Iterator[RawItem]:
    for line_no, raw in _iter_lines(spec):
        text, detail = _decode(raw)
        yield (line_no, text, "", "") if text is not None else (line_no, None, "invalid_utf8", detail)


def iter_paragraphs(spec: SourceSpec) -> Iterator[RawItem]:
    lines: list[str] = []
    first = 0
    bad: tuple[int, str] | None = None

    def flush() -> RawItem:
        if bad is not None:
            return (bad[0], None, "invalid_utf8", f"{bad[1]} (the whole paragraph from line {first} is dropped)")
        return (first, "\n".join(lines), "", "")

    for line_no, raw in _iter_lines(spec):
        text, detail = _decode(raw)
        if text is not None and not text.strip():
            if lines or bad is not None:
                yield flush()
            lines, bad = [], None
            continue
        if not lines and bad is None:
            first = line_no
        if text is None:
            bad = bad or (line_no, detail)
        else:
            lines.append(text)
    if lines or bad is not None:
        yield flush()


def iter_json_lines(spec: SourceSpec, text_field: str) -> Iterator[RawItem]:
    for line_no, raw in _iter_lines(spec):
        text, detail = _decode(raw)
        if text is None:
            yield line_no, None, "invalid_utf8", detail
            continue
        if not text.strip():
            yield line_no, None, "empty", "blank line"
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            yield line_no, None, "invalid_json", f"invalid JSON ({exc.msg} at column {exc.colno})"
            continue
        value = record.get(text_field) if isinstance(record, dict) else None
        if not isinstance(value, str):
            yield line_no, None, "missing_field", f"no string field {text_field!r}"
            continue
        yield line_no, value, "", ""


def iter_hub_rows(spec: SourceSpec) -> Iterator[RawItem]:
    """Stream a Hub dataset split (the endpoint is HF_ENDPOINT, configured by the caller)."""
    try:
        stream = datasets.load_dataset(spec.location, spec.config, split=spec.split, streaming=True)
        columns = list(stream.features) if stream.features is not None else None
    except Exception as exc:  # noqa: BLE001 - any failure to reach/resolve the dataset: one clear message
        endpoint = os.environ.get("HF_ENDPOINT", "the default Hub")
        raise CorpusError(f"source {spec.name}: cannot open Hub dataset {spec.location!r} (config {spec.config}, "
                          f"split {spec.split}) at {endpoint}: {type(exc).__name__}: {exc}") from None
    if columns is not None and spec.column not in columns:
        raise CorpusError(f"source {spec.name}: no column {spec.column!r}; columns: {', '.join(columns)}")
    index = 0
    try:
        for index, row in enumerate(stream, 1):
            value = row.get(spec.column)
            if isinstance(value, str):
                yield index, value, "", ""
            else:
                yield index, None, "missing_field", f"column {spec.column!r} is {type(value).__name__}"
    except CorpusError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CorpusError(f"source {spec.name}: reading failed after row {index}: "
                          f"{type(exc).__name__}: {exc}") from None


def iter_source(spec: SourceSpec, *, paragraphs: bool, text_field: str) -> Iterator[RawItem]:
    if spec.kind == "hub":
        return iter_hub_rows(spec)
    if spec.kind == "jsonl":
        return iter_json_lines(spec, text_field)
    return iter_paragraphs(spec) if paragraphs else iter_text_lines(spec)


# ------------------------------------------------------------------------------------------------------ build

def _hash_key(seed: int) -> bytes:
    return hashlib.blake2b(f"distilkobert-corpus-{seed}".encode(), digest_size=16).digest()


def _check_options(validation_fraction: float | None, validation_size: int | None, min_chars: int,
                   split_long: int) -> float | None:
    """The option checks of `build_corpus`; returns the validation fraction (0.01 when no split option is given)."""
    if validation_fraction is not None and validation_size is not None:
        raise CorpusError("give either validation_fraction or validation_size, not both")
    if validation_fraction is None and validation_size is None:
        validation_fraction = 0.01
    if validation_fraction is not None and not 0 <= validation_fraction < 1:
        raise CorpusError(f"validation fraction must be in [0, 1), not {validation_fraction}")
    if validation_size is not None and validation_size < 0:
        raise CorpusError("validation size must be >= 0")
    if min_chars < 1:
        raise CorpusError("min_chars must be >= 1 (empty documents are always dropped)")
    if split_long < 0:
        raise CorpusError("split_long must be >= 0 (0 = no sentence splitting)")
    return validation_fraction


def _report_invalid(spec: SourceSpec, stats: SourceStats, line_no: int, detail: str,
                    log: Callable[[str], None]) -> None:
    """Count an invalid item; keep the first 100 for the card and print the first MAX_REPORTED_PER_SOURCE."""
    where = f"{spec.name}:{line_no}" if spec.kind != "hub" else f"{spec.name} row {line_no}"
    message = f"{where}: {detail}; dropped"
    stats.invalid_items += 1
    if len(stats.reported) < 100:
        stats.reported.append(message)
    if stats.invalid_items <= MAX_REPORTED_PER_SOURCE:
        log(f"warning: {message}")


def _documents(spec: SourceSpec, stats: SourceStats, *, paragraphs: bool, text_field: str, split_long: int,
               min_chars: int, log: Callable[[str], None]) -> Iterator[str]:
    """The cleaned documents of one source (cut at sentence ends when longer than `split_long`) that are at least
    `min_chars` long; reads, drops and alterations are counted in `stats`."""
    dropped, altered = stats.dropped, stats.altered
    for line_no, raw_text, reason, detail in iter_source(spec, paragraphs=paragraphs, text_field=text_field):
        stats.documents_read += 1
        if raw_text is None:
            dropped[reason] += 1
            if reason != "empty":
                _report_invalid(spec, stats, line_no, detail, log)
            continue
        cleaned = clean_text(raw_text)
        altered["nfc"] += cleaned.nfc_changed
        altered["control_chars"] += cleaned.control_removed
        altered["whitespace"] += cleaned.whitespace_changed
        text = cleaned.text
        if not text:
            dropped["empty"] += 1
            continue
        chunks = pack_sentences(text, split_long) if split_long and len(text) > split_long else [text]
        if len(chunks) > 1:
            stats.long_documents_split += 1
            stats.chunks_from_split += len(chunks)
        for chunk in chunks:
            if len(chunk) < min_chars:
                dropped["too_short"] += 1
                continue
            yield chunk


class _Splits:
    """The split writers and the rule that sends each kept document to train or validation (see the module
    docstring): a keyed hash below the fraction's threshold, or among the `validation_size` smallest hashes."""

    def __init__(self, data_dir: Path, schema: pa.Schema, max_shard_bytes: int, *, with_validation: bool,
                 validation_fraction: float | None, validation_size: int | None, all_stats: list[SourceStats]):
        self.writers = {"train": SplitWriter(data_dir, "train", schema, max_shard_bytes=max_shard_bytes)}
        if with_validation:
            self.writers["validation"] = SplitWriter(data_dir, "validation", schema, max_shard_bytes=max_shard_bytes)
        self.characters = {split: 0 for split in self.writers}
        self.threshold = int(validation_fraction * 2**64) if validation_fraction is not None else 0
        self.validation_size = validation_size
        self.heap: list[tuple[int, int, str]] = []  # (-hash, source index, text): the validation_size smallest
        self.all_stats = all_stats

    def emit(self, split: str, text: str, stats: SourceStats) -> None:
        self.writers[split].write((text,), len(text.encode("utf-8")))
        self.characters[split] += len(text)
        setattr(stats, split, getattr(stats, split) + 1)

    def route(self, digest: int, index: int, text: str, stats: SourceStats) -> None:
        """Write document `text` of source `index` (or keep it as a validation candidate)."""
        if self.validation_size is not None:
            if not self.validation_size:
                self.emit("train", text, stats)
                return
            heapq.heappush(self.heap, (-digest, index, text))
            if len(self.heap) > self.validation_size:
                _, src, evicted = heapq.heappop(self.heap)
                self.emit("train", evicted, self.all_stats[src])
        elif digest < self.threshold:
            self.emit("validation", text, stats)
        else:
            self.emit("train", text, stats)

    def close(self, log: Callable[[str], None]) -> dict[str, list[Path]]:
        """Write the validation candidates, check that the splits are usable, close the writers; their files."""
        for _neg_digest, src, text in sorted(self.heap, key=lambda item: -item[0]):
            self.emit("validation", text, self.all_stats[src])
        if self.writers["train"].num_rows == 0:
            why = "(--validation-size is as large as the corpus)" if self.heap else "(all were dropped)"
            raise CorpusError(f"no document left for the train split {why}")
        if "validation" in self.writers and self.writers["validation"].num_rows == 0:
            log("warning: the validation split is empty (corpus too small for --validation-fraction); "
                "use --validation-size N for an exact count")
        return {split: writer.close() for split, writer in self.writers.items()}


def build_corpus(
    sources: Sequence[str],
    output_dir: str | os.PathLike,
    *,
    paragraphs: bool = False,
    text_field: str = "text",
    min_chars: int = 5,
    split_long: int = 0,
    validation_fraction: float | None = None,
    validation_size: int | None = None,
    seed: int = 42,
    licences: Sequence[str] = (),
    notes: Sequence[str] = (),
    overwrite: bool = False,
    version: str | None = None,
    command: str | None = None,
    description: str | None = None,
    max_shard_bytes: int = 256 << 20,
    log: Callable[[str], None] | None = None,
) -> CorpusBuildResult:
    """Build the corpus dataset folder at `output_dir` in one streaming pass; see the module docstring.

    Raises `CorpusError` / `SourceError` / `OutputDirError` with a clear message.
    """
    if log is None:
        def log(message: str) -> None:
            print(message, file=sys.stderr)

    validation_fraction = _check_options(validation_fraction, validation_size, min_chars, split_long)
    specs = resolve_sources(sources)
    if not specs:
        raise CorpusError("no source given")
    apply_annotations(specs, licences, "licence", "--source-licence")
    apply_annotations(specs, notes, "note", "--source-note")
    inputs = [("source", spec.location) for spec in specs if spec.kind != "hub"]  # never deleted by --overwrite
    check_output_dir(output_dir, overwrite, inputs=inputs)

    key = _hash_key(seed)
    with_validation = bool(validation_size) if validation_size is not None else validation_fraction > 0
    seen = HashSet64()
    all_stats: list[SourceStats] = []
    started = time.perf_counter()
    schema = arrow_schema(FEATURES, {"text": pa.string()})
    with staged_output(output_dir, overwrite, inputs=inputs) as staging:
        splits = _Splits(staging / "data", schema, max_shard_bytes, with_validation=with_validation,
                         validation_fraction=validation_fraction, validation_size=validation_size,
                         all_stats=all_stats)
        for index, spec in enumerate(specs):
            stats = SourceStats(name=spec.name, kind=spec.kind, licence=spec.licence, note=spec.note)
            all_stats.append(stats)
            for chunk in _documents(spec, stats, paragraphs=paragraphs, text_field=text_field, split_long=split_long,
                                    min_chars=min_chars, log=log):
                digest = int.from_bytes(hashlib.blake2b(chunk.encode("utf-8"), digest_size=8, key=key).digest(),
                                        "big")
                if not seen.add(digest):
                    stats.dropped["duplicate"] += 1
                    continue
                stats.documents_written += 1
                stats.characters_written += len(chunk)
                splits.route(digest, index, chunk, stats)
            if stats.invalid_items > MAX_REPORTED_PER_SOURCE:
                log(f"warning: {spec.name}: {stats.invalid_items - MAX_REPORTED_PER_SOURCE} more invalid lines dropped "
                    "(all counted; the first 100 are listed in the dataset card)")
            log(f"  {spec.name}: {stats.documents_read:,} read, {stats.documents_written:,} written")
        files = splits.close(log)
        writers = splits.writers
        options = {"paragraphs": paragraphs, "text_field": text_field, "min_chars": min_chars,
                   "split_long": split_long, "validation_fraction": validation_fraction,
                   "validation_size": validation_size}
        result = CorpusBuildResult(
            output_dir=str(output_dir), splits={s: w.num_rows for s, w in writers.items()},
            characters=splits.characters, sources=all_stats, seed=seed, options=options,
            seconds=time.perf_counter() - started)
        card = render_corpus_card(result, {s: w.num_bytes for s, w in writers.items()},
                                  {s: len(f) for s, f in files.items()}, command or "(built from Python: build_corpus)",
                                  version, description, drop_reasons=DROP_REASONS)
        (staging / "README.md").write_text(card, encoding="utf-8")
    return result
