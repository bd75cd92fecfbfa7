"""Distillation training throughput of `train_distill.py`'s trainer, and what it costs beyond its unavoidable parts.

On fixed random models (a ``BertForMaskedLM`` teacher and the ``DistilBertForMaskedLM`` student built from it by
``distilkobert.distill.student.build_student`` with ``--student-layers``) and fixed synthetic data masked by the
real ``DistillationCollator``, it measures, in a fresh process per shape set:

1. **end to end**: ``DistillationTrainer.train()`` for a few optimizer steps; seconds per optimizer step (time
   between consecutive ``on_step_end`` callbacks, so data loading, masking, loss, backward, clipping and the
   optimizer are all inside) and non-pad tokens/s, with the share of time spent in the teacher's forward
   (measured by forward hooks on the teacher's encoder and MLM head);
2. **on one fixed batch**, interleaved round by round so that machine noise hits every variant alike:
   - the distillation step: masking the batch with the collator + ``DistillationTrainer.training_step``
     (its own ``compute_loss``: student forward, teacher no-grad forward, losses, backward) + gradient clipping +
     optimizer step, for each loss variant: KL over all non-pad positions or masked only, and vocabulary
     projections only at the rows the losses use (the trainer's default) or at every position (``full_logits``);
   - (a) a plain MLM training step of the student on the same masked batch (HF forward with labels, backward,
     clipping, optimizer step) and (b) one no-grad forward of the teacher (``BertForMaskedLM``, full logits);
   - the ratio distillation step / (a + b) (target <= 1.1) and the gain of the gathered projections.

    python benchmarks/train_step.py                 # demo + kobert shapes, ~3-5 min on 2 cores
    python benchmarks/train_step.py --quick         # tiny shapes (smoke test)
    python benchmarks/train_step.py --shapes kobert --batch-size 16 --repeats 8 --output /tmp/ts.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "train_step"
SPECIAL_IDS = [0, 1, 2, 3, 4]  # [UNK] [PAD] [CLS] [SEP] [MASK], as in KoBERT
PAD_ID, CLS_ID, SEP_ID, MASK_ID = 1, 2, 3, 4

SHAPES: dict[str, dict[str, int]] = {
    "kobert": {"vocab_size": 8002, "hidden_size": 768, "num_heads": 12, "ffn_size": 3072, "max_positions": 512,
               "batch_size": 8, "seq_len": 128},
    # recipes/demo-teacher.yaml + recipes/demo.yaml: hidden 128, 2 heads, FFN 256, batch 32 x 64
    "demo": {"vocab_size": 4000, "hidden_size": 128, "num_heads": 2, "ffn_size": 256, "max_positions": 128,
             "batch_size": 32, "seq_len": 64},
    "tiny": {"vocab_size": 300, "hidden_size": 32, "num_heads": 2, "ffn_size": 64, "max_positions": 64,
             "batch_size": 4, "seq_len": 16},
}
# (name, ce_positions, full_logits); the first is the trainer's default configuration
VARIANTS = [("distill_all_gathered", "all", False), ("distill_all_full", "all", True),
            ("distill_masked_gathered", "masked", False), ("distill_masked_full", "masked", True)]
TARGET_MAX_RATIO = 1.1


class _VocabOnly:
    """What ``build_student`` reads from a tokenizer (its length and pad id): lets the benchmark use any vocab
    size without training a tokenizer."""

    def __init__(self, vocab_size: int, pad_token_id: int = PAD_ID):
        self.vocab_size, self.pad_token_id = vocab_size, pad_token_id

    def __len__(self) -> int:
        return self.vocab_size


def make_sequences(n: int, seq_len: int, vocab_size: int, *, ragged: bool, seed: int) -> list[list[int]]:
    """``[CLS] ... [SEP]`` id lists with a Zipf-like token distribution (so that the XLM masking's frequency
    smoothing has something to do); full length (packed corpus) or, with ``ragged``, 50-100% of it."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab_size - len(SPECIAL_IDS) + 1, dtype=np.float64)
    probs = (1.0 / ranks) / (1.0 / ranks).sum()
    seqs = []
    for _ in range(n):
        length = int(rng.integers(seq_len // 2, seq_len + 1)) if ragged else seq_len
        body = rng.choice(len(ranks), size=length - 2, p=probs) + len(SPECIAL_IDS)
        seqs.append([CLS_ID, *body.tolist(), SEP_ID])
    return seqs


# ------------------------------------------------------------------------------------------------ worker
@dataclass
class Setup:
    """What one shape set's measurements share: the models, the data and its masking collator, the teacher clock."""

    spec: dict[str, Any]
    teacher: Any
    student: Any
    layers: list[int]
    seqs: list[list[int]]
    features: list[dict[str, Any]]
    collator: Any
    gen: Any  # the collator's generator: reseeded to mask one batch the same way every time
    teacher_time: list[float]  # seconds inside the teacher's encoder + MLM head, added up by forward hooks

    @property
    def alphas(self) -> dict[str, float]:
        spec = self.spec
        return dict(alpha_ce=spec["alpha_ce"], alpha_mlm=spec["alpha_mlm"], alpha_cos=spec["alpha_cos"],
                    alpha_mse=0.0, temperature=2.0)

    def training_args(self, tmp: str, max_steps: int):
        from distilkobert.distill.arguments import DistillationConfig

        spec = self.spec
        # DistilKoBERT's optimiser settings (recipe), CPU, nothing written or logged during the timed steps
        return DistillationConfig(
            output_dir=tmp, per_device_train_batch_size=spec["batch_size"], gradient_accumulation_steps=1,
            max_steps=max_steps, learning_rate=5e-4, adam_beta1=0.9, adam_beta2=0.98, adam_epsilon=1e-6,
            weight_decay=0.0, max_grad_norm=5.0, warmup_steps=0, use_cpu=True, report_to="none", save_strategy="no",
            logging_strategy="no", disable_tqdm=True, dataloader_num_workers=0, dataloader_pin_memory=False,
            remove_unused_columns=False, seed=spec["seed"], optim=spec["optim"], **self.alphas)

    def trainer(self, tmp: str, max_steps: int, callbacks=None):
        from distilkobert.distill.trainer import DistillationTrainer

        return DistillationTrainer(model=self.student, args=self.training_args(tmp, max_steps),
                                   data_collator=self.collator, train_dataset=self.features, teacher=self.teacher,
                                   callbacks=callbacks)


def setup(spec: dict[str, Any]) -> Setup:
    """Random teacher and the student built from it, synthetic sequences, the real masking collator."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from distilkobert.distill.collator import DistillationCollator, masking_probabilities, token_counts
    from distilkobert.distill.student import Teacher, build_student

    shape, B, L = spec["shape"], spec["batch_size"], spec["seq_len"]
    V = shape["vocab_size"]
    torch.manual_seed(spec["seed"])
    teacher = BertForMaskedLM(BertConfig(
        vocab_size=V, hidden_size=shape["hidden_size"], num_hidden_layers=spec["teacher_layers"],
        num_attention_heads=shape["num_heads"], intermediate_size=shape["ffn_size"],
        max_position_embeddings=shape["max_positions"], type_vocab_size=2, pad_token_id=PAD_ID))
    layers = [int(x) for x in spec["student_layers"].split(",")]
    student = build_student(_VocabOnly(V), teacher=Teacher(teacher, True, "random-init", None), layers=layers)

    n_steps = spec["warmup"] + spec["repeats"]
    seqs = make_sequences(B * (n_steps + 1), L, V, ragged=spec["ragged"], seed=spec["seed"])
    token_probs = masking_probabilities(token_counts(seqs, V), SPECIAL_IDS, 0.7)
    gen = torch.Generator().manual_seed(spec["seed"])
    collator = DistillationCollator(token_probs, pad_token_id=PAD_ID, mask_token_id=MASK_ID,
                                    special_ids=SPECIAL_IDS, generator=gen)
    return Setup(spec=spec, teacher=teacher, student=student, layers=layers, seqs=seqs,
                 features=[{"input_ids": s} for s in seqs], collator=collator, gen=gen,
                 teacher_time=clock_teacher(teacher))


def clock_teacher(teacher) -> list[float]:
    """A one-item list that forward hooks add the time spent inside the teacher (encoder + MLM head) to,
    whichever way the loss code calls it."""
    teacher_time = [0.0]
    starts: dict[int, float] = {}

    def pre_hook(module, args, kwargs=None):
        starts[id(module)] = time.perf_counter()

    def post_hook(module, args, output):
        teacher_time[0] += time.perf_counter() - starts.pop(id(module))

    for mod in (teacher.bert, teacher.cls):
        mod.register_forward_pre_hook(pre_hook)
        mod.register_forward_hook(post_hook)
    return teacher_time


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One shape set in a fresh process: end-to-end Trainer steps, then the same-batch decomposition."""
    import torch

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    sys.path.insert(0, str(C.REPO_ROOT))
    from distilkobert.distill.student import count_parameters

    s = setup(spec)
    out: dict[str, Any] = {"shape_name": spec["shape_name"], "batch_size": spec["batch_size"],
                           "seq_len": spec["seq_len"], "teacher_params": count_parameters(s.teacher),
                           "student_params": count_parameters(s.student), "student_layers": s.layers,
                           "threads": C.torch_threads_info()}
    with tempfile.TemporaryDirectory() as tmp:
        out.update(end_to_end(s, tmp))
        same_batch = same_batch_rounds(s, tmp)
        if spec.get("profile"):
            out["profile"] = profile_overhead(
                same_batch["steps"]["distill_all_gathered"], same_batch["steps"]["student_mlm_step"],
                same_batch["steps"]["teacher_forward"], iters=spec["profile"])
    out["same_batch"] = same_batch_summary(same_batch)
    return out


def end_to_end(s: Setup, tmp: str) -> dict[str, Any]:
    """The real Trainer loop: seconds between consecutive `on_step_end`s, tokens/s, the teacher's share."""
    from transformers import TrainerCallback

    spec, B, teacher_time = s.spec, s.spec["batch_size"], s.teacher_time

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.ends: list[float] = []
            self.teacher: list[float] = []

        def on_train_begin(self, args, state, control, **kw):
            self.ends.append(time.perf_counter())
            self.teacher.append(teacher_time[0])

        def on_step_end(self, args, state, control, **kw):
            self.ends.append(time.perf_counter())
            self.teacher.append(teacher_time[0])

    timer = StepTimer()
    e2e_trainer = s.trainer(tmp, spec["warmup"] + spec["repeats"], callbacks=[timer])
    optim = str(e2e_trainer.args.optim)
    e2e_trainer.train()
    step_s = [b - a for a, b in zip(timer.ends, timer.ends[1:])][spec["warmup"]:]
    teach_s = [b - a for a, b in zip(timer.teacher, timer.teacher[1:])][spec["warmup"]:]
    mean_nonpad = sum(len(x) for x in s.seqs) / len(s.seqs) * B
    e2e = C.summarize(step_s)
    return {"optim": optim, "end_to_end": {
        "step_times_s": step_s, "step_s": e2e, "tokens_per_step": mean_nonpad,
        "tokens_per_s": mean_nonpad / e2e["median"], "sequences_per_s": B / e2e["median"],
        "teacher_forward_s": teacher_s_summary(teach_s),
        "teacher_share": sum(teach_s) / sum(step_s),
    }}


def same_batch_rounds(s: Setup, tmp: str) -> dict[str, Any]:
    """One fixed masked batch: every distillation variant and its unavoidable parts, interleaved round by round
    (so that machine noise hits every variant alike); the gathered path's exactness first."""
    import torch

    from distilkobert.distill.losses import count_items

    spec, student, teacher, teacher_time = s.spec, s.student, s.teacher, s.teacher_time
    trainer = s.trainer(tmp, 10_000)
    optimizer = trainer.create_optimizer()
    params = [p for p in student.parameters() if p.requires_grad]
    batch_features = s.features[:spec["batch_size"]]

    def masked_batch() -> dict:
        s.gen.manual_seed(spec["seed"] + 1)  # the same masks every time: every variant sees one batch
        return s.collator(batch_features)

    batch = masked_batch()
    nonpad = int(batch["attention_mask"].sum())
    n_masked = int(batch["labels"].ne(-100).sum())
    exactness = gathered_vs_full_loss(trainer, student, batch)

    def optimizer_update() -> None:
        torch.nn.utils.clip_grad_norm_(params, trainer.args.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def distill_step(ce_positions: str, full_logits: bool) -> None:
        trainer.args.ce_positions, trainer.args.full_logits = ce_positions, full_logits
        inputs = masked_batch()
        counts = count_items([inputs], ce_positions)
        trainer.training_step(student, inputs, num_items_in_batch=counts)
        optimizer_update()

    def student_mlm_step() -> None:  # (a)
        student.train()
        loss = student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       labels=batch["labels"]).loss
        loss.backward()
        optimizer_update()

    def teacher_forward() -> None:  # (b)
        with torch.no_grad():
            teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])

    def collate_only() -> None:
        masked_batch()

    steps = {name: (lambda c=ce, f=full: distill_step(c, f)) for name, ce, full in VARIANTS}
    steps.update({"student_mlm_step": student_mlm_step, "teacher_forward": teacher_forward,
                  "collate": collate_only})
    times: dict[str, list[float]] = {k: [] for k in steps}
    teacher_in_step: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
    started = time.perf_counter()
    for rnd in range(spec["warmup"] + spec["repeats"]):
        for name, fn in steps.items():
            teacher_time[0] = 0.0
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if rnd >= spec["warmup"]:
                times[name].append(dt)
                if name in teacher_in_step:
                    teacher_in_step[name].append(teacher_time[0])
        done = rnd + 1 - spec["warmup"]
        if done >= min(3, spec["repeats"]) and time.perf_counter() - started > spec["max_seconds"]:
            break
    return {"batch_shape": list(batch["input_ids"].shape), "nonpad": nonpad, "n_masked": n_masked,
            "steps": steps, "times": times, "teacher_in_step": teacher_in_step, "exactness": exactness}


