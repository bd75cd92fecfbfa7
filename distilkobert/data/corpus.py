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
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import hashlib
import heapq
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Sequence

from distilkobert.data.cleaning import clean_text, pack_sentences
from distilkobert.data.dedup import HashSet64
from distilkobert.data.sources import SourceError, open_binary

FEATURES: dict[str, Any] = {"text": {"dtype": "string", "_type": "Value"}}
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_HUB_SPEC_RE = re.compile(r"[^:\s]+(?::[^:\s]+)?:[^:\s]+:[^:\s]+")
DROP_REASONS = ("invalid_utf8", "invalid_json", "missing_field", "empty", "too_short", "duplicate")
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
        elif _HUB_SPEC_RE.fullmatch(spec):
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
    line_no = 0
    try:
        with open_binary(spec.location) as handle:
            for line_no, raw in enumerate(handle, 1):
                yield line_no, raw.rstrip(b"\r\n")
    except (OSError, EOFError) as exc:  # corrupt or truncated gzip, read error
        raise CorpusError(f"{spec.name}: read error after line {line_no}: {exc}") from None


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
    import datasets

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
        raise CorpusError(f"source {spec.name}: reading failed after row {index}: {type(exc).__name__}: {exc}") from None


def iter_source(spec: SourceSpec, *, paragraphs: bool, text_field: str) -> Iterator[RawItem]:
    if spec.kind == "hub":
        return iter_hub_rows(spec)
    if spec.kind == "jsonl":
        return iter_json_lines(spec, text_field)
    return iter_paragraphs(spec) if paragraphs else iter_text_lines(spec)


# ------------------------------------------------------------------------------------------------------ build

def _hash_key(seed: int) -> bytes:
    return hashlib.blake2b(f"distilkobert-corpus-{seed}".encode(), digest_size=16).digest()


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
    import pyarrow as pa

    from distilkobert.data.output import check_output_dir, staged_output
    from distilkobert.data.parquet import SplitWriter, arrow_schema

    if log is None:
        def log(message: str) -> None:
            print(message, file=sys.stderr)

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
    specs = resolve_sources(sources)
    if not specs:
        raise CorpusError("no source given")
    apply_annotations(specs, licences, "licence", "--source-licence")
    apply_annotations(specs, notes, "note", "--source-note")
    check_output_dir(output_dir, overwrite)

    key = _hash_key(seed)
    threshold = int(validation_fraction * 2**64) if validation_fraction is not None else 0
    with_validation = bool(validation_size) if validation_size is not None else validation_fraction > 0
    seen = HashSet64()
    heap: list[tuple[int, int, str]] = []  # (-hash, source index, text): the validation_size smallest hashes
    all_stats: list[SourceStats] = []
    started = time.perf_counter()
    schema = arrow_schema(FEATURES, {"text": pa.string()})
    with staged_output(output_dir, overwrite) as staging:
        data_dir = staging / "data"
        writers = {"train": SplitWriter(data_dir, "train", schema, max_shard_bytes=max_shard_bytes)}
        if with_validation:
            writers["validation"] = SplitWriter(data_dir, "validation", schema, max_shard_bytes=max_shard_bytes)
        characters = {split: 0 for split in writers}

        def emit(split: str, text: str, stats: SourceStats) -> None:
            writers[split].write((text,), len(text.encode("utf-8")))
            characters[split] += len(text)
            setattr(stats, split, getattr(stats, split) + 1)

        for index, spec in enumerate(specs):
            stats = SourceStats(name=spec.name, kind=spec.kind, licence=spec.licence, note=spec.note)
            all_stats.append(stats)
            dropped, altered = stats.dropped, stats.altered
            for line_no, raw_text, reason, detail in iter_source(spec, paragraphs=paragraphs, text_field=text_field):
                stats.documents_read += 1
                if raw_text is None:
                    dropped[reason] += 1
                    if reason != "empty":
                        where = f"{spec.name}:{line_no}" if spec.kind != "hub" else f"{spec.name} row {line_no}"
                        message = f"{where}: {detail}; dropped"
                        stats.invalid_items += 1
                        if len(stats.reported) < 100:
                            stats.reported.append(message)
                        if stats.invalid_items <= MAX_REPORTED_PER_SOURCE:
                            log(f"warning: {message}")
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
                    digest = int.from_bytes(hashlib.blake2b(chunk.encode("utf-8"), digest_size=8, key=key).digest(),
                                            "big")
                    if not seen.add(digest):
                        dropped["duplicate"] += 1
                        continue
                    stats.documents_written += 1
                    stats.characters_written += len(chunk)
                    if validation_size is not None:
                        if not validation_size:
                            emit("train", chunk, stats)
                            continue
                        heapq.heappush(heap, (-digest, index, chunk))
                        if len(heap) > validation_size:
                            _, src, evicted = heapq.heappop(heap)
                            emit("train", evicted, all_stats[src])
                    elif digest < threshold:
                        emit("validation", chunk, stats)
                    else:
                        emit("train", chunk, stats)
            if stats.invalid_items > MAX_REPORTED_PER_SOURCE:
                log(f"warning: {spec.name}: {stats.invalid_items - MAX_REPORTED_PER_SOURCE} more invalid lines dropped "
                    "(all counted; the first 100 are listed in the dataset card)")
            log(f"  {spec.name}: {stats.documents_read:,} read, {stats.documents_written:,} written")
        for neg_digest, src, text in sorted(heap, key=lambda item: -item[0]):
            emit("validation", text, all_stats[src])
        if writers["train"].num_rows == 0:
            raise CorpusError("no document left for the train split "
                              + ("(--validation-size is as large as the corpus)" if heap else "(all were dropped)"))
        if with_validation and writers["validation"].num_rows == 0:
            log("warning: the validation split is empty (corpus too small for --validation-fraction); "
                "use --validation-size N for an exact count")
        files = {split: writer.close() for split, writer in writers.items()}
        options = {"paragraphs": paragraphs, "text_field": text_field, "min_chars": min_chars,
                   "split_long": split_long, "validation_fraction": validation_fraction,
                   "validation_size": validation_size}
        result = CorpusBuildResult(
            output_dir=str(output_dir), splits={s: w.num_rows for s, w in writers.items()}, characters=characters,
            sources=all_stats, seed=seed, options=options, seconds=time.perf_counter() - started)
        card = render_corpus_card(result, {s: w.num_bytes for s, w in writers.items()},
                                  {s: len(f) for s, f in files.items()}, command or "(built from Python: build_corpus)",
                                  version, description)
        (staging / "README.md").write_text(card, encoding="utf-8")
    return result


