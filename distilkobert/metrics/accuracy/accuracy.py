"""Accuracy as a local `evaluate` metric module, shipped in the package so evaluation works offline.

`evaluate.load("accuracy")` fetches `evaluate-metric/accuracy` from the Hub; loading this file by path
(`evaluate.load(str(path))`) needs no network.
"""

from __future__ import annotations

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Accuracy: the fraction of predictions equal to the references (optionally sample-weighted)."
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of int): predicted labels.
    references (list of int): ground-truth labels.
    normalize (bool): return a fraction (default) instead of the number of correct predictions.
    sample_weight (list of float): optional weights.
Returns:
    accuracy (float)
Example:
    >>> m = evaluate.load("distilkobert/metrics/accuracy")
    >>> m.compute(predictions=[0, 1, 1], references=[0, 1, 0])
    {'accuracy': 0.6666666666666666}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Accuracy(evaluate.Metric):
    """Accuracy of integer class predictions."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, normalize: bool = True, sample_weight=None) -> dict:
        predictions = np.asarray(predictions)
        references = np.asarray(references)
        if predictions.shape != references.shape:
            raise ValueError(f"predictions {predictions.shape} and references {references.shape} differ in shape")
        correct = (predictions == references).astype(np.float64)
        weights = np.ones_like(correct) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if correct.size == 0:
            return {"accuracy": float("nan") if normalize else 0.0}
        total = float((correct * weights).sum())
        return {"accuracy": total / float(weights.sum()) if normalize else total}