def gathered_vs_full_loss(trainer, student, batch: dict) -> dict[str, dict[str, float]]:
    """The gathered path must be exact: the same loss as full logits (eval mode: no dropout)."""
    import torch

    exactness = {}
    student.eval()
    with torch.no_grad():
        for ce in ("all", "masked"):
            losses = []
            for full in (False, True):
                trainer.args.ce_positions, trainer.args.full_logits = ce, full
                losses.append(float(trainer.compute_loss(student, batch)))
            exactness[ce] = {"gathered_loss": losses[0], "full_loss": losses[1],
                             "abs_diff": abs(losses[0] - losses[1])}
    student.train()
    return exactness


def same_batch_summary(rounds: dict[str, Any]) -> dict[str, Any]:
    """Medians of the same-batch rounds: each variant against (a) + (b), the gain of the gathered projections."""
    nonpad, times, teacher_in_step = rounds["nonpad"], rounds["times"], rounds["teacher_in_step"]
    med = {k: C.summarize(v)["median"] for k, v in times.items()}
    parts = med["student_mlm_step"] + med["teacher_forward"]
    variants = {}
    for name, ce, full in VARIANTS:
        variants[name] = {
            "ce_positions": ce, "full_logits": full, "step_s": C.summarize(times[name]),
            "ratio_to_parts": med[name] / parts, "overhead_s": med[name] - parts,
            "teacher_forward_s": med_or_none(teacher_in_step[name]),
            "teacher_share": (med_or_none(teacher_in_step[name]) or 0.0) / med[name],
            "tokens_per_s": nonpad / med[name],
        }
    return {
        "nonpad_tokens": nonpad, "masked_tokens": rounds["n_masked"], "batch_shape": rounds["batch_shape"],
        "raw_times_s": times, "teacher_in_step_s": teacher_in_step,
        "student_mlm_step_s": C.summarize(times["student_mlm_step"]),
        "teacher_forward_s": C.summarize(times["teacher_forward"]),
        "collate_s": C.summarize(times["collate"]),
        "parts_s": parts, "variants": variants,
        "gather_gain_all": med["distill_all_full"] / med["distill_all_gathered"],
        "gather_gain_masked": med["distill_masked_full"] / med["distill_masked_gathered"],
        "rounds": len(times["teacher_forward"]),
        "gathered_vs_full_loss": rounds["exactness"],
    }


