"""Builders for the evaluation tests: a tiny NSMC-format dataset, a tiny fast tokenizer, tiny encoders.

No tests here; the test_eval*.py modules import these helpers. Everything is generated, small and seeded.
"""

from __future__ import annotations

import random
from pathlib import Path

POSITIVE = ["최고의 영화", "정말 재밌다", "감동적이다", "강력 추천합니다", "배우 연기 좋아요", "또 보고 싶다",
            "명작입니다", "웃기고 따뜻하다"]
NEGATIVE = ["최악의 영화", "너무 지루하다", "별로였다", "시간 아깝다", "실망했어요", "노잼 연출",
            "돈이 아깝다", "다시는 안 본다"]
FILLER = ["스토리", "음악", "결말", "주인공", "감독", "오늘", "극장에서", "ㅋㅋ", "ㅠㅠ", "진짜", "그냥", "솔직히"]

README_TEMPLATE = """---
configs:
- config_name: default
  data_files:
{files}
dataset_info:
  features:
  - name: id
    dtype: string
  - name: document
    dtype: string
  - name: label
    dtype:
{label_dtype}
---
# tiny NSMC-format dataset for tests
"""
CLASS_LABEL = """      class_label:
        names:
          '0': negative
          '1': positive"""


def make_rows(n: int, seed: int, *, n_empty: int = 2, n_long: int = 2, start_id: int = 0) -> list[dict]:
    """Rows of (id, document, label): sentiment phrases among fillers, plus empty and very long documents."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = rng.sample(FILLER, 2) + [rng.choice(POSITIVE if label else NEGATIVE)]
        rng.shuffle(words)
        rows.append({"id": str(start_id + i), "document": " ".join(words), "label": label})
    for j in range(n_empty):
        rows[j * 3]["document"] = ""
    for j in range(n_long):
        r = rows[j * 3 + 1]
        r["document"] = " ".join([r["document"]] + FILLER * 8)  # far longer than the tests' max_seq_length
    return rows


def write_dataset(folder: Path, splits: dict[str, list[dict]], *, class_label: bool = True) -> Path:
    """Parquet files + README.md YAML card, loadable with datasets.load_dataset(folder)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (folder / "data").mkdir(parents=True, exist_ok=True)
    files = []
    for split, rows in splits.items():
        table = pa.table({"id": pa.array([r["id"] for r in rows], pa.string()),
                          "document": pa.array([r["document"] for r in rows], pa.string()),
                          "label": pa.array([r["label"] for r in rows], pa.int64())})
        pq.write_table(table, folder / "data" / f"{split}-00000-of-00001.parquet")
        files.append(f"  - split: {split}\n    path: data/{split}-*")
    label_dtype = CLASS_LABEL if class_label else "      int64"
    (folder / "README.md").write_text(README_TEMPLATE.format(files="\n".join(files), label_dtype=label_dtype),
                                      encoding="utf-8")
    return folder


def standard_splits(n_train: int = 120, n_val: int = 40, n_test: int = 40) -> dict[str, list[dict]]:
    return {"train": make_rows(n_train, 1), "validation": make_rows(n_val, 2, start_id=10_000),
            "test": make_rows(n_test, 3, start_id=20_000)}


def make_tokenizer(texts: list[str]):
    """A tiny fast WordPiece tokenizer with [UNK]=0 [PAD]=1 [CLS]=2 [SEP]=3 [MASK]=4."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.decoder = decoders.WordPiece()
    assert [tok.token_to_id(s) for s in specials] == [0, 1, 2, 3, 4]
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=512)


def make_model(folder: Path, kind: str = "bert", texts: list[str] | None = None) -> Path:
    """A tiny randomly initialised encoder checkpoint (+ its tokenizer) in `folder`."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, DistilBertConfig, DistilBertForMaskedLM

    texts = texts or [r["document"] for rows in standard_splits().values() for r in rows]
    tokenizer = make_tokenizer(texts)
    torch.manual_seed(0)
    if kind == "bert":
        config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=128, pad_token_id=1)
        model = BertForMaskedLM(config)
    elif kind == "distilbert":
        config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                  max_position_embeddings=128, pad_token_id=1)
        model = DistilBertForMaskedLM(config)
    else:
        raise ValueError(kind)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def fast_args(model: Path, dataset: Path, out: Path, *extra: str) -> list[str]:
    """CLI arguments for a run that takes a few seconds on one CPU core."""
    return ["--model_name_or_path", str(model), "--dataset_name", str(dataset), "--output_dir", str(out),
            "--max_seq_length", "32", "--num_train_epochs", "5", "--warmup_ratio", "0", "--per_device_train_batch_size", "16",  # noqa: E501 (wide Hangul / CJK characters count double)
            "--per_device_eval_batch_size", "32", "--learning_rate", "3e-3", "--logging_steps", "5",
            "--device", "cpu", "--seeds", "42", *extra]
