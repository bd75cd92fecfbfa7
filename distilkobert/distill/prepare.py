"""Tokenise a corpus of any size into numbered parquet shards of token ids, in bounded memory, resumably.

    distilkobert corpus tokenize CORPUS_DIR_OR_FILES... --tokenizer DIR --output-dir OUT [--num-proc 8]

Inputs are read as a stream: a corpus dataset folder (`data/<split>-*.parquet`, column `text`, as written by
`distilkobert dataset corpus`), parquet files, or text files (plain or gzip, one document per line). Each split's
documents, in input order, are cut by position into shards of `docs_per_shard` documents; shard k holds
documents [k x D, (k + 1) x D) and becomes `data/<split>-<k:05d>.parquet` (columns `input_ids`, `length`),
tokenised and packed exactly as the training cache does (`distilkobert.distill.data.pack_batch`). So the shards
depend only on the inputs and the settings, never on `num_proc` or on interruptions.

Memory is bounded by the documents in flight (about 2 x num_proc shards) and one row group per reader.
`manifest.json` is rewritten atomically after every finished shard (in order) with its rows, tokens, dropped
counts and sha256; a restarted run (after a crash or kill -9) verifies the finished shards and tokenises only
the rest. A run whose inputs or settings differ from the manifest's refuses to continue; an input file that
disappears or changes during the run stops it with an error naming the file (the finished shards stay valid).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from transformers import AutoTokenizer

from distilkobert.common.output_dir import OutputDirError, check_output_dir, clear_output_dir
from distilkobert.data.sources import SourceError, read_lines
from distilkobert.distill.collator import save_token_counts
from distilkobert.distill.data import pack_batch, tokenizer_fingerprint
from distilkobert.hub.endpoint import ModelReferenceError, resolve_model_reference

MANIFEST = "manifest.json"
FORMAT = 1
SCHEMA = pa.schema([pa.field("input_ids", pa.list_(pa.int32())), pa.field("length", pa.int32())])
STAT_KEYS = ("documents", "empty_texts", "invalid_utf8", "chunked_texts", "sequences", "tokens", "dropped_short",
             "dropped_tokens")


class PrepareError(Exception):
    """An input, the output folder or the settings are unusable; the message says which and why."""


@dataclass
class InputFile:
    """One input file of a split, with the size it had when the run started."""

    path: str
    kind: str  # "parquet" or "text"
    size: int

    def as_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "size": self.size}


@dataclass
class Settings:
    """Everything that decides the shards' content (recorded in the manifest, checked on resume)."""

    tokenizer: str
    tokenizer_fingerprint: str
    max_seq_length: int = 512
    min_seq_length: int = 12
    packing: bool = True
    docs_per_shard: int = 100_000
    text_column: str = "text"
    inputs: dict[str, list[dict]] = field(default_factory=dict)


def discover_inputs(sources: Sequence[str], text_column: str = "text") -> dict[str, list[InputFile]]:
    """{split: [InputFile, ...]} in a fixed order: a dataset folder gives its splits, loose files form `train`."""
    splits: dict[str, list[InputFile]] = {}
    for source in sources:
        path = Path(source).resolve()
        if path.is_dir():
            files = sorted((path / "data").glob("*.parquet")) if (path / "data").is_dir() else []
            if not files:
                raise PrepareError(f"{source}: a folder needs data/<split>-*.parquet files (a corpus dataset)")
            for f in files:
                split = f.name.split("-", 1)[0]
                splits.setdefault(split, []).append(InputFile(str(f), "parquet", f.stat().st_size))
        elif path.is_file():
            kind = "parquet" if path.suffix == ".parquet" else "text"
            splits.setdefault("train", []).append(InputFile(str(path), kind, path.stat().st_size))
        else:
            raise PrepareError(f"{source}: no such file or folder")
    for files in splits.values():
        for f in files:
            if f.kind == "parquet":
                names = pq.ParquetFile(f.path).schema_arrow.names
                if text_column not in names:
                    raise PrepareError(f"{f.path}: no column {text_column!r} (has {names})")
    return splits


def _check_unchanged(f: InputFile) -> None:
    try:
        size = os.stat(f.path).st_size
    except FileNotFoundError:
        raise PrepareError(f"input {f.path} disappeared during the run (it had {f.size} bytes at the start); "
                           "finished shards are kept: restore it and rerun to resume") from None
    if size != f.size:
        raise PrepareError(f"input {f.path} changed during the run ({f.size} -> {size} bytes); finished shards "
                           "no longer match it: restore it, or start again with --overwrite")


