"""Slow vs fast parity on NSMC reviews, generated edge cases, pairs and trained vocabularies.

With the real KoBERT model SentencePiece decides equal-score segmentations by float32 rounding of the score
accumulated since the start of the text (``test_sentencepiece_ties_depend_on_context``), which no static
tokenizer.json can reproduce; every other difference must be absent. So for KoBERT: zero unexplained mismatches,
and the pure ties stay rare. Vocabularies trained by ``train_vocabulary`` have quantized scores (quantize.py):
there the slow and fast tokenizers must agree exactly, zero mismatches.
"""

from __future__ import annotations

import glob
import gzip
import random
from pathlib import Path

import pytest
from conftest import shared_path

from distilkobert.tokenization import build_tokenizer_folder, train_vocabulary
from distilkobert.tokenization.parity import compare, edge_cases, piece_scores, unexplained

DATA = Path(__file__).parent / "data" / "korean_sentences.txt"
DEMO_CORPUS = Path(__file__).resolve().parent.parent / "demo_data" / "corpus"
# (inputs, vocab size, train_vocabulary options): (a) the test vocab, (b) the demo's, (c) a Wikinews one
TRAINED = {
    "test-sentences-400": (lambda: [DATA], 400, {"hard_vocab_limit": False}),
    "demo-corpus-2000": (lambda: sorted(glob.glob(str(DEMO_CORPUS / "*.txt"))), 2000, {}),
    "wikinews-4000": (lambda: [shared_path("corpus", "boddari_wikinews.txt.gz")], 4000, {}),
}


def nsmc_documents(limit: int | None = None) -> list[str]:
    docs = []
    with gzip.open(shared_path("nsmc", "train.tsv.gz"), "rt", encoding="utf-8") as f:
        f.readline()
        for line in f:
            parts = line.rstrip("\n").split("\t")
            docs.append(parts[1] if len(parts) > 1 else "")
            if limit and len(docs) >= limit:
                break
    return docs


@pytest.fixture(scope="module")
def kobert(kobert_files, tmp_path_factory):
    from transformers import AutoTokenizer

    folder = build_tokenizer_folder(*kobert_files, tmp_path_factory.mktemp("kobert"))
    return (AutoTokenizer.from_pretrained(folder, trust_remote_code=True), AutoTokenizer.from_pretrained(folder),
            piece_scores(str(folder / "spiece.model")))


def _check(slow, fast, scores, texts, pairs=None, max_rate=0.005, **kw):
    mismatches = compare(slow, fast, texts, pairs, **kw)
    assert unexplained(slow, fast, mismatches, scores) == []
    assert len(mismatches) <= max_rate * len(texts), len(mismatches)
    return len(mismatches)


def test_sentencepiece_ties_depend_on_context(kobert):
    slow, _, _ = kobert
    alone = slow.sp_model.EncodeAsPieces("지루하다.....")
    after = slow.sp_model.EncodeAsPieces("영화 지루하다.....")
    assert alone[-3:] == [".", "...", "."] and after[-3:] == [".", ".", "..."]


def test_nsmc_subset_parity(kobert):
    slow, fast, scores = kobert
    _check(slow, fast, scores, nsmc_documents(20000))


def test_edge_case_parity(kobert):
    slow, fast, scores = kobert
    _check(slow, fast, scores, edge_cases(20000), truncation=True, max_length=512, max_rate=0.02)


def test_pair_parity(kobert):
    slow, fast, scores = kobert
    docs = nsmc_documents(6000)
    rng = random.Random(0)
    _check(slow, fast, scores, docs[:3000], [rng.choice(docs) for _ in range(3000)], max_rate=0.01)


def _trained(name: str, folder: Path):
    from transformers import AutoTokenizer

    inputs, size, options = TRAINED[name]
    folder = train_vocabulary(inputs(), size, folder, **options)
    return AutoTokenizer.from_pretrained(folder, trust_remote_code=True), AutoTokenizer.from_pretrained(folder)


def _assert_identical(slow, fast, texts, pairs=None, **kw):
    mismatches = compare(slow, fast, texts, pairs, **kw)
    assert [(m.text, m.pair, m.field, slow.tokenize(m.text), fast.tokenize(m.text)) for m in mismatches[:5]] == []


def test_trained_vocab_parity(tmp_path):
    """(a) No tie allowance: quantized scores make the two tokenizers identical, "［MASK］" (unknown characters in
    this vocab, glued to other unknown ones or not) included."""
    slow, fast = _trained("test-sentences-400", tmp_path)
    texts = DATA.read_text(encoding="utf-8").splitlines() + edge_cases(5000, seed=1)
    assert sum("［MASK］" in t for t in texts) > 100
    _assert_identical(slow, fast, texts, truncation=True, max_length=512)


def test_demo_vocab_parity(tmp_path):
    """(b) The demo's vocabulary: here "[", "M", "A", "]" are unknown but "S" and "K" are pieces, so "［MASK］" must
    come out as SentencePiece's pieces, never as the [MASK] entry (converter._special_guards)."""
    slow, fast = _trained("demo-corpus-2000", tmp_path)
    ids = slow("［MASK］")["input_ids"]
    assert fast("［MASK］")["input_ids"] == ids and 4 not in ids and ids.count(0) == 2
    assert fast.tokenize("［MASK］")[2:] == slow.tokenize("［MASK］")[2:] == ["S", "K", "]"]
    texts = edge_cases(5000, seed=2) + DATA.read_text(encoding="utf-8").splitlines()
    _assert_identical(slow, fast, texts, truncation=True, max_length=512)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TRAINED))
def test_trained_vocab_full_parity(name, tmp_path):
    """All 150,000 NSMC reviews, 20,000 edge cases and 20,000 pairs: zero mismatches for each trained vocab."""
    slow, fast = _trained(name, tmp_path)
    docs = nsmc_documents()
    _assert_identical(slow, fast, docs)
    _assert_identical(slow, fast, edge_cases(20000), truncation=True, max_length=512)
    rng = random.Random(0)
    _assert_identical(slow, fast, docs[:20000], [rng.choice(docs) for _ in range(20000)])


@pytest.mark.slow
def test_nsmc_full_parity(kobert):
    slow, fast, scores = kobert
    _check(slow, fast, scores, nsmc_documents())
