"""Corpus loading, tokenization (once, cached on disk) and packing into training sequences."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
from datasets import DatasetDict, load_dataset, load_from_disk

from distilkobert.data.loading import load_dataset_pinned
from distilkobert.data.sources import sha256_of
from distilkobert.distill.collator import save_token_counts, token_counts

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1


def load_corpus(name_or_path: str, revision: str | None = None, *, text_column: str = "text",
                train_split: str = "train", validation_split: str = "validation",
                validation_fraction: float = 0.02, seed: int = 0):
    """(DatasetDict with `train_split` and `validation_split`, identity of the data) from a dataset folder, a Hub
    repo at `revision`, or a .txt[.gz] file (one text per line); a validation split is carved out with
    `validation_fraction` when missing. The identity (content hash or resolved commit) keys the token cache."""
    path = Path(name_or_path)
    if path.is_file() and (path.suffix in (".txt", ".gz")):
        ds = load_dataset("text", data_files={train_split: str(path)})
        text_column_in = "text"
        identity = f"file:{sha256_of(path)}"
    else:
        try:
            loaded = load_dataset_pinned(name_or_path, revision)
        except ValueError as exc:
            raise ValueError(f"--dataset_name_or_path: {exc}") from None
        ds, identity = loaded.dataset, loaded.identity
        text_column_in = text_column
    if train_split not in ds:
        raise ValueError(f"dataset {name_or_path}: no split {train_split!r} (has {list(ds)})")
    if text_column_in not in ds[train_split].column_names:
        raise ValueError(f"dataset {name_or_path}: no column {text_column_in!r} (has {ds[train_split].column_names})")
    if validation_split not in ds:
        parts = ds[train_split].train_test_split(test_size=validation_fraction, seed=seed, shuffle=True)
        logger.info("dataset %s has no %r split: %d texts held out from %r", name_or_path, validation_split,
                    len(parts["test"]), train_split)
        ds = DatasetDict({train_split: parts["train"], validation_split: parts["test"]})
        identity += f":carved={validation_fraction}:{seed}"
    keep = [text_column_in]
    corpus = DatasetDict({s: ds[s].select_columns(keep).rename_column(text_column_in, "text")
                          if text_column_in != "text" else ds[s].select_columns(keep)
                          for s in (train_split, validation_split)})
    return corpus, identity


def tokenizer_fingerprint(tokenizer) -> str:
    """Hash of what decides the ids: the fast tokenizer's serialised model + special tokens."""
    h = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    h.update(backend.to_str().encode("utf-8") if backend is not None else repr(tokenizer.get_vocab()).encode())
    h.update(repr(sorted(tokenizer.all_special_ids)).encode())
    return h.hexdigest()[:16]


def pack_batch(token_lists: list[list[int]], *, cls_id: int, sep_id: int, max_seq_length: int,
               min_seq_length: int, packing: bool) -> tuple[list[list[int]], dict[str, int]]:
    """Build sequences `[CLS] a [SEP] (b [SEP] ...)` from tokenized texts (no specials yet).

    Texts longer than max_seq_length - 2 are cut into chunks; with packing, consecutive texts share a sequence
    while they fit. Sequences shorter than min_seq_length are dropped and counted.
    """
    body = max_seq_length - 2
    out: list[list[int]] = []
    stats = {"empty_texts": 0, "chunked_texts": 0, "dropped_short": 0, "dropped_tokens": 0}
    pieces: list[list[int]] = []
    for toks in token_lists:
        if not toks:
            stats["empty_texts"] += 1
            continue
        if len(toks) > body:
            stats["chunked_texts"] += 1
        pieces.extend(toks[i: i + body] for i in range(0, len(toks), body))
    current: list[int] = []

    def flush(seq: list[int]) -> None:
        if len(seq) >= min_seq_length:
            out.append(seq)
        else:
            stats["dropped_short"] += 1
            stats["dropped_tokens"] += len(seq)

    for piece in pieces:
        if not packing:
            flush([cls_id] + piece + [sep_id])
            continue
        if current and len(current) + len(piece) + 1 <= max_seq_length:
            current.extend(piece + [sep_id])
        else:
            if current:
                flush(current)
            current = [cls_id] + piece + [sep_id]
    if current:
        flush(current)
    return out, stats


def tokenize_corpus(ds, tokenizer, *, max_seq_length: int, min_seq_length: int, packing: bool,
                    cache_dir: str | Path, dataset_id: str, num_proc: int | None = None):
    """Tokenize and pack every split once; cached under `cache_dir/<key>` (key = tokenizer + dataset + settings).

    Returns (DatasetDict with `input_ids` and `length`, token counts of the train split, cache folder). The token
    counts are saved as `token_counts.npy` in the cache folder.
    """
    fingerprints = {s: getattr(ds[s], "_fingerprint", "") for s in ds}
    key_src = json.dumps({"format": CACHE_FORMAT, "tokenizer": tokenizer_fingerprint(tokenizer), "data": dataset_id,
                          "fingerprints": fingerprints, "max_len": max_seq_length, "min_len": min_seq_length,
                          "packing": packing}, sort_keys=True)
    key = hashlib.sha256(key_src.encode()).hexdigest()[:20]
    folder = Path(cache_dir) / key
    done = folder / "done.json"
    if done.exists():
        logger.info("tokenized corpus from cache %s", folder)
        out = load_from_disk(str(folder / "data"))
        return out, np.load(folder / "token_counts.npy"), folder

    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id

    def process(batch):
        toks = tokenizer(batch["text"], add_special_tokens=False)["input_ids"]
        seqs, stats = pack_batch(toks, cls_id=cls_id, sep_id=sep_id, max_seq_length=max_seq_length,
                                 min_seq_length=min_seq_length, packing=packing)
        # one extra empty row carries this batch's statistics (removed below), so no count is ever lost
        n = len(seqs)
        row = {"input_ids": seqs + [[]], "length": [len(x) for x in seqs] + [0]}
        row.update({k: [0] * n + [v] for k, v in stats.items()})
        return row

    out = {}
    report = {}
    for split in ds:
        mapped = ds[split].map(process, batched=True, batch_size=1000, remove_columns=ds[split].column_names,
                               num_proc=num_proc, desc=f"tokenize {split}", load_from_cache_file=False)
        # per-batch statistics were stored in the first row of each batch; batches without rows lose theirs
        stats = {k: int(np.sum(mapped[k])) for k in ("empty_texts", "chunked_texts", "dropped_short", "dropped_tokens")}
        report[split] = {"texts": len(ds[split]), "sequences": len(mapped),
                         "tokens": int(np.sum(mapped["length"])) if len(mapped) else 0, **stats}
        out[split] = mapped.filter(lambda n: n > 0, input_columns="length").remove_columns(list(stats))
        report[split]["sequences"] = len(out[split])
        logger.info("%s: %s", split, report[split])
    out = DatasetDict(out)
    train_split = next(iter(ds))
    counts = token_counts(out[train_split]["input_ids"], len(tokenizer))
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"data.tmp{os.getpid()}"
    out.save_to_disk(str(tmp))
    os.replace(tmp, folder / "data")
    save_token_counts(counts, folder)
    done.write_text(json.dumps({"key": json.loads(key_src), "report": report}, indent=1), "utf-8")
    return load_from_disk(str(folder / "data")), counts, folder


def cache_report(folder: str | Path) -> dict:
    """The tokenization report (texts, sequences, tokens, dropped counts per split) of a cache folder."""
    return json.loads((Path(folder) / "done.json").read_text("utf-8"))["report"]
