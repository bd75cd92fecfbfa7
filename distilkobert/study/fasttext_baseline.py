"""The FastText row of the original table, trained on the same rows as every other model.

`fasttext` is an optional dependency (`pip install 'distilkobert[study]'`, the `fasttext-numpy2-wheel` build,
which installs on Python 3.11+ with numpy 2). Each seed trains single-threaded, so a seed is a reproducible run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np


def _line(text: str) -> str:
    return " ".join(text.split())  # FastText reads one example per line, whitespace-separated


def train_and_test(train: list[dict], validation: list[dict], test: list[dict], folder: Path, *, seed: int,
                   params: dict[str, Any]) -> dict[str, Any]:
    """Train on `train`, report validation and test accuracy, the model's size on disk."""
    try:
        import fasttext
    except ImportError:
        raise RuntimeError("the FastText row needs the optional `fasttext` package: "
                           "pip install 'distilkobert[study]'") from None
    train_file = folder / "train.txt"
    train_file.write_text("".join(f"__label__{r['label']} {_line(r['document'])}\n" for r in train),
                          encoding="utf-8")
    start = time.perf_counter()
    retries = 0
    while True:
        try:
            model = fasttext.train_supervised(str(train_file), verbose=0, thread=1, seed=seed, **params)
            break
        except RuntimeError as err:
            # fasttext 0.9.2 now and then raises "Encountered NaN" on an input, seed and settings that train
            # fine on the next call (seen on small files at any learning rate): retry, and record how often
            if "NaN" not in str(err) or retries == 5:
                raise
            retries += 1
    seconds = time.perf_counter() - start

    model_file = folder / "model.bin"
    model.save_model(str(model_file))
    result = {"seed": seed, "best_validation_accuracy": _accuracy(model, validation),
              "test_accuracy": _accuracy(model, test), "train_seconds": round(seconds, 1),
              "size": {"size_mb": round(model_file.stat().st_size / 1e6, 1)}, "nan_retries": retries,
              "model_dir": str(folder)}
    np.save(folder / "test_predictions.npy", _predictions(model, test))
    # the quantised model (product quantisation + vocabulary cut-off, retrained), FastText's small variant
    model.quantize(input=str(train_file), qnorm=True, retrain=True, cutoff=QUANTIZE_CUTOFF, verbose=0, thread=1)
    model.save_model(str(folder / "model.ftz"))
    np.save(folder / "test_predictions.quantized.npy", _predictions(model, test))
    result["quantized"] = {"test_accuracy": _accuracy(model, test), "cutoff": QUANTIZE_CUTOFF,
                           "size_mb": round((folder / "model.ftz").stat().st_size / 1e6, 2)}
    train_file.unlink()
    return result


QUANTIZE_CUTOFF = 100_000  # words + n-gram buckets kept by `quantize`


def _predictions(model, rows: list[dict]) -> np.ndarray:
    labels, _ = model.predict([_line(r["document"]) for r in rows])
    return np.array([int(lab[0].rsplit("_", 1)[1]) for lab in labels], dtype=np.int64)


def _accuracy(model, rows: list[dict]) -> float:
    gold = np.array([r["label"] for r in rows], dtype=np.int64)
    return float((_predictions(model, rows) == gold).mean()) if rows else 0.0
