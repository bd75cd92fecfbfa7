"""Teacher loading and student construction (DistilBERT or BERT) with teacher-layer initialisation.

`count_parameters` is re-exported from `distilkobert.common.model_size` for the callers that import it from here.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    BertConfig,
    BertForMaskedLM,
    DistilBertConfig,
    DistilBertForMaskedLM,
)

from distilkobert.common.model_size import count_parameters

logger = logging.getLogger(__name__)

__all__ = ["BERT_TO_DISTILBERT_LAYER", "Teacher", "load_teacher", "encoder_of", "mlm_head_of",
           "distilbert_config_from_teacher", "build_student", "count_parameters", "select_rows",
           "enable_row_gathered_forward", "disable_row_gathered_forward"]

# BERT layer sub-module -> DistilBERT layer sub-module (weights and biases copied as they are)
BERT_TO_DISTILBERT_LAYER = {
    "attention.self.query": "attention.q_lin",
    "attention.self.key": "attention.k_lin",
    "attention.self.value": "attention.v_lin",
    "attention.output.dense": "attention.out_lin",
    "attention.output.LayerNorm": "sa_layer_norm",
    "intermediate.dense": "ffn.lin1",
    "output.dense": "ffn.lin2",
    "output.LayerNorm": "output_layer_norm",
}


@dataclass
class Teacher:
    """A loaded teacher: the model, its encoder, and whether it has a usable MLM head."""

    model: nn.Module
    has_mlm_head: bool
    name_or_path: str
    revision: str | None

    @property
    def n_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)


def load_teacher(name_or_path: str, revision: str | None = None) -> Teacher:
    """Load a masked-LM teacher; an encoder-only checkpoint loads without head (has_mlm_head=False)."""
    config = AutoConfig.from_pretrained(name_or_path, revision=revision)
    if getattr(config, "model_type", None) != "bert":
        raise ValueError(f"teacher {name_or_path}: only BERT-family teachers are supported (model_type "
                         f"{getattr(config, 'model_type', None)!r})")
    model, info = AutoModelForMaskedLM.from_pretrained(name_or_path, revision=revision, output_loading_info=True)
    head_missing = [k for k in info.get("missing_keys", []) if "cls.predictions" in k]
    if head_missing:
        logger.warning("teacher %s has no MLM head (%d head weights missing): encoder-only teacher",
                       name_or_path, len(head_missing))
        model = AutoModel.from_pretrained(name_or_path, revision=revision, add_pooling_layer=False)
        return Teacher(model, False, name_or_path, revision)
    return Teacher(model, True, name_or_path, revision)


def encoder_of(model: nn.Module) -> nn.Module:
    """The transformer body (returns last_hidden_state / hidden_states) of a masked-LM or encoder model."""
    for name in ("distilbert", "bert"):
        if hasattr(model, name):
            return getattr(model, name)
    return model


def mlm_head_of(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A function hidden states [..., H] -> vocabulary logits [..., V]; None for an encoder without head."""
    if hasattr(model, "vocab_projector"):  # DistilBertForMaskedLM
        def distilbert_head(h: torch.Tensor) -> torch.Tensor:
            h = model.activation(model.vocab_transform(h))
            return model.vocab_projector(model.vocab_layer_norm(h))

        return distilbert_head
    if hasattr(model, "cls") and hasattr(model.cls, "predictions"):  # BertForMaskedLM
        return model.cls
    return None


def _copy_linear_like(dst: nn.Module, src: nn.Module) -> None:
    with torch.no_grad():
        dst.weight.copy_(src.weight)
        if getattr(src, "bias", None) is not None:
            dst.bias.copy_(src.bias)


def distilbert_config_from_teacher(teacher_config, n_layers: int, vocab_size: int,
                                   overrides: dict[str, Any]) -> DistilBertConfig:
    """The DistilBERT config of a student as wide as `teacher_config` (a BERT config) with `n_layers` layers."""
    act = teacher_config.hidden_act
    if act not in ("gelu", "relu"):
        raise ValueError(f"teacher activation {act!r} has no DistilBERT equivalent (gelu/relu); use "
                         "--student_model_type bert")
    cfg = dict(
        vocab_size=vocab_size,
        max_position_embeddings=teacher_config.max_position_embeddings,
        n_layers=n_layers,
        n_heads=teacher_config.num_attention_heads,
        dim=teacher_config.hidden_size,
        hidden_dim=teacher_config.intermediate_size,
        dropout=teacher_config.hidden_dropout_prob,
        attention_dropout=teacher_config.attention_probs_dropout_prob,
        activation=act,
        initializer_range=teacher_config.initializer_range,
        pad_token_id=1,
        tie_word_embeddings=getattr(teacher_config, "tie_word_embeddings", True),
    )
    cfg.update(overrides)
    return DistilBertConfig(**cfg)


