"""Slow-vs-fast parity checks and the generated edge-case strings used by the tests and the report."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .spm_proto import NORMAL, read_model

_FRAGMENTS = [
    "", " ", "   ", "\t", "\n", "\r\n", " \t \n ", "\u3000", "\xa0", "``인용''", "''", "``", '"따옴표"',
    "Café", "naïve", "résumé", "Ångström", "ｆｕｌｌ", "ＡＢＣ１２３", "ｶﾀｶﾅ", "！？", "（괄호）", "😀", "👍🏻", "🎬🍿",
    "ㅋㅋㅋ", "ㅋㅋㅋㅋㅋㅋ", "ㅠㅠ", "ㅜㅜ", "ㅎㅎ", "1,000", "1,000,000", "3,5", "12,345원", "2019년", "10,",
    "Hello", "WORLD", "iPhone", "漢字", "韓國語", "大韓民國", "한국어", "모델을", "공유합니다.", "영화", "정말", "재미없다",  # noqa: E501 (wide Hangul / CJK characters count double)
    "[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "［MASK］", "....", ".....", "!!!", "?!", "~~", "^^", "ㄱㄴㄷ",
    "\u1100\u1161", "가\u0301", "ｱ", "①", "㈜", "™", "ﬁ", "½", "x²", "\u200b", "\ufeff", "…", "·", "–", "—",
    "\u2581\u034f", "\ufffd\u07a6", "\u2581", "\ufffd",  # a charsmap key + a grapheme extender
]


def edge_cases(n: int = 20000, seed: int = 0) -> list[str]:
    """``n`` varied strings: fixed corner cases first, then random mixes of the fragments above."""
    rng = random.Random(seed)
    fixed = ["", " ", "\t\n", "가" * 10000, ("영화 정말 재미있어요 ㅋㅋ " * 700)[:10000], "." * 50, ". . .",
             "[MASK]", "a[MASK]b", " [MASK] ", "[CLS] 한국어 모델을 공유합니다. [SEP]"] + _FRAGMENTS
    out = list(fixed)
    while len(out) < n:
        k = rng.randint(1, 12)
        parts = [rng.choice(_FRAGMENTS) for _ in range(k)]
        sep = rng.choice(["", " ", "  ", "\t", " "])
        out.append(sep.join(parts))
    return out[:n]


# nmt_nfkc keys that survive NFKD + dropping combining marks + NFKC (all -> " ")
CHARSMAP_SINGLE_KEYS = "\u200b\u200e\u200f\ufeff\u2581\ufffd"


def precompiled_grapheme_corner(text: str) -> bool:
    """A charsmap key (or whitespace, a key when ``remove_space`` is off) followed by a 2-byte character: where
    ``tokenizers``' ``Precompiled`` (a grapheme under 6 bytes looked up whole) and SentencePiece (character by
    character) can differ."""
    return any((c in CHARSMAP_SINGLE_KEYS or c.isspace()) and 0x80 <= ord(n) < 0x800 for c, n in zip(text, text[1:]))


@dataclass
class Mismatch:
    index: int
    text: str
    slow: list[int]
    fast: list[int]
    field: str
    pair: str | None = None


def compare(slow, fast, texts: list[str], pairs: list[str] | None = None, *, batch_size: int = 1000,
            fields=("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask"),
            **call_kwargs) -> list[Mismatch]:
    """Encode ``texts`` (and ``pairs``) with both tokenizers and list every field that differs, plus decode."""
    mismatches: list[Mismatch] = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        pair_chunk = pairs[start:start + batch_size] if pairs is not None else None
        kw = dict(return_special_tokens_mask=True, **call_kwargs)
        enc_s = slow(chunk, pair_chunk, **kw) if pair_chunk is not None else slow(chunk, **kw)
        enc_f = fast(chunk, pair_chunk, **kw) if pair_chunk is not None else fast(chunk, **kw)
        for j in range(len(chunk)):
            for name in fields:
                if enc_s[name][j] != enc_f[name][j]:
                    mismatches.append(Mismatch(start + j, chunk[j], enc_s[name][j], enc_f[name][j], name,
                                               pair_chunk[j] if pair_chunk is not None else None))
                    break
            else:
                ids = enc_s["input_ids"][j]
                if slow.decode(ids) != fast.decode(ids):
                    mismatches.append(Mismatch(start + j, chunk[j], ids, ids, "decode",
                                               pair_chunk[j] if pair_chunk is not None else None))
    return mismatches


def piece_scores(sp_model_path: str) -> dict[str, float]:
    return {p: s for p, s, t in read_model(sp_model_path).pieces if t == NORMAL}


def equal_score_variant(slow_pieces: list[str], fast_pieces: list[str], scores: dict[str, float]) -> bool:
    """True when two segmentations of the same string differ only by an exact tie: the same unscored pieces
    (unknown characters, special tokens) in the same order and exactly the same total score of the others."""
    if "".join(slow_pieces) != "".join(fast_pieces):
        return False
    if [p for p in slow_pieces if p not in scores] != [p for p in fast_pieces if p not in scores]:
        return False
    total = lambda ps: sum(scores[p] for p in ps if p in scores)  # noqa: E731  (float64: exact for these sums)
    return total(slow_pieces) == total(fast_pieces)


def unexplained(slow, fast, mismatches: list[Mismatch], scores: dict[str, float]) -> list[Mismatch]:
    """The mismatches that are NOT SentencePiece float32 tie-breaks: a mismatch is explained only when the ids
    differ and, for each text of the example, slow and fast pieces are the same or an exact equal-score reordering
    (and the lengths agree, so padding/truncation/special tokens cannot hide behind a tie)."""
    out = []
    for m in mismatches:
        if m.field != "input_ids" or len(m.slow) != len(m.fast):
            out.append(m)
            continue
        texts = [m.text] + ([m.pair] if m.pair is not None else [])
        # compare pieces, not ids: unknown characters become [UNK] and carry no score
        if not all(equal_score_variant(slow.tokenize(t), fast.tokenize(t), scores) for t in texts):
            out.append(m)
    return out
