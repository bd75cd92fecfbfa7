"""Serving benchmark: teacher and student classifiers in PyTorch fp32, ONNX Runtime fp32 and ONNX Runtime int8.

For each fine-tuned sequence classifier (``--teacher DIR``, ``--student DIR``: any Hugging Face
``*ForSequenceClassification`` folder with a fast tokenizer) it exports the ONNX graph and its dynamically
quantised int8 copy (``distilkobert.serving.export``), then measures every variant in a fresh Python process
(so that the process's peak RSS is that variant's), on the same test split:

- accuracy on the test split (``--test-file``: an NSMC .tsv / ratings .txt, a parquet file, or a dataset folder
  whose test split is ``*test*.parquet``), run at batch 32 in file order; the same pass gives the batch-32
  throughput (sentences/s, tokenisation included, one untimed warm-up batch first);
- batch-1 latency p50 / p95 on real review lengths (``--latency-texts`` reviews spread over the test split,
  each classified alone, tokenisation included);
- size on disk (safetensors for PyTorch, the .onnx file for ONNX Runtime), peak RSS, and the largest logit
  difference to the PyTorch fp32 model on the whole test split.

It prints the table and the issue's targets with a "met?" column, and writes JSON to
``benchmarks/results/serving.json``. Both runtimes use the same number of threads (``--threads``, default: the
usable cores).

    python benchmarks/serving.py --teacher out/teacher-nsmc --student out/student-nsmc --test-file nsmc/test.tsv
    python benchmarks/serving.py --quick        # tiny random classifiers built on the fly: a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "serving"
BACKENDS = (("torch", "fp32", None), ("onnxruntime", "fp32", "model.onnx"), ("onnxruntime", "int8", "model.int8.onnx"))
PACKAGES = ("torch", "transformers", "tokenizers", "onnx", "onnxscript", "onnxruntime", "numpy")
# The targets for the int8 ONNX student (benchmark results, not unit tests).
TARGETS = {"speedup_vs_student_torch": 3.0, "speedup_vs_teacher_torch": 12.0, "max_accuracy_drop_points": 0.5,
           "max_size_fraction": 1 / 3.5}


# ------------------------------------------------------------------------------------------------ data
def read_test_split(path: str | Path, rows: int | None = None) -> tuple[list[str], list[int]]:
    """(texts, labels) of the test split: NSMC tsv (or official .txt), a parquet file, or a dataset folder.

    Rows without a readable, non-empty document are left out and counted on stderr (they cannot be scored).
    """
    path = Path(path)
    if path.is_dir() or path.suffix == ".parquet":
        import pyarrow.parquet as pq

        files = [path] if path.is_file() else sorted(p for p in path.rglob("*.parquet") if "test" in p.name)
        if not files:
            raise SystemExit(f"--test-file {path}: no *test*.parquet file under this folder")
        texts, labels = [], []
        for f in files:
            table = pq.read_table(f, columns=["document", "label"]).to_pydict()
            texts += table["document"]
            labels += table["label"]
    else:
        from distilkobert.serving.inputs import read_records

        texts, labels, skipped = [], [], 0
        for record in read_records(path, "tsv"):
            if record.ok and isinstance(record.gold, int):
                texts.append(record.text)
                labels.append(record.gold)
            else:
                skipped += 1
        if skipped:
            print(f"{path}: {skipped} rows without a readable document and label are not scored", file=sys.stderr)
    pairs = [(t, int(y)) for t, y in zip(texts, labels) if t and t.strip()]
    if len(pairs) < len(texts):
        print(f"{path}: {len(texts) - len(pairs)} empty documents are not scored", file=sys.stderr)
    if rows:
        pairs = pairs[:rows]
    if not pairs:
        raise SystemExit(f"--test-file {path}: no rows to score")
    return [t for t, _ in pairs], [y for _, y in pairs]


def latency_sample(n_rows: int, n: int) -> list[int]:
    """Indices of ``n`` rows spread evenly over the split, so batch-1 texts have the split's real lengths."""
    n = min(n, n_rows)
    return [round(i * (n_rows - 1) / max(1, n - 1)) for i in range(n)] if n > 1 else [0]


