"""Trim a model's SentencePiece-Unigram vocabulary to the pieces a corpus uses.

A multilingual teacher spends most of its parameters on pieces a Korean model never sees (multilingual-e5-small:
96 M of 117 M parameters are its 250k-row embedding matrix). Trimming keeps the special tokens and every piece
the model's own tokenizer produces at least `min_count` times on the given texts, renumbers them in their
original order, writes a tokenizer.json with the same normaliser, pre-tokenizer and decoder, and slices the
embedding matrix (and an MLM decoder, when there is one) to the kept rows.

Why the ids of counted texts stay exact: a Unigram segmentation is the best-scoring path through the lattice of
vocabulary pieces; removing pieces only removes paths, so a best path made of kept pieces stays the best. The
one other input of the lattice is the score of an unknown character, which `tokenizers` derives from the lowest
piece score (minimum - 10): the lowest-scoring piece is therefore always kept, so that score does not move.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedTokenizerFast,
)

from distilkobert.common.model_size import count_parameters
from distilkobert.common.output_dir import OutputDirError, check_output_dir, staged_output
from distilkobert.data.sources import SourceError, read_lines


class VocabTrimError(ValueError):
    """A clear, one-line reason the vocabulary cannot be trimmed."""


# Characters no text line holds (tab, line and form feeds aside): a line with one is binary data, not a text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


@dataclass
class TextStats:
    """What `iter_text_lines` read: texts yielded, and binary lines (undecodable or with control characters)
    skipped, with the first one's file:line."""

    texts: int = 0
    binary_lines: int = 0
    first_binary: str | None = None


def iter_text_lines(paths: Iterable[str | Path], stats: TextStats | None = None) -> Iterator[str]:
    """Lines of plain-text files (`.gz` allowed), one text per line (LF, CRLF or CR endings); blank lines are
    skipped, and so are binary lines (not UTF-8, or holding control characters), counted in `stats`.
    A truncated `.gz` raises `SourceError` naming the file and line."""
    stats = stats if stats is not None else TextStats()
    for path in paths:
        for number, raw in read_lines(path):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                line = None
            if line is None or _CONTROL.search(line):
                stats.binary_lines += 1
                stats.first_binary = stats.first_binary or f"{path}:{number}"
                continue
            if line:
                stats.texts += 1
                yield line


def count_pieces(tokenizer, texts: Iterable[str], batch_size: int = 2000) -> tuple[np.ndarray, int]:
    """How often the tokenizer produces each id on `texts` (special tokens of the template not counted)."""
    counts = np.zeros(len(tokenizer), dtype=np.int64)
    backend = tokenizer.backend_tokenizer
    n_texts, batch = 0, []
    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            n_texts += _count_batch(backend, batch, counts)
            batch = []
    if batch:
        n_texts += _count_batch(backend, batch, counts)
    return counts, n_texts


def _count_batch(backend, batch: list[str], counts: np.ndarray) -> int:
    for encoding in backend.encode_batch(batch, add_special_tokens=False):
        np.add.at(counts, np.asarray(encoding.ids, dtype=np.int64), 1)
    return len(batch)


def unigram_vocab(tokenizer_json: dict) -> list[list]:
    model = tokenizer_json.get("model", {})
    if model.get("type") != "Unigram":
        raise VocabTrimError(f"tokenizer model is {model.get('type')!r}; only SentencePiece Unigram vocabularies "
                             "can be trimmed (a WordPiece or BPE vocabulary is used as it is)")
    return model["vocab"]


def choose_kept_ids(tokenizer_json: dict, counts: np.ndarray, min_count: int) -> list[int]:
    """Special / added tokens, the unknown token, the lowest-scoring piece, and pieces counted >= min_count."""
    vocab = unigram_vocab(tokenizer_json)
    if len(counts) < len(vocab):
        raise VocabTrimError(f"counts cover {len(counts)} ids but the tokenizer has {len(vocab)} pieces")
    keep = set(np.flatnonzero(counts >= min_count).tolist())
    keep.update(token["id"] for token in tokenizer_json.get("added_tokens", []))
    keep.add(int(tokenizer_json["model"].get("unk_id") or 0))
    scores = np.array([score for _, score in vocab], dtype=np.float64)
    keep.add(int(scores.argmin()))  # keeps tokenizers' unknown-character score (min score - 10) unchanged
    return sorted(keep)


