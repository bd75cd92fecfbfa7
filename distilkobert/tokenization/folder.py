"""Build one tokenizer folder that serves both ways (fast by default, slow with ``trust_remote_code=True``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import sentencepiece

from .converter import SPECIAL_TOKENS, build_fast_tokenizer
from .errors import (
    CorruptModelError,
    CorruptVocabError,
    MissingFileError,
    MissingSpecialTokensError,
    VocabMismatchError,
)
from .quantize import CONFIG_KEY as QUANT_KEY
from .quantize import score_grid
from .spm_proto import CONTROL, NORMAL, UNKNOWN, UNUSED, SpmModel, read_model

SLOW_SOURCE = Path(__file__).resolve().parents[2] / "tokenizer" / "tokenization_kobert.py"


def _slow_source() -> Path:
    if SLOW_SOURCE.is_file():
        return SLOW_SOURCE
    import kobert_tokenizer.tokenization_kobert as mod  # installed layout only: a checkout has SLOW_SOURCE

    return Path(mod.__file__)


def _check_loads(sp_model: Path) -> None:
    """The slow class loads the model with sentencepiece itself: make sure that works, with a clear error."""
    try:
        sentencepiece.SentencePieceProcessor(model_file=str(sp_model))
    except (RuntimeError, OSError) as exc:
        raise CorruptModelError(f"{sp_model}: sentencepiece cannot load it ({exc})") from None


def read_vocab(path: str | Path) -> list[str]:
    """Read vocab.txt (LF or CRLF); errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: vocab file not found")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptVocabError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise CorruptVocabError(f"{path}: contains NUL bytes; not a vocab.txt")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    tokens = [line.strip() for line in lines]
    seen: dict[str, int] = {}
    for lineno, token in enumerate(tokens, 1):
        if not token:
            raise CorruptVocabError(f"{path}:{lineno}: empty line")
        if token in seen:
            raise CorruptVocabError(f"{path}:{lineno}: duplicate token {token!r} (first on line {seen[token]})")
        seen[token] = lineno
    return tokens


def validate_vocab(spm: SpmModel, vocab: list[str], vocab_path: str = "vocab.txt", model_path: str = "model") -> None:
    """Check the five specials (ids 0-4) and that vocab.txt holds exactly the model's normal pieces."""
    missing = [t for t in SPECIAL_TOKENS if t not in vocab]
    if missing:
        raise MissingSpecialTokensError(f"{vocab_path}: special tokens {missing} are missing; vocab.txt must start "
                                        f"with {list(SPECIAL_TOKENS)} (ids 0-4)")
    if tuple(vocab[:5]) != SPECIAL_TOKENS:
        raise MissingSpecialTokensError(f"{vocab_path}: lines 1-5 are {vocab[:5]}, expected {list(SPECIAL_TOKENS)}")
    unsupported = [p for p, _, t in spm.pieces if t not in (NORMAL, UNKNOWN, CONTROL, UNUSED)]
    if unsupported:
        raise VocabMismatchError(f"{model_path}: {len(unsupported)} user-defined/byte pieces (e.g. {unsupported[:3]}) "
                                 "are not supported by the KoBERT format")
    normal = {p for p, _, t in spm.pieces if t == NORMAL}
    body = set(vocab[5:])
    not_in_vocab = normal - body
    not_in_model = body - normal
    if not_in_vocab or not_in_model:
        raise VocabMismatchError(
            f"{vocab_path} does not match {model_path}: {len(not_in_vocab)} of the model's {len(normal)} pieces are "
            f"missing from the vocab (e.g. {sorted(not_in_vocab)[:5]}), {len(not_in_model)} vocab tokens are not "
            f"model pieces (e.g. {sorted(not_in_model)[:5]})")


def build_tokenizer_folder(
    sp_model: str | Path,
    vocab: str | Path,
    output_dir: str | Path,
    *,
    do_lower_case: bool = False,
    remove_space: bool = True,
    keep_accents: bool = False,
    model_max_length: int = 512,
    **kwargs: Any,
) -> Path:
    """Write spiece.model, vocab.txt, tokenization_kobert.py, tokenizer.json and tokenizer_config.json.

    Plain ``AutoTokenizer.from_pretrained(output_dir)`` then gives the exact fast tokenizer (no remote code),
    ``trust_remote_code=True`` the slow ``KoBertTokenizer``; both with the same options.
    """
    sp_model, vocab, output_dir = Path(sp_model), Path(vocab), Path(output_dir)
    spm = read_model(sp_model)
    if spm.model_type != 1:
        raise CorruptModelError(f"{sp_model}: model_type {spm.model_type} is not Unigram (1)")
    _check_loads(sp_model)
    tokens = read_vocab(vocab)
    validate_vocab(spm, tokens, str(vocab), str(sp_model))

    output_dir.mkdir(parents=True, exist_ok=True)
    if sp_model.resolve() != (output_dir / "spiece.model").resolve():
        shutil.copyfile(sp_model, output_dir / "spiece.model")
    # Normalised copy: LF endings, stripped lines (Hub copies of KoBERT's vocab.txt had CRLF).
    (output_dir / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    shutil.copyfile(_slow_source(), output_dir / "tokenization_kobert.py")

    fast = build_fast_tokenizer(spm, tokens, do_lower_case=do_lower_case, remove_space=remove_space,
                                keep_accents=keep_accents)
    fast.save(str(output_dir / "tokenizer.json"))

    specials = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                "mask_token": "[MASK]"}
    config: dict[str, Any] = {
        "tokenizer_class": "TokenizersBackend",
        "auto_map": {"AutoTokenizer": ["tokenization_kobert.KoBertTokenizer", None]},
        "do_lower_case": do_lower_case,
        "remove_space": remove_space,
        "keep_accents": keep_accents,
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        "special_tokens_pattern": "cls_sep",
        "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
        "padding_side": "right",
        "truncation_side": "right",
        "added_tokens_decoder": {
            str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True}
            for i, t in enumerate(SPECIAL_TOKENS)
        },
        **specials,
        **kwargs,
    }
    grid = score_grid(spm)
    if grid is not None:
        # Scores on a 2^-k grid (train_vocabulary quantizes them): parity with the slow class holds by construction.
        config[QUANT_KEY] = grid
    (output_dir / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n",
                                                      encoding="utf-8")
    (output_dir / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n", encoding="utf-8")
    return output_dir