def read_documents(files: Sequence[InputFile], text_column: str, counts: dict[str, int]) -> Iterator[str]:
    """Every document of `files` in order, streamed; lines that are not UTF-8 are counted and yielded as ''."""
    for f in files:
        _check_unchanged(f)
        if f.kind == "parquet":
            reader = pq.ParquetFile(f.path)
            for batch in reader.iter_batches(batch_size=2048, columns=[text_column]):
                for text in batch.column(0).to_pylist():
                    yield text or ""
        else:
            try:
                for _, raw in read_lines(f.path):  # LF, CRLF or CR line endings
                    try:
                        yield raw.decode("utf-8")
                    except UnicodeDecodeError:
                        counts["invalid_utf8"] += 1
                        yield ""  # kept as an empty document: counted twice is better than silently renumbered
            except SourceError as exc:  # a truncated .gz: file and line
                raise PrepareError(str(exc)) from None
        _check_unchanged(f)


# -- one shard (runs in a worker process when num_proc > 1) ---------------------------------------------------
_TOKENIZERS: dict[str, object] = {}


def _tokenizer(name: str):
    """The tokenizer of `--tokenizer` (loaded once per process); anything that is not one is a `PrepareError`."""
    if name not in _TOKENIZERS:
        try:
            resolve_model_reference(name, "--tokenizer")
            tokenizer = AutoTokenizer.from_pretrained(name)
        except ModelReferenceError as exc:
            raise PrepareError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - whatever the library says, one line naming the argument
            first = (str(exc).strip().splitlines() or [""])[0]
            raise PrepareError(f"--tokenizer {name}: not a tokenizer folder or Hub id that AutoTokenizer can load "
                               f"({type(exc).__name__}: {first[:200]})") from None
        missing = [t for t in ("cls_token_id", "sep_token_id") if getattr(tokenizer, t, None) is None]
        if missing:
            raise PrepareError(f"--tokenizer {name}: the tokenizer has no {' / '.join(missing)} (needed to pack "
                               "sequences)")
        _TOKENIZERS[name] = tokenizer
    return _TOKENIZERS[name]


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_shard(texts: list[str], path: str, settings: dict, invalid_utf8: int) -> dict:
    """Tokenise and pack `texts`, write them as one parquet file (atomically) and its token counts; stats."""
    tok = _tokenizer(settings["tokenizer"])
    backend = getattr(tok, "backend_tokenizer", None)
    if not texts:
        ids = []
    elif backend is not None:  # the same ids as tok(texts), without building Python encodings (1.8x faster)
        ids = [e.ids for e in backend.encode_batch_fast(texts, add_special_tokens=False)]
    else:
        ids = tok(texts, add_special_tokens=False)["input_ids"]
    seqs, stats = pack_batch(ids, cls_id=tok.cls_token_id, sep_id=tok.sep_token_id,
                             max_seq_length=settings["max_seq_length"], min_seq_length=settings["min_seq_length"],
                             packing=settings["packing"])
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int32, count=len(seqs))
    flat = np.fromiter((t for s in seqs for t in s), dtype=np.int32, count=int(lengths.sum()))
    offsets = np.zeros(len(seqs) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    table = pa.table({"input_ids": pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat)),
                      "length": pa.array(lengths)}, schema=SCHEMA)
    tmp = f"{path}.tmp{os.getpid()}"
    pq.write_table(table, tmp, row_group_size=8192, compression="zstd")
    os.replace(tmp, path)
    counts = np.bincount(flat, minlength=len(tok)).astype(np.int64) if flat.size else np.zeros(len(tok), np.int64)
    np.save(f"{path}.counts.tmp.npy", counts)
    os.replace(f"{path}.counts.tmp.npy", f"{path[:-len('.parquet')]}.counts.npy")
    return {"documents": len(texts), "invalid_utf8": invalid_utf8, "sequences": len(seqs),
            "tokens": int(lengths.sum()), **stats, "sha256": sha256_file(path), "bytes": os.path.getsize(path)}


# -- the run ---------------------------------------------------------------------------------------------------
def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


def _fingerprint(tokenizer_name: str) -> str:
    return tokenizer_fingerprint(_tokenizer(tokenizer_name))