# ---------------------------------------------------------------------------------------------- worker
def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Load one variant, score the test split at batch 32 (throughput), time batch-1 calls; logits to a file."""
    import numpy as np
    import torch

    threads = spec["threads"]
    torch.set_num_threads(threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    data = json.loads(Path(spec["data"]).read_text(encoding="utf-8"))
    texts, labels = data["texts"], data["labels"]
    t0 = time.perf_counter()
    if spec["backend"] == "torch":
        from distilkobert.serving.classifier import TorchClassifier

        clf = TorchClassifier.from_pretrained(spec["model"], max_length=spec["max_length"])
    else:
        from distilkobert.serving.onnx import OnnxClassifier

        clf = OnnxClassifier.from_pretrained(spec["model"], file=spec["file"], max_length=spec["max_length"],
                                             threads=threads)
    load_s = time.perf_counter() - t0
    bs = spec["batch_size"]
    batches = [texts[i:i + bs] for i in range(0, len(texts), bs)]
    clf.logits(batches[0])  # warm-up
    clf.truncated = 0
    t0 = time.perf_counter()
    logits = np.concatenate([clf.logits(b) for b in batches])
    pass_s = time.perf_counter() - t0
    np.save(spec["logits_out"], logits.astype(np.float32))
    predicted = logits.argmax(-1)
    accuracy = float((predicted == np.asarray(labels)).mean())

    sample = [texts[i] for i in spec["latency_rows"]]
    for text in sample[:3]:
        clf.predict([text])  # warm-up
    times: list[float] = []
    start = time.perf_counter()
    for text in sample:
        t1 = time.perf_counter()
        clf.predict([text])
        times.append(time.perf_counter() - t1)
        if len(times) >= spec["min_latency_texts"] and time.perf_counter() - start > spec["max_seconds"]:
            break
    tokens = [len(clf.tokenizer(t, truncation=True, max_length=clf.max_length)["input_ids"])
              for t in sample[:len(times)]]
    return {
        "load_s": load_s, "rows": len(texts), "accuracy": accuracy, "truncated": clf.truncated,
        "batch_size": bs, "batch_pass_s": pass_s, "batch_sentences_per_s": len(texts) / pass_s,
        "latency_s": C.summarize(times), "latency_times_s": times, "latency_tokens_mean": float(np.mean(tokens)),
        "latency_tokens_max": int(max(tokens)), "threads": threads, "torch_threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------------------------------------- parent
def build_quick_models(root: Path) -> tuple[Path, Path, Path]:
    """Tiny random teacher (6-layer BERT) and student (3-layer DistilBERT) classifiers and a test file."""
    tiny = C.load_test_helper("tiny_classifier")
    tok = tiny.build_tiny_tokenizer(root / "tokenizer")
    # 6 teacher layers, not 12: the dynamo export time grows with depth and this is only a smoke test
    teacher = tiny.build_classifier(root / "teacher", tok, kind="bert", layers=6, hidden=32, heads=2, ffn=64, seed=0)
    student = tiny.build_classifier(root / "student", tok, kind="distilbert", layers=3, hidden=32, heads=2, ffn=64,
                                    seed=1)
    demo = C.REPO_ROOT / "demo_data" / "reviews_test.tsv"
    test = root / "test.tsv"
    test.write_text("".join(demo.read_text(encoding="utf-8").splitlines(keepends=True)[:97]), encoding="utf-8")
    return teacher, student, test


def disk_mb(model_dir: Path, backend: str, file: str | None) -> float:
    if backend == "torch":
        return C.dir_size_mb(model_dir, (".safetensors",))
    from distilkobert.serving.export import file_bytes

    return file_bytes(model_dir, file) / 1e6


def run(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    from transformers.utils import logging as hf_logging

    from distilkobert.serving.export import export_classifier

    hf_logging.disable_progress_bar()

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="serving-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.quick:
        teacher, student, test_file = build_quick_models(work / "quick")
    else:
        teacher, student, test_file = Path(args.teacher), Path(args.student), Path(args.test_file)
    texts, labels = read_test_split(test_file, args.rows)
    data_path = work / "test-split.json"
    data_path.write_text(json.dumps({"texts": texts, "labels": labels}, ensure_ascii=False), encoding="utf-8")
    latency_rows = latency_sample(len(texts), args.latency_texts)
    threads = args.threads or len(os.sched_getaffinity(0))
    print(f"test split: {len(texts):,} rows from {test_file}; batch-1 latency on {len(latency_rows)} of them; "
          f"{threads} threads", file=sys.stderr)

    results, exports = [], {}
    for role, model_dir in (("teacher", teacher), ("student", student)):
        onnx_dir = work / f"{role}-onnx"
        t0 = time.perf_counter()
        exports[role] = export_classifier(str(model_dir), onnx_dir, quantize="int8", overwrite=True)
        print(f"{role}: exported to {onnx_dir} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        reference = None
        for backend, precision, file in BACKENDS:
            location = model_dir if backend == "torch" else onnx_dir
            logits_path = work / f"{role}-{backend}-{precision}-logits.npy"
            spec = {"backend": backend, "model": str(location), "file": file, "data": str(data_path),
                    "logits_out": str(logits_path), "latency_rows": latency_rows, "batch_size": args.batch_size,
                    "threads": threads, "max_length": args.max_length, "max_seconds": args.max_seconds,
                    "min_latency_texts": min(20, len(latency_rows))}
            print(f"{role} {backend} {precision} ...", file=sys.stderr)
            r = C.run_worker(__file__, spec, timeout=7200)
            logits = np.load(logits_path)
            if reference is None:
                reference = logits
            r.update(role=role, backend=backend, precision=precision, model=str(location), file=file,
                     disk_mb=disk_mb(Path(location), backend, file),
                     max_abs_logit_diff_vs_torch_fp32=float(np.abs(logits.astype(np.float64) - reference).max()),
                     label_agreement_vs_torch_fp32=float((logits.argmax(-1) == reference.argmax(-1)).mean()))
            results.append(r)
            print(f"  accuracy {100 * r['accuracy']:.2f}%, batch-1 p50 {1000 * r['latency_s']['p50']:.1f} ms, "
                  f"batch-{r['batch_size']} {r['batch_sentences_per_s']:.1f} sent/s, {r['disk_mb']:.1f} MB, "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB, max |Δlogit| {r['max_abs_logit_diff_vs_torch_fp32']:.2g}",
                  file=sys.stderr)
    return {"results": results, "exports": exports, "test_file": str(test_file), "rows": len(texts),
            "threads": threads, "work_dir": str(work)}


def find(results: list[dict], role: str, backend: str, precision: str) -> dict:
    return next(r for r in results if (r["role"], r["backend"], r["precision"]) == (role, backend, precision))


def summary_rows(results: list[dict]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        base = find(results, r["role"], "torch", "fp32")
        rows.append({
            "model": r["role"], "backend": r["backend"], "precision": r["precision"],
            "size MB": r["disk_mb"], "accuracy %": 100 * r["accuracy"],
            "Δacc pts": 100 * (r["accuracy"] - base["accuracy"]),
            "max |Δlogit|": r["max_abs_logit_diff_vs_torch_fp32"],
            "b1 p50 ms": 1000 * r["latency_s"]["p50"], "b1 p95 ms": 1000 * r["latency_s"]["p95"],
            "b1 speed-up": C.ratio(base["latency_s"]["p50"], r["latency_s"]["p50"]),
            f"b{r['batch_size']} sent/s": r["batch_sentences_per_s"],
            "peak RSS MB": r["peak_rss_mb"],
        })
    return rows


def targets(results: list[dict]) -> list[dict[str, Any]]:
    """The issue's targets for the int8 ONNX student, each with the measured value and whether it is met."""
    int8 = find(results, "student", "onnxruntime", "int8")
    student = find(results, "student", "torch", "fp32")
    teacher = find(results, "teacher", "torch", "fp32")
    vs_student = C.ratio(student["latency_s"]["p50"], int8["latency_s"]["p50"])
    vs_teacher = C.ratio(teacher["latency_s"]["p50"], int8["latency_s"]["p50"])
    drop = 100 * (student["accuracy"] - int8["accuracy"])
    fraction = C.ratio(int8["disk_mb"], student["disk_mb"])
    rows = [
        ("int8 ONNX student vs PyTorch fp32 student, batch-1 p50 speed-up", ">= 3x", vs_student,
         vs_student is not None and vs_student >= TARGETS["speedup_vs_student_torch"]),
        ("int8 ONNX student vs PyTorch fp32 teacher, batch-1 p50 speed-up", ">= 12x", vs_teacher,
         vs_teacher is not None and vs_teacher >= TARGETS["speedup_vs_teacher_torch"]),
        ("accuracy drop vs fp32 student (points)", "<= 0.5", drop, drop <= TARGETS["max_accuracy_drop_points"]),
        ("size on disk vs fp32 student (fraction)", "<= 1/3.5 = 0.286", fraction,
         fraction is not None and fraction <= TARGETS["max_size_fraction"]),
    ]
    return [{"target": t, "required": req, "measured": m, "met?": "yes" if ok else "no"} for t, req, m, ok in rows]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks/serving.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--teacher", help="fine-tuned teacher classifier folder (e.g. BertForSequenceClassification)")
    p.add_argument("--student", help="fine-tuned student classifier folder (e.g. DistilBertForSequenceClassification)")
    p.add_argument("--test-file", help="test split: NSMC .tsv / ratings .txt, a .parquet file or a dataset folder")
    p.add_argument("--rows", type=int, default=None, help="score only the first N test rows (default: all)")
    p.add_argument("--latency-texts", type=int, default=200, help="reviews timed one by one (default 200)")
    p.add_argument("--batch-size", type=int, default=32, help="batch of the accuracy / throughput pass")
    p.add_argument("--max-length", type=int, default=None, help="tokens per text (default: the model's limit)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="cap on each variant's batch-1 timing phase")
    p.add_argument("--threads", type=int, default=None, help="threads for both runtimes (default: usable cores)")
    p.add_argument("--work-dir", default=None, help="where the exports and logits go (default: a temp folder)")
    p.add_argument("--quick", action="store_true", help="tiny random classifiers built on the fly: a smoke test")
    p.add_argument("--markdown", action="store_true", help="also print the tables as Markdown (for the README)")
    p.add_argument("--output", default=None, help=f"JSON path (default benchmarks/results/{NAME}.json)")
    p.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.latency_texts = min(args.latency_texts, 12)
        args.max_seconds = min(args.max_seconds, 5.0)
    elif not (args._worker or (args.teacher and args.student and args.test_file)):
        p.error("--teacher, --student and --test-file are required (or --quick)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args._worker:
        C.emit_worker_result(worker(json.loads(args._worker)))
        return 0
    machine = C.machine_info()
    measured = run(args)
    rows, goals = summary_rows(measured["results"]), targets(measured["results"])
    C.print_table(rows, title=f"Serving: {measured['rows']:,} test rows, {measured['threads']} threads")
    C.print_table(goals, title="Targets (int8 ONNX student)")
    if args.markdown:
        print(C.format_table(rows, markdown=True))
        print(C.format_table(goals, markdown=True))
    payload = {
        "machine": machine, "versions": C.library_versions(PACKAGES),
        "settings": {k: v for k, v in vars(args).items() if not k.startswith("_")},
        "test_file": measured["test_file"], "rows": measured["rows"], "threads": measured["threads"],
        "notes": ["accuracy and batch throughput: one pass over the test split in file order, tokenisation included",
                  "batch-1 latency: each review classified alone (tokenisation, forward, softmax), p50 / p95",
                  "size: safetensors (PyTorch) or the .onnx file; MB = 10^6 bytes",
                  "max |Δlogit| and Δacc: against the PyTorch fp32 model of the same role, on the whole split",
                  "--quick: tiny random models; the numbers only show that the script works"],
        "table": rows, "targets": goals, "results": measured["results"], "exports": measured["exports"],
    }
    path = C.write_json(NAME, payload, args.output)
    print(f"\nJSON written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