# ------------------------------------------------------------------------------------------------------- card

def _card_licence(sources: Sequence[SourceStats]) -> str:
    licences = {s.licence for s in sources}
    if len(licences) == 1:
        only = next(iter(licences))
        if re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", only):
            return only
    return "other"


def render_corpus_card(result: CorpusBuildResult, num_bytes: dict[str, int], num_files: dict[str, int],
                       command: str, version: str | None, description: str | None) -> str:
    from distilkobert import __version__
    from distilkobert.data.output import data_files_config, md_table, render_card

    total_docs = sum(result.splits.values())
    size = ("n<1K" if total_docs < 1000 else "1K<n<10K" if total_docs < 10_000 else "10K<n<100K"
            if total_docs < 100_000 else "100K<n<1M" if total_docs < 1_000_000 else "1M<n<10M")
    metadata: dict[str, Any] = {
        "pretty_name": "DistilKoBERT pretraining corpus",
        "language": ["ko"],
        "license": _card_licence(result.sources),
        "task_categories": ["fill-mask"],
        "size_categories": [size],
        "configs": data_files_config(list(result.splits)),
        "dataset_info": {
            "features": [{"name": "text", "dtype": "string"}],
            "splits": [{"name": s, "num_bytes": num_bytes[s], "num_examples": n} for s, n in result.splits.items()],
            "dataset_size": sum(num_bytes.values()),
        },
    }
    source_rows = [[f"`{s.name}`", s.kind, s.licence, s.note or "", s.documents_read, s.documents_written,
                    s.characters_written, s.train, s.validation] for s in result.sources]
    drop_rows = [[f"`{s.name}`"] + [s.dropped[r] for r in DROP_REASONS] + [s.long_documents_split, s.chunks_from_split]
                 for s in result.sources]
    alter_rows = [[f"`{s.name}`", s.altered["nfc"], s.altered["control_chars"], s.altered["whitespace"]]
                  for s in result.sources]
    reported = [line for s in result.sources for line in s.reported]
    reported_text = "None." if not reported else "\n".join(f"- `{line}`" for line in reported)
    split_rows = [[s, n, result.characters[s], num_files[s]] for s, n in result.splits.items()]
    opts = result.options
    if opts["validation_size"] is not None:
        split_rule = (f"`validation` holds the {opts['validation_size']:,} documents with the smallest keyed hash "
                      "(exact count)")
    else:
        split_rule = (f"a document is in `validation` iff its keyed hash is below {opts['validation_fraction']} x "
                      "2^64 (a fixed fraction, stable when the corpus grows)")
    body = f"""
# DistilKoBERT pretraining corpus

{description or "Korean text for masked-language-model pretraining and distillation, one document per row."}
Built by `distilkobert dataset corpus` (distilkobert {__version__}); plain parquet, feature `text` (string),
loadable with `datasets.load_dataset(...)` without any loading script.

## Sources and licences

The licence of each source is as declared by whoever built the dataset (`--source-licence`; `unknown` when
not declared). Check each source's terms before redistributing; this dataset inherits them.

{md_table(["source", "kind", "licence", "note", "documents read", "rows written", "characters", "train", "validation"], source_rows)}

## Splits

{md_table(["split", "rows", "characters", "parquet files"], split_rows)}

Keyed hash = 8-byte blake2b of the cleaned text, keyed by the seed ({result.seed}); {split_rule}.

## Cleaning

In order: Unicode NFC; control characters and invisible format characters (BOM, zero-width space, word
joiner, bidi marks) removed; all whitespace collapsed to single spaces and stripped; documents empty after
cleaning dropped; {"documents longer than " + format(opts["split_long"], ",") + " characters cut at sentence ends into chunks of at most that length (a longer single sentence stays whole); " if opts["split_long"] else ""}texts shorter
than {opts["min_chars"]} characters dropped; exact duplicates (same keyed hash, across all sources) dropped, the
first occurrence kept. Input format: {"blank-line-separated paragraphs" if opts["paragraphs"] else "one document per line"}
for text files; JSON lines read the field `{opts["text_field"]}`. A line that is not valid UTF-8 (or JSON) is
dropped and reported with file and line.

Dropped, per source and reason (a cut long document counts as its chunks):

{md_table(["source"] + list(DROP_REASONS) + ["long documents cut", "chunks from cuts"], drop_rows)}

Altered by cleaning (documents a step changed, including some later dropped as empty, short or duplicate):

{md_table(["source", "NFC changed", "control characters removed", "whitespace collapsed"], alter_rows)}

Reported lines:

{reported_text}

## How it was built

```
{command}
```

Version: {version or "(not tagged)"}; seed: {result.seed}; options: `{json.dumps(opts)}`.
"""
    return render_card(metadata, body)