def profile_overhead(distill, part_a, part_b, iters: int, top: int = 12) -> dict[str, Any]:
    """torch.profiler self-CPU time per aten op, averaged over ``iters`` calls: the distillation step against
    (a) + (b). The ops with the largest extra time show where the step's overhead goes (e.g. the KL's
    log_softmax / exp / mul over [rows, vocab])."""
    from torch.profiler import ProfilerActivity, profile

    def op_times(fn) -> dict[str, float]:
        fn()  # warm
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(iters):
                fn()
        return {e.key: e.self_cpu_time_total / 1e3 / iters for e in prof.key_averages()}

    d, a, b = op_times(distill), op_times(part_a), op_times(part_b)
    rows = []
    for op in set(d) | set(a) | set(b):
        parts = a.get(op, 0.0) + b.get(op, 0.0)
        rows.append({"op": op, "distill_ms": d.get(op, 0.0), "parts_ms": parts, "extra_ms": d.get(op, 0.0) - parts})
    rows.sort(key=lambda r: -r["extra_ms"])
    return {"iters": iters, "distill_total_ms": sum(d.values()), "parts_total_ms": sum(a.values()) + sum(b.values()),
            "top_extra": rows[:top], "top_saved": sorted(rows, key=lambda r: r["extra_ms"])[:5]}


