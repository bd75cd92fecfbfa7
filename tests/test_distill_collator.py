"""Masking statistics of the XLM-style collator and the tokenization / packing step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from distilkobert.distill.collator import DistillationCollator, masking_probabilities, token_counts
from distilkobert.distill.data import pack_batch

SPECIAL = [0, 1, 2, 3, 4]
VOCAB = 60


def _batch(n=64, length=40, seed=0):
    rng = np.random.default_rng(seed)
    feats = []
    for _ in range(n):
        body_len = int(rng.integers(length // 2, length - 2))
        # a Zipf-like corpus: low ids frequent, high ids rare
        body = np.minimum(5 + rng.zipf(1.3, size=body_len), VOCAB - 1)
        feats.append({"input_ids": [2, *body.tolist(), 3]})
    return feats


@pytest.fixture(scope="module")
def setup():
    feats = _batch()
    counts = token_counts([f["input_ids"] for f in feats], VOCAB)
    probs = masking_probabilities(counts, SPECIAL, 0.7)
    return feats, counts, probs


def _collator(probs, seed=0):
    return DistillationCollator(probs, pad_token_id=1, mask_token_id=4, special_ids=SPECIAL,
                                generator=torch.Generator().manual_seed(seed))


def test_counts_and_probabilities(setup):
    feats, counts, probs = setup
    assert counts.sum() == sum(len(f["input_ids"]) for f in feats)
    assert counts[2] == len(feats)
    assert all(probs[i] == 0 for i in SPECIAL)
    assert probs[10].item() == pytest.approx(max(counts[10], 1) ** -0.7, rel=1e-6)


def test_masking_rate_specials_pads_and_80_10_10(setup):
    feats, _, probs = setup
    coll = _collator(probs)
    n_masked = n_cand = 0
    kinds = {"mask": 0, "keep": 0, "rand": 0}
    for _ in range(30):
        out = coll(feats)
        ids, attn, labels = out["input_ids"], out["attention_mask"], out["labels"]
        assert ids.shape[1] % 8 == 0
        orig, _ = coll.pad(feats)
        sel = labels.ne(-100)
        # never specials, never pads; labels are the original tokens
        assert not sel[attn == 0].any()
        assert not torch.isin(orig[sel], torch.tensor(SPECIAL)).any()
        assert torch.equal(labels[sel], orig[sel])
        assert torch.equal(ids[~sel], orig[~sel])
        cand = (attn.bool() & ~torch.isin(orig, torch.tensor(SPECIAL))).sum().item()
        assert sel.sum().item() == int(np.ceil(0.15 * cand))
        n_masked += sel.sum().item()
        n_cand += cand
        kinds["mask"] += (ids[sel] == 4).sum().item()
        kinds["keep"] += (ids[sel] == orig[sel]).sum().item()
        rand = ids[sel][(ids[sel] != 4) & (ids[sel] != orig[sel])]
        kinds["rand"] += rand.numel()
        assert not torch.isin(rand, torch.tensor(SPECIAL)).any()
    assert n_masked / n_cand == pytest.approx(0.15, abs=0.005)
    # random replacements can hit the original token (~1/55), counted as "keep"
    assert kinds["mask"] / n_masked == pytest.approx(0.8, abs=0.02)
    assert kinds["keep"] / n_masked == pytest.approx(0.1 + 0.1 / 55, abs=0.015)
    assert kinds["rand"] / n_masked == pytest.approx(0.1 - 0.1 / 55, abs=0.015)


def test_smoothing_favours_rare_tokens(setup):
    feats, counts, probs = setup
    coll = _collator(probs, seed=1)
    selected = np.zeros(VOCAB)
    for _ in range(40):
        out = coll(feats)
        sel = out["labels"].ne(-100)
        selected += np.bincount(out["labels"][sel].numpy(), minlength=VOCAB)
    rate = selected / np.maximum(counts * 40, 1)
    body = np.where(np.arange(VOCAB) >= 5, counts, 0)
    frequent, rare = int(np.argmax(body)), int(np.argmin(np.where(body > 0, body, 10**9)))
    assert counts[frequent] > 20 * counts[rare]
    # per-occurrence masking rate is much higher for a rare token than for the most frequent one
    assert rate[rare] > 3 * rate[frequent]
    # uniform masking (smoothing 0) shows no such preference
    uni = _collator(masking_probabilities(counts, SPECIAL, 0.0), seed=1)
    sel_u = np.zeros(VOCAB)
    for _ in range(40):
        out = uni(feats)
        sel_u += np.bincount(out["labels"][out["labels"].ne(-100)].numpy(), minlength=VOCAB)
    assert sel_u[frequent] / (counts[frequent] * 40) == pytest.approx(0.15, abs=0.03)


def test_fixed_generator_is_deterministic(setup):
    feats, _, probs = setup
    a, b = _collator(probs, seed=7)(feats), _collator(probs, seed=7)(feats)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_pack_batch_packs_chunks_and_counts_drops():
    texts = [[10] * 5, [11] * 3, [], [12] * 20, [13] * 2]
    seqs, stats = pack_batch(texts, cls_id=2, sep_id=3, max_seq_length=12, min_seq_length=6, packing=True)
    assert all(len(s) <= 12 and s[0] == 2 and s[-1] == 3 for s in seqs)
    assert seqs[0] == [2] + [10] * 5 + [3] + [11] * 3 + [3]
    assert stats["empty_texts"] == 1 and stats["chunked_texts"] == 1
    # 5+3 packed; 20 -> two chunks of 10; [13]*2 alone is too short: dropped and counted
    assert [len(s) for s in seqs] == [11, 12, 12]
    assert (stats["dropped_short"], stats["dropped_tokens"]) == (1, 4)
    seqs2, stats2 = pack_batch(texts, cls_id=2, sep_id=3, max_seq_length=12, min_seq_length=6, packing=False)
    assert [len(s) for s in seqs2] == [7, 12, 12]  # [13]*2 -> 4 tokens dropped; [11]*3 -> 5 dropped; 20 -> 10+10
    assert stats2["dropped_short"] == 2


def test_tokenize_corpus_caches(tmp_path):
    from distilkobert.distill.data import load_corpus, tokenize_corpus

    from helpers.tiny_bert import build_wordpiece_tokenizer, write_corpus_dataset

    lines = [x for x in (Path(__file__).parent / "data" / "distill_corpus.txt").read_text("utf-8").splitlines() if x]
    tok = build_wordpiece_tokenizer(lines, tmp_path / "tok", vocab_size=300)
    write_corpus_dataset(lines, tmp_path / "corpus")
    ds, identity = load_corpus(str(tmp_path / "corpus"))
    assert identity.startswith("folder:")
    out, counts, folder = tokenize_corpus(ds, tok, max_seq_length=32, min_seq_length=8, packing=True,
                                          cache_dir=tmp_path / "cache", dataset_id="x")
    assert (folder / "token_counts.npy").exists()
    assert counts.sum() == sum(out["train"]["length"])
    assert max(out["train"]["length"]) <= 32 and min(out["train"]["length"]) >= 8
    assert np.load(folder / "token_counts.npy").tolist() == counts.tolist()
    out2, counts2, folder2 = tokenize_corpus(ds, tok, max_seq_length=32, min_seq_length=8, packing=True,
                                             cache_dir=tmp_path / "cache", dataset_id="x")
    assert folder2 == folder and out2["train"]["input_ids"] == out["train"]["input_ids"]
    _, _, folder3 = tokenize_corpus(ds, tok, max_seq_length=48, min_seq_length=8, packing=True,
                                    cache_dir=tmp_path / "cache", dataset_id="x")
    assert folder3 != folder


def test_corpus_identity_follows_the_content(tmp_path):
    """Two corpus folders of the same name but different rows load their own rows and get different identities
    (datasets 5.2 alone would serve the second from the first one's cache; the token cache is keyed on it)."""
    from distilkobert.distill.data import load_corpus

    from helpers.tiny_bert import write_corpus_dataset

    write_corpus_dataset(["첫 번째 말뭉치의 문장입니다."] * 30, tmp_path / "a" / "corpus")
    write_corpus_dataset(["두 번째 말뭉치는 다른 문장을 담고 있어요."] * 30, tmp_path / "b" / "corpus")
    ds_a, id_a = load_corpus(str(tmp_path / "a" / "corpus"))
    ds_b, id_b = load_corpus(str(tmp_path / "b" / "corpus"))
    assert id_a != id_b
    assert set(ds_a["train"]["text"]) == {"첫 번째 말뭉치의 문장입니다."}
    assert set(ds_b["train"]["text"]) == {"두 번째 말뭉치는 다른 문장을 담고 있어요."}


def test_kobert_format_tokenizer_pipeline(tmp_path):
    """The project's KoBERT-format tokenizer (train_vocabulary) through tokenization, packing and masking."""
    from transformers import AutoTokenizer

    from distilkobert.distill.data import load_corpus, tokenize_corpus
    from distilkobert.tokenization import train_vocabulary

    from helpers.tiny_bert import write_corpus_dataset

    corpus = Path(__file__).parent / "data" / "distill_corpus.txt"
    train_vocabulary([corpus], 500, tmp_path / "tok", num_threads=1)
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    assert (tok.unk_token_id, tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id) == (0, 1, 2, 3, 4)  # noqa: E501 (wide Hangul / CJK characters count double)
    lines = [x for x in corpus.read_text("utf-8").splitlines() if x]
    write_corpus_dataset(lines, tmp_path / "corpus")
    out, counts, _ = tokenize_corpus(load_corpus(str(tmp_path / "corpus"))[0], tok, max_seq_length=64,
                                     min_seq_length=8, packing=True, cache_dir=tmp_path / "cache", dataset_id="k")
    coll = DistillationCollator(masking_probabilities(counts, tok.all_special_ids), pad_token_id=1, mask_token_id=4,
                                special_ids=tok.all_special_ids)
    batch = coll([out["train"][i] for i in range(16)])
    orig, _ = coll.pad([out["train"][i] for i in range(16)])
    sel = batch["labels"].ne(-100)
    assert sel.any() and not torch.isin(orig[sel], torch.tensor([0, 1, 2, 3, 4])).any()
    assert (orig[:, 0] == 2).all() and (batch["attention_mask"].sum(1) <= 64).all()
