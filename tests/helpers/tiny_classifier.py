"""Tiny fine-tuned-looking classifiers for tests and ``benchmarks/serving.py --quick``.

The weights are random (seeded), the layout is exactly that of a real one: a ``BertForSequenceClassification``
(teacher-like) or ``DistilBertForSequenceClassification`` (student-like) folder with ``id2label``
negative / positive and the tokenizer files next to the weights.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
)

from distilkobert.data.nsmc import ID2LABEL, LABEL2ID

from .tiny_bert import build_wordpiece_tokenizer

# Short Korean reviews (written for the project) to train the tiny tokenizers on.
SAMPLE_TEXTS = (
    "이 영화 정말 재미있었어요", "배우들의 연기가 훌륭했다", "시간 낭비였다", "스토리가 너무 뻔했다",
    "음악이 좋아서 끝까지 봤습니다", "다음 편도 기대됩니다", "최악의 결말이었다", "가족과 함께 보기 좋은 영화",
    "지루하고 길었다", "감동적인 장면이 많았다", "연출이 세련됐음", "다시는 안 본다", "추천합니다",
    "별로였어요", "CG가 꽤 탄탄했음", "웃기고 슬프고 다 있는 영화",
)


def copy_tokenizer(tokenizer_dir: str | Path, model_dir: str | Path) -> None:
    """Copy the files of a tokenizer folder into a model folder."""
    for f in Path(tokenizer_dir).iterdir():
        if f.is_file():
            shutil.copy2(f, Path(model_dir) / f.name)


def build_classifier(model_dir: str | Path, tokenizer_dir: str | Path, *, kind: str = "distilbert",
                     layers: int = 2, hidden: int = 32, heads: int = 2, ffn: int = 64, max_len: int = 128,
                     seed: int = 0) -> Path:
    """Save a randomly initialised 2-label classifier with the tokenizer of ``tokenizer_dir``; returns the folder."""
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    torch.manual_seed(seed)
    labels = dict(num_labels=2, id2label=ID2LABEL, label2id=LABEL2ID, pad_token_id=tokenizer.pad_token_id)
    if kind == "bert":
        config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                            num_attention_heads=heads, intermediate_size=ffn, max_position_embeddings=max_len,
                            **labels)
        model = BertForSequenceClassification(config)
    elif kind == "distilbert":
        config = DistilBertConfig(vocab_size=len(tokenizer), dim=hidden, n_layers=layers, n_heads=heads,
                                  hidden_dim=ffn, max_position_embeddings=max_len, **labels)
        model = DistilBertForSequenceClassification(config)
    else:
        raise ValueError(f"kind must be bert or distilbert, not {kind!r}")
    _center_head(model, tokenizer)
    model_dir = Path(model_dir)
    model.save_pretrained(str(model_dir))
    copy_tokenizer(tokenizer_dir, model_dir)
    return model_dir


def _center_head(model, tokenizer) -> None:
    """Shift the output bias so that the median sample text sits on the decision boundary: a random encoder gives
    nearly the same logits for every text, so without this every text would get the same label and tests comparing
    labels between backends could not fail."""
    model.eval()
    enc = tokenizer(list(SAMPLE_TEXTS), padding=True, return_tensors="pt")
    with torch.no_grad():
        model.classifier.weight *= 1000.0  # margins of ~0.1-1 instead of ~1e-4: far above float32 rounding
        logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
        margins = (logits[:, 1] - logits[:, 0]).sort().values
        middle = len(margins) // 2  # between the two middle texts, so that none sits on the boundary
        model.classifier.bias[1] -= (margins[middle - 1] + margins[middle]) / 2


def build_tiny_tokenizer(output_dir: str | Path, texts: Sequence[str] = SAMPLE_TEXTS, vocab_size: int = 300) -> Path:
    """A fast WordPiece tokenizer with KoBERT's special ids ([PAD] = 1), trained on ``texts``."""
    build_wordpiece_tokenizer(list(texts), output_dir, vocab_size=vocab_size)
    return Path(output_dir)
