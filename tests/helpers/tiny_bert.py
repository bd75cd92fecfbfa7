"""Small offline fixtures for tests and benchmarks: a WordPiece tokenizer with KoBERT's special ids, a
corpus dataset folder and a tiny BERT masked-LM teacher."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast

SPECIALS = ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4, as in KoBERT


def build_wordpiece_tokenizer(texts: Sequence[str], output_dir: str | Path, vocab_size: int = 1000):
    """Train a fast WordPiece tokenizer ([UNK]=0 [PAD]=1 [CLS]=2 [SEP]=3 [MASK]=4) and save it."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(list(texts), trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=512)
    fast.save_pretrained(str(output_dir))
    return fast


def write_corpus_dataset(texts: Sequence[str], output_dir: str | Path, validation_every: int = 10) -> Path:
    """A corpus dataset folder (data/train-*.parquet, data/validation-*.parquet, column `text`)."""
    output_dir = Path(output_dir)
    (output_dir / "data").mkdir(parents=True, exist_ok=True)
    val = [t for i, t in enumerate(texts) if i % validation_every == 0]
    train = [t for i, t in enumerate(texts) if i % validation_every != 0]
    pq.write_table(pa.table({"text": train}), output_dir / "data" / "train-00000-of-00001.parquet")
    pq.write_table(pa.table({"text": val}), output_dir / "data" / "validation-00000-of-00001.parquet")
    return output_dir


def tiny_bert_config(vocab_size: int, n_layers: int = 12, hidden: int = 32, heads: int = 2, ffn: int = 64,
                     max_len: int = 128, dropout: float = 0.0) -> dict:
    return dict(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=n_layers, num_attention_heads=heads,
                intermediate_size=ffn, max_position_embeddings=max_len, hidden_dropout_prob=dropout,
                attention_probs_dropout_prob=dropout, pad_token_id=1, type_vocab_size=2)


def tiny_bert_teacher(vocab_size: int, output_dir: str | Path | None = None, seed: int = 0, **kwargs):
    """A randomly initialised BertForMaskedLM (saved to output_dir when given)."""
    torch.manual_seed(seed)
    model = BertForMaskedLM(BertConfig(**tiny_bert_config(vocab_size, **kwargs)))
    if output_dir is not None:
        model.save_pretrained(str(output_dir))
    return model
