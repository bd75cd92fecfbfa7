"""Quantized piece scores (distilkobert.tokenization.quantize): trained vocabularies tokenize identically in the
slow and the fast tokenizer by construction, because SentencePiece's float32 path sums become exact."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import pytest

from distilkobert.tokenization import CorruptModelError, train_vocabulary
from distilkobert.tokenization.parity import compare
from distilkobert.tokenization.quantize import (
    CONFIG_KEY,
    DEFAULT_EXACT_CHARS,
    choose_bits,
    exact_length,
    read_record,
    score_grid,
)
from distilkobert.tokenization.spm_proto import (
    NORMAL,
    parse_model_bytes,
    piece_score_offsets,
    read_model,
    set_piece_scores,
)

DATA = Path(__file__).parent / "data" / "korean_sentences.txt"
TAILS = [".", "..", "...", "....", ".....", "......", "ㅋㅋㅋㅋㅋ", "ㅋㅋㅋㅋ", "!!!!!", "~~~~~", "ㅠㅠㅠㅠ", "ㅎㅎㅎㅎㅎ"]  # noqa: E501 (wide Hangul / CJK characters count double)


def tie_stress_texts() -> list[str]:
    """Sentences ending in runs of dots / ㅋ / ㅠ after varying prefixes: equal-score reorderings everywhere."""
    rng = random.Random(0)
    out = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        for tail in TAILS:
            out += [line + tail, line[: rng.randint(1, len(line))] + " " + tail * 2]
    return out


def _both(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder), AutoTokenizer.from_pretrained(folder, trust_remote_code=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return train_vocabulary([DATA], 400, tmp_path_factory.mktemp("quant"), hard_vocab_limit=False)


def test_scores_on_the_grid_and_recorded(trained):
    record = read_record(trained)
    spm = read_model(trained / "spiece.model")
    scores = [s for _, s, t in spm.pieces if t == NORMAL]
    bits = record["bits"]
    assert all((s * 2 ** bits).is_integer() for s in scores)
    assert not all((s * 2 ** (bits - 1)).is_integer() for s in scores)  # the recorded k is the smallest
    assert record == score_grid(spm) and record["min_score"] == min(scores)
    # k is the finest grid that still guarantees DEFAULT_EXACT_CHARS characters
    assert record["exact_up_to_normalized_chars"] == exact_length(min(scores), bits) >= DEFAULT_EXACT_CHARS
    assert exact_length(min(scores), bits + 1) < DEFAULT_EXACT_CHARS and choose_bits(min(scores)) == bits


def test_exactness_bound_in_float32(trained):
    """At the recorded length the most negative sum SentencePiece can form (every character an unknown node,
    min_score - 10) is still exact in float32; the next grid step would not be."""
    record = read_record(trained)
    unk = np.float32(record["min_score"] - 10.0)
    n = record["exact_up_to_normalized_chars"]
    total = np.float32(0.0)
    for _ in range(n):
        total = np.float32(total + unk)
    assert float(total) == n * float(unk)
    assert abs(float(total)) <= 2.0 ** (24 - record["bits"])
    # without the grid the same accumulation rounds: the failure the quantization removes
    raw = np.float32(-9.123457)
    acc = np.float32(0.0)
    for _ in range(2000):
        acc = np.float32(acc + raw)
    assert float(acc) != 2000 * float(raw)


def test_quantization_makes_ties_agree(tmp_path, monkeypatch):
    """The same training without the quantization step disagrees on equal-score reorderings (SentencePiece breaks
    them by float32 rounding); with it, zero mismatches."""
    import distilkobert.tokenization.train as train_mod

    texts = tie_stress_texts()
    folder = train_vocabulary([DATA], 400, tmp_path / "q", hard_vocab_limit=False)
    fast, slow = _both(folder)
    assert compare(slow, fast, texts) == []

    monkeypatch.setattr(train_mod, "quantize_model_bytes", lambda data, exact_chars: (data, 0))
    raw = train_vocabulary([DATA], 400, tmp_path / "raw", hard_vocab_limit=False)
    assert read_record(raw) is None
    fast, slow = _both(raw)
    mismatches = compare(slow, fast, texts)
    assert len(mismatches) > 10 and all(m.field == "input_ids" for m in mismatches)


def test_long_input_up_to_the_bound(trained):
    fast, slow = _both(trained)
    record = read_record(trained)
    stress = " ".join(tie_stress_texts())
    text = (stress * (1 + record["exact_up_to_normalized_chars"] // len(stress)))[: DEFAULT_EXACT_CHARS - 1]
    assert len(text) == DEFAULT_EXACT_CHARS - 1
    assert slow(text)["input_ids"] == fast(text)["input_ids"]


def test_set_piece_scores_patches_only_score_bytes(trained):
    import sentencepiece

    data = (trained / "spiece.model").read_bytes()
    pieces = parse_model_bytes(data).pieces
    offsets = piece_score_offsets(data)
    assert [p for p, _ in offsets] == [p for p, _, _ in pieces]
    target = pieces[10][0]
    patched = set_piece_scores(data, {target: -0.5})
    assert len(patched) == len(data)
    changed = [i for i in range(len(data)) if data[i] != patched[i]]
    off = dict(offsets)[target]
    assert changed and all(off <= i < off + 4 for i in changed)
    assert struct.unpack("<f", patched[off:off + 4])[0] == -0.5
    new = parse_model_bytes(patched).pieces
    assert new[10] == (target, -0.5, pieces[10][2]) and new[:10] == pieces[:10] and new[11:] == pieces[11:]
    sp = sentencepiece.SentencePieceProcessor(model_proto=patched)
    assert sp.GetScore(sp.PieceToId(target)) == -0.5
    with pytest.raises(CorruptModelError):
        piece_score_offsets(data[:-7] + b"\x0a\xff")


def test_real_kobert_scores_are_not_quantized(kobert_files, tmp_path):
    """KoBERT's own float32 scores stay as they are (ties allowed there, see test_tokenizer_parity)."""
    import json

    from distilkobert.tokenization import build_tokenizer_folder

    assert score_grid(read_model(kobert_files[0])) is None
    folder = build_tokenizer_folder(*kobert_files, tmp_path)
    assert CONFIG_KEY not in json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
