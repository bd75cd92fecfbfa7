"""Inference benchmark: the 12-layer teacher encoder versus the 3-layer student, side by side, on CPU.

For each shape set (real KoBERT sizes and the demo sizes) it builds, with random weights,
a ``BertModel`` teacher and a ``DistilBertModel`` student of the same width and vocabulary, each in a fresh
Python process (so that the process's peak RSS is that model's), and measures, for batch sizes 1 and 32 and
sequence lengths 32 and 128: latency p50/p95, sentences/s and tokens/s (from the median latency), the
process's peak RSS, the parameter count and the size on disk of ``save_pretrained`` (safetensors) for the
encoder and for the masked-LM model a user downloads. It prints tables and writes JSON with the machine,
library versions, settings, every raw timing, medians and the student/teacher ratios next to the ideal
(the encoder-layer limit, teacher layers / student layers = 4x, and an analytic FLOP ratio that includes
attention, the pooler and, with ``--model mlm``, the vocabulary projection).

    python benchmarks/inference.py                     # kobert + demo shapes, ~3-5 min on 2 cores
    python benchmarks/inference.py --quick             # tiny shapes, seconds (smoke test)
    python benchmarks/inference.py --shapes kobert --repeats 10 --threads 4 --output /tmp/inf.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "inference"

# width / vocabulary of each shape set; teacher and student differ only in depth.
SHAPES: dict[str, dict[str, int]] = {
    # KoBERT (monologg/kobert, monologg/kobert-lm) and the published DistilKoBERT
    "kobert": {"vocab_size": 8002, "hidden_size": 768, "num_heads": 12, "ffn_size": 3072, "max_positions": 512},
    # the CPU-sized demo (recipes/demo-teacher.yaml: hidden 128, 2 heads, FFN 256, 128 positions)
    "demo": {"vocab_size": 4000, "hidden_size": 128, "num_heads": 2, "ffn_size": 256, "max_positions": 128},
    # smoke tests only
    "tiny": {"vocab_size": 300, "hidden_size": 32, "num_heads": 2, "ffn_size": 64, "max_positions": 64},
}
TARGET = {"shape": "kobert", "batch_size": 32, "seq_len": 128, "min_speedup": 3.5}


# ------------------------------------------------------------------------------------------ model build
def build_model(shape: dict[str, int], role: str, layers: int, kind: str = "encoder", seed: int = 0):
    """A randomly initialised teacher (``BertModel``/``BertForMaskedLM``) or student
    (``DistilBertModel``/``DistilBertForMaskedLM``) of the given shape, in eval mode."""
    import torch
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        BertModel,
        DistilBertConfig,
        DistilBertForMaskedLM,
        DistilBertModel,
    )

    torch.manual_seed(seed)
    if role == "teacher":
        cfg = BertConfig(vocab_size=shape["vocab_size"], hidden_size=shape["hidden_size"],
                         num_hidden_layers=layers, num_attention_heads=shape["num_heads"],
                         intermediate_size=shape["ffn_size"], max_position_embeddings=shape["max_positions"],
                         type_vocab_size=2, pad_token_id=1)
        model = BertModel(cfg) if kind == "encoder" else BertForMaskedLM(cfg)
    elif role == "student":
        cfg = DistilBertConfig(vocab_size=shape["vocab_size"], dim=shape["hidden_size"], n_layers=layers,
                               n_heads=shape["num_heads"], hidden_dim=shape["ffn_size"],
                               max_position_embeddings=shape["max_positions"], pad_token_id=1)
        model = DistilBertModel(cfg) if kind == "encoder" else DistilBertForMaskedLM(cfg)
    else:
        raise ValueError(f"role must be 'teacher' or 'student', got {role!r}")
    return model.eval()


def forward_macs_per_token(shape: dict[str, int], layers: int, seq_len: int, *, pooler: bool,
                           mlm_head: bool) -> float:
    """Multiply-accumulates per token of one forward pass (dense layers + attention; embeddings, norms and
    softmax are negligible). The pooler acts on one token per sequence, hence ``h^2 / seq_len``."""
    h, f, v = shape["hidden_size"], shape["ffn_size"], shape["vocab_size"]
    per_layer = 4 * h * h + 2 * h * f + 2 * seq_len * h
    macs = layers * per_layer
    if pooler:
        macs += h * h / seq_len
    if mlm_head:
        macs += h * h + h * v
    return float(macs)


# ------------------------------------------------------------------------------------------------ worker
def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in a fresh process: build one model, time every (batch, length) from small to large, then
    save it to measure its size on disk. Peak RSS is read before saving (serialisation allocates)."""
    import torch

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    # import the model classes now so that the lazy-import cost is in the baseline, not in model_rss
    from transformers import BertForMaskedLM, BertModel, DistilBertForMaskedLM, DistilBertModel  # noqa: F401

    rss_after_import = C.peak_rss_mb()
    shape, role, layers, kind = spec["shape"], spec["role"], spec["layers"], spec["kind"]
    t0 = time.perf_counter()
    model = build_model(shape, role, layers, kind, seed=spec.get("seed", 0))
    build_s = time.perf_counter() - t0
    rss_after_build = C.peak_rss_mb()
    n_params = sum(p.numel() for p in model.parameters())

    gen = torch.Generator().manual_seed(1234)
    configs = []
    for batch, seq_len in sorted(spec["configs"], key=lambda bs: bs[0] * bs[1]):
        # ids >= 5 avoid the special tokens; fixed length, no padding: every token is real work.
        ids = torch.randint(5, shape["vocab_size"], (batch, seq_len), generator=gen)
        mask = torch.ones_like(ids)

        def call(model=model, ids=ids, mask=mask) -> None:  # bound now: the loop rebinds ids / mask
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=mask)

        times = C.time_call(call, warmup=spec["warmup"], repeats=spec["repeats"],
                            max_seconds=spec.get("max_seconds"), min_repeats=min(3, spec["repeats"]))
        lat = C.summarize(times)
        configs.append({
            "batch_size": batch, "seq_len": seq_len, "times_s": times, "latency_s": lat,
            "sentences_per_s": batch / lat["median"], "tokens_per_s": batch * seq_len / lat["median"],
            # ru_maxrss is monotone and configs run from small to large, so this is the peak up to and
            # including this configuration
            "peak_rss_mb_after": C.peak_rss_mb(),
        })
    peak_rss = C.peak_rss_mb()

    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(Path(tmp) / "model")
        sizes[f"disk_mb_{kind}"] = C.dir_size_mb(Path(tmp) / "model")
        other = "mlm" if kind == "encoder" else "encoder"
        del model
        other_model = build_model(shape, role, layers, other, seed=spec.get("seed", 0))
        other_model.save_pretrained(Path(tmp) / "other")
        sizes[f"disk_mb_{other}"] = C.dir_size_mb(Path(tmp) / "other")
        n_params_other = sum(p.numel() for p in other_model.parameters())

    attn = getattr(other_model.config, "_attn_implementation", None)
    return {
        "shape_name": spec["shape_name"], "role": role, "layers": layers, "kind": kind,
        "params": n_params, f"params_{other}": n_params_other, "attn_implementation": attn,
        "build_s": build_s, "rss_after_import_mb": rss_after_import, "rss_after_build_mb": rss_after_build,
        "peak_rss_mb": peak_rss, "model_rss_mb": peak_rss - rss_after_import, **sizes,
        "threads": C.torch_threads_info(), "configs": configs,
    }


