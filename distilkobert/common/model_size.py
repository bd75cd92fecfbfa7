"""How big a model is: its parameter counts, the one implementation every results file and benchmark uses."""

from __future__ import annotations

from typing import Any

__all__ = ["count_parameters", "parameter_counts"]


def count_parameters(model: Any, *, encoder_only: bool = False) -> int:
    """Parameters of a torch model, tied weights counted once (`Module.parameters()` yields each tensor once).

    `encoder_only` counts the transformer body alone (`model.base_model_prefix`, e.g. `bert`, `distilbert`),
    without the task head; a model without such a body counts whole.
    """
    if encoder_only:
        model = getattr(model, getattr(model, "base_model_prefix", ""), model)
    return sum(p.numel() for p in model.parameters())


def parameter_counts(model: Any) -> dict[str, int]:
    """`{"total": ..., "encoder": ...}` as recorded in nsmc_results.json (`model.parameters`)."""
    return {"total": count_parameters(model), "encoder": count_parameters(model, encoder_only=True)}
