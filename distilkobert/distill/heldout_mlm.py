"""Deterministic held-out MLM evaluation: the same sequences and the same masks for every model compared."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from distilkobert.distill.collator import DistillationCollator
from distilkobert.distill.student import encoder_of, mlm_head_of


@torch.no_grad()
def heldout_mlm(model, sequences, collator: DistillationCollator, *, seed: int = 1234, batch_size: int = 32,
                device: torch.device | str | None = None, repeats: int = 1) -> dict[str, float]:
    """MLM loss (mean CE over masked tokens) and accuracy of `model` on `sequences` (dicts with input_ids).

    Masks come from `collator` driven by a generator seeded with `seed`, in a fixed order and batch size, so two
    models evaluated with the same arguments see identical inputs. `repeats` > 1 evaluates the set again with
    `repeats` different mask draws (seed, seed + 1, ...) and pools them: less noise on a small held-out set.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    head = mlm_head_of(model)
    if head is None:
        raise ValueError("held-out MLM evaluation needs a model with an MLM head")
    was_training = model.training
    model.eval()
    old_gen = collator.generator
    total_loss, correct, n = 0.0, 0, 0
    batches = [(r, start) for r in range(repeats) for start in range(0, len(sequences), batch_size)]
    try:
        for r, start in batches:
            if start == 0:
                collator.generator = torch.Generator().manual_seed(seed + r)
            feats = [sequences[i] for i in range(start, min(start + batch_size, len(sequences)))]
            batch = collator(feats)
            masked = batch["labels"].ne(-100)
            if not masked.any():
                continue
            hidden = encoder_of(model)(input_ids=batch["input_ids"].to(device),
                                       attention_mask=batch["attention_mask"].to(device)).last_hidden_state
            logits = head(hidden[masked.to(device)]).float()
            labels = batch["labels"][masked].to(device)
            total_loss += float(F.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(-1) == labels).sum())
            n += int(masked.sum())
    finally:
        collator.generator = old_gen
        model.train(was_training)
    return {"mlm_loss": total_loss / max(n, 1), "mlm_accuracy": correct / max(n, 1), "n_masked": n,
            "n_sequences": len(sequences), "mask_seed": seed, "batch_size": batch_size, "repeats": repeats}
