"""Expected compute of a study recipe, from its sizes and the teacher's shape: FLOPs, optimizer steps, time.

FLOPs per token: 2 x N for a forward pass and 6 x N for a training step, N the non-embedding parameters (an
embedding lookup costs nothing; attention over ~23-token reviews adds under 2%). Time is given at two rates:
the one measured on this project's 2-core CPU (teacher fine-tuning in the `cpu` study run) and an assumed
effective GPU rate. For short reviews a GPU step is bound by its fixed overhead more than by FLOPs, so the
GPU estimate also counts optimizer steps at a fixed cost per step.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from distilkobert.study.config import StudyConfig

TOKENS_PER_REVIEW = 23.2  # teacher (XLM-R) tokens per NSMC review incl. <s> </s>, measured on 2,000 training rows
POOLS = {"train": 127_641, "validation": 7_513, "test": 14_846, "unlabelled": 618_517}  # hash pools, shared data
# Achieved GFLOP/s on the project's 2-core CPU (benchmarks/results/study_speed.json: training steps of the
# 12-layer teacher and its 3-layer cut at batch 32, <= 64 tokens; labelling at batch 128), counted on real tokens
# (length-grouped batches pad little; PADDING covers the rest).
CPU_GFLOPS = {("train", False): 118.0, ("train", True): 160.0, ("infer", False): 121.0, ("infer", True): 208.0}
PADDING = 1.1
# stages whose cost is not matmuls: reading and hashing files, the trim count, exports, FastText, speed rounds
FIXED_SECONDS = {"splits": 40, "trim": 60, "int8 export": 60, "speed": 150, "fasttext (per seed)": 45}
GPU_FLOPS = 100e12  # assumed effective bf16 rate of one H100 / H200 on ~23-token batches (10% of peak)
GPU_STEP_SECONDS = 0.03  # assumed fixed cost of one small optimizer step on a GPU (launches, Python)


def _layer_params(config: dict[str, Any]) -> int:
    h, f = config["hidden_size"], config["intermediate_size"]
    return 4 * h * h + 2 * h * f + 9 * h + f  # attention + FFN weights, biases, two LayerNorms


def non_embedding_parameters(config: dict[str, Any]) -> int:
    """Parameters of a BERT-family encoder's layers (the ones that cost FLOPs per token)."""
    return _layer_params(config) * config["num_hidden_layers"]


def _cpu_seconds(flops: float, kind: str, bf16: bool) -> float:
    return PADDING * flops / (CPU_GFLOPS[(kind, bf16)] * 1e9)


