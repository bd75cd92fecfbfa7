"""The metric modules shipped in distilkobert/metrics: correct values, loaded offline through `evaluate`."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from distilkobert.evaluation.metrics import METRICS_DIR, classification_metrics, load_metric


def _f1_reference(pred, ref, labels):
    """Plain-Python per-class F1 (zero_division=0), averaged: the definition, written independently."""
    scores = []
    for c in labels:
        tp = sum(1 for p, r in zip(pred, ref) if p == c and r == c)
        fp = sum(1 for p, r in zip(pred, ref) if p == c and r != c)
        fn = sum(1 for p, r in zip(pred, ref) if p != c and r == c)
        scores.append(0.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


def test_known_values():
    assert load_metric("accuracy").compute(predictions=[0, 1, 1], references=[0, 1, 0]) == {
        "accuracy": pytest.approx(2 / 3)}
    f1 = load_metric("f1")
    # sklearn.metrics.f1_score([0, 1, 0, 0], [0, 1, 1, 0], average="macro") == 0.7333...
    assert f1.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0], average="macro")["f1"] == pytest.approx(
        0.7333333333333333)
    # one class never predicted: its F1 is 0 and it still counts in the macro average
    assert f1.compute(predictions=[1, 1, 1, 1], references=[0, 1, 0, 0], average="macro")["f1"] == pytest.approx(0.2)
    assert f1.compute(predictions=[1, 1, 1, 1], references=[0, 1, 0, 0])["f1"] == pytest.approx(0.4)  # binary
    assert f1.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0], average="micro")["f1"] == pytest.approx(0.75)


def test_macro_f1_matches_definition_on_random_labels():
    rng = random.Random(0)
    for _ in range(20):
        n = rng.randint(1, 60)
        pred = [rng.randint(0, 1) for _ in range(n)]
        ref = [rng.randint(0, 1) for _ in range(n)]
        got = classification_metrics(pred, ref)
        assert got["accuracy"] == pytest.approx(sum(p == r for p, r in zip(pred, ref)) / n)
        assert got["f1_macro"] == pytest.approx(_f1_reference(pred, ref, [0, 1]))


def test_modules_ship_in_the_package_and_load_offline(tmp_path):
    assert (METRICS_DIR / "accuracy" / "accuracy.py").is_file() and (METRICS_DIR / "f1" / "f1.py").is_file()
    code = ("from distilkobert.evaluation.metrics import classification_metrics as m; "
            "print(m([0, 1, 1, 0], [0, 1, 0, 0]))")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9", HF_HOME=str(tmp_path / "home"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "'accuracy': 0.75" in out.stdout and "'f1_macro': 0.733" in out.stdout