# -------------------------------------------------------------------------------------------------------- CLI

def format_summary(result: CorpusBuildResult) -> str:
    lines = [f"Corpus build summary ({result.seconds:.1f} s)"]
    for s in result.sources:
        drops = ", ".join(f"{r} {n:,}" for r, n in s.dropped.items() if n) or "none"
        lines.append(f"  {s.name} [{s.kind}, licence {s.licence}]: documents read {s.documents_read:,}, written "
                     f"{s.documents_written:,} ({s.characters_written:,} characters; train {s.train:,}, validation "
                     f"{s.validation:,}); dropped: {drops}"
                     + (f"; long documents cut {s.long_documents_split:,} into {s.chunks_from_split:,} chunks"
                        if s.long_documents_split else ""))
    total = result.dropped
    lines.append(f"  total: documents read {sum(s.documents_read for s in result.sources):,}; dropped "
                 + (", ".join(f"{r} {n:,}" for r, n in total.items() if n) or "none"))
    for split, n in result.splits.items():
        lines.append(f"  {split}: {n:,} documents, {result.characters[split]:,} characters")
    lines.append(f"  written to {result.output_dir}")
    return "\n".join(lines)


def build_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="distilkobert dataset corpus",
        description="Build the cleaned, deduplicated pretraining corpus (parquet train / validation + dataset card) "
                    "from local files and Hub datasets in one streaming pass, and optionally publish it.",
        epilog="Examples: SOURCE = corpus/*.gz | wiki.txt | docs.jsonl.gz | wikimedia/wikipedia:20231101.ko:train:text. "
               "Licences: --source-licence 'boddari_*=CC BY 4.0' --source-licence 'nsmc_*=CC0-1.0' (a bare value "
               "applies to every source). A Hub source is read from HF_ENDPOINT (default: the local server).",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="text file or glob (plain or .gz), JSON lines file (.jsonl/.ndjson/.json[.gz]), or Hub "
                        "dataset name[:config]:split:column")
    p.add_argument("--output-dir", required=True, help="folder to write (parquet under data/ + README.md)")
    p.add_argument("--overwrite", action="store_true", help="replace --output-dir if it exists and is not empty")
    p.add_argument("--paragraphs", action="store_true",
                   help="text files hold blank-line-separated paragraphs (default: one document per line)")
    p.add_argument("--text-field", default="text", help="field of JSON lines records holding the text (default: text)")
    p.add_argument("--min-chars", type=int, default=5,
                   help="drop texts shorter than this many characters after cleaning (default: 5)")
    p.add_argument("--split-long", type=int, default=0, metavar="N",
                   help="cut documents longer than N characters at sentence ends into chunks of <= N (default: 0 = off)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--validation-fraction", type=float,
                       help="fraction of documents (by keyed hash) in validation (default: 0.01; 0 = no validation)")
    group.add_argument("--validation-size", type=int, help="exact number of validation documents (by keyed hash)")
    p.add_argument("--seed", type=int, default=42, help="key of the hash that splits and deduplicates (default: 42)")
    p.add_argument("--source-licence", "--source-license", action="append", default=[], metavar="[PATTERN=]LICENCE",
                   help="licence of the sources matching PATTERN (fnmatch on path, file name or spec); repeatable; "
                        "default: unknown")
    p.add_argument("--source-note", action="append", default=[], metavar="[PATTERN=]TEXT",
                   help="a note (origin, URL, description) for the matching sources in the card; repeatable")
    p.add_argument("--description", help="first paragraph of the dataset card")
    p.add_argument("--max-shard-mb", type=int, default=256, help="start a new parquet file after this many MB of text")
    p.add_argument("--push-to-hub", metavar="REPO_ID", help="publish the folder as this dataset repo on the "
                   "configured Hub (HF_ENDPOINT, default: the local server); needs --version")
    p.add_argument("--version", help="version tag for the published commit; an existing tag is refused")
    p.add_argument("--summary-json", metavar="PATH", help="also write the build summary as JSON to PATH")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """`distilkobert dataset corpus ...`: 0 on success, 1 on a data/Hub error, 2 on a usage error."""
    parser = build_arg_parser()
    args = parser.parse_args(argv)
    if args.push_to_hub and not args.version:
        parser.error("--push-to-hub needs --version TAG")
    if args.max_shard_mb < 1:
        parser.error("--max-shard-mb must be >= 1")
    needs_hub = bool(args.push_to_hub) or any(
        _HUB_SPEC_RE.fullmatch(s) and not os.path.exists(s) and not glob.has_magic(s) for s in args.sources)
    if needs_hub:
        from distilkobert.data.output import prepare_hub

        if not prepare_hub(args.push_to_hub, args.version):
            return 1
    from distilkobert.data.output import OutputDirError, command_line

    try:
        result = build_corpus(
            args.sources, args.output_dir, paragraphs=args.paragraphs, text_field=args.text_field,
            min_chars=args.min_chars, split_long=args.split_long, validation_fraction=args.validation_fraction,
            validation_size=args.validation_size, seed=args.seed, licences=args.source_licence,
            notes=args.source_note, overwrite=args.overwrite, version=args.version,
            command=command_line("distilkobert dataset corpus", argv), description=args.description,
            max_shard_bytes=args.max_shard_mb << 20)
    except (CorpusError, SourceError, OutputDirError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from distilkobert.data.output import report_and_publish

    return report_and_publish(format_summary(result), result.to_dict(), output_dir=args.output_dir,
                              summary_json=args.summary_json, repo_id=args.push_to_hub, version=args.version)


def __getattr__(name: str) -> Any:
    if name in ("CorpusBuilder", "CorpusConfig"):
        from distilkobert.data import corpus_builder

        return getattr(corpus_builder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