def trimmed_tokenizer_json(tokenizer_json: dict, kept_ids: list[int]) -> dict:
    """The same tokenizer with only `kept_ids`, renumbered 0..n-1 in their original order.

    Added tokens that live outside the Unigram vocabulary (ids after it) keep that place: after the kept pieces.
    """
    vocab = unigram_vocab(tokenizer_json)
    new_id = {old: new for new, old in enumerate(kept_ids)}
    out = copy.deepcopy(tokenizer_json)
    out["model"]["vocab"] = [vocab[old] for old in kept_ids if old < len(vocab)]
    unk = out["model"].get("unk_id")
    if unk is not None:
        out["model"]["unk_id"] = new_id[unk]
    for token in out.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    _remap_post_processor(out.get("post_processor"), new_id)
    return out


def _remap_post_processor(node, new_id: dict[int, int]) -> None:
    """Special-token ids inside TemplateProcessing / RobertaProcessing / BertProcessing / Sequence."""
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "TemplateProcessing":
        for special in node.get("special_tokens", {}).values():
            special["ids"] = [new_id[i] for i in special["ids"]]
    elif kind in ("RobertaProcessing", "BertProcessing"):
        for key in ("sep", "cls"):
            token, old = node[key]
            node[key] = [token, new_id[old]]
    elif kind == "Sequence":
        for child in node.get("processors", []):
            _remap_post_processor(child, new_id)


def trim_embeddings(model, kept_ids: list[int]) -> None:
    """Slice the input embeddings (and a separate MLM decoder) of a transformers model to `kept_ids`, in place."""
    index = torch.tensor(kept_ids, dtype=torch.long)
    old = model.get_input_embeddings()
    new = torch.nn.Embedding(len(kept_ids), old.embedding_dim, padding_idx=None)
    with torch.no_grad():
        new.weight.copy_(old.weight[index])
    model.set_input_embeddings(new)
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if output is not None:
        if output.weight is old.weight:
            output.weight = new.weight
        else:
            decoder = torch.nn.Linear(old.embedding_dim, len(kept_ids), bias=output.bias is not None)
            with torch.no_grad():
                decoder.weight.copy_(output.weight[index])
                if output.bias is not None:
                    decoder.bias.copy_(output.bias[index])
            model.set_output_embeddings(decoder)
        bias_owner = getattr(getattr(model, "cls", None), "predictions", None)
        if bias_owner is not None and getattr(bias_owner, "bias", None) is not None:
            bias_owner.bias = torch.nn.Parameter(bias_owner.bias.detach()[index].clone())
            bias_owner.decoder.bias = bias_owner.bias
    model.config.vocab_size = len(kept_ids)


def _remap_config_ids(config, new_id: dict[int, int]) -> None:
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id"):
        old = getattr(config, key, None)
        if isinstance(old, int):
            if old not in new_id:
                raise VocabTrimError(f"config {key}={old} is not a kept token")
            setattr(config, key, new_id[old])


@dataclass
class ModelFolder:
    """A model folder that `check_model_folder` accepted, with what the checks read."""

    path: Path
    tokenizer: Any
    tokenizer_json: dict
    config: Any


