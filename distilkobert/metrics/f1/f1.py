"""F1 score as a local `evaluate` metric module (numpy only, no scikit-learn), shipped in the package.

Matches scikit-learn's `f1_score` for `average` in binary / macro / micro / weighted with
`zero_division=0`: a class with no predicted and no true samples gets F1 0 but, for "macro", only the
classes in `labels` (default: the sorted union of predictions and references) are averaged.
"""

from __future__ import annotations

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "F1 = 2 * precision * recall / (precision + recall), per class, then averaged."
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of int): predicted labels.
    references (list of int): ground-truth labels.
    average (str): "binary" (F1 of `pos_label`, default), "macro" (unweighted mean over classes),
        "micro" (global counts) or "weighted" (mean weighted by class support).
    labels (list of int): the classes to average over (default: sorted union of predictions and references).
    pos_label (int): the positive class for average="binary" (default 1).
    sample_weight (list of float): optional weights.
Returns:
    f1 (float)
Example:
    >>> m = evaluate.load("distilkobert/metrics/f1")
    >>> m.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0], average="macro")
    {'f1': 0.7333333333333334}
"""


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class F1(evaluate.Metric):
    """Binary / macro / micro / weighted F1 of integer class predictions."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, average: str = "binary", labels=None, pos_label: int = 1,
                 sample_weight=None) -> dict:
        pred = np.asarray(predictions)
        ref = np.asarray(references)
        if pred.shape != ref.shape:
            raise ValueError(f"predictions {pred.shape} and references {ref.shape} differ in shape")
        w = np.ones(pred.shape, dtype=np.float64) if sample_weight is None else np.asarray(sample_weight, np.float64)
        if average == "binary":
            classes = np.asarray([pos_label])
        elif labels is not None:
            classes = np.asarray(labels)
        else:
            classes = np.union1d(pred, ref)
        if average not in ("binary", "macro", "micro", "weighted"):
            raise ValueError(f"average={average!r}: expected binary, macro, micro or weighted")
        tp = np.array([w[(pred == c) & (ref == c)].sum() for c in classes], dtype=np.float64)
        fp = np.array([w[(pred == c) & (ref != c)].sum() for c in classes], dtype=np.float64)
        fn = np.array([w[(pred != c) & (ref == c)].sum() for c in classes], dtype=np.float64)
        if average == "micro":
            tp, fp, fn = tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
        f1 = _safe_div(2 * tp, 2 * tp + fp + fn)
        if f1.size == 0:
            return {"f1": 0.0}
        if average == "weighted":
            support = tp + fn
            return {"f1": float((f1 * support).sum() / support.sum()) if support.sum() > 0 else 0.0}
        return {"f1": float(f1.mean())}
