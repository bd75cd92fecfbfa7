"""Train a KoBERT-format vocabulary: a Unigram SentencePiece model with KoBERT's settings + vocab.txt."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sentencepiece as spm

from distilkobert.data.sources import SourceError, read_lines

from .converter import SPECIAL_TOKENS, digit_comma_piece
from .errors import MissingFileError, TokenizerFileError
from .folder import build_tokenizer_folder
from .quantize import DEFAULT_EXACT_CHARS, quantize_model_bytes
from .spm_proto import NORMAL, mark_pieces_unused, parse_model_bytes, read_model

# Read from KoBERT's own tokenizer_78b3253a26.model trainer_spec (vocab_size 8000, character_coverage 0.9995,
# everything else SentencePiece's defaults) and normalizer_spec (nmt_nfkc, dummy prefix, remove extra whitespace).
KOBERT_TRAINER_SETTINGS: dict[str, Any] = {
    "model_type": "unigram",
    "character_coverage": 0.9995,
    "normalization_rule_name": "nmt_nfkc",
    "add_dummy_prefix": True,
    "remove_extra_whitespaces": True,
    "split_by_whitespace": True,
    "split_by_unicode_script": True,
    "split_by_number": True,
    "max_sentencepiece_length": 16,
    "unk_id": 0,
    "bos_id": 1,
    "eos_id": 2,
    "pad_id": -1,
    "unk_piece": "<unk>",
    "bos_piece": "<s>",
    "eos_piece": "</s>",
}


def _lines(paths: Iterable[Path]) -> Iterable[str]:
    """The non-blank lines of text files (plain or gzip; LF, CRLF or CR endings), stripped; a line that is not
    UTF-8 or a truncated gzip is a `TokenizerFileError` naming the file and line."""
    for path in paths:
        try:
            for number, raw in read_lines(path):
                try:
                    line = raw.decode("utf-8").strip()
                except UnicodeDecodeError as exc:
                    raise TokenizerFileError(f"{path}:{number}: not UTF-8 text (byte {exc.start})") from None
                if line:
                    yield line
        except SourceError as exc:
            raise TokenizerFileError(str(exc)) from None


def write_kobert_vocab(model_path: str | Path, vocab_path: str | Path) -> int:
    """Write vocab.txt in KoBERT's order (five specials, then the normal pieces sorted); returns its length."""
    pieces = sorted(p for p, _, t in read_model(model_path).pieces if t == NORMAL)
    tokens = list(SPECIAL_TOKENS) + pieces
    Path(vocab_path).write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return len(tokens)


def train_vocabulary(
    inputs: list[str | Path],
    vocab_size: int,
    output_dir: str | Path,
    *,
    num_threads: int = 2,
    input_sentence_size: int = 0,
    hard_vocab_limit: bool = True,
    seed_sentencepiece_size: int = 1_000_000,
    exact_chars: int = DEFAULT_EXACT_CHARS,
    **build_kwargs: Any,
) -> Path:
    """Train SentencePiece (``vocab_size`` pieces incl. <unk>/<s>/</s>) on text files (.gz accepted), write
    ``spiece.model`` + ``vocab.txt`` (vocab_size + 2 lines) into ``output_dir`` and build the tokenizer folder.

    The piece scores are rounded to the finest grid ``2**-k`` that keeps slow and fast tokenizers identical for
    texts up to ``exact_chars`` normalized characters (see quantize.py)."""
    paths = [Path(p) for p in inputs]
    for path in paths:
        if not path.is_file():
            raise MissingFileError(f"{path}: input text file not found")
    if vocab_size < 10:
        raise TokenizerFileError(f"--vocab-size {vocab_size}: must be at least 10")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        n = 0
        with corpus.open("w", encoding="utf-8") as out:
            for line in _lines(paths):
                out.write(line + "\n")
                n += 1
        if n == 0:
            raise TokenizerFileError(f"inputs {[str(p) for p in paths]} contain no text lines")
        settings = dict(KOBERT_TRAINER_SETTINGS)
        settings.update(
            input=str(corpus), model_prefix=str(Path(tmp) / "spiece"), vocab_size=vocab_size,
            num_threads=num_threads, hard_vocab_limit=hard_vocab_limit,
            seed_sentencepiece_size=seed_sentencepiece_size, minloglevel=2,
        )
        if input_sentence_size:
            settings.update(input_sentence_size=input_sentence_size, shuffle_input_sentence=True)
        try:
            spm.SentencePieceTrainer.train(**settings)
        except RuntimeError as exc:
            raise TokenizerFileError(f"SentencePiece training failed on {n} lines: {exc}") from None
        model_path = output_dir / "spiece.model"
        data = (Path(tmp) / "spiece.model").read_bytes()
        # KoBERT's vocabulary has no "digit + comma" pieces (▁1, 19,): the slow class re-splits them after the
        # Viterbi pass, which no tokenizer.json can reproduce exactly. Typing them UNUSED keeps them out of every
        # segmentation, so both tokenizers agree; they are left out of vocab.txt (reported by the CLI).
        dropped = {p for p, _, t in parse_model_bytes(data).pieces if t == NORMAL and digit_comma_piece(p)}
        if dropped:
            data = mark_pieces_unused(data, dropped)
        # Scores on a 2^-k grid make SentencePiece's float32 path sums exact, so its tie-breaks are the fast
        # tokenizer's (quantize.py); build_tokenizer_folder records k in tokenizer_config.json.
        data, _ = quantize_model_bytes(data, exact_chars)
        model_path.write_bytes(data)
    vocab_path = output_dir / "vocab.txt"
    write_kobert_vocab(model_path, vocab_path)
    folder = build_tokenizer_folder(model_path, vocab_path, output_dir, **build_kwargs)
    if dropped:
        (folder / "unused_pieces.txt").write_text("\n".join(sorted(dropped)) + "\n", encoding="utf-8")
    return folder
