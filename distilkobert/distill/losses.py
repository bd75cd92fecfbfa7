"""Distillation losses. Each function returns a SUM over rows; the trainer divides by counts taken over the whole
accumulated (and, under DDP, global) batch, so that gradient accumulation gives exactly the large-batch update."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F

from distilkobert.distill.student import encoder_of, mlm_head_of, select_rows


def kl_loss_sum(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """sum over rows of KL(softmax(t/T) || softmax(s/T)) * T^2 (DistilBERT's L_ce before batchmean).

    The plain autograd composition (soft-target cross-entropy minus the teacher's constant entropy), kept as the
    readable reference; training uses `kl_and_mlm_sums`, which gives the same value and gradient for less work.
    """
    t = temperature
    with torch.no_grad():
        t_logp = F.log_softmax(teacher_logits.float() / t, dim=-1)
        t_prob = t_logp.exp()
        neg_entropy = (t_prob * t_logp).sum()
    return (F.cross_entropy(student_logits.float() / t, t_prob, reduction="sum") + neg_entropy) * (t * t)


def _block_rows(logits: torch.Tensor) -> int:
    """Rows per block: ~2 MB per float32 tensor on CPU, so that the passes over a block stay in cache; 64 MB on
    accelerators, where the number of kernel launches, not caches, is what the block size trades against."""
    budget = 1 << 19 if logits.device.type == "cpu" else 1 << 24
    return max(1, budget // max(1, logits.shape[-1]))


class _KlAndMlmSums(torch.autograd.Function):
    """(KL x T^2 over every row, MLM cross-entropy over `mlm_rows`) as sums, with one gradient buffer.

    Autograd's composition of the same losses (log-softmax and soft-target cross-entropy for the student, indexing
    the masked rows, adding the two gradients) makes about eight [rows, vocab] tensors and four exponentials per
    element; at small widths that elementwise work, not the matmuls, is most of a distillation step's cost beyond
    its unavoidable parts. Here each block of rows is read once: one softmax each for the student and the teacher
    (two exponentials per element), the per-row log-sum-exp taken from the softmax itself (at a row's maximum the
    softmax is 1 / sum), and the gradient's direction softmax(s/T) - p written while the block is in cache; the
    backward only scales it.
    """

    @staticmethod
    def forward(ctx, student_logits, teacher_logits, mlm_rows, mlm_labels, temperature):
        t = temperature
        dtype = torch.float64 if student_logits.dtype == torch.float64 else torch.float32
        need_grad = ctx.needs_input_grad[0]
        direction = torch.empty(student_logits.shape, dtype=dtype, device=student_logits.device) if need_grad else None
        kl = student_logits.new_zeros((), dtype=torch.float64)
        step = _block_rows(student_logits)
        for a in range(0, student_logits.shape[0], step):
            xs = torch.div(student_logits[a:a + step].to(dtype), t)
            xt = torch.div(teacher_logits[a:a + step].to(dtype), t)
            q, p = torch.softmax(xs, dim=-1), torch.softmax(xt, dim=-1)
            if need_grad:
                torch.sub(q, p, out=direction[a:a + step])
            # log-sum-exp difference of each row, lse(xt) - lse(xs), from the softmaxes (at a row's maximum the
            # softmax is 1 / sum) as a difference of small numbers: no rounding of two large log-sum-exps
            lse_diff = (xt.amax(dim=-1) - xs.amax(dim=-1)) - torch.log(p.amax(dim=-1) / q.amax(dim=-1))
            # sum_j p_j (log p_j - log q_j) = sum_j p_j (xt_j - xs_j) - lse_diff * sum_j p_j
            kl += torch.dot(p.view(-1), xt.sub_(xs).view(-1)) - torch.dot(lse_diff, p.sum(dim=-1))
        mlm_logp = torch.log_softmax(student_logits[mlm_rows].to(dtype), dim=-1)
        mlm = -mlm_logp.gather(1, mlm_labels.unsqueeze(1)).sum()
        ctx.save_for_backward(direction, mlm_rows, mlm_labels, mlm_logp)
        ctx.temperature, ctx.input_dtype, ctx.backward_done = t, student_logits.dtype, False
        return (kl * (t * t)).to(dtype), mlm

    @staticmethod
    def backward(ctx, grad_kl, grad_mlm):
        if ctx.backward_done:  # the saved direction became the gradient: a second pass would be wrong
            raise RuntimeError("kl_and_mlm_sums: backward can run only once (no retain_graph)")
        ctx.backward_done = True
        direction, mlm_rows, mlm_labels, mlm_logp = ctx.saved_tensors
        # d(T^2 KL)/ds = T (softmax(s/T) - p); d(CE)/ds = softmax(s) - onehot
        grad = direction.mul_(grad_kl * ctx.temperature)
        if mlm_rows.numel():
            g_mlm = mlm_logp.exp_()
            g_mlm[torch.arange(len(mlm_labels), device=g_mlm.device), mlm_labels] -= 1.0
            grad.index_add_(0, mlm_rows, g_mlm.mul_(grad_mlm))
        return grad.to(ctx.input_dtype), None, None, None, None


def kl_and_mlm_sums(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mlm_rows: torch.Tensor,
                    mlm_labels: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`kl_loss_sum(student_logits, teacher_logits, T)` and `mlm_loss_sum(student_logits[mlm_rows], mlm_labels)`
    in one pass (same values and gradients; see `_KlAndMlmSums`). `mlm_rows`: long indices into the rows."""
    return _KlAndMlmSums.apply(student_logits, teacher_logits, mlm_rows, mlm_labels, temperature)


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
            raise ValueError(f"--mse_layer_map: bad pair {item!r} (expected student:teacher, e.g. 1:4)") from None
        if not (0 <= s <= n_student and 0 <= t <= n_teacher):
            raise ValueError(f"--mse_layer_map: pair {item!r} out of range (student 0..{n_student}, "
                             f"teacher 0..{n_teacher})")
        pairs.append((s, t))
    return pairs


@dataclass
class LossConfig:
    """The distillation loss: its weights, temperature, KL positions, hidden-state pairs and projection switch.

    The one definition of these settings: `DistillationConfig` (the `TrainingArguments` of `distilkobert train`)
    inherits them as flags and recipe keys, `DistillationTrainer` reads them from its `args`, and the run records
    them with `record` in distillation_info.json (from which the model card reads them).
    """

    alpha_ce: float = field(default=0.33, metadata={"help": "Weight of KL(student || teacher) x T^2."})
    alpha_mlm: float = field(default=0.33, metadata={"help": "Weight of the MLM cross-entropy."})
    alpha_cos: float = field(default=0.33, metadata={"help": "Weight of the cosine loss on last hidden states."})
    alpha_mse: float = field(default=0.0, metadata={"help": "Weight of the MSE on hidden states (--mse_layer_map)."})
    temperature: float = field(default=2.0)
    ce_positions: str = field(default="all", metadata={"choices": ["all", "masked"],
                                                       "help": "KL over all non-pad positions or masked only."})
    mse_layer_map: str | None = field(
        default=None,
        metadata={"help": "student:teacher hidden-state pairs (0 = embeddings), e.g. '1:4,2:8,3:12' (a mapping in "
                          "YAML; default uniform)."},
    )
    full_logits: bool = field(
        default=False, metadata={"help": "Project every position onto the vocabulary (slower; for comparison)."}
    )

    def __post_init__(self) -> None:
        for name in LOSS_WEIGHTS:
            if getattr(self, name) < 0:
                raise ValueError(f"--{name} must be >= 0 (got {getattr(self, name)})")
        if sum(getattr(self, name) for name in LOSS_WEIGHTS) <= 0:
            raise ValueError("--alpha_ce, --alpha_mlm, --alpha_cos and --alpha_mse are all 0: no loss to train")
        if self.temperature <= 0:
            raise ValueError("--temperature must be > 0")
        if isinstance(self.mse_layer_map, dict):  # YAML mapping {1: 4, 2: 8} -> "1:4,2:8"
            self.mse_layer_map = ",".join(f"{s}:{t}" for s, t in self.mse_layer_map.items())

    def record(self, layer_map: Sequence[tuple[int, int]]) -> dict[str, Any]:
        """The settings as distillation_info.json records them ("losses"): every field but `full_logits` (which
        changes the speed, not the loss), with `mse_layer_map` as the hidden-state pairs used (None when none)."""
        values = {f.name: getattr(self, f.name) for f in fields(LossConfig) if f.name != "full_logits"}
        values["mse_layer_map"] = [list(p) for p in layer_map] or None
        return values


# the names of the loss weights: alpha_ce, alpha_mlm, alpha_cos, alpha_mse
LOSS_WEIGHTS = tuple(f.name for f in fields(LossConfig) if f.name.startswith("alpha_"))


def count_items(batches: list[dict], ce_positions: str) -> dict[str, torch.Tensor]:
    """Denominators of each loss over a list of micro-batches: masked tokens, non-pad tokens, KL rows."""
    masked = sum(b["labels"].ne(-100).sum() for b in batches)
    nonpad = sum(b["attention_mask"].sum() for b in batches)
    return {"masked": masked, "nonpad": nonpad, "ce": masked if ce_positions == "masked" else nonpad}


def distillation_losses(model, teacher, inputs: dict, cfg: LossConfig, counts: dict[str, torch.Tensor],
                        layer_map: Sequence[tuple[int, int]] = ()) -> dict[str, torch.Tensor]:
    """Loss terms for one micro-batch, normalised by `counts` (see `count_items`); key 'loss' is the weighted sum.

    The vocabulary projection is applied only at the rows the losses use (KL rows, or masked rows for MLM alone),
    for the student and the teacher alike, unless `cfg.full_logits`. `layer_map`: the (student, teacher)
    hidden-state pairs of the MSE term (see `parse_layer_map`).
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
    zero = s_logits.new_zeros((), dtype=torch.float32)
    terms = {"loss_mlm": zero, "loss_ce": zero, "loss_cos": zero, "loss_mse": zero}
    if cfg.alpha_mlm > 0 and not use_ce:
        terms["loss_mlm"] = mlm_loss_sum(s_logits, labels[masked]) / counts["masked"].clamp(min=1)
    if teacher is not None and (use_ce or use_hidden):
        with torch.no_grad():
            t_out = encoder_of(teacher)(input_ids=input_ids, attention_mask=attention_mask,
                                        output_hidden_states=cfg.alpha_mse > 0)
            t_hidden = t_out.last_hidden_state
            t_logits = None
            if use_ce:
                head = mlm_head_of(teacher)
                t_logits = (select_rows(head(t_hidden), ce_rows) if cfg.full_logits
                            else head(select_rows(t_hidden, ce_rows)))
        if use_ce:
            # masked rows are a subset of ce_rows (pads are never masked): their indices among the projected rows
            if cfg.alpha_mlm > 0:
                mlm_rows, mlm_labels = masked[ce_rows].nonzero().squeeze(1), labels[masked]
            else:
                mlm_rows = mlm_labels = labels.new_zeros(0)
            kl, mlm = kl_and_mlm_sums(s_logits, t_logits, mlm_rows, mlm_labels, cfg.temperature)
            terms["loss_ce"] = kl / counts["ce"].clamp(min=1)
            if cfg.alpha_mlm > 0:
                terms["loss_mlm"] = mlm / counts["masked"].clamp(min=1)
        if cfg.alpha_cos > 0:
            terms["loss_cos"] = cosine_loss_sum(select_rows(s_out["last_hidden_state"], nonpad),
                                                select_rows(t_hidden, nonpad)) / counts["nonpad"].clamp(min=1)
        if cfg.alpha_mse > 0 and layer_map:
            mse = zero
            for s_i, t_i in layer_map:
                mse = mse + mse_loss_sum(select_rows(s_out["hidden_states"][s_i], nonpad),
                                         select_rows(t_out.hidden_states[t_i], nonpad))
            terms["loss_mse"] = mse / (counts["nonpad"].clamp(min=1) * len(layer_map))
    terms["loss"] = (cfg.alpha_ce * terms["loss_ce"] + cfg.alpha_mlm * terms["loss_mlm"]
                     + cfg.alpha_cos * terms["loss_cos"] + cfg.alpha_mse * terms["loss_mse"])
    return terms
