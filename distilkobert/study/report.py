"""The study's results: the table in the original DistilKoBERT table's shape, targets with paired bootstrap
intervals over the test rows, and the accuracy-vs-size / accuracy-vs-speed picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open

from distilkobert.common.tables import markdown_table

ROW_FASTTEXT = "FastText (same training rows)"
ROW_FASTTEXT_QUANTIZED = "FastText quantized (same training rows)"
ROW_FASTTEXT_ALL = "FastText (every training row of the pool; reference)"
ROW_TRUNCATED = "3 layers truncated (teacher layers copied, no distillation)"
ROW_GENERAL = "3 layers general-distilled, then fine-tuned"
ROW_TASK = "3 layers general + task-distilled"
ROW_ONNX = "3 layers general + task-distilled, int8 ONNX"
SEED_DISTILKOBERT = 87.71  # the seed's DistilKoBERT (3 x 768 from KoBERT), NSMC test accuracy


def teacher_row(teacher_name: str) -> str:
    return f"teacher: {teacher_name}, fine-tuned (12 layers)"


def correct_per_row(predictions_file: Path, labels: np.ndarray) -> np.ndarray:
    return (np.load(predictions_file) == labels).astype(np.float64)


def paired_bootstrap(a: np.ndarray, b: np.ndarray | None, samples: int, *, ratio: bool = False,
                     seed: int = 0) -> dict[str, float]:
    """Point estimate and 95% interval of mean(a) - mean(b) in points (or 100 x mean(a) / mean(b) with
    `ratio`; mean(a) alone without `b`), resampling the same test rows for both models."""
    rng = np.random.default_rng(seed)
    n = len(a)

    def stat(idx: np.ndarray | slice) -> float:
        if b is None:
            return 100 * a[idx].mean()
        return 100 * a[idx].mean() / b[idx].mean() if ratio else 100 * (a[idx].mean() - b[idx].mean())

    draws = np.array([stat(rng.integers(0, n, n)) for _ in range(samples)])
    return {"value": round(float(stat(slice(None))), 2), "low": round(float(np.percentile(draws, 2.5)), 2),
            "high": round(float(np.percentile(draws, 97.5)), 2)}


def weights_info(folder: Path) -> dict[str, Any]:
    weights = folder / "model.safetensors"
    with safe_open(str(weights), "pt") as handle:
        parameters = int(sum(np.prod(handle.get_slice(k).get_shape()) for k in handle.keys()))
    return {"parameters": parameters, "size_mb": round(weights.stat().st_size / 1e6, 1)}


def summarise(rows: dict[str, list[dict[str, Any]]], models: dict[str, Path], speed: dict[str, Any],
              teacher: str) -> list[dict[str, Any]]:
    """One dict per table row: parameters, size, accuracy mean / std, % of teacher, speed and latency."""
    table = []
    teacher_mean = float(np.mean([r["test_accuracy"] for r in rows[teacher]]))
    teacher_speed = speed.get(teacher, {}).get("texts_per_second")
    for name, results in rows.items():
        accs = np.array([r["test_accuracy"] for r in results]) * 100
        entry: dict[str, Any] = {"row": name, "seeds": len(accs), "accuracy_mean": round(float(accs.mean()), 2),
                                 "accuracy_std": round(float(accs.std(ddof=1)) if len(accs) > 1 else 0.0, 2),
                                 "accuracies": [round(float(a), 2) for a in accs],
                                 "retained_percent": round(float(accs.mean()) / teacher_mean, 2)}
        entry.update(weights_info(models[name]) if name in models else results[0].get("size", {}))
        if teacher_speed and name in speed:
            entry["relative_speed"] = round(speed[name]["texts_per_second"] / teacher_speed, 2)
            entry["texts_per_second"] = speed[name]["texts_per_second"]
            entry["batch1_ms_p50"] = speed[name]["batch1_ms_p50"]
        table.append(entry)
    return table


def markdown(table: list[dict[str, Any]]) -> str:
    """The results table in the original DistilKoBERT table's shape (+ parameters, % of teacher, speed)."""
    rows = [[e["row"], f"{e['parameters'] / 1e6:.1f} M" if e.get("parameters") else None,
             f"{e['size_mb']:.1f}" if e.get("size_mb") is not None else None,
             f"{e['accuracy_mean']:.2f}" + (f" ± {e['accuracy_std']:.2f}" if e["seeds"] > 1 else ""),
             f"{e['retained_percent']:.1f}",
             f"{e['relative_speed']:.2f}x" if e.get("relative_speed") else None,
             f"{e['batch1_ms_p50']:.1f}" if e.get("batch1_ms_p50") else None] for e in table]
    return markdown_table(["Model", "Parameters", "Size (MB)", "NSMC acc (%)", "% of teacher", "Speed vs teacher",
                           "Batch-1 latency (ms)"], rows)


