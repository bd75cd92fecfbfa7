"""The Hub inference widget works without remote code.

A tiny DistilBertForMaskedLM with a KoBERT-format vocabulary trained on the project's demo corpus is published
with its card to the local Hub at a version tag; `pipeline("fill-mask")` and `pipeline("feature-extraction")`
loaded from the repo with the plain (fast) AutoTokenizer give the same predictions as with the slow
SentencePiece tokenizer (`trust_remote_code=True`). The card round-trips through the Hub.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "demo_data"
VERSION = "v1"


def _demo_reviews(n: int) -> list[str]:
    """Documents of the demo test reviews (NSMC format: each quoted document is CSV-quoted twice)."""
    docs = []
    with (DEMO / "reviews_test.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row[0] == "id":
                continue
            doc = row[1]
            for _ in range(2):  # undo NSMC's double CSV quoting
                if doc.startswith('"') and doc.endswith('"') and len(doc) >= 2:
                    doc = doc[1:-1].replace('""', '"')
            docs.append(doc)
    return docs[:n]


@pytest.fixture(scope="module")
def published(tmp_path_factory, local_hub):
    """(repo_id, local model folder, rendered card text): a tiny fill-mask model published at VERSION."""
    from transformers import DistilBertConfig, DistilBertForMaskedLM

    from distilkobert.hub.publish import publish_folder
    from distilkobert.model_card import render_model_card
    from distilkobert.tokenization import train_vocabulary

    root = tmp_path_factory.mktemp("widget")
    tok_dir = train_vocabulary([DEMO / "corpus" / "reviews_style.txt", DEMO / "corpus" / "film.txt"], 500,
                               root / "tokenizer")
    tok_dir = Path(tok_dir) if tok_dir else root / "tokenizer"
    n_vocab = sum(1 for _ in (tok_dir / "vocab.txt").open(encoding="utf-8"))

    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=n_vocab, dim=32, hidden_dim=64, n_layers=2, n_heads=2,
                              max_position_embeddings=128, pad_token_id=1)
    model = DistilBertForMaskedLM(config)
    model_dir = root / "model"
    model.save_pretrained(model_dir)
    for f in tok_dir.iterdir():
        if f.is_file():
            shutil.copy(f, model_dir / f.name)

    repo_id = f"test-org/widget-{uuid.uuid4().hex[:10]}"
    info = {"teacher": {"name_or_path": "none"},
            "student": {"model_type": "distilbert", "n_layers": 2, "dim": 32, "n_heads": 2, "hidden_dim": 64,
                        "vocab_size": n_vocab, "n_params": sum(p.numel() for p in model.parameters())}}
    card = render_model_card(repo_id=repo_id, training_info=info, eval_results=None, revision=VERSION)
    (model_dir / "README.md").write_text(card, encoding="utf-8")
    result = publish_folder(model_dir, repo_id, version=VERSION)
    assert result.tag == VERSION
    return repo_id, model_dir, card


def _texts_with_mask(card_text: str) -> list[str]:
    import yaml

    meta = yaml.safe_load(card_text.split("---\n")[1])
    texts = [w["text"] for w in meta["widget"]]
    # demo reviews with one word masked, including ㅋㅋ / ㅠㅠ / emoji / quoted ones
    for doc in _demo_reviews(400)[::40]:
        words = doc.split(" ")
        if len(words) > 1:
            words[len(words) // 2] = "[MASK]"
            texts.append(" ".join(words))
    return texts


def test_fill_mask_fast_equals_slow_from_the_hub(published):
    from transformers import AutoTokenizer, pipeline

    repo_id, _, card = published
    fast = pipeline("fill-mask", model=repo_id, revision=VERSION, top_k=5)  # what the widget does
    assert fast.tokenizer.is_fast and fast.tokenizer.pad_token_id == 1 and fast.tokenizer.mask_token_id == 4
    slow_tok = AutoTokenizer.from_pretrained(repo_id, revision=VERSION, trust_remote_code=True)
    assert not slow_tok.is_fast
    slow = pipeline("fill-mask", model=fast.model, tokenizer=slow_tok, top_k=5)

    texts = _texts_with_mask(card)
    assert len(texts) >= 10
    for text in texts:
        assert fast.tokenizer(text)["input_ids"] == slow_tok(text)["input_ids"], text
        a, b = fast(text), slow(text)
        assert [p["token"] for p in a] == [p["token"] for p in b], text
        assert [p["token_str"] for p in a] == [p["token_str"] for p in b], text
        for pa, pb in zip(a, b):
            assert pa["score"] == pytest.approx(pb["score"], rel=1e-5, abs=1e-7)


def test_feature_extraction_fast_equals_slow_from_the_hub(published):
    from transformers import AutoTokenizer, pipeline

    repo_id, _, _ = published
    fast = pipeline("feature-extraction", model=repo_id, revision=VERSION)
    slow_tok = AutoTokenizer.from_pretrained(repo_id, revision=VERSION, trust_remote_code=True)
    slow = pipeline("feature-extraction", model=fast.model, tokenizer=slow_tok)
    texts = ["한국어 모델을 공유합니다.", "이 영화 진짜 최고ㅋㅋㅋ 👍", "결말이 너무 뻔했다ㅠㅠ..."] + _demo_reviews(30)
    texts = [t for t in texts if t]
    for text in texts:
        fa, fb = torch.tensor(fast(text)), torch.tensor(slow(text))
        assert fa.shape == fb.shape and fa.shape[-1] == 32, text
        torch.testing.assert_close(fa, fb)


def test_fast_and_slow_tokenizers_agree_on_all_demo_reviews(published):
    from transformers import AutoTokenizer

    repo_id, _, _ = published
    fast = AutoTokenizer.from_pretrained(repo_id, revision=VERSION)
    slow = AutoTokenizer.from_pretrained(repo_id, revision=VERSION, trust_remote_code=True)
    docs = _demo_reviews(1000)
    assert len(docs) == 1000 and any('"' in d for d in docs) and "" in docs
    assert fast(docs)["input_ids"] == slow(docs)["input_ids"]


def test_model_card_round_trips_through_the_hub(published, local_hub):
    from huggingface_hub import ModelCard

    from distilkobert.model_card import validate_model_card

    repo_id, _, card_text = published
    card = ModelCard.load(repo_id)
    sent = ModelCard(card_text)
    assert card.data.to_dict() == sent.data.to_dict()
    assert card.text == sent.text
    assert card.data.model_name is None  # no eval results yet: no model-index claimed
    assert card.data.language == ["ko"] and card.data.pipeline_tag == "fill-mask"
    assert card.data.library_name == "transformers" and card.data.license == "apache-2.0"
    assert [w["text"] for w in card.data.widget] == [w["text"] for w in ModelCard(card_text).data.widget]
    card.validate()  # the Hub's own /api/validate-yaml
    validate_model_card(str(card))  # and ours, after the YAML was re-serialised by huggingface_hub
    assert f'revision="{VERSION}"' in card.text


def test_original_api_loads_the_published_version(published):
    from distilkobert import get_distilkobert_model, get_tokenizer

    repo_id, model_dir, _ = published
    model = get_distilkobert_model(repo_id, revision=VERSION)
    fast = get_tokenizer(repo_id, revision=VERSION)
    slow = get_tokenizer(repo_id, revision=VERSION, trust_remote_code=True)
    assert fast.is_fast and not slow.is_fast
    enc = fast(["한국어 모델을 공유합니다.", "재밌다"], padding=True, return_tensors="pt")
    assert enc["input_ids"][1, -1].item() == 1  # padded with [PAD] = 1
    with torch.no_grad():
        hidden = model(enc["input_ids"], enc["attention_mask"])[0]
        local = get_distilkobert_model(str(model_dir))(enc["input_ids"], enc["attention_mask"])[0]
    assert hidden.shape[:2] == enc["input_ids"].shape
    torch.testing.assert_close(hidden, local)
    assert slow(["한국어 모델을 공유합니다."])["input_ids"] == fast(["한국어 모델을 공유합니다."])["input_ids"]
