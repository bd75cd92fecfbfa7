"""Accuracy and macro-F1 through `evaluate`, using the metric modules shipped in `distilkobert/metrics`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import evaluate
import numpy as np

METRICS_DIR = Path(__file__).resolve().parent.parent / "metrics"


@cache
def load_metric(name: str):
    """`evaluate.load` of the local module `distilkobert/metrics/<name>/<name>.py` (offline)."""
    path = METRICS_DIR / name / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"metric module {path} is missing from the package")
    return evaluate.load(str(path))


def classification_metrics(predictions: Sequence[int], references: Sequence[int]) -> dict[str, float]:
    """{"accuracy": ..., "f1_macro": ...} of integer predictions against references."""
    predictions = [int(p) for p in predictions]
    references = [int(r) for r in references]
    accuracy = load_metric("accuracy").compute(predictions=predictions, references=references)["accuracy"]
    f1 = load_metric("f1").compute(predictions=predictions, references=references, average="macro",
                                   labels=[0, 1])["f1"]
    return {"accuracy": float(accuracy), "f1_macro": float(f1)}


def trainer_compute_metrics(eval_pred: Any) -> dict[str, float]:
    """`compute_metrics` for Trainer: argmax of the logits, then accuracy and macro-F1."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    return classification_metrics(np.argmax(logits, axis=-1).tolist(), np.asarray(labels).tolist())