def _verified_done(manifest: dict, out: Path, log: Callable[[str], None]) -> dict[str, dict[int, dict]]:
    """Finished shards of a previous run whose files are intact ({split: {index: entry}})."""
    done: dict[str, dict[int, dict]] = {}
    for split, entries in manifest.get("shards", {}).items():
        for entry in entries:
            path = out / entry["file"]
            counts = out / entry["file"].replace(".parquet", ".counts.npy")
            if path.is_file() and counts.is_file() and sha256_file(path) == entry["sha256"]:
                done.setdefault(split, {})[entry["index"]] = entry
            else:
                log(f"resume: {entry['file']} is missing or altered: tokenised again")
    return done


def prepare_shards(sources: Sequence[str], tokenizer: str, output_dir: str | Path, *, max_seq_length: int = 512,
                   min_seq_length: int = 12, packing: bool = True, docs_per_shard: int = 100_000,
                   text_column: str = "text", num_proc: int = 1, overwrite: bool = False,
                   log: Callable[[str], None] = print,
                   on_shard: Callable[[str, int], None] | None = None) -> dict:
    """Tokenise `sources` into `output_dir/data/<split>-NNNNN.parquet`; returns the final manifest.

    `on_shard(split, index)` is called after each shard is recorded (progress; tests use it).
    """
    if docs_per_shard < 1 or num_proc < 1:
        raise PrepareError("--docs-per-shard and --num-proc must be >= 1")
    if max_seq_length < 4 or not 0 < min_seq_length <= max_seq_length:
        raise PrepareError("need 4 <= --max-seq-length and 0 < --min-seq-length <= --max-seq-length")
    out = Path(output_dir)
    inputs = discover_inputs(sources, text_column)
    settings = Settings(tokenizer=str(tokenizer), tokenizer_fingerprint=_fingerprint(str(tokenizer)),
                        max_seq_length=max_seq_length, min_seq_length=min_seq_length, packing=packing,
                        docs_per_shard=docs_per_shard, text_column=text_column,
                        inputs={s: [f.as_dict() for f in files] for s, files in inputs.items()})
    wanted = {k: v for k, v in settings.__dict__.items() if k != "tokenizer"}
    manifest_path = out / MANIFEST
    resume = manifest_path.is_file() and not overwrite
    try:  # the project's output-folder policy; a folder with a manifest is resumed instead of refused
        check_output_dir(out, overwrite, inputs=[("source", s) for s in sources], keep_contents=resume)
    except OutputDirError as exc:
        raise PrepareError(str(exc)) from None
    done: dict[str, dict[int, dict]] = {}
    if resume:
        previous = json.loads(manifest_path.read_text("utf-8"))
        had = {k: v for k, v in previous.get("settings", {}).items() if k != "tokenizer"}
        if had != wanted:
            diff = sorted(k for k in set(had) | set(wanted) if had.get(k) != wanted.get(k))
            raise PrepareError(f"{manifest_path}: written for other inputs or settings (differs in {', '.join(diff)});"
                               " pass --overwrite to start again, or the original inputs to resume")
        done = _verified_done(previous, out, log)
        n_done = sum(len(v) for v in done.values())
        if n_done:
            log(f"resume: {n_done} finished shard(s) verified (sha256), skipped")
    elif overwrite and out.is_dir():
        clear_output_dir(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    for stale in [*(out / "data").glob("*.tmp*"), *out.glob(f"{Path(MANIFEST).stem}.tmp*")]:
        stale.unlink()  # half-written files of a killed run
    manifest = {"format": FORMAT, "settings": settings.__dict__, "complete": False,
                "shards": {s: sorted(done.get(s, {}).values(), key=lambda e: e["index"]) for s in inputs}}
    _atomic_json(manifest_path, manifest)
    shard_settings = {"tokenizer": str(tokenizer), "max_seq_length": max_seq_length,
                      "min_seq_length": min_seq_length, "packing": packing}

    start = time.perf_counter()
    executor = None
    if num_proc > 1:
        executor = ProcessPoolExecutor(num_proc, mp_context=get_context("spawn"))
    try:
        for split, files in inputs.items():
            _run_split(split, files, out, manifest, manifest_path, done.get(split, {}), shard_settings,
                       docs_per_shard, text_column, executor, num_proc, on_shard, log)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    totals = {split: {k: sum(e[k] for e in entries) for k in STAT_KEYS} | {"shards": len(entries)}
              for split, entries in manifest["shards"].items()}
    vocab = len(_tokenizer(str(tokenizer)))
    counts = np.zeros(vocab, dtype=np.int64)
    for entry in manifest["shards"].get("train", []):
        counts += np.load(out / entry["file"].replace(".parquet", ".counts.npy"))
    save_token_counts(counts, out)
    manifest.update(complete=True, totals=totals, seconds=round(time.perf_counter() - start, 2))
    _atomic_json(manifest_path, manifest)
    for split, t in totals.items():
        log(f"{split}: {t['documents']:,} documents -> {t['sequences']:,} sequences, {t['tokens']:,} tokens in "
            f"{t['shards']} shards; dropped: {t['empty_texts']:,} empty documents ({t['invalid_utf8']:,} not "
            f"UTF-8), {t['dropped_short']:,} sequences under {min_seq_length} tokens ({t['dropped_tokens']:,} "
            f"tokens); {t['chunked_texts']:,} documents longer than {max_seq_length - 2} tokens cut into pieces")
    return manifest


def _run_split(split, files, out, manifest, manifest_path, done, shard_settings, docs_per_shard, text_column,
               executor, num_proc, on_shard, log) -> None:
    counts = {"invalid_utf8": 0}
    pending: deque[tuple[int, Future | dict]] = deque()

    def record(index: int, result: dict) -> None:
        entry = {"index": index, "file": f"data/{split}-{index:05d}.parquet",
                 "first_document": index * docs_per_shard, **result}
        manifest["shards"][split].append(entry)
        manifest["shards"][split].sort(key=lambda e: e["index"])
        _atomic_json(manifest_path, manifest)  # in order: a kill leaves a manifest of finished shards only
        if on_shard is not None:
            on_shard(split, index)

    def drain(limit: int) -> None:
        while len(pending) > limit:
            index, job = pending.popleft()
            record(index, job.result() if isinstance(job, Future) else job)

    buffer: list[str] = []
    index = 0

    def flush() -> None:
        nonlocal buffer, index
        invalid, counts["invalid_utf8"] = counts["invalid_utf8"], 0
        if index not in done:
            path = str(out / "data" / f"{split}-{index:05d}.parquet")
            if executor is None:
                pending.append((index, write_shard(buffer, path, shard_settings, invalid)))
            else:
                pending.append((index, executor.submit(write_shard, buffer, path, shard_settings, invalid)))
            drain(2 * num_proc - 1 if executor is not None else 0)
        buffer = []
        index += 1

    for text in read_documents(files, text_column, counts):
        if index in done:  # already tokenised: only count our way through its documents
            buffer.append("")
            if len(buffer) == docs_per_shard:
                counts["invalid_utf8"] = 0
                buffer, index = [], index + 1
            continue
        buffer.append(text)
        if len(buffer) == docs_per_shard:
            flush()
    if buffer:
        flush()
    drain(0)
    log(f"{split}: {index} shard(s) of up to {docs_per_shard:,} documents")


def main(argv: Sequence[str] | None = None) -> int:
    """`distilkobert corpus tokenize`: exit 0 when done, 2 on a bad input / setting (one line on stderr)."""
    parser = argparse.ArgumentParser(prog="distilkobert corpus tokenize", description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", help="corpus dataset folder(s), .parquet or text (.txt/.gz) files")
    parser.add_argument("--tokenizer", required=True, help="tokenizer folder or Hub id (AutoTokenizer)")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-seq-length", type=int, default=512)
    parser.add_argument("--min-seq-length", type=int, default=12, help="shorter sequences are dropped (counted)")
    parser.add_argument("--no-packing", action="store_true", help="one document per sequence (long ones cut)")
    parser.add_argument("--docs-per-shard", type=int, default=100_000)
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--num-proc", type=int, default=1, help="tokenising worker processes")
    parser.add_argument("--overwrite", action="store_true", help="discard an existing manifest and start again")
    args = parser.parse_args(argv)
    try:
        prepare_shards(args.sources, args.tokenizer, args.output_dir, max_seq_length=args.max_seq_length,
                       min_seq_length=args.min_seq_length, packing=not args.no_packing,
                       docs_per_shard=args.docs_per_shard, text_column=args.text_column, num_proc=args.num_proc,
                       overwrite=args.overwrite, log=lambda m: print(m, flush=True))
    except (PrepareError, OSError) as exc:
        print(f"distilkobert corpus tokenize: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
