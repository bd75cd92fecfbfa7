"""`DistillationTrainer`: a `transformers.Trainer` whose loss is the distillation loss, set by its `args` (a
`DistillationConfig`: `TrainingArguments` with `LossConfig`'s fields), as TRL's `GKDTrainer` reads `GKDConfig`.

Gradient accumulation is exact: `get_batch_samples` counts each loss's denominator (masked tokens, non-pad
tokens) over all micro-batches of the update (summed over processes under DDP), every micro-batch returns its
loss SUM divided by those totals, and `loss_is_scaled_for_ga = True` stops Trainer from dividing again.
"""

from __future__ import annotations

import torch
from transformers import Trainer, TrainerCallback

from distilkobert.distill.arguments import DistillationConfig
from distilkobert.distill.losses import count_items, distillation_losses, parse_layer_map
from distilkobert.distill.student import enable_row_gathered_forward

TERMS = ("loss_ce", "loss_mlm", "loss_cos", "loss_mse")


class CollatorEpochCallback(TrainerCallback):
    """Tell the masking collator the epoch, so that each epoch gets new masks (also after a resume)."""

    def __init__(self, collator):
        self.collator = collator

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.collator.epoch = int((state.epoch or 0) + 1e-6)


class DistillationTrainer(Trainer):
    """Trainer for distillation (or MLM alone when `teacher is None`); `args` is a `DistillationConfig`."""

    loss_is_scaled_for_ga = True

    def __init__(self, *args, teacher: torch.nn.Module | None = None, teacher_dtype: torch.dtype | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(self.args, DistillationConfig):
            raise TypeError(f"DistillationTrainer needs a DistillationConfig as args, got {type(self.args).__name__}")
        if teacher is None and (self.args.alpha_ce or self.args.alpha_cos or self.args.alpha_mse):
            raise ValueError("alpha_ce / alpha_cos / alpha_mse > 0 need a teacher")
        enable_row_gathered_forward(self.model)
        self.teacher = teacher
        # (student, teacher) hidden-state pairs of the MSE term, from --mse_layer_map and the two depths
        self.layer_map = []
        if teacher is not None and self.args.alpha_mse > 0:
            self.layer_map = parse_layer_map(self.args.mse_layer_map, self.model.config.num_hidden_layers,
                                             teacher.config.num_hidden_layers)
        if teacher is not None:
            student_dtype = next(self.model.parameters()).dtype
            teacher.to(device=self.args.device, dtype=teacher_dtype or student_dtype)
            teacher.eval()
            for p in teacher.parameters():
                p.requires_grad_(False)
        self._term_sums = {k: 0.0 for k in TERMS}
        self._term_steps = 0
        self._terms_first_step = None
        if hasattr(self.data_collator, "epoch"):
            self.add_callback(CollatorEpochCallback(self.data_collator))

    # -- exact normalisation over the accumulation window -----------------------------------------------------
    def get_batch_samples(self, epoch_iterator, num_batches, device):
        batch_samples = []
        for _ in range(num_batches):
            try:
                batch_samples.append(next(epoch_iterator))
            except StopIteration:
                break
        if not batch_samples:
            return batch_samples, None
        counts = count_items(batch_samples, self.args.ce_positions)
        stacked = torch.stack([counts["masked"], counts["nonpad"], counts["ce"]]).to(device)
        if self.accelerator.num_processes > 1:
            stacked = self.accelerator.reduce(stacked, reduction="sum")
        return batch_samples, {"masked": stacked[0], "nonpad": stacked[1], "ce": stacked[2]}

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """Weighted distillation loss of one micro-batch (see module docstring for the normalisation)."""
        scale = 1.0
        if isinstance(num_items_in_batch, dict):
            counts = num_items_in_batch
            # DDP averages gradients over processes; the denominators are already global, so undo that mean
            scale = float(self.accelerator.num_processes)
        else:  # evaluation / direct calls: normalise within this batch
            counts = {k: v.to(inputs["input_ids"].device)
                      for k, v in count_items([inputs], self.args.ce_positions).items()}
        terms = distillation_losses(model, self.teacher, inputs, self.args, counts, self.layer_map)
        if model.training:
            for k in TERMS:
                self._term_sums[k] += float(terms[k].detach())
            self._term_steps += 1
            if self._terms_first_step is None:
                self._terms_first_step = self.state.global_step
        loss = terms["loss"] * scale
        return (loss, terms) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add each loss term (mean per update since the last log) to the training logs."""
        if "loss" in logs and self._term_steps:
            n_updates = max(1, self.state.global_step - (self._terms_first_step or 0))
            sums = [self._term_sums[k] for k in TERMS]
            if self.accelerator.num_processes > 1:
                # each process holds its share of the global mean (global denominators): add the shares.
                # Trainer logs from every process (it gathers the loss first), so this collective is matched.
                sums = self.accelerator.reduce(torch.tensor(sums, device=self.args.device), reduction="sum").tolist()
            for k, v in zip(TERMS, sums):
                logs[k] = round(v / n_updates, 6)
            self._term_sums = {k: 0.0 for k in TERMS}
            self._term_steps = 0
            self._terms_first_step = None
        super().log(logs, start_time)