def med_or_none(values: list[float]) -> float | None:
    return C.summarize(values)["median"] if values else None


def teacher_s_summary(values: list[float]) -> dict[str, float] | None:
    return C.summarize(values) if values else None


# ------------------------------------------------------------------------------------------------ parent
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Distillation step of DistillationTrainer vs a plain student MLM step + a teacher forward "
                    "(same batch): seconds/step, tokens/s, teacher share, gain of gathered vocab projections.")
    p.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=None,
                   help="shape sets (default: demo kobert; --quick: tiny)")
    p.add_argument("--batch-size", type=int, default=None, help="override every shape's batch size")
    p.add_argument("--seq-len", type=int, default=None, help="override every shape's sequence length")
    p.add_argument("--ragged", action="store_true",
                   help="sequences of 50-100%% of --seq-len (padding; as with --packing false) instead of packed")
    p.add_argument("--teacher-layers", type=int, default=12)
    p.add_argument("--student-layers", default="0,4,8", help="teacher layers copied into the student")
    p.add_argument("--alpha-ce", type=float, default=0.33)
    p.add_argument("--alpha-mlm", type=float, default=0.33)
    p.add_argument("--alpha-cos", type=float, default=0.33)
    p.add_argument("--optim", default="adamw_torch",
                   help="TrainingArguments.optim (default adamw_torch, as the recipes; Trainer's own default is "
                        "adamw_torch_fused)")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds / trainer steps (default 5; quick 3)")
    p.add_argument("--warmup", type=int, default=None, help="untimed rounds / steps first (default 2; quick 1)")
    p.add_argument("--max-seconds", type=float, default=120.0,
                   help="cap on the timed same-batch rounds of one shape (at least 3 rounds); default 120")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads (default: torch's default; --quick: 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="also profile N distillation steps and N x (a)+(b) with torch.profiler and list the aten "
                        "ops that make the difference (default 0: off)")
    p.add_argument("--quick", action="store_true", help="tiny shapes and few repeats: a smoke test")
    p.add_argument("--markdown", action="store_true", help="also print the tables as Markdown (for the README)")
    p.add_argument("--output", default=None, help=f"JSON path (default benchmarks/results/{NAME}.json)")
    p.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    q = args.quick
    args.shapes = args.shapes or (["tiny"] if q else ["demo", "kobert"])
    args.repeats = args.repeats or (3 if q else 5)
    args.warmup = args.warmup if args.warmup is not None else (1 if q else 2)
    if q and args.threads is None:
        args.threads = 1  # a smoke test must not fight other processes for every core
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    try:
        layers = [int(x) for x in args.student_layers.split(",")]
    except ValueError:
        p.error(f"--student-layers: expected comma-separated integers, got {args.student_layers!r}")
    if not layers or not all(0 <= i < args.teacher_layers for i in layers):
        p.error(f"--student-layers {args.student_layers}: each must be in 0..{args.teacher_layers - 1}")
    return args


