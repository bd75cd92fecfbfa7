"""Quantized piece scores: exact slow/fast parity, by construction, for vocabularies the project trains.

Why (see converter.py): SentencePiece's Viterbi adds piece scores into a float32 path score accumulated from the
start of the text, ``tokenizers`` into a float64 one. Both keep, for each end position, the first strictly better
candidate in order of start, so on an exact tie the earliest start wins in both. With arbitrary float32 scores the
float32 sums round, and equal-score segmentations (``.``+``...`` vs ``...``+``.``) are decided by that rounding.

If every score is a multiple of ``2**-k``, every path score is one too, and a multiple of ``2**-k`` with magnitude
at most ``2**(24-k)`` is exactly representable in float32 (24-bit significand). Every value SentencePiece forms is
``best(prefix) + score(piece)``; the best path to a position scores at least as high as the path of single
characters, each a single-character piece (score >= min_score) or an unknown node (``min_score - 10``), so
``|value| <= n * (|min_score| + 10)`` for a normalized text of ``n`` characters (dummy-prefix ``▁`` included).
Below ``2**(24-k) / (|min_score| + 10)`` characters, then, both libraries compute exact sums, see the same ties
and break them the same way. (Normalization can lengthen a text: NFKC turns "㈜" into "(주)"; for Korean and
Latin text the normalized length is the input length after whitespace collapsing, plus one.)
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import TokenizerFileError
from .spm_proto import NORMAL, SpmModel, parse_model_bytes, set_piece_scores

UNK_PENALTY = 10.0  # SentencePiece's kUnkPenalty: the unknown score is min_score - 10
FLOAT32_SIGNIFICAND_BITS = 24
DEFAULT_EXACT_CHARS = 20_000
MAX_BITS = 8
CONFIG_KEY = "kobert_score_quantization"


def exact_length(min_score: float, bits: int) -> int:
    """Normalized characters up to which float32 path sums of ``2**-bits``-multiple scores are exact."""
    return int(2 ** (FLOAT32_SIGNIFICAND_BITS - bits) // (abs(min_score) + UNK_PENALTY))


def quantize(score: float, bits: int) -> float:
    """``score`` rounded to the nearest multiple of ``2**-bits`` (exact in float32 for these magnitudes)."""
    return round(score * 2 ** bits) / 2 ** bits


def choose_bits(min_score: float, exact_chars: int = DEFAULT_EXACT_CHARS, max_bits: int = MAX_BITS) -> int:
    """The finest grid ``2**-k`` (``k <= max_bits``) that keeps float32 sums exact for ``exact_chars`` characters."""
    for bits in range(max_bits, -1, -1):
        if exact_length(quantize(min_score, bits), bits) >= exact_chars:
            return bits
    raise TokenizerFileError(f"no score grid keeps {exact_chars} characters exact (min score {min_score})")


def quantize_model_bytes(data: bytes, exact_chars: int = DEFAULT_EXACT_CHARS) -> tuple[bytes, int]:
    """Round every piece score of a serialized model to a multiple of ``2**-k`` (patched in place); returns the
    new bytes and ``k``."""
    model = parse_model_bytes(data)
    normal = [s for _, s, t in model.pieces if t == NORMAL]
    if not normal:
        raise TokenizerFileError("the SentencePiece model has no normal pieces")
    bits = choose_bits(min(normal), exact_chars)
    changed = {p: quantize(s, bits) for p, s, _ in model.pieces if quantize(s, bits) != s}
    return set_piece_scores(data, changed), bits


def score_grid(spm: SpmModel, max_bits: int = MAX_BITS) -> dict | None:
    """If every normal score is a multiple of ``2**-k`` for some ``k <= max_bits``, the smallest such ``k`` and the
    length up to which slow and fast agree by construction (the record written to tokenizer_config.json)."""
    scores = [s for _, s, t in spm.pieces if t == NORMAL]
    if not scores:
        return None
    for bits in range(max_bits + 1):
        if all((s * 2 ** bits).is_integer() for s in scores):
            return {"bits": bits, "step": 2.0 ** -bits, "min_score": min(scores),
                    "exact_up_to_normalized_chars": exact_length(min(scores), bits)}
    return None


def read_record(folder: str | Path) -> dict | None:
    """The quantization record of a tokenizer folder, or None (e.g. the real KoBERT model's float32 scores)."""
    path = Path(folder) / "tokenizer_config.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get(CONFIG_KEY)


def describe(record: dict) -> str:
    """One line for the CLI."""
    return (f"piece scores quantized to multiples of 2^-{record['bits']}: slow and fast tokenizers agree exactly "
            f"(exact float32 sums) for texts up to {record['exact_up_to_normalized_chars']:,} normalized characters")

