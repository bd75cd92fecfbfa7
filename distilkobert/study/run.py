"""`distilkobert study RECIPE`: real results on real Korean data, in the shape of the original DistilKoBERT table.

Stages (each writes its folder under --output-dir and a `stage.json` with the settings it ran with; a rerun
reuses every completed stage whose settings are unchanged, so a killed study resumes where it stopped):

  splits     NSMC train / validation / test by a hash of the id (test sealed), unlabelled reviews filtered
  trim       the teacher's vocabulary trimmed to the pieces the training texts use (`distilkobert.vocab_trim`)
  teacher    the teacher fine-tuned on NSMC, one run per seed; the best seed on validation labels the reviews
  labels     the teacher's logits on the training rows and the unlabelled reviews, cached by content
  general    general distillation of the 3-layer student (teacher layers copied) on unlabelled reviews
  students   truncated (copied layers, fine-tuned), general-distilled (fine-tuned), general + task-distilled
  fasttext   the FastText baseline on the same rows
  speed      every classifier on the same test texts in one process: relative speed
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from distilkobert.data.sources import sha256_of
from distilkobert.study.config import StudyConfig, StudyConfigError, build_config, build_parser, load_recipe

STAGE_FILE = "stage.json"


def log(message: str) -> None:
    print(f"[study {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cached_stage(folder: Path, key: dict[str, Any], compute: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Run `compute(folder)` unless `folder/stage.json` records the same key; returns the stage's result."""
    marker = folder / STAGE_FILE
    digest = _digest(key)
    if marker.is_file():
        saved = json.loads(marker.read_text(encoding="utf-8"))
        if saved.get("key") == digest:
            log(f"{folder.name}: reusing the completed stage")
            return saved["result"]
        log(f"{folder.name}: settings changed since the last run, recomputing")
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = compute(folder)
    result = {**result, "seconds": round(time.perf_counter() - start, 1)}
    marker.write_text(json.dumps({"key": digest, "settings": key, "result": result}, indent=2, default=str) + "\n",
                      encoding="utf-8")
    return result


def compute_seconds(out: Path) -> dict[str, float]:
    """Seconds each stage took when it was computed (summed over its seeds), from the stage records."""
    totals: dict[str, float] = {}
    for marker in sorted(out.rglob(STAGE_FILE)):
        stage = marker.parent.relative_to(out).parts[0]
        seconds = json.loads(marker.read_text(encoding="utf-8"))["result"].get("seconds", 0.0)
        totals[stage] = round(totals.get(stage, 0.0) + seconds, 1)
    totals["total"] = round(sum(totals.values()), 1)
    return totals


def model_identity(folder: Path) -> str:
    """Content identity of a model folder (its weights file)."""
    weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    return "+".join(sha256_of(w)[:16] for w in weights)


# ----------------------------------------------------------------------------------------------------- stages
def stage_splits(cfg: StudyConfig, out: Path) -> dict[str, Any]:
    from distilkobert.study.data import load_nsmc_splits, read_unlabelled

    def compute(folder: Path) -> dict[str, Any]:
        splits = load_nsmc_splits(cfg.nsmc_file, test_file=cfg.test_file, train_size=cfg.train_size,
                                  validation_size=cfg.validation_size, test_size=cfg.test_size)
        heldout_texts = {r[1] for r in splits.validation + splits.test}
        texts, report = read_unlabelled(cfg.unlabelled_file, exclude=heldout_texts, limit=cfg.unlabelled_size)
        for name in ("train", "validation", "test"):
            rows = getattr(splits, name)
            (folder / f"{name}.jsonl").write_text(
                "".join(json.dumps({"id": i, "document": d, "label": lab}, ensure_ascii=False) + "\n"
                        for i, d, lab in rows), encoding="utf-8")
        (folder / "unlabelled.txt").write_text("".join(t + "\n" for t in texts[: report.kept]), encoding="utf-8")
        # the vocabulary is counted on every training text the study may use: the whole training pool and
        # every usable unlabelled review (never on validation or test texts)
        (folder / "vocabulary_texts.txt").write_text(
            "".join(r[1] + "\n" for r in splits.train_pool) + "".join(t + "\n" for t in texts), encoding="utf-8")
        return {"nsmc": splits.report, "unlabelled": report.__dict__}

    key = {k: getattr(cfg, k) for k in ("nsmc_file", "test_file", "train_size", "validation_size", "test_size",
                                        "unlabelled_file", "unlabelled_size")}
    key["vocabulary_texts"] = "training pool + all usable unlabelled reviews"
    key["nsmc_sha"] = sha256_of(Path(cfg.nsmc_file))
    result = cached_stage(out / "splits", key, compute)
    log(f"splits: {result['nsmc']['used']} (pools {result['nsmc']['pools']}); unlabelled reviews used "
        f"{result['unlabelled']['kept']} of {result['unlabelled']['lines_read']} lines "
        f"(empty {result['unlabelled']['empty']}, undecodable {result['unlabelled']['undecodable']}, binary "
        f"{result['unlabelled']['control_characters']}, duplicates {result['unlabelled']['duplicates']}, "
        f"held-out texts {result['unlabelled']['in_heldout_splits']})")
    return result


