"""Distillation losses. Each function returns a SUM over rows; the trainer divides by counts taken over the whole
accumulated (and, under DDP, global) batch, so that gradient accumulation gives exactly the large-batch update."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from distilkobert.distill.student import encoder_of, mlm_head_of


def kl_loss_sum(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """sum over rows of KL(softmax(t/T) || softmax(s/T)) * T^2 (DistilBERT's L_ce before batchmean).

    Computed as soft-target cross-entropy minus the teacher's (constant) entropy: one fused log-softmax for the
    student, a little cheaper than `F.kl_div`, same value and gradient.
    """
    t = temperature
    with torch.no_grad():
        t_logp = F.log_softmax(teacher_logits.float() / t, dim=-1)
        t_prob = t_logp.exp()
        neg_entropy = (t_prob * t_logp).sum()
    return (F.cross_entropy(student_logits.float() / t, t_prob, reduction="sum") + neg_entropy) * (t * t)


def mlm_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """sum of cross-entropies of the masked rows (`logits` [N, V], `labels` [N])."""
    return F.cross_entropy(logits.float(), labels, reduction="sum")


def cosine_loss_sum(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor) -> torch.Tensor:
    """sum over rows of 1 - cos(s, t) (CosineEmbeddingLoss with target 1)."""
    return (1.0 - F.cosine_similarity(student_hidden.float(), teacher_hidden.float(), dim=-1)).sum()


def mse_loss_sum(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor) -> torch.Tensor:
    """sum over rows of the mean squared error over the hidden dimension."""
    return F.mse_loss(student_hidden.float(), teacher_hidden.float(), reduction="sum") / student_hidden.shape[-1]


def parse_layer_map(text: str | None, n_student: int, n_teacher: int) -> list[tuple[int, int]]:
    """'1:4,2:8' -> [(1, 4), (2, 8)] in hidden_states indexing (0 = embeddings); default: uniform."""
    if not text:
        return [(k, k * n_teacher // n_student) for k in range(1, n_student + 1)]
    pairs = []
    for item in text.replace(" ", "").split(","):
        try:
            s, t = (int(x) for x in item.split(":"))
        except ValueError:
            raise ValueError(f"--mse_layer_map: bad pair {item!r} (expected student:teacher, e.g. 1:4)")
        if not (0 <= s <= n_student and 0 <= t <= n_teacher):
            raise ValueError(f"--mse_layer_map: pair {item!r} out of range (student 0..{n_student}, teacher 0..{n_teacher})")
        pairs.append((s, t))
    return pairs


@dataclass
class LossConfig:
    alpha_ce: float = 0.33
    alpha_mlm: float = 0.33
    alpha_cos: float = 0.33
    alpha_mse: float = 0.0
    temperature: float = 2.0
    ce_positions: str = "all"
    layer_map: list[tuple[int, int]] = field(default_factory=list)
    full_logits: bool = False


def count_items(batches: list[dict], ce_positions: str) -> dict[str, torch.Tensor]:
    """Denominators of each loss over a list of micro-batches: masked tokens, non-pad tokens, KL rows."""
    masked = sum(b["labels"].ne(-100).sum() for b in batches)
    nonpad = sum(b["attention_mask"].sum() for b in batches)
    return {"masked": masked, "nonpad": nonpad, "ce": masked if ce_positions == "masked" else nonpad}


def distillation_losses(model, teacher, inputs: dict, cfg: LossConfig,
                        counts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Loss terms for one micro-batch, normalised by `counts` (see `count_items`); key 'loss' is the weighted sum.

    The vocabulary projection is applied only at the rows the losses use (KL rows, or masked rows for MLM alone),
    for the student and the teacher alike, unless `cfg.full_logits`.
    """
    input_ids, attention_mask, labels = inputs["input_ids"], inputs["attention_mask"], inputs["labels"]
    masked = labels.ne(-100)
    nonpad = attention_mask.bool()
    use_ce = cfg.alpha_ce > 0 and teacher is not None
    use_hidden = teacher is not None and (cfg.alpha_cos > 0 or cfg.alpha_mse > 0)
    ce_rows = (nonpad if cfg.ce_positions == "all" else masked) if use_ce else masked
    s_out = model(input_ids=input_ids, attention_mask=attention_mask, distill_rows=ce_rows,
                  output_hidden_states=cfg.alpha_mse > 0 and teacher is not None, full_logits=cfg.full_logits)
    s_logits = s_out["logits"]
    # masked rows are a subset of ce_rows (pads are never masked): select them among the projected rows
    s_mlm_logits = s_logits[masked[ce_rows]] if use_ce else s_logits
    zero = s_logits.new_zeros((), dtype=torch.float32)
    terms = {"loss_mlm": zero, "loss_ce": zero, "loss_cos": zero, "loss_mse": zero}
    if cfg.alpha_mlm > 0:
        terms["loss_mlm"] = mlm_loss_sum(s_mlm_logits, labels[masked]) / counts["masked"].clamp(min=1)
    if teacher is not None and (use_ce or use_hidden):
        with torch.no_grad():
            t_out = encoder_of(teacher)(input_ids=input_ids, attention_mask=attention_mask,
                                        output_hidden_states=cfg.alpha_mse > 0)
            t_hidden = t_out.last_hidden_state
            t_logits = None
            if use_ce:
                head = mlm_head_of(teacher)
                t_logits = head(t_hidden)[ce_rows] if cfg.full_logits else head(t_hidden[ce_rows])
        if use_ce:
            terms["loss_ce"] = kl_loss_sum(s_logits, t_logits, cfg.temperature) / counts["ce"].clamp(min=1)
        if cfg.alpha_cos > 0:
            terms["loss_cos"] = cosine_loss_sum(s_out["last_hidden_state"][nonpad], t_hidden[nonpad]) / \
                counts["nonpad"].clamp(min=1)
        if cfg.alpha_mse > 0 and cfg.layer_map:
            mse = zero
            for s_i, t_i in cfg.layer_map:
                mse = mse + mse_loss_sum(s_out["hidden_states"][s_i][nonpad], t_out.hidden_states[t_i][nonpad])
            terms["loss_mse"] = mse / (counts["nonpad"].clamp(min=1) * len(cfg.layer_map))
    terms["loss"] = (cfg.alpha_ce * terms["loss_ce"] + cfg.alpha_mlm * terms["loss_mlm"]
                     + cfg.alpha_cos * terms["loss_cos"] + cfg.alpha_mse * terms["loss_mse"])
    return terms