def shape_spec(args: argparse.Namespace, shape_name: str) -> dict[str, Any]:
    """What one worker measures: a shape set with the command's overrides and settings."""
    shape = SHAPES[shape_name]
    return {"shape_name": shape_name, "shape": shape, "batch_size": args.batch_size or shape["batch_size"],
            "seq_len": args.seq_len or shape["seq_len"], "ragged": args.ragged, "teacher_layers": args.teacher_layers,
            "student_layers": args.student_layers, "alpha_ce": args.alpha_ce, "alpha_mlm": args.alpha_mlm,
            "alpha_cos": args.alpha_cos, "optim": args.optim, "warmup": args.warmup, "repeats": args.repeats,
            "max_seconds": args.max_seconds, "threads": args.threads, "seed": args.seed, "profile": args.profile}


def summary_rows(results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(end-to-end rows, same-batch rows: one per shape and variant) of the printed tables and the JSON."""
    e2e_rows, batch_rows = [], []
    for r in results:
        e = r["end_to_end"]
        e2e_rows.append({
            "shape": r["shape_name"], "batch": r["batch_size"], "seq_len": r["seq_len"],
            "s_per_step": e["step_s"]["median"], "p95_s": e["step_s"]["p95"], "tokens_s": e["tokens_per_s"],
            "seq_s": e["sequences_per_s"], "teacher_share": e["teacher_share"], "n": e["step_s"]["n"]})
        sb = r["same_batch"]
        base = {"shape": r["shape_name"], "a_student_mlm_s": sb["student_mlm_step_s"]["median"],
                "b_teacher_fwd_s": sb["teacher_forward_s"]["median"], "a_plus_b_s": sb["parts_s"]}
        for name, v in sb["variants"].items():
            batch_rows.append({**base, "variant": name.removeprefix("distill_"), "step_s": v["step_s"]["median"],
                               "ratio": v["ratio_to_parts"], "teacher_share": v["teacher_share"],
                               "tokens_s": v["tokens_per_s"]})
    return e2e_rows, batch_rows


def target_of(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The trainer's default variant against the target ratio, per shape."""
    default = [r["same_batch"]["variants"][VARIANTS[0][0]]["ratio_to_parts"] for r in results]
    return {"description": "distillation step (trainer default: KL over all non-pad rows, gathered vocab "
                           "projections) <= 1.1 x (student MLM step + teacher no-grad forward), same batch",
            "max_ratio": TARGET_MAX_RATIO,
            "ratios": {r["shape_name"]: r["same_batch"]["variants"][VARIANTS[0][0]]["ratio_to_parts"]
                       for r in results},
            "met": all(x <= TARGET_MAX_RATIO for x in default)}


NOTES = {
    "end_to_end": "DistillationTrainer.train(), seconds between consecutive on_step_end callbacks "
                  "(data loading + masking + loss + backward + clip + optimizer); first --warmup steps dropped",
    "same_batch": "rounds interleave every variant on one fixed masked batch; medians",
    "ratio": "distillation step (incl. masking the batch) / (a) plain student MLM step (HF forward with "
             "labels + backward + clip + optimizer) + (b) teacher BertForMaskedLM no-grad forward",
    "teacher_share": "time inside the teacher's encoder + MLM head (forward hooks) / step time",
    "gather_gain": "full_logits step time / gathered step time (same loss value, fewer vocab projections)",
}


def print_report(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    """The tables, the gains of the gathered projections, the profiles and the target verdict."""
    results, e2e_rows, batch_rows, target = (payload["results"], payload["end_to_end"], payload["same_batch"],
                                             payload["target"])
    e2e_title = (f"End to end: DistillationTrainer.train(), medians of {args.repeats} steps after "
                 f"{args.warmup} warm-up (torch threads {payload['threads']['torch_num_threads']})")
    C.print_table(e2e_rows, title=e2e_title)
    C.print_table(batch_rows, title="Same batch: distillation step vs (a) student MLM step + (b) teacher forward")
    for r in results:
        sb = r["same_batch"]
        print(f"  {r['shape_name']}: gathered vocab projections speed the step up "
              f"{sb['gather_gain_all']:.2f}x (KL on all rows), {sb['gather_gain_masked']:.2f}x (KL on masked "
              f"rows); masking the batch {sb['collate_s']['median'] * 1e3:.1f} ms; |loss gathered - full| "
              + ", ".join(f"{k} {v['abs_diff']:.1e}" for k, v in sb["gathered_vs_full_loss"].items()))
    for r in results:
        prof = r.get("profile")
        if prof:
            C.print_table(prof["top_extra"], ["op", "distill_ms", "parts_ms", "extra_ms"],
                          title=f"{r['shape_name']}: where the distillation step's extra time goes (torch.profiler "
                                f"self CPU ms per step, mean of {prof['iters']}; total {prof['distill_total_ms']:.0f} "
                                f"vs (a)+(b) {prof['parts_total_ms']:.0f})")
    if args.markdown:
        C.print_table(e2e_rows, title="Markdown:", markdown=True)
        C.print_table(batch_rows, markdown=True)
    print(f"\nTarget distill step <= {TARGET_MAX_RATIO}x (a + b): "
          + ", ".join(f"{k} {v:.3f}x" for k, v in target["ratios"].items())
          + f" -> {'MET' if target['met'] else 'NOT MET'}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started_as = C.start_benchmark(args, worker, "train-step benchmark")
    if started_as is None:  # a worker: its result is emitted
        return 0
    machine, versions = started_as
    settings = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    started = time.perf_counter()
    results = []
    for shape_name in args.shapes:
        spec = shape_spec(args, shape_name)
        L, max_positions = spec["seq_len"], SHAPES[shape_name]["max_positions"]
        if L > max_positions:
            print(f"--seq-len {L} exceeds max positions {max_positions} of shape {shape_name}", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        r = C.run_worker(__file__, spec, timeout=3600)
        r["wall_s"] = time.perf_counter() - t0
        print(f"  {shape_name:7s} batch {spec['batch_size']} x {L}: done in {r['wall_s']:.1f}s "
              f"(torch threads {r['threads']['torch_num_threads']}, optim {r['optim']})", flush=True)
        results.append(r)

    e2e_rows, batch_rows = summary_rows(results)
    payload = {
        "benchmark": NAME, "command": [Path(sys.executable).name, *sys.argv], "machine": machine,
        "versions": versions, "settings": settings, "shape_sizes": {n: SHAPES[n] for n in args.shapes},
        "threads": results[0]["threads"] if results else None, "notes": NOTES,
        "load_average_end": C.load_average(), "wall_s": time.perf_counter() - started,
        "results": results, "end_to_end": e2e_rows, "same_batch": batch_rows, "target": target_of(results),
    }
    path = C.write_json(NAME, payload, args.output)
    print_report(args, payload)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
