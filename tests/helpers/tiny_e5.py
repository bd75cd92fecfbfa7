"""Small offline stand-ins for the study's tests: a multilingual-e5-shaped teacher at toy size.

The real teacher (multilingual-e5-small) is a BERT encoder without MLM head behind an XLM-R SentencePiece
Unigram tokenizer (<s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last, `<s> A </s>`); this builds the same shape with a
Unigram vocabulary trained on the given texts and a tiny random encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast


def build_unigram_tokenizer(texts: Sequence[str], output_dir: str | Path, vocab_size: int = 400):
    """An XLM-R-style fast tokenizer (SentencePiece Unigram + Metaspace) trained on `texts`, saved."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>")
    tok.train_from_iterator(list(texts), trainer)
    tok.add_special_tokens(["<mask>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   sep_token="</s>", cls_token="<s>", pad_token="<pad>", mask_token="<mask>",
                                   model_max_length=128)
    fast.save_pretrained(str(output_dir))
    return fast


def build_tiny_e5_teacher(texts: Sequence[str], output_dir: str | Path, *, vocab_size: int = 400,
                          padding_rows: int = 3, layers: int = 12, hidden: int = 32, seed: int = 0) -> Path:
    """A tiny encoder-only BERT teacher with `padding_rows` unused embedding rows (like e5's 35), saved."""
    output_dir = Path(output_dir)
    tokenizer = build_unigram_tokenizer(texts, output_dir, vocab_size)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer) + padding_rows, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=128,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=1)
    BertModel(config, add_pooling_layer=False).save_pretrained(output_dir)
    return output_dir