def build_student(tokenizer, *, model_type: str = "distilbert", teacher: Teacher | None = None,
                  layers: list[int] | None = None, config_overrides: dict[str, Any] | None = None) -> nn.Module:
    """Build the student: from `teacher` (layers copied) or, without teacher, from `config_overrides` alone.

    Vocabulary size is the tokenizer's (from a teacher: the teacher's, which may add padding rows no token id
    reaches), pad_token_id is the tokenizer's (1 for KoBERT).
    """
    overrides = dict(config_overrides or {})
    vocab_size = len(tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 1
    overrides.setdefault("pad_token_id", pad_id)
    if teacher is None:
        overrides["vocab_size"] = vocab_size
        if model_type == "bert":
            return BertForMaskedLM(BertConfig(**overrides))
        return DistilBertForMaskedLM(DistilBertConfig(**overrides))

    layers = list(layers or [])
    tconf = teacher.model.config
    if tconf.vocab_size < vocab_size:
        raise ValueError(f"tokenizer has {vocab_size} tokens but teacher {teacher.name_or_path} has vocab_size "
                         f"{tconf.vocab_size}: use the teacher's tokenizer")
    # extra teacher rows are padding no id reaches (multilingual-e5: 35): the student keeps them, so that its
    # embeddings and MLM logits have the teacher's shape
    vocab_size = tconf.vocab_size
    bad = [i for i in layers if not 0 <= i < tconf.num_hidden_layers]
    if bad:
        raise ValueError(f"--student_layers {bad} out of range: teacher has {tconf.num_hidden_layers} layers")
    t_enc = encoder_of(teacher.model)
    t_layers = t_enc.encoder.layer
    if model_type == "bert":
        cfg = tconf.to_dict()
        for k in ("architectures", "_name_or_path", "transformers_version", "model_type"):
            cfg.pop(k, None)
        cfg.update(num_hidden_layers=len(layers), vocab_size=vocab_size)
        cfg.update(overrides)
        student = BertForMaskedLM(BertConfig(**cfg))
        s_enc = student.bert
        s_enc.embeddings.load_state_dict(t_enc.embeddings.state_dict())
        for j, i in enumerate(layers):
            s_enc.encoder.layer[j].load_state_dict(t_layers[i].state_dict())
        if teacher.has_mlm_head:
            student.cls.load_state_dict(teacher.model.cls.state_dict())
        return student

    student = DistilBertForMaskedLM(distilbert_config_from_teacher(tconf, len(layers), vocab_size, overrides))
    s_emb, t_emb = student.distilbert.embeddings, t_enc.embeddings
    _copy_linear_like(s_emb.word_embeddings, t_emb.word_embeddings)
    _copy_linear_like(s_emb.position_embeddings, t_emb.position_embeddings)
    _copy_linear_like(s_emb.LayerNorm, t_emb.LayerNorm)
    for j, i in enumerate(layers):
        s_layer, t_layer = student.distilbert.transformer.layer[j], t_layers[i]
        for t_name, s_name in BERT_TO_DISTILBERT_LAYER.items():
            _copy_linear_like(s_layer.get_submodule(s_name), t_layer.get_submodule(t_name))
    if teacher.has_mlm_head:
        pred = teacher.model.cls.predictions
        _copy_linear_like(student.vocab_transform, pred.transform.dense)
        _copy_linear_like(student.vocab_layer_norm, pred.transform.LayerNorm)
        with torch.no_grad():
            student.vocab_projector.weight.copy_(pred.decoder.weight)
            student.vocab_projector.bias.copy_(pred.bias if getattr(pred, "bias", None) is not None
                                               else pred.decoder.bias)
    else:
        logger.warning("encoder-only teacher: the student's MLM head starts from random initialisation")
    return student


def select_rows(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """`x[rows]` for a [B, L] bool mask; a view, not a copy (nor a scatter in backward), when every row is selected,
    as in packed batches with the KL on all rows."""
    return x.flatten(0, -2) if bool(rows.all()) else x[rows]


def _row_gathered_forward(self, input_ids=None, attention_mask=None, distill_rows=None, output_hidden_states=False,
                          full_logits=False, **kwargs):
    """Student forward used in training: logits only at the rows selected by `distill_rows` ([B, L] bool).

    Installed on the instance (see `enable_row_gathered_forward`) so that DDP's forward hooks still run; without
    `distill_rows` it is the model's ordinary forward.
    """
    if distill_rows is None:
        return type(self).forward(self, input_ids=input_ids, attention_mask=attention_mask,
                                  output_hidden_states=output_hidden_states, **kwargs)
    out = encoder_of(self)(input_ids=input_ids, attention_mask=attention_mask,
                           output_hidden_states=output_hidden_states)
    hidden = out.last_hidden_state
    head = mlm_head_of(self)
    logits = select_rows(head(hidden), distill_rows) if full_logits else head(select_rows(hidden, distill_rows))
    return {"last_hidden_state": hidden, "hidden_states": out.hidden_states, "logits": logits}


def enable_row_gathered_forward(model: nn.Module) -> nn.Module:
    """Give `model` (an MLM model) the `distill_rows=` forward, which gathers the loss rows before the vocabulary
    projection; class, config and saving are unchanged."""
    model.forward = types.MethodType(_row_gathered_forward, model)
    return model


def disable_row_gathered_forward(model: nn.Module) -> nn.Module:
    """Restore the model's ordinary forward (before saving or evaluating it)."""
    model.__dict__.pop("forward", None)
    return model