def targets(correct: dict[str, np.ndarray], table: list[dict[str, Any]], teacher: str, *, samples: int,
            compute_hours: float | None, budget_hours: float | None) -> list[dict[str, Any]]:
    """Every target with its paired bootstrap 95% interval; met only when the whole interval clears it."""
    by = {e["row"]: e for e in table}
    out = []

    def check(name: str, a: str, b: str | None, threshold: float, *, ratio: bool = False, offset: float = 0.0):
        if a not in correct or (b is not None and b not in correct):
            return
        interval = paired_bootstrap(correct[a], correct[b] if b else None, samples, ratio=ratio)
        out.append({"target": name, **interval, "threshold": threshold + offset,
                    "met": interval["low"] >= threshold + offset})

    check("general + task-distilled >= FastText (same rows) + 0.5 points", ROW_TASK, ROW_FASTTEXT, 0.5)
    check("general + task-distilled keeps >= 98.5% of the teacher", ROW_TASK, teacher, 98.5, ratio=True)
    check("general-distilled >= truncated (both fine-tuned on the same rows), points", ROW_GENERAL, ROW_TRUNCATED,
          0.0)
    check("int8 ONNX student within 0.5 points of its fp32 model", ROW_ONNX, ROW_TASK, -0.5)
    if ROW_ONNX in by and by[ROW_ONNX].get("size_mb") is not None:
        size = by[ROW_ONNX]["size_mb"]
        out.append({"target": "int8 ONNX student <= 15 MB", "value": size, "threshold": 15.0, "met": size <= 15.0})
    if compute_hours is not None and budget_hours is not None:
        out.append({"target": f"<= {budget_hours} h of measured compute (CPU seconds / cores)",
                    "value": round(compute_hours, 2),
                    "threshold": budget_hours, "met": compute_hours <= budget_hours})
    check(f"reach: general + task-distilled >= {SEED_DISTILKOBERT} (the seed's DistilKoBERT)", ROW_TASK, None,
          SEED_DISTILKOBERT)
    return out


def format_target(t: dict[str, Any]) -> str:
    interval = f" [95% interval {t['low']}, {t['high']}]" if "low" in t else ""
    verdict = "met" if t["met"] else "MISSED"
    return f"target: {t['target']}: {t['value']}{interval} ({verdict}, threshold {t['threshold']})"


def plot(table: list[dict[str, Any]], path: Path, title: str) -> Path:
    """accuracy against size and against speed, one point per row (needs the optional matplotlib)."""
    import matplotlib  # optional extra `study`: only the picture needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for e in table:
        label = e["row"].split(" (")[0].replace("teacher: ", "")
        if e.get("size_mb"):
            left.scatter(e["size_mb"], e["accuracy_mean"])
            left.annotate(label, (e["size_mb"], e["accuracy_mean"]), fontsize=7, xytext=(4, 2),
                          textcoords="offset points")
        if e.get("relative_speed"):
            right.scatter(e["relative_speed"], e["accuracy_mean"])
            right.annotate(label, (e["relative_speed"], e["accuracy_mean"]), fontsize=7, xytext=(4, 2),
                           textcoords="offset points")
    left.set_xscale("log")
    left.set_xlabel("size on disk (MB, log scale)")
    left.set_ylabel("NSMC test accuracy (%)")
    right.set_xscale("log")
    right.set_xlabel("throughput relative to the teacher (batch 32, log scale)")
    for axis in (left, right):
        axis.grid(True, alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