def estimate(cfg: StudyConfig) -> dict[str, Any]:
    """Per stage: tokens, FLOPs, optimizer steps and expected CPU seconds; totals; hours on the CPU and a GPU."""
    config = json.loads((Path(cfg.teacher) / "config.json").read_text(encoding="utf-8"))
    n_teacher = non_embedding_parameters(config)
    n_student = _layer_params(config) * len(cfg.student_layers)
    seeds = len(cfg.seeds)

    def size(value: int | None, pool: str) -> int:
        return POOLS[pool] if value is None else min(value, POOLS[pool])

    train, val, test = size(cfg.train_size, "train"), size(cfg.validation_size, "validation"), \
        size(cfg.test_size, "test")
    unl = size(cfg.unlabelled_size, "unlabelled")
    tpr = TOKENS_PER_REVIEW
    stages: dict[str, dict[str, float]] = {
        "splits": {"tokens": 0, "flops": 0, "steps": 0, "cpu_seconds": FIXED_SECONDS["splits"]},
        "trim": {"tokens": 0, "flops": 0, "steps": 0, "cpu_seconds": FIXED_SECONDS["trim"] if cfg.trim_vocabulary
                 else 0}}

    def finetune(name: str, n: int, rows: int, s, runs: int) -> None:
        tokens = rows * s.epochs * tpr * runs
        eval_tokens = (int(s.epochs * s.evals_per_epoch) * val + test) * tpr * runs
        stages[name] = {"tokens": tokens, "flops": 6 * n * tokens + 2 * n * eval_tokens,
                        "steps": math.ceil(rows * s.epochs / s.batch_size) * runs,
                        "cpu_seconds": _cpu_seconds(6 * n * tokens, "train", s.bf16)
                        + _cpu_seconds(2 * n * eval_tokens, "infer", s.bf16)}

    finetune("teacher fine-tuning", n_teacher, train, cfg.teacher_finetune, seeds)
    label_flops = 2 * n_teacher * (train + unl + cfg.labelling.check_texts) * tpr
    stages["teacher labels"] = {"tokens": (train + unl) * tpr, "flops": label_flops, "steps": 0,
                                "cpu_seconds": _cpu_seconds(label_flops, "infer",
                                                            cfg.labelling.backend != "torch")}
    g = cfg.general_distill
    g_tokens = g.max_steps * g.batch_size * g.max_seq_length
    g_flops = (2 * n_teacher + 6 * n_student) * g_tokens
    stages["general distillation"] = {"tokens": g_tokens, "flops": g_flops, "steps": g.max_steps,
                                      "cpu_seconds": _cpu_seconds(g_flops, "train", g.bf16) / PADDING}
    finetune("task distillation", n_student, train + unl, cfg.task_distill, seeds)
    finetune("truncated fine-tuning", n_student, train, cfg.student_finetune, seeds)
    finetune("general fine-tuning", n_student, train, cfg.student_finetune, seeds)
    fasttext_runs = (seeds * (1 if cfg.train_size is None else 2)) if cfg.fasttext else 0
    for name in ("int8 export", "speed"):
        stages[name] = {"tokens": 0, "flops": 0, "steps": 0, "cpu_seconds": FIXED_SECONDS[name]}
    stages["fasttext"] = {"tokens": 0, "flops": 0, "steps": 0,
                          "cpu_seconds": FIXED_SECONDS["fasttext (per seed)"] * fasttext_runs * max(1, train / 127_641)}
    total_flops = sum(s["flops"] for s in stages.values())
    total_steps = sum(s["steps"] for s in stages.values())
    return {
        "recipe_mode": cfg.mode, "teacher_non_embedding_parameters": n_teacher,
        "student_non_embedding_parameters": n_student, "rows": {"train": train, "validation": val, "test": test,
                                                                "unlabelled": unl},
        "stages": stages, "total_flops": total_flops, "total_steps": total_steps,
        "cpu_hours": sum(s["cpu_seconds"] for s in stages.values()) / 3600,
        "gpu_hours": (total_flops / GPU_FLOPS + total_steps * GPU_STEP_SECONDS) / 3600,
        "assumptions": {"tokens_per_review": tpr, "cpu_gflops": {f"{k[0]}{', bf16' if k[1] else ''}": v
                                                                  for k, v in CPU_GFLOPS.items()},
                        "padding": PADDING, "fixed_seconds": FIXED_SECONDS, "gpu_flops": GPU_FLOPS,
                        "gpu_step_seconds": GPU_STEP_SECONDS},
    }


def format_estimate(est: dict[str, Any]) -> str:
    lines = [f"recipe mode {est['recipe_mode']}: rows {est['rows']}; non-embedding parameters teacher "
             f"{est['teacher_non_embedding_parameters'] / 1e6:.1f} M, student "
             f"{est['student_non_embedding_parameters'] / 1e6:.1f} M",
             "| stage | tokens (M) | PFLOP | optimizer steps | CPU minutes |", "|---|---|---|---|---|"]
    for name, s in est["stages"].items():
        lines.append(f"| {name} | {s['tokens'] / 1e6:,.1f} | {s['flops'] / 1e15:.3f} | {s['steps']:,} | "
                     f"{s['cpu_seconds'] / 60:.1f} |")
    lines.append(f"| total | | {est['total_flops'] / 1e15:.3f} | {est['total_steps']:,} | "
                 f"{est['cpu_hours'] * 60:.0f} |")
    a = est["assumptions"]
    rates = ", ".join(f"{k} {v:.0f}" for k, v in a["cpu_gflops"].items())
    lines.append(f"expected time: {est['cpu_hours']:.2f} h on the project's 2 CPU cores (GFLOP/s measured by "
                 f"benchmarks/study_speed.py: {rates}); {est['gpu_hours'] * 60:.0f} min on one H100/H200-class GPU "
                 f"(assumed {a['gpu_flops'] / 1e12:.0f} TFLOP/s effective + {a['gpu_step_seconds'] * 1000:.0f} ms "
                 "per step)")
    return "\n".join(lines)