def check_model_folder(model_dir: str | Path) -> ModelFolder:
    """Every check on the model folder, before any work: a fast SentencePiece-Unigram tokenizer.json, a config
    whose embedding matrix has at least a row per token, and weights. Raises `VocabTrimError` (one line)."""
    model_dir = Path(model_dir)
    tokenizer_file = model_dir / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise VocabTrimError(f"{model_dir}: no tokenizer.json (a fast SentencePiece-Unigram tokenizer is needed)")
    try:
        tokenizer_json = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VocabTrimError(f"{tokenizer_file}: not a tokenizer.json ({exc})") from None
    try:
        unigram_vocab(tokenizer_json)
    except VocabTrimError as exc:
        raise VocabTrimError(f"{model_dir}: {exc}") from None
    has_weights = any((model_dir / name).is_file() for name in WEIGHT_FILES)
    if not (model_dir / "config.json").is_file():
        what = "a tokenizer-only folder (no config.json, no weights)" if not has_weights else "no config.json"
        raise VocabTrimError(f"{model_dir}: {what}: vocab trim needs the model folder whose embedding rows it trims")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        config = AutoConfig.from_pretrained(model_dir)
    except (OSError, ValueError, KeyError) as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise VocabTrimError(f"{model_dir}: cannot load the tokenizer or config ({type(exc).__name__}: "
                             f"{first})") from None
    n_ids = len(tokenizer)  # the Unigram pieces and any added token outside them
    if config.vocab_size < n_ids:
        raise VocabTrimError(f"{model_dir}: the tokenizer has {n_ids} tokens but the model only "
                             f"{config.vocab_size} embedding rows: they do not belong together")
    if not has_weights:
        raise VocabTrimError(f"{model_dir}: no weights ({' or '.join(WEIGHT_FILES[::2])}): a tokenizer-only folder "
                             "has no embedding rows to trim")
    return ModelFolder(model_dir, tokenizer, tokenizer_json, config)