# ------------------------------------------------------------------------------------------------ parent
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Teacher (BertModel, 12 layers) vs student (DistilBertModel, 3 layers) CPU inference: "
                    "throughput, latency p50/p95, peak RSS and size on disk, with ratios vs the ideal.")
    p.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=None,
                   help="shape sets to run (default: kobert demo; --quick: tiny)")
    p.add_argument("--batch-sizes", nargs="+", type=int, default=None, help="default: 1 32 (--quick: 1 4)")
    p.add_argument("--seq-lens", nargs="+", type=int, default=None, help="default: 32 128 (--quick: 8 16)")
    p.add_argument("--teacher-layers", type=int, default=12)
    p.add_argument("--student-layers", type=int, default=3)
    p.add_argument("--model", choices=["encoder", "mlm"], default="encoder",
                   help="time the bare encoders (default; what feature extraction / fine-tuning runs) or the "
                        "masked-LM models with their full vocabulary projection")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per configuration (default 5; quick 3)")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 2; quick 1)")
    p.add_argument("--max-seconds", type=float, default=40.0,
                   help="cap on the timed phase of one configuration (at least 3 calls are timed); default 40")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads in each worker (default: torch's default = physical cores; --quick: 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny shapes and few repeats: a smoke test in seconds")
    p.add_argument("--markdown", action="store_true", help="also print the tables as Markdown (for the README)")
    p.add_argument("--output", default=None, help=f"JSON path (default benchmarks/results/{NAME}.json)")
    p.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    q = args.quick
    args.shapes = args.shapes or (["tiny"] if q else ["kobert", "demo"])
    args.batch_sizes = args.batch_sizes or ([1, 4] if q else [1, 32])
    args.seq_lens = args.seq_lens or ([8, 16] if q else [32, 128])
    args.repeats = args.repeats or (3 if q else 5)
    args.warmup = args.warmup if args.warmup is not None else (1 if q else 2)
    if q and args.threads is None:
        args.threads = 1  # a smoke test must not fight other processes for every core
    for name in ("repeats",):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    for s in args.seq_lens:
        for sh in args.shapes:
            if s > SHAPES[sh]["max_positions"]:
                p.error(f"--seq-lens {s} exceeds max positions {SHAPES[sh]['max_positions']} of shape {sh}")
    return args


def compare(results: list[dict[str, Any]], args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """Speed rows (one per shape x batch x length) and memory/size rows (one per shape)."""
    by = {(r["shape_name"], r["role"]): r for r in results}
    speed, memory = [], []
    layer_limit = args.teacher_layers / args.student_layers
    for shape_name in args.shapes:
        t, s = by[(shape_name, "teacher")], by[(shape_name, "student")]
        shape = SHAPES[shape_name]
        s_cfg = {(c["batch_size"], c["seq_len"]): c for c in s["configs"]}
        for tc in t["configs"]:
            sc = s_cfg[(tc["batch_size"], tc["seq_len"])]
            mlm = args.model == "mlm"
            flops_ratio = (forward_macs_per_token(shape, args.teacher_layers, tc["seq_len"], pooler=not mlm,
                                                  mlm_head=mlm)
                           / forward_macs_per_token(shape, args.student_layers, tc["seq_len"], pooler=False,
                                                    mlm_head=mlm))
            speedup = sc["sentences_per_s"] / tc["sentences_per_s"]
            speed.append({
                "shape": shape_name, "batch": tc["batch_size"], "seq_len": tc["seq_len"],
                "teacher_sent_s": tc["sentences_per_s"], "student_sent_s": sc["sentences_per_s"],
                "speedup": speedup, "ideal_layers": layer_limit, "ideal_flops": flops_ratio,
                "efficiency": speedup / flops_ratio,
                "teacher_p50_ms": tc["latency_s"]["p50"] * 1e3, "teacher_p95_ms": tc["latency_s"]["p95"] * 1e3,
                "student_p50_ms": sc["latency_s"]["p50"] * 1e3, "student_p95_ms": sc["latency_s"]["p95"] * 1e3,
                "n": f"{tc['latency_s']['n']}/{sc['latency_s']['n']}",
            })
        memory.append({
            "shape": shape_name,
            "teacher_params_M": t["params"] / 1e6, "student_params_M": s["params"] / 1e6,
            "params_ratio": C.ratio(t["params"], s["params"]),
            "teacher_peak_rss_MB": t["peak_rss_mb"], "student_peak_rss_MB": s["peak_rss_mb"],
            "rss_ratio": C.ratio(t["peak_rss_mb"], s["peak_rss_mb"]),
            "teacher_model_rss_MB": t["model_rss_mb"], "student_model_rss_MB": s["model_rss_mb"],
            "teacher_disk_MB": t["disk_mb_encoder"], "student_disk_MB": s["disk_mb_encoder"],
            "teacher_mlm_disk_MB": t["disk_mb_mlm"], "student_mlm_disk_MB": s["disk_mb_mlm"],
            "mlm_disk_ratio": C.ratio(t["disk_mb_mlm"], s["disk_mb_mlm"]),
        })
    return speed, memory


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started_as = C.start_benchmark(args, worker, "inference benchmark")
    if started_as is None:  # a worker: its result is emitted
        return 0
    machine, versions = started_as
    configs = [[b, s] for b in args.batch_sizes for s in args.seq_lens]
    settings = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    settings["shape_sizes"] = {n: SHAPES[n] for n in args.shapes}
    results = []
    started = time.perf_counter()
    for shape_name in args.shapes:
        for role, layers in (("teacher", args.teacher_layers), ("student", args.student_layers)):
            spec = {"shape_name": shape_name, "shape": SHAPES[shape_name], "role": role, "layers": layers,
                    "kind": args.model, "configs": configs, "warmup": args.warmup, "repeats": args.repeats,
                    "max_seconds": args.max_seconds, "threads": args.threads, "seed": args.seed}
            t0 = time.perf_counter()
            r = C.run_worker(__file__, spec, timeout=3600)
            print(f"  {shape_name:7s} {role:8s} {layers:2d} layers: done in {time.perf_counter() - t0:.1f}s "
                  f"(torch threads {r['threads']['torch_num_threads']}, attention {r['attn_implementation']})",
                  flush=True)
            results.append(r)

    speed, memory = compare(results, args)
    target = None
    for row in speed:
        if (row["shape"], row["batch"], row["seq_len"]) == (TARGET["shape"], TARGET["batch_size"], TARGET["seq_len"]):
            target = {**TARGET, "speedup": row["speedup"], "met": row["speedup"] >= TARGET["min_speedup"]}
    payload = {
        "benchmark": NAME, "command": [Path(sys.executable).name, *sys.argv],
        "machine": machine, "versions": versions, "settings": settings,
        "threads": results[0]["threads"] if results else None,
        "notes": {
            "speedup": "student sentences/s / teacher sentences/s, from median latencies",
            "ideal_layers": "teacher layers / student layers: the limit if only encoder layers cost time",
            "ideal_flops": "analytic MAC ratio per token incl. attention (seq_len dependent), the teacher's "
                           "pooler and, with --model mlm, the vocabulary projection",
            "efficiency": "speedup / ideal_flops (1.0 = the student is exactly as efficient per FLOP)",
            "peak_rss": "ru_maxrss of a fresh process per model (imports + model + all timed configurations); "
                        "model_rss = peak_rss - RSS after importing torch+transformers",
            "disk": "save_pretrained safetensors, MB = 1e6 bytes; mlm = *ForMaskedLM (tied decoder)",
        },
        "load_average_end": C.load_average(), "wall_s": time.perf_counter() - started,
        "results": results, "comparison": speed, "memory": memory, "target": target,
    }
    path = C.write_json(NAME, payload, args.output)

    speed_cols = ["shape", "batch", "seq_len", "teacher_sent_s", "student_sent_s", "speedup", "ideal_layers",
                  "ideal_flops", "teacher_p50_ms", "teacher_p95_ms", "student_p50_ms", "student_p95_ms", "n"]
    mem_cols = ["shape", "teacher_params_M", "student_params_M", "teacher_peak_rss_MB", "student_peak_rss_MB",
                "teacher_model_rss_MB", "student_model_rss_MB", "teacher_disk_MB", "student_disk_MB",
                "teacher_mlm_disk_MB", "student_mlm_disk_MB", "mlm_disk_ratio"]
    C.print_table(speed, speed_cols, title=f"Throughput and latency ({args.model}, medians of "
                  f"{args.repeats} timed calls after {args.warmup} warm-up; torch threads "
                  f"{payload['threads']['torch_num_threads'] if payload['threads'] else '?'})")
    C.print_table(memory, mem_cols, title="Size and peak memory (fresh process per model)")
    if args.markdown:
        C.print_table(speed, speed_cols, title="Markdown:", markdown=True)
        C.print_table(memory, mem_cols, markdown=True)
    if target:
        verdict = "MET" if target["met"] else "NOT MET"
        print(f"\nTarget student >= {TARGET['min_speedup']}x teacher at {TARGET['shape']} batch "
              f"{TARGET['batch_size']} / len {TARGET['seq_len']}: {target['speedup']:.2f}x -> {verdict}")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
