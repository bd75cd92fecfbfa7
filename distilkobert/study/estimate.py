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
CPU_FLOPS = 72e9  # measured: `cpu` study teacher fine-tuning, 0.074 PFLOP in 1,018 s on 2 cores (README)
GPU_FLOPS = 100e12  # assumed effective bf16 rate of one H100 / H200 on ~23-token batches (10% of peak)
GPU_STEP_SECONDS = 0.03  # assumed fixed cost of one small optimizer step on a GPU (launches, Python)


def _layer_params(config: dict[str, Any]) -> int:
    h, f = config["hidden_size"], config["intermediate_size"]
    return 4 * h * h + 2 * h * f + 9 * h + f  # attention + FFN weights, biases, two LayerNorms


def estimate(cfg: StudyConfig) -> dict[str, Any]:
    """Per stage: tokens, FLOPs, optimizer steps; totals; hours at the CPU and GPU rates."""
    config = json.loads((Path(cfg.teacher) / "config.json").read_text(encoding="utf-8"))
    per_layer = _layer_params(config)
    n_teacher = per_layer * config["num_hidden_layers"]
    n_student = per_layer * len(cfg.student_layers)
    seeds = len(cfg.seeds)

    def size(value: int | None, pool: str) -> int:
        return POOLS[pool] if value is None else min(value, POOLS[pool])

    train, val, test = size(cfg.train_size, "train"), size(cfg.validation_size, "validation"), \
        size(cfg.test_size, "test")
    unl = size(cfg.unlabelled_size, "unlabelled")
    tpr = TOKENS_PER_REVIEW
    stages: dict[str, dict[str, float]] = {}

    def finetune(name: str, n: int, rows: int, s, runs: int) -> None:
        evals = int(s.epochs * s.evals_per_epoch) * val + test
        tokens = rows * s.epochs * tpr * runs
        stages[name] = {"tokens": tokens, "flops": 6 * n * tokens + 2 * n * evals * tpr * runs,
                        "steps": math.ceil(rows * s.epochs / s.batch_size) * runs}

    finetune("teacher fine-tuning", n_teacher, train, cfg.teacher_finetune, seeds)
    stages["teacher labels"] = {"tokens": (train + unl) * tpr, "flops": 2 * n_teacher * (train + unl) * tpr,
                                "steps": 0}
    g = cfg.general_distill
    g_tokens = g.max_steps * g.batch_size * g.max_seq_length
    stages["general distillation"] = {"tokens": g_tokens, "flops": (2 * n_teacher + 6 * n_student) * g_tokens,
                                      "steps": g.max_steps}
    finetune("task distillation", n_student, train + unl, cfg.task_distill, seeds)
    finetune("truncated fine-tuning", n_student, train, cfg.student_finetune, seeds)
    finetune("general fine-tuning", n_student, train, cfg.student_finetune, seeds)
    total_flops = sum(s["flops"] for s in stages.values())
    total_steps = sum(s["steps"] for s in stages.values())
    return {
        "recipe_mode": cfg.mode, "teacher_non_embedding_parameters": n_teacher,
        "student_non_embedding_parameters": n_student, "rows": {"train": train, "validation": val, "test": test,
                                                                "unlabelled": unl},
        "stages": stages, "total_flops": total_flops, "total_steps": total_steps,
        "cpu_hours": total_flops / CPU_FLOPS / 3600,
        "gpu_hours": (total_flops / GPU_FLOPS + total_steps * GPU_STEP_SECONDS) / 3600,
        "assumptions": {"tokens_per_review": tpr, "cpu_flops": CPU_FLOPS, "gpu_flops": GPU_FLOPS,
                        "gpu_step_seconds": GPU_STEP_SECONDS},
    }


def format_estimate(est: dict[str, Any]) -> str:
    lines = [f"recipe mode {est['recipe_mode']}: rows {est['rows']}; non-embedding parameters teacher "
             f"{est['teacher_non_embedding_parameters'] / 1e6:.1f} M, student "
             f"{est['student_non_embedding_parameters'] / 1e6:.1f} M",
             "| stage | tokens (M) | PFLOP | optimizer steps |", "|---|---|---|---|"]
    for name, s in est["stages"].items():
        lines.append(f"| {name} | {s['tokens'] / 1e6:,.1f} | {s['flops'] / 1e15:.3f} | {s['steps']:,} |")
    lines.append(f"| total | | {est['total_flops'] / 1e15:.3f} | {est['total_steps']:,} |")
    a = est["assumptions"]
    lines.append(f"expected time: {est['cpu_hours']:.1f} h on the project's 2 CPU cores ({a['cpu_flops'] / 1e9:.0f} "
                 f"GFLOP/s measured); {est['gpu_hours'] * 60:.0f} min on one H100/H200-class GPU (assumed "
                 f"{a['gpu_flops'] / 1e12:.0f} TFLOP/s effective + {a['gpu_step_seconds'] * 1000:.0f} ms per step)")
    return "\n".join(lines)