def read_split(out: Path, name: str) -> list[dict[str, Any]]:
    with open(out / "splits" / f"{name}.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def read_unlabelled_texts(out: Path) -> list[str]:
    return (out / "splits" / "unlabelled.txt").read_text(encoding="utf-8").splitlines()


def stage_trim(cfg: StudyConfig, out: Path) -> Path:
    """The teacher with its vocabulary trimmed to the pieces of the training rows + unlabelled reviews."""
    if not cfg.trim_vocabulary:
        return Path(cfg.teacher)
    from distilkobert.vocab_trim import trim_folder

    folder = out / "teacher-trimmed"

    def compute(target: Path) -> dict[str, Any]:
        texts = (out / "splits" / "vocabulary_texts.txt").read_text(encoding="utf-8").splitlines()
        heldout = [r["document"] for r in read_split(out, "test")]
        return trim_folder(cfg.teacher, texts, target, min_count=cfg.trim_min_count, heldout=heldout)

    key = {"teacher": model_identity(Path(cfg.teacher)), "min_count": cfg.trim_min_count,
           "splits": json.loads((out / "splits" / STAGE_FILE).read_text())["key"]}
    report = cached_stage(folder, key, compute)
    log(f"trim: {report['pieces_kept']} of {report['pieces_before']} pieces kept, {report['fp32_mb_before']} MB -> "
        f"{report['fp32_mb_after']} MB, held-out segmentation unchanged for "
        f"{100 * (report['heldout_unchanged_share'] or 0):.2f}% of {report['heldout_texts']} test texts")
    return folder


def datasets_for(tokenizer, out: Path, max_seq_length: int):
    from distilkobert.study.classifier import tokenize_rows

    result = {}
    for name in ("train", "validation", "test"):
        rows = read_split(out, name)
        result[name] = tokenize_rows(tokenizer, [r["document"] for r in rows], [r["label"] for r in rows],
                                     max_seq_length)
    return result


def run_seeds(name: str, init_dir: Path, cfg: StudyConfig, out: Path, settings, train_ds=None,
              extra_key: dict | None = None) -> list[dict[str, Any]]:
    """Fine-tune `init_dir` once per seed (cached per seed); returns the per-seed results."""
    from transformers import AutoTokenizer

    from distilkobert.study.classifier import finetune

    tokenizer = AutoTokenizer.from_pretrained(init_dir)
    data = datasets_for(tokenizer, out, settings.max_seq_length)
    results = []
    for seed in cfg.seeds:
        key = {"init": model_identity(init_dir), "settings": settings.__dict__, "seed": seed,
               "splits": json.loads((out / "splits" / STAGE_FILE).read_text())["key"], **(extra_key or {})}

        def compute(folder: Path, seed: int = seed) -> dict[str, Any]:
            return finetune(init_dir, folder, seed=seed, train=train_ds if train_ds is not None else data["train"],
                            validation=data["validation"], test=data["test"], settings=settings)

        result = cached_stage(out / name / f"seed-{seed}", key, compute)
        log(f"{name} seed {seed}: validation {100 * result['best_validation_accuracy']:.2f}%, test "
            f"{100 * result['test_accuracy']:.2f}% ({result['train_seconds']:.0f} s training)")
        results.append(result)
    return results


def stage_labels(cfg: StudyConfig, out: Path, teacher_dir: Path) -> dict[str, np.ndarray]:
    """Teacher logits on the training rows and the unlabelled reviews, cached by (model, texts, length)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from distilkobert.study.classifier import predict_logits

    train_texts = [r["document"] for r in read_split(out, "train")]
    unlabelled = read_unlabelled_texts(out)
    max_len = cfg.task_distill.max_seq_length
    key = {"teacher": model_identity(teacher_dir), "texts": _digest([train_texts, unlabelled]), "max_len": max_len}
    folder = out / "teacher-labels"

    def compute(target: Path) -> dict[str, Any]:
        model = AutoModelForSequenceClassification.from_pretrained(teacher_dir)
        tokenizer = AutoTokenizer.from_pretrained(teacher_dir)
        start = time.perf_counter()
        logits = predict_logits(model, tokenizer, train_texts + unlabelled, max_seq_length=max_len,
                                progress="teacher labels")
        seconds = time.perf_counter() - start
        np.save(target / "train.npy", logits[: len(train_texts)])
        np.save(target / "unlabelled.npy", logits[len(train_texts):])
        agree = float((logits[: len(train_texts)].argmax(-1) == np.array(
            [r["label"] for r in read_split(out, "train")])).mean())
        return {"texts": len(train_texts) + len(unlabelled), "texts_per_second": round(len(logits) / seconds, 1),
                "teacher_train_accuracy": agree,
                "unlabelled_positive_share": float((logits[len(train_texts):].argmax(-1) == 1).mean())}

    result = cached_stage(folder, key, compute)
    log(f"labels: {result['texts']} texts at {result['texts_per_second']}/s; teacher agrees with the gold labels on "
        f"{100 * result['teacher_train_accuracy']:.1f}% of the training rows")
    return {"train": np.load(folder / "train.npy"), "unlabelled": np.load(folder / "unlabelled.npy")}


def stage_truncated(cfg: StudyConfig, out: Path, teacher_dir: Path) -> Path:
    """The 3-layer student initialised from teacher layers (no distillation): the truncated row's start."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    folder = out / "student-init"

    def compute(target: Path) -> dict[str, Any]:
        teacher = AutoModel.from_pretrained(teacher_dir, add_pooling_layer=False)
        n = teacher.config.num_hidden_layers
        bad = [i for i in cfg.student_layers if i >= n]
        if bad:
            raise StudyConfigError(f"student_layers: {bad} out of range, the teacher has {n} layers")
        config = AutoConfig.from_pretrained(teacher_dir, num_hidden_layers=len(cfg.student_layers))
        student = AutoModel.from_config(config, add_pooling_layer=False)
        student.embeddings.load_state_dict(teacher.embeddings.state_dict())
        for j, i in enumerate(cfg.student_layers):
            student.encoder.layer[j].load_state_dict(teacher.encoder.layer[i].state_dict())
        student.save_pretrained(target)
        AutoTokenizer.from_pretrained(teacher_dir).save_pretrained(target)
        return {"layers": cfg.student_layers, "parameters": sum(p.numel() for p in student.parameters())}

    cached_stage(folder, {"teacher": model_identity(teacher_dir), "layers": cfg.student_layers}, compute)
    return folder


def stage_general(cfg: StudyConfig, out: Path, teacher_dir: Path) -> Path:
    """General distillation with `distilkobert train` (a recipe written from the study's settings)."""
    import yaml

    g = cfg.general_distill
    folder = out / "student-general"

    def compute(target: Path) -> dict[str, Any]:
        recipe = {
            "teacher_name_or_path": str(teacher_dir), "student_model_type": "bert",
            "student_layers": list(cfg.student_layers), "alpha_ce": 0.0, "alpha_mlm": g.alpha_mlm,
            "alpha_cos": g.alpha_cos, "alpha_mse": g.alpha_mse, "mse_layer_map": g.mse_layer_map,
            "dataset_name_or_path": str(out / "splits" / "unlabelled.txt"), "validation_fraction": 0.01,
            "max_seq_length": g.max_seq_length, "min_seq_length": 8, "packing": True,
            "max_train_texts": g.max_train_texts, "max_eval_sequences": 200,
            "output_dir": str(target / "run"), "seed": 42, "max_steps": g.max_steps,
            "per_device_train_batch_size": g.batch_size, "per_device_eval_batch_size": 64,
            "learning_rate": g.learning_rate, "weight_decay": 0.0, "adam_beta1": 0.9, "adam_beta2": 0.98,
            "adam_epsilon": 1.0e-6, "max_grad_norm": 5.0, "warmup_steps": 0.05, "lr_scheduler_type": "linear",
            "logging_steps": max(1, g.max_steps // 10), "save_strategy": "no", "report_to": "none",
            "disable_tqdm": True, "bf16": g.bf16, "cache_dir": str(out / "token-cache"),
            "overwrite": True,  # the stage owns this folder: a recomputed stage replaces the previous run
        }
        recipe_path = target / "general-distill.yaml"
        recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
        command = ([*g.launcher, "-m"] if g.launcher else [sys.executable, "-m"]) + [
            "distilkobert.cli", "train", str(recipe_path)]
        log(f"general: {' '.join(command)}")
        with open(target / "train.log", "w", encoding="utf-8") as log_file:
            code = subprocess.run(command, stdout=log_file, stderr=subprocess.STDOUT).returncode
        if code != 0:
            tail = (target / "train.log").read_text(encoding="utf-8").strip().splitlines()[-5:]
            raise RuntimeError(f"general distillation failed (exit {code}); see {target / 'train.log'}: "
                               + " | ".join(tail))
        info_file = target / "run" / "distillation_info.json"
        info = json.loads(info_file.read_text(encoding="utf-8")) if info_file.is_file() else {}
        return {"recipe": str(recipe_path), "model_dir": str(target / "run"),
                "heldout": info.get("heldout_mlm"), "train_metrics": info.get("train_metrics")}

    settings = {k: v for k, v in g.__dict__.items() if k != "launcher"}  # how it is launched changes no result
    key = {"teacher": model_identity(teacher_dir), "settings": settings, "layers": cfg.student_layers,
           "splits": json.loads((out / "splits" / STAGE_FILE).read_text())["key"]}
    result = cached_stage(folder, key, compute)
    log(f"general: done in {result['seconds']:.0f} s")
    return Path(result["model_dir"])


def stage_fasttext(cfg: StudyConfig, out: Path, *, all_rows: bool = False) -> list[dict[str, Any]]:
    """FastText on the study's training rows, or (`all_rows`) on the whole training pool, one run per seed."""
    from distilkobert.study.data import load_nsmc_splits
    from distilkobert.study.fasttext_baseline import train_and_test

    if all_rows:
        pool = load_nsmc_splits(cfg.nsmc_file, test_file=cfg.test_file, train_size=None, validation_size=None,
                                test_size=None).train_pool
        train = [{"id": i, "document": d, "label": lab} for i, d, lab in pool]
    else:
        train = read_split(out, "train")
    name = "fasttext-all-rows" if all_rows else "fasttext"
    results = []
    for seed in cfg.seeds:
        key = {"settings": cfg.fasttext, "seed": seed, "train_rows": len(train),
               "splits": json.loads((out / "splits" / STAGE_FILE).read_text())["key"]}
        if not all_rows:
            key.pop("train_rows")  # (kept out of the key of the same-rows run, so earlier runs stay valid)
        try:
            results.append(cached_stage(out / name / f"seed-{seed}", key, lambda folder, seed=seed: train_and_test(
                train, read_split(out, "validation"), read_split(out, "test"), folder, seed=seed,
                params=cfg.fasttext)))
        except RuntimeError as err:  # a baseline that diverges must not end a study of hours: the row says so
            log(f"{name} seed {seed}: not trained ({err}); the row reports the seeds that trained")
    log(f"{name} ({len(train)} training rows): test " + ", ".join(f"{100 * r['test_accuracy']:.2f}%" for r in results))
    return results


def stage_speed(cfg: StudyConfig, out: Path, models: dict[str, Path]) -> dict[str, Any]:
    """Every classifier on the same test texts in one process, interleaved rounds: sentences / second."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from distilkobert.study.classifier import predict_logits

    texts = [r["document"] for r in read_split(out, "test")][: cfg.speed_texts]
    loaded = {name: (AutoModelForSequenceClassification.from_pretrained(path).eval(),
                     AutoTokenizer.from_pretrained(path)) for name, path in models.items()}
    timings: dict[str, list[float]] = {name: [] for name in models}
    for model, tok in loaded.values():  # warm-up
        predict_logits(model, tok, texts[:64], batch_size=cfg.speed_batch_size)
    for _ in range(3):
        for name, (model, tok) in loaded.items():
            start = time.perf_counter()
            predict_logits(model, tok, texts, batch_size=cfg.speed_batch_size)
            timings[name].append(time.perf_counter() - start)
    result = {name: {"texts_per_second": round(len(texts) / float(np.median(t)), 1), "seconds": t}
              for name, t in timings.items()}
    result["_settings"] = {"texts": len(texts), "batch_size": cfg.speed_batch_size, "threads": torch.get_num_threads(),
                           "order": "length-sorted batches"}
    return result


# ------------------------------------------------------------------------------------------------------ table
def summarise(rows: dict[str, list[dict[str, Any]]], models: dict[str, Path], speed: dict[str, Any],
              teacher_row: str) -> list[dict[str, Any]]:
    """One dict per table row: parameters, size, accuracy mean / std, % of teacher, relative speed."""
    from safetensors import safe_open

    table = []
    teacher_mean = float(np.mean([r["test_accuracy"] for r in rows[teacher_row]]))
    teacher_speed = speed.get(teacher_row, {}).get("texts_per_second")
    for name, results in rows.items():
        accs = np.array([r["test_accuracy"] for r in results]) * 100
        entry: dict[str, Any] = {"row": name, "seeds": len(accs), "accuracy_mean": round(float(accs.mean()), 2),
                                 "accuracy_std": round(float(accs.std(ddof=1)) if len(accs) > 1 else 0.0, 2),
                                 "accuracies": [round(float(a), 2) for a in accs],
                                 "retained_percent": round(float(accs.mean()) / teacher_mean, 2)}
        if name in models:
            weights = models[name] / "model.safetensors"
            with safe_open(str(weights), "pt") as handle:
                entry["parameters"] = int(sum(np.prod(handle.get_slice(k).get_shape()) for k in handle.keys()))
            entry["size_mb"] = round(weights.stat().st_size / 1e6, 1)
            if teacher_speed and name in speed:
                entry["relative_speed"] = round(speed[name]["texts_per_second"] / teacher_speed, 2)
                entry["texts_per_second"] = speed[name]["texts_per_second"]
        else:
            entry.update(results[0].get("size", {}))
        table.append(entry)
    return table


def markdown(table: list[dict[str, Any]]) -> str:
    """The results table in the original DistilKoBERT table's shape."""
    from distilkobert.tables import markdown_table

    rows = [[e["row"], f"{e['parameters'] / 1e6:.1f} M" if e.get("parameters") else None,
             f"{e['size_mb']:.1f}" if e.get("size_mb") is not None else None,
             f"{e['accuracy_mean']:.2f} ± {e['accuracy_std']:.2f}", f"{e['retained_percent']:.1f}",
             f"{e['relative_speed']:.2f}x" if e.get("relative_speed") else None] for e in table]
    return markdown_table(["Model", "Parameters", "Size (MB, fp32)", "NSMC acc (%)", "% of teacher",
                           "Speed vs teacher"], rows)


def targets(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {e["row"]: e for e in table}
    task, trunc = by.get(ROW_TASK), by.get(ROW_TRUNCATED)
    fast = by.get(ROW_FASTTEXT)
    if not task:
        return []
    checks = [("general + task-distilled keeps >= 98.5% of the teacher", task["retained_percent"], 98.5)]
    if trunc:
        checks.append(("beats the truncated student by >= 1.0 point",
                       round(task["accuracy_mean"] - trunc["accuracy_mean"], 2), 1.0))
    if fast:
        checks.append(("beats FastText (points)", round(task["accuracy_mean"] - fast["accuracy_mean"], 2), 0.0001))
    out = [{"target": t, "value": v, "threshold": th, "met": v >= th} for t, v, th in checks]
    if task.get("size_mb") is not None:
        out.append({"target": "weighs <= 80 MB", "value": task["size_mb"], "threshold": 80.0,
                    "met": task["size_mb"] <= 80.0})
    return out


ROW_FASTTEXT = "FastText (same training rows)"
ROW_FASTTEXT_ALL = "FastText (every training row of the pool; reference)"
ROW_TEACHER = "teacher: multilingual-e5-small, fine-tuned (12 layers)"
ROW_TRUNCATED = "3 layers truncated (teacher layers copied, no distillation)"
ROW_GENERAL = "3 layers general-distilled"
ROW_TASK = "3 layers general + task-distilled"


def run(cfg: StudyConfig, *, push_to_hub: str | None = None, version: str | None = None) -> dict[str, Any]:
    """Every stage, then the table (printed, results.md, results.json); optionally publish the classifier."""
    import torch

    from distilkobert.environment import library_versions, machine_info

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stage_times: dict[str, float] = {}

    def timed(name: str, func: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = func()
        stage_times[name] = round(time.perf_counter() - start, 1)
        return value

    splits = timed("splits", lambda: stage_splits(cfg, out))
    teacher_dir = timed("trim", lambda: stage_trim(cfg, out))
    teacher_results = timed("teacher fine-tuning", lambda: run_seeds("teacher", teacher_dir, cfg, out,
                                                                     cfg.teacher_finetune))
    best_teacher = max(teacher_results, key=lambda r: r["best_validation_accuracy"])
    best_teacher_dir = Path(best_teacher["model_dir"])
    log(f"soft labels from the teacher of seed {best_teacher['seed']} (best on validation)")
    logits = timed("teacher labels", lambda: stage_labels(cfg, out, best_teacher_dir))
    init_dir = timed("student init", lambda: stage_truncated(cfg, out, teacher_dir))
    general_dir = timed("general distillation", lambda: stage_general(cfg, out, teacher_dir))

    from datasets import concatenate_datasets
    from transformers import AutoTokenizer

    from distilkobert.study.classifier import tokenize_rows

    tokenizer = AutoTokenizer.from_pretrained(general_dir)
    train_rows = read_split(out, "train")
    unlabelled = read_unlabelled_texts(out)
    td = cfg.task_distill
    task_train = concatenate_datasets([
        tokenize_rows(tokenizer, [r["document"] for r in train_rows], [r["label"] for r in train_rows],
                      td.max_seq_length, logits["train"]),
        tokenize_rows(tokenizer, unlabelled, [-100] * len(unlabelled), td.max_seq_length, logits["unlabelled"]),
    ])
    teacher_key = {"soft_labels": model_identity(best_teacher_dir)}
    task_results = timed("task distillation", lambda: run_seeds("student-task", general_dir, cfg, out, td,
                                                                train_ds=task_train, extra_key=teacher_key))
    truncated_results = timed("truncated fine-tuning", lambda: run_seeds("student-truncated", init_dir, cfg, out,
                                                                         cfg.student_finetune))
    general_results = timed("general fine-tuning", lambda: run_seeds("student-general-ft", general_dir, cfg, out,
                                                                     cfg.student_finetune))
    fasttext_results = timed("fasttext", lambda: stage_fasttext(cfg, out)) if cfg.fasttext else []
    fasttext_all = timed("fasttext, all rows", lambda: stage_fasttext(cfg, out, all_rows=True)) \
        if cfg.fasttext and cfg.train_size is not None else []

    def best_dir(results: list[dict[str, Any]]) -> Path:
        return Path(max(results, key=lambda r: r["best_validation_accuracy"])["model_dir"])

    models = {ROW_TEACHER: best_teacher_dir, ROW_TRUNCATED: best_dir(truncated_results),
              ROW_GENERAL: best_dir(general_results), ROW_TASK: best_dir(task_results)}
    speed = timed("speed", lambda: stage_speed(cfg, out, models))
    rows = {ROW_FASTTEXT_ALL: fasttext_all, ROW_FASTTEXT: fasttext_results, ROW_TEACHER: teacher_results,
            ROW_TRUNCATED: truncated_results, ROW_GENERAL: general_results, ROW_TASK: task_results}
    rows = {name: results for name, results in rows.items() if results}  # a FastText row may be off or failed
    table = summarise(rows, models, speed, ROW_TEACHER)
    report = {
        "mode": cfg.mode,
        "table": table,
        "targets": targets(table),
        "splits": splits,
        "trim": json.loads((teacher_dir / "vocab_trim.json").read_text()) if cfg.trim_vocabulary else None,
        "speed": speed,
        "stage_seconds": stage_times,
        "compute_seconds": compute_seconds(out),
        "total_seconds": round(time.perf_counter() - started, 1),
        "config": json.loads(json.dumps(cfg, default=lambda o: o.__dict__)),
        "machine": {**machine_info(), "torch_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "versions": library_versions(),
        "models": {name: str(path) for name, path in models.items()},
    }
    (out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(table)
    (out / "results.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    for t in report["targets"]:
        print(f"target: {t['target']}: {t['value']} ({'met' if t['met'] else 'MISSED'}, threshold {t['threshold']})")
    print(f"compute seconds per stage, as recorded when each ran: {report['compute_seconds']}")
    if push_to_hub:
        report["published"] = publish_student(task_results, push_to_hub, version, cfg)
        (out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def publish_student(task_results: list[dict[str, Any]], repo_id: str, version: str | None,
                    cfg: StudyConfig) -> dict[str, Any]:
    """Publish the general + task-distilled student selected on validation as a text-classification repo."""
    from distilkobert.serving.publish import classifier_results, publish_classifier

    best = max(task_results, key=lambda r: r["best_validation_accuracy"])
    results = classifier_results(best["test_accuracy"], best["test_macro_f1"], dataset="nsmc")
    published = publish_classifier(best["model_dir"], repo_id, version or "v1", results)
    log(f"published the seed-{best['seed']} student ({100 * best['test_accuracy']:.2f}% on test) to {repo_id} "
        f"at {version or 'v1'}")
    return {"repo_id": repo_id, "version": version or "v1", "seed": best["seed"], "commit": str(published)}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {"test_file": args.test_file, "teacher": args.teacher, "output_dir": args.output_dir,
                                 "seeds": args.seeds, "threads": args.threads}
    data_dir = args.data_dir or os.environ.get("DATA_DIR")
    if data_dir:
        overrides["nsmc_file"] = str(Path(data_dir) / "nsmc" / "train.tsv.gz")
        overrides["unlabelled_file"] = str(Path(data_dir) / "corpus" / "nsmc_reviews_unlabeled.txt.gz")
    try:
        cfg = build_config(load_recipe(args.recipe), overrides, recipe_name=args.recipe)
    except StudyConfigError as err:
        parser.error(str(err))
    if args.version and not args.push_to_hub:
        parser.error("--version: only with --push-to-hub")
    if args.push_to_hub and not args.estimate:
        from distilkobert.hub.endpoint import configure_hub_environment

        configure_hub_environment()  # before any Hugging Face import: they read HF_ENDPOINT at import time
        from distilkobert.serving.publish import check_version_free

        try:  # refused before hours of work, not after
            check_version_free(args.push_to_hub, args.version or "v1")
        except Exception as err:  # noqa: BLE001 - any Hub answer becomes one line naming the argument
            parser.error(f"--push-to-hub {args.push_to_hub}: {' '.join(str(err).split())}")
    if args.estimate:
        from distilkobert.study.estimate import estimate, format_estimate

        print(format_estimate(estimate(cfg)))
        return 0
    run(cfg, push_to_hub=args.push_to_hub, version=args.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