def trim_folder(model_dir: str | Path, texts: Iterable[str], output_dir: str | Path, *, min_count: int = 1,
                heldout: Iterable[str] = (), checked: ModelFolder | None = None,
                text_stats: TextStats | None = None) -> dict:
    """Trim the model + fast tokenizer in `model_dir` to the pieces used by `texts`; write them to `output_dir`.

    Returns a report: kept pieces, parameters and sizes before/after, the padding rows of the embedding matrix
    that no tokenizer id reaches, and the share of `heldout` texts whose segmentation is unchanged. `checked`:
    the result of `check_model_folder(model_dir)` when the caller has it already; `text_stats`: the counts of
    `iter_text_lines` that produced `texts`, reported (binary lines skipped).
    """
    output_dir = Path(output_dir)
    checked = checked or check_model_folder(model_dir)
    model_dir, tokenizer, tokenizer_json, config = checked.path, checked.tokenizer, checked.tokenizer_json, \
        checked.config
    n_pieces = len(unigram_vocab(tokenizer_json))
    padding_rows = config.vocab_size - len(tokenizer)  # rows no id reaches (e5: 35); dropped with the unused pieces

    counts, n_texts = count_pieces(tokenizer, texts)
    if n_texts == 0:
        raise VocabTrimError("no texts to count pieces on (all input files empty?)")
    kept = choose_kept_ids(tokenizer_json, counts, min_count)
    new_json = trimmed_tokenizer_json(tokenizer_json, kept)

    model = _load_encoder(model_dir) if _is_encoder_only(config) else _load_with_head(model_dir)
    params_before = count_parameters(model)
    trim_embeddings(model, kept)
    _remap_config_ids(model.config, {old: new for new, old in enumerate(kept)})
    params_after = count_parameters(model)

    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    backend = Tokenizer.from_str(json.dumps(new_json))
    new_tok = PreTrainedTokenizerFast(tokenizer_object=backend, **_special_tokens(tokenizer),
                                      model_max_length=tokenizer.model_max_length)
    new_tok.save_pretrained(output_dir)

    unchanged, n_heldout = _heldout_unchanged(tokenizer, new_tok, kept, heldout)
    report = {
        "source": str(model_dir),
        "texts_counted": n_texts,
        **({} if text_stats is None else {"binary_lines_skipped": text_stats.binary_lines}),
        "min_count": min_count,
        "pieces_before": n_pieces,
        "embedding_rows_before": int(config.vocab_size),
        "padding_rows_dropped": int(padding_rows),
        "pieces_used": int((counts > 0).sum()),
        "pieces_kept": len(kept),
        "parameters_before": int(params_before),
        "parameters_after": int(params_after),
        "fp32_mb_before": round(params_before * 4 / 1e6, 1),
        "fp32_mb_after": round(params_after * 4 / 1e6, 1),
        "heldout_texts": n_heldout,
        "heldout_unchanged_share": None if n_heldout == 0 else round(unchanged / n_heldout, 6),
    }
    (output_dir / "vocab_trim.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def _is_encoder_only(config) -> bool:
    return not any(a.endswith(("ForMaskedLM", "ForSequenceClassification")) for a in (config.architectures or []))


def _load_encoder(model_dir: Path):
    """An encoder-only checkpoint as it is: no randomly initialised pooler is added when it has none."""
    model, info = AutoModel.from_pretrained(model_dir, output_loading_info=True)
    if any(key.startswith("pooler.") for key in info.get("missing_keys", [])):
        model = AutoModel.from_pretrained(model_dir, add_pooling_layer=False)
    return model


def _load_with_head(model_dir: Path):
    arch = (AutoConfig.from_pretrained(model_dir).architectures or [""])[0]
    cls = AutoModelForMaskedLM if arch.endswith("ForMaskedLM") else AutoModelForSequenceClassification
    return cls.from_pretrained(model_dir)


def _special_tokens(tokenizer) -> dict[str, str]:
    names = ("bos_token", "eos_token", "unk_token", "sep_token", "cls_token", "pad_token", "mask_token")
    return {name: str(getattr(tokenizer, name)) for name in names if getattr(tokenizer, name, None) is not None}


def _heldout_unchanged(old_tok, new_tok, kept: list[int], texts: Iterable[str]) -> tuple[int, int]:
    """How many held-out texts get the same pieces (old ids mapped to new) after trimming."""
    new_id = np.full(len(old_tok), -1, dtype=np.int64)
    new_id[np.asarray(kept)] = np.arange(len(kept))
    same = total = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal same, total
        olds = old_tok.backend_tokenizer.encode_batch(batch, add_special_tokens=False)
        news = new_tok.backend_tokenizer.encode_batch(batch, add_special_tokens=False)
        for o, n in zip(olds, news):
            mapped = new_id[np.asarray(o.ids, dtype=np.int64)]
            same += int(len(mapped) == len(n.ids) and bool((mapped == np.asarray(n.ids)).all()))
            total += 1
        batch.clear()

    for text in texts:
        batch.append(text)
        if len(batch) == 2000:
            flush()
    if batch:
        flush()
    return same, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="distilkobert vocab trim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model folder with a fast SentencePiece-Unigram tokenizer")
    parser.add_argument("--texts", nargs="+", required=True, help="text files (one text per line, .gz allowed)")
    parser.add_argument("--heldout", nargs="*", default=[], help="text files to measure unchanged segmentation on")
    parser.add_argument("--min-count", type=int, default=1, help="keep pieces produced at least this often")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if args.min_count < 1:
        parser.error(f"--min-count must be >= 1, got {args.min_count}")
    for path in [*args.texts, *args.heldout]:
        if not Path(path).is_file():
            parser.error(f"no such file: {path}")
    if not Path(args.model).is_dir():
        parser.error(f"--model {args.model}: no such folder")
    inputs = [("--model", args.model)] + [("--texts", t) for t in args.texts] + [("--heldout", t) for t in args.heldout]
    try:
        check_output_dir(args.output_dir, args.overwrite, inputs=inputs)
    except OutputDirError as err:
        parser.error(str(err))
    try:
        checked = check_model_folder(args.model)  # every check before the output folder is touched
        stats = TextStats()
        # built in a sibling folder that replaces --output-dir only once complete: a failure keeps the old one
        with staged_output(args.output_dir, args.overwrite, inputs=inputs) as staging:
            report = trim_folder(args.model, iter_text_lines(args.texts, stats), staging, min_count=args.min_count,
                                 heldout=iter_text_lines(args.heldout), checked=checked, text_stats=stats)
    except (VocabTrimError, OutputDirError, SourceError) as err:
        print(f"distilkobert vocab trim: error: {err}", file=sys.stderr)
        return 2
    if stats.binary_lines:
        print(f"note: {stats.binary_lines:,} binary lines (not UTF-8 text, or with control characters) skipped, "
              f"the first at {stats.first_binary}", file=sys.stderr)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
