"""The fastest correct path for each stage of the all-label study on this CPU, as ratios measured in one process.

    python benchmarks/study_speed.py --teacher TRIMMED_TEACHER --classifier FINE_TUNED_TEACHER \
        --nsmc NSMC [--quick]   (NSMC: a dataset folder / Hub repo, or ratings_train.txt)

Rows (interleaved rounds, medians; every variant on the same batches of real NSMC reviews):
- matmul peak: a 2048x384x1536 and a 4096x1024x1024 matmul in fp32 and bf16, the ceiling for every stage;
- training step (forward + backward + AdamW) of the 12-layer teacher and its 3-layer cut: fp32, autocast
  bf16, and AdamW's foreach vs fused implementation;
- labelling (inference) of the fine-tuned teacher: PyTorch fp32, PyTorch cast to bf16, ONNX Runtime fp32 and
  int8 (dynamic quantisation), each with its argmax agreement and mean KL against PyTorch fp32.
GFLOP/s count 2 x N FLOPs per token forward and 6 x N per training step (N: non-embedding parameters), on the
padded tokens actually computed. Writes benchmarks/results/study_speed.json (with a "met?" column: a path is
adopted only where it is faster at equal results) and prints the table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import library_versions, machine_info, print_table, write_json  # noqa: E402

from distilkobert.serving.classifier import TorchClassifier  # noqa: E402
from distilkobert.serving.export import export_classifier  # noqa: E402
from distilkobert.serving.onnx import FP32_FILE, INT8_FILE, OnnxClassifier  # noqa: E402
from distilkobert.study.data import read_nsmc  # noqa: E402
from distilkobert.study.estimate import non_embedding_parameters  # noqa: E402


def median_seconds(fn: Callable[[], Any], rounds: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak(rounds: int) -> list[dict[str, Any]]:
    rows = []
    for m, k, n in ((2048, 384, 1536), (4096, 1024, 1024)):
        for dtype in (torch.float32, torch.bfloat16):
            a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
            seconds = median_seconds(lambda a=a, b=b: torch.mm(a, b), rounds * 4)
            rows.append({"stage": "matmul peak", "variant": f"{m}x{k}x{n} {str(dtype).split('.')[-1]}",
                         "seconds": seconds, "gflops": 2 * m * k * n / seconds / 1e9})
    return rows


def length_grouped_batches(tokenizer, texts: list[str], batch_size: int, n_batches: int, max_len: int) -> list:
    """`n_batches` batches of similar-length texts spread over the length distribution (as group_by_length)."""
    encoded = tokenizer(texts, truncation=True, max_length=max_len)["input_ids"]
    order = np.argsort([len(e) for e in encoded], kind="stable")
    starts = np.linspace(0, len(order) - batch_size, n_batches).astype(int)
    batches = []
    for s in starts:
        idx = order[s:s + batch_size]
        length = max(len(encoded[i]) for i in idx)
        ids = torch.full((len(idx), length), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, i in enumerate(idx):
            ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
            mask[row, : len(encoded[i])] = 1
        batches.append((ids, mask))
    return batches


def train_steps(model_dir: Path, layers: list[int] | None, batches: list, rounds: int) -> list[dict[str, Any]]:
    """Seconds for one pass over `batches` (forward + backward + AdamW) per variant, interleaved rounds."""
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    if layers is not None:  # the 3-layer cut, as the study's student-init stage makes it
        model.bert.encoder.layer = torch.nn.ModuleList([model.bert.encoder.layer[i] for i in layers])
        model.config.num_hidden_layers = len(layers)
    name = f"{model.config.num_hidden_layers} layers"
    n = non_embedding_parameters(model.config.to_dict())
    labels = torch.zeros(batches[0][0].shape[0], dtype=torch.long)
    variants = {"fp32, AdamW foreach": (False, {"foreach": True}), "fp32, AdamW fused": (False, {"fused": True}),
                "autocast bf16, AdamW foreach": (True, {"foreach": True})}
    optimizers = {v: torch.optim.AdamW(model.parameters(), lr=1e-9, **kw) for v, (_, kw) in variants.items()}

    def one_pass(variant: str) -> None:
        autocast, _ = variants[variant]
        for ids, mask in batches:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                logits = model(input_ids=ids, attention_mask=mask).logits
            F.cross_entropy(logits.float(), labels[: ids.shape[0]]).backward()
            optimizers[variant].step()
            optimizers[variant].zero_grad(set_to_none=True)

    timings: dict[str, list[float]] = {v: [] for v in variants}
    for v in variants:
        one_pass(v)  # warm-up
    for _ in range(rounds):
        for v in variants:
            start = time.perf_counter()
            one_pass(v)
            timings[v].append(time.perf_counter() - start)
    tokens = sum(ids.numel() for ids, _ in batches)
    reviews = sum(ids.shape[0] for ids, _ in batches)
    rows = []
    for v, t in timings.items():
        seconds = statistics.median(t)
        rows.append({"stage": f"training step, {name}", "variant": v, "seconds": seconds,
                     "reviews_per_second": reviews / seconds, "gflops": 6 * n * tokens / seconds / 1e9})
    return rows


def labelling(classifier_dir: Path, texts: list[str], rounds: int, batch_size: int = 128) -> list[dict[str, Any]]:
    """The fine-tuned teacher labelling `texts` (length-sorted batches) on each backend, against PyTorch fp32."""
    torch_fp32 = TorchClassifier.from_pretrained(classifier_dir, max_length=64)
    torch_bf16 = TorchClassifier.from_pretrained(classifier_dir, max_length=64)
    torch_bf16.model.to(torch.bfloat16)
    export_dir = Path(tempfile.mkdtemp(prefix="study-speed-onnx-"))
    export_classifier(str(classifier_dir), export_dir, quantize="int8", overwrite=True)
    backends = {"PyTorch fp32": torch_fp32, "PyTorch bf16 (cast)": torch_bf16,
                "ONNX Runtime fp32": OnnxClassifier.from_pretrained(export_dir, file=FP32_FILE, max_length=64),
                "ONNX Runtime int8": OnnxClassifier.from_pretrained(export_dir, file=INT8_FILE, max_length=64)}
    encoded = torch_fp32.tokenizer(texts, truncation=True, max_length=64)["input_ids"]
    order = np.argsort([len(e) for e in encoded], kind="stable")
    batches = [[texts[i] for i in order[s:s + batch_size]] for s in range(0, len(order), batch_size)]
    padded_tokens = sum(len(b) * max(len(encoded[i]) for i in order[s:s + batch_size])
                        for s, b in zip(range(0, len(order), batch_size), batches))
    logits = {name: np.concatenate([b.logits(batch) for batch in batches]) for name, b in backends.items()}
    timings: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(rounds):
        for name, backend in backends.items():
            start = time.perf_counter()
            for batch in batches:
                backend.logits(batch)
            timings[name].append(time.perf_counter() - start)
    n = non_embedding_parameters(torch_fp32.model.config.to_dict())
    reference = torch.from_numpy(logits["PyTorch fp32"]).float()
    rows = []
    for name, t in timings.items():
        seconds = statistics.median(t)
        other = torch.from_numpy(logits[name]).float()
        kl = F.kl_div(F.log_softmax(other, -1), F.log_softmax(reference, -1), reduction="batchmean", log_target=True)
        rows.append({"stage": "teacher labelling", "variant": name, "seconds": seconds,
                     "reviews_per_second": len(texts) / seconds, "gflops": 2 * n * padded_tokens / seconds / 1e9,
                     "argmax_agreement": float((other.argmax(-1) == reference.argmax(-1)).float().mean()),
                     "mean_kl_vs_fp32": float(kl)})
    return rows


def equal_results(model_dir: Path, layers: list[int], rows: list, n_train: int, n_test: int) -> list[dict[str, Any]]:
    """The 3-layer cut fine-tuned on the same rows in fp32 and with autocast bf16: test accuracy of each."""
    from datasets import Dataset

    from distilkobert.study.classifier import finetune, tokenize_rows
    from distilkobert.study.config import FinetuneSettings

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    student = Path(tempfile.mkdtemp(prefix="study-speed-student-"))
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    model.bert.encoder.layer = torch.nn.ModuleList([model.bert.encoder.layer[i] for i in layers])
    model.config.num_hidden_layers = len(layers)
    model.bert.save_pretrained(student)
    tokenizer.save_pretrained(student)

    def data(part: list) -> Dataset:
        return tokenize_rows(tokenizer, [r[1] for r in part], [r[2] for r in part], 64)

    train, test = data(rows[:n_train]), data(rows[n_train:n_train + n_test])
    out = []
    for bf16 in (False, True):
        settings = FinetuneSettings(learning_rate=2e-4, epochs=1, batch_size=32, evals_per_epoch=1,
                                    max_seq_length=64, bf16=bf16)
        result = finetune(student, Path(tempfile.mkdtemp(prefix="study-speed-ft-")), seed=42, train=train,
                          validation=test, test=test, settings=settings)
        out.append({"stage": "fine-tuning 3 layers, equal results", "variant": "autocast bf16" if bf16 else "fp32",
                    "seconds": result["train_seconds"], "reviews_per_second": n_train / result["train_seconds"],
                    "gflops": None, "test_accuracy": result["test_accuracy"]})
    return out


def add_ratios(rows: list[dict[str, Any]], peaks: dict[str, float]) -> None:
    """Speed vs the stage's first (baseline) variant, and GFLOP/s as a share of the fp32 / bf16 matmul peak."""
    baseline: dict[str, float] = {}
    for row in rows:
        base = baseline.setdefault(row["stage"], row["seconds"])
        row["speedup"] = base / row["seconds"]
        peak = peaks["bf16"] if "bf16" in row["variant"] else peaks["fp32"]
        row["percent_of_peak"] = 100 * row["gflops"] / peak if row["stage"] != "matmul peak" and row["gflops"] \
            else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher", type=Path, required=True, help="the (trimmed) teacher encoder folder")
    parser.add_argument("--classifier", type=Path, required=True, help="a fine-tuned teacher classifier folder")
    parser.add_argument("--nsmc", required=True, help="NSMC reviews, as the study reads them: a dataset folder or Hub "
                                                      "repo built by `distilkobert dataset nsmc`, or ratings_train.txt")
    parser.add_argument("--student-layers", type=int, nargs="+", default=[0, 4, 8])
    parser.add_argument("--quick", action="store_true", help="a few batches and rounds (a smoke run)")
    parser.add_argument("--output", type=Path, default=None, help="results JSON (default benchmarks/results/)")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 3
    rows_read = read_nsmc(args.nsmc).rows
    texts = [r[1] for r in rows_read[: 512 if args.quick else 4096]]
    tokenizer = AutoTokenizer.from_pretrained(args.teacher)
    batches = length_grouped_batches(tokenizer, texts, 32, 2 if args.quick else 6, 64)
    rows = matmul_peak(rounds)
    peaks = {"fp32": max(r["gflops"] for r in rows if "float32" in r["variant"]),
             "bf16": max(r["gflops"] for r in rows if "bfloat16" in r["variant"])}
    rows += train_steps(args.teacher, None, batches, rounds)
    rows += train_steps(args.teacher, args.student_layers, batches, rounds)
    rows += labelling(args.classifier, texts[: 256 if args.quick else 2048], rounds)
    rows += equal_results(args.teacher, args.student_layers, rows_read, 300 if args.quick else 4000,
                          200 if args.quick else 2000)
    add_ratios(rows, peaks)
    payload = {"machine": {**machine_info(), "torch_threads": torch.get_num_threads()}, "versions": library_versions(),
               "peaks_gflops": peaks, "rows": rows, "settings": {"rounds": rounds, "batch_size": 32,
                                                                  "batches": len(batches), "max_seq_length": 64}}
    path = write_json("study_speed" + ("_quick" if args.quick else ""), payload, args.output)
    print_table(rows, ["stage", "variant", "seconds", "reviews_per_second", "gflops", "percent_of_peak", "speedup",
                       "argmax_agreement", "mean_kl_vs_fp32", "test_accuracy"])
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
