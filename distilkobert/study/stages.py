"""The study's stages, in the order `study.run.run` calls them; each is cached by the content it is made from.

  splits     NSMC train / validation / test by a hash of the id (test sealed), unlabelled reviews filtered
  trim       the teacher's vocabulary trimmed to the pieces the training texts use (`distilkobert.vocab_trim`)
  teacher    the teacher fine-tuned on NSMC, one run per seed; the best seed on validation labels the reviews
  labels     the teacher's logits on the training rows and the unlabelled reviews (the fastest measured backend,
             checked against PyTorch fp32 on a sample)
  general    general distillation of the 3-layer student (teacher layers copied) on unlabelled reviews
  students   truncated (copied layers, fine-tuned), general-distilled (fine-tuned), general + task-distilled
  export     the task-distilled student as an int8 ONNX export, scored on the whole test split
  fasttext   the FastText baseline on the same rows (and its quantised model)
  speed      every classifier on the same test texts in one process: throughput and batch-1 latency
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from datasets import Dataset, concatenate_datasets
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer

from distilkobert.serving.export import export_classifier
from distilkobert.serving.onnx import INT8_FILE, OnnxClassifier
from distilkobert.study.cache import cached_stage, digest, file_identity, log, model_identity, stage_key
from distilkobert.study.classifier import finetune, predict_logits, tokenize_rows
from distilkobert.study.config import StudyConfig
from distilkobert.study.data import load_nsmc_splits, read_unlabelled
from distilkobert.study.fasttext_baseline import train_and_test
from distilkobert.vocab_trim import trim_folder


# ----------------------------------------------------------------------------------------------- data
def stage_splits(cfg: StudyConfig, out: Path) -> dict[str, Any]:
    splits = load_nsmc_splits(cfg.nsmc, revision=cfg.nsmc_revision, test_file=cfg.test_file,
                              train_size=cfg.train_size, validation_size=cfg.validation_size, test_size=cfg.test_size)

    def compute(folder: Path) -> dict[str, Any]:
        heldout_texts = {r[1] for r in splits.validation + splits.test}
        texts, report = read_unlabelled(cfg.unlabelled_file, exclude=heldout_texts, limit=cfg.unlabelled_size)
        for name in ("train", "validation", "test"):
            (folder / f"{name}.jsonl").write_text(
                "".join(json.dumps({"id": i, "document": d, "label": lab}, ensure_ascii=False) + "\n"
                        for i, d, lab in getattr(splits, name)), encoding="utf-8")
        (folder / "train_pool.jsonl").write_text(
            "".join(json.dumps({"id": i, "document": d, "label": lab}, ensure_ascii=False) + "\n"
                    for i, d, lab in splits.train_pool), encoding="utf-8")
        (folder / "unlabelled.txt").write_text("".join(t + "\n" for t in texts[: report.kept]), encoding="utf-8")
        # the vocabulary is counted on every training text the study may use: the whole training pool and
        # every usable unlabelled review (never on validation or test texts)
        (folder / "vocabulary_texts.txt").write_text(
            "".join(r[1] + "\n" for r in splits.train_pool) + "".join(t + "\n" for t in texts), encoding="utf-8")
        return {"nsmc": splits.report, "unlabelled": report.__dict__}

    # keyed by content: the NSMC rows' source (file bytes, dataset folder hash or Hub commit), never by a path
    key = {k: getattr(cfg, k) for k in ("train_size", "validation_size", "test_size", "unlabelled_size")}
    key.update(nsmc=splits.identity, unlabelled_file=file_identity(cfg.unlabelled_file))
    result = cached_stage(out / "splits", key, compute)
    u = result["unlabelled"]
    log(f"splits: {result['nsmc']['used']} (pools {result['nsmc']['pools']}); unlabelled reviews used "
        f"{u['kept']} of {u['lines_read']} lines (empty {u['empty']}, undecodable {u['undecodable']}, binary "
        f"{u['control_characters']}, duplicates {u['duplicates']}, held-out texts {u['in_heldout_splits']})")
    return result


def read_split(out: Path, name: str) -> list[dict[str, Any]]:
    with open(out / "splits" / f"{name}.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def read_unlabelled_texts(out: Path) -> list[str]:
    return (out / "splits" / "unlabelled.txt").read_text(encoding="utf-8").splitlines()


def test_labels(out: Path) -> np.ndarray:
    return np.array([r["label"] for r in read_split(out, "test")], dtype=np.int64)


# -------------------------------------------------------------------------------------------- teacher
def stage_trim(cfg: StudyConfig, out: Path) -> Path:
    """The teacher with its vocabulary trimmed to the pieces of the training rows + unlabelled reviews."""
    if not cfg.trim_vocabulary:
        return Path(cfg.teacher)
    folder = out / "teacher-trimmed"

    def compute(target: Path) -> dict[str, Any]:
        texts = (out / "splits" / "vocabulary_texts.txt").read_text(encoding="utf-8").splitlines()
        heldout = [r["document"] for r in read_split(out, "test")]
        return trim_folder(cfg.teacher, texts, target, min_count=cfg.trim_min_count, heldout=heldout)

    key = {"teacher": model_identity(Path(cfg.teacher)), "min_count": cfg.trim_min_count,
           "splits": stage_key(out)}
    report = cached_stage(folder, key, compute)
    log(f"trim: {report['pieces_kept']} of {report['pieces_before']} pieces kept, {report['fp32_mb_before']} MB -> "
        f"{report['fp32_mb_after']} MB, held-out segmentation unchanged for "
        f"{100 * (report['heldout_unchanged_share'] or 0):.2f}% of {report['heldout_texts']} test texts")
    return folder


def datasets_for(tokenizer, out: Path, max_seq_length: int) -> dict[str, Dataset]:
    result = {}
    for name in ("train", "validation", "test"):
        rows = read_split(out, name)
        result[name] = tokenize_rows(tokenizer, [r["document"] for r in rows], [r["label"] for r in rows],
                                     max_seq_length)
    return result


def run_seeds(name: str, init_dir: Path, cfg: StudyConfig, out: Path, settings, train_ds: Dataset | None = None,
              extra_key: dict | None = None) -> list[dict[str, Any]]:
    """Fine-tune `init_dir` once per seed (cached per seed, resumed from its last checkpoint if killed)."""
    tokenizer = AutoTokenizer.from_pretrained(init_dir)
    data = datasets_for(tokenizer, out, settings.max_seq_length)
    results = []
    for seed in cfg.seeds:
        key = {"init": model_identity(init_dir), "settings": settings.__dict__, "seed": seed,
               "splits": stage_key(out), **(extra_key or {})}
        def compute(folder: Path, seed: int = seed, run_key: str = digest(key)) -> dict[str, Any]:
            return finetune(init_dir, folder, seed=seed, train=train_ds if train_ds is not None else data["train"],
                            validation=data["validation"], test=data["test"], settings=settings, run_key=run_key)

        result = cached_stage(out / name / f"seed-{seed}", key, compute)
        log(f"{name} seed {seed}: validation {100 * result['best_validation_accuracy']:.2f}%, test "
            f"{100 * result['test_accuracy']:.2f}% ({result['train_seconds']:.0f} s training)")
        results.append(result)
    return results


def _logits(backend: str, model_dir: Path, texts: list[str], max_len: int, batch_size: int,
            export_dir: Path | None = None) -> np.ndarray:
    """Logits of `texts` from the classifier in `model_dir` on one backend (length-sorted batches)."""
    if backend == "onnx-int8":
        classifier = OnnxClassifier.from_pretrained(export_dir, file=INT8_FILE, max_length=max_len)
        return _logits_onnx_batches(classifier, texts, batch_size)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    if backend == "torch-bf16":
        model.to(torch.bfloat16)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return predict_logits(model, tokenizer, texts, batch_size=batch_size, max_seq_length=max_len,
                          progress=f"teacher labels, {backend}" if len(texts) > 10_000 else None)


def stage_labels(cfg: StudyConfig, out: Path, teacher_dir: Path) -> dict[str, np.ndarray]:
    """Teacher logits on the training rows and the unlabelled reviews, cached by (model, texts, length, backend);
    the backend's logits are compared with PyTorch fp32 on a sample (argmax agreement, mean KL)."""
    train_texts = [r["document"] for r in read_split(out, "train")]
    unlabelled = read_unlabelled_texts(out)
    lab, max_len = cfg.labelling, cfg.task_distill.max_seq_length
    key = {"teacher": model_identity(teacher_dir), "splits": stage_key(out), "max_len": max_len,
           "backend": lab.backend}
    folder = out / "teacher-labels"

    def compute(target: Path) -> dict[str, Any]:
        texts = train_texts + unlabelled
        export_dir = None
        if lab.backend == "onnx-int8":
            export_dir = target / "onnx"
            export_classifier(str(teacher_dir), export_dir, quantize="int8", overwrite=True)
        start = time.perf_counter()
        logits = _logits(lab.backend, teacher_dir, texts, max_len, lab.batch_size, export_dir)
        seconds = time.perf_counter() - start
        sample = np.random.default_rng(0).permutation(len(texts))[: lab.check_texts]
        reference = _logits("torch", teacher_dir, [texts[i] for i in sample], max_len, lab.batch_size)
        ref, got = torch.from_numpy(reference), torch.from_numpy(logits[sample])
        kl = F.kl_div(F.log_softmax(got, -1), F.log_softmax(ref, -1), reduction="batchmean", log_target=True)
        np.save(target / "train.npy", logits[: len(train_texts)])
        np.save(target / "unlabelled.npy", logits[len(train_texts):])
        gold = np.array([r["label"] for r in read_split(out, "train")])
        return {"texts": len(texts), "backend": lab.backend, "texts_per_second": round(len(texts) / seconds, 1),
                "check_vs_torch_fp32": {"texts": len(sample), "mean_kl": float(kl),
                                        "argmax_agreement": float((got.argmax(-1) == ref.argmax(-1)).float().mean())},
                "teacher_train_accuracy": float((logits[: len(train_texts)].argmax(-1) == gold).mean()),
                "unlabelled_positive_share": float((logits[len(train_texts):].argmax(-1) == 1).mean())}

    result = cached_stage(folder, key, compute)
    check = result["check_vs_torch_fp32"]
    log(f"labels: {result['texts']} texts at {result['texts_per_second']}/s ({result['backend']}; vs PyTorch fp32 on "
        f"{check['texts']}: argmax agreement {100 * check['argmax_agreement']:.2f}%, mean KL {check['mean_kl']:.2e}); "
        f"teacher agrees with the gold labels on {100 * result['teacher_train_accuracy']:.1f}% of the training rows")
    return {"train": np.load(folder / "train.npy"), "unlabelled": np.load(folder / "unlabelled.npy")}


# ------------------------------------------------------------------------------------------- students
def stage_truncated(cfg: StudyConfig, out: Path, teacher_dir: Path) -> Path:
    """The 3-layer student initialised from teacher layers (no distillation): the truncated row's start."""
    folder = out / "student-init"

    def compute(target: Path) -> dict[str, Any]:
        teacher = AutoModel.from_pretrained(teacher_dir, add_pooling_layer=False)
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


def general_recipe(cfg: StudyConfig, out: Path, teacher_dir: Path, run_dir: Path, resume: bool) -> dict[str, Any]:
    """The `distilkobert train` recipe of the general-distillation stage (from recipes/study/*'s settings)."""
    g = cfg.general_distill
    save_steps = max(1, g.max_steps // max(1, g.checkpoints))
    return {
        "teacher_name_or_path": str(teacher_dir), "student_model_type": "bert",
        "student_layers": list(cfg.student_layers), "alpha_ce": 0.0, "alpha_mlm": g.alpha_mlm,
        "alpha_cos": g.alpha_cos, "alpha_mse": g.alpha_mse, "mse_layer_map": g.mse_layer_map,
        "dataset_name_or_path": str(out / "splits" / "unlabelled.txt"), "validation_fraction": 0.01,
        "max_seq_length": g.max_seq_length, "min_seq_length": 8, "packing": True,
        "max_train_texts": g.max_train_texts, "max_eval_sequences": 200,
        "output_dir": str(run_dir), "seed": 42, "max_steps": g.max_steps,
        "per_device_train_batch_size": g.batch_size, "per_device_eval_batch_size": 64,
        "learning_rate": g.learning_rate, "weight_decay": 0.0, "adam_beta1": 0.9, "adam_beta2": 0.98,
        "adam_epsilon": 1.0e-6, "max_grad_norm": 5.0, "warmup_steps": 0.05, "lr_scheduler_type": "linear",
        "logging_steps": max(1, g.max_steps // 10), "save_strategy": "steps", "save_steps": save_steps,
        "save_total_limit": 1, "report_to": "none", "disable_tqdm": True, "bf16": g.bf16,
        "use_cpu": not torch.cuda.is_available(),
        "cache_dir": str(out / "token-cache"),
        # a killed stage continues from its last checkpoint; a new stage replaces what a previous run left
        **({"resume_from_checkpoint": "last"} if resume else {"overwrite": True}),
    }


def stage_general(cfg: StudyConfig, out: Path, teacher_dir: Path) -> Path:
    """General distillation with `distilkobert train` (a recipe written from the study's settings)."""
    g = cfg.general_distill
    folder = out / "student-general"
    settings = {k: v for k, v in g.__dict__.items() if k not in ("launcher", "checkpoints")}  # change no result
    key = {"teacher": model_identity(teacher_dir), "settings": settings, "layers": cfg.student_layers,
           "splits": stage_key(out)}

    def compute(target: Path) -> dict[str, Any]:
        run_dir = target / "run"
        key_file = target / "run_key.json"
        resume = key_file.is_file() and json.loads(key_file.read_text()) == key and \
            any(run_dir.glob("checkpoint-*"))
        key_file.write_text(json.dumps(key, default=str), encoding="utf-8")
        recipe_path = target / "general-distill.yaml"
        recipe_path.write_text(yaml.safe_dump(general_recipe(cfg, out, teacher_dir, run_dir, resume),
                                              sort_keys=False), encoding="utf-8")
        command = ([*g.launcher, "-m"] if g.launcher else [sys.executable, "-m"]) + [
            "distilkobert.cli", "train", str(recipe_path)]
        log(f"general: {' '.join(command)}" + (" (resuming from its last checkpoint)" if resume else ""))
        with open(target / "train.log", "a", encoding="utf-8") as log_file:
            code = subprocess.run(command, stdout=log_file, stderr=subprocess.STDOUT).returncode
        if code != 0:
            tail = (target / "train.log").read_text(encoding="utf-8").strip().splitlines()[-5:]
            raise RuntimeError(f"general distillation failed (exit {code}); see {target / 'train.log'}: "
                               + " | ".join(tail))
        info_file = run_dir / "distillation_info.json"
        info = json.loads(info_file.read_text(encoding="utf-8")) if info_file.is_file() else {}
        return {"recipe": str(recipe_path), "model_dir": str(run_dir), "resumed": resume,
                "heldout": info.get("heldout_mlm"), "train_metrics": info.get("train_metrics")}

    result = cached_stage(folder, key, compute)
    log(f"general: done in {result['seconds']:.0f} s")
    return Path(result["model_dir"])


def task_distill_data(out: Path, student_dir: Path, max_len: int, logits: dict[str, np.ndarray]) -> Dataset:
    """Training rows (gold label + teacher logits) and unlabelled reviews (label -100 + teacher logits)."""
    tokenizer = AutoTokenizer.from_pretrained(student_dir)
    train_rows = read_split(out, "train")
    unlabelled = read_unlabelled_texts(out)
    return concatenate_datasets([
        tokenize_rows(tokenizer, [r["document"] for r in train_rows], [r["label"] for r in train_rows], max_len,
                      logits["train"]),
        tokenize_rows(tokenizer, unlabelled, [-100] * len(unlabelled), max_len, logits["unlabelled"]),
    ])


# ------------------------------------------------------------------------------------- export, baseline
def stage_export(cfg: StudyConfig, out: Path, student_dir: Path) -> dict[str, Any]:
    """The task-distilled student as an int8 ONNX export, scored on the whole test split."""
    folder = out / "student-onnx"

    def compute(target: Path) -> dict[str, Any]:
        info = export_classifier(str(student_dir), target / "export", quantize="int8", overwrite=True)
        texts = [r["document"] for r in read_split(out, "test")]
        max_len = cfg.task_distill.max_seq_length
        predictions = _logits("onnx-int8", student_dir, texts, max_len, 128, target / "export").argmax(-1)
        np.save(target / "test_predictions.npy", predictions)
        return {"export_dir": str(target / "export"), "test_accuracy": float((predictions == test_labels(out)).mean()),
                "size_mb": round(info["files"][INT8_FILE]["bytes"] / 1e6, 1),
                "fp32_mb": round(info["torch_weights_bytes"] / 1e6, 1), "export": info["files"]}

    result = cached_stage(folder, {"student": model_identity(student_dir), "splits": stage_key(out),
                                   "max_len": cfg.task_distill.max_seq_length}, compute)
    log(f"export: int8 ONNX student {100 * result['test_accuracy']:.2f}% on test, {result['size_mb']} MB")
    return result


def stage_fasttext(cfg: StudyConfig, out: Path, *, all_rows: bool = False) -> list[dict[str, Any]]:
    """FastText on the study's training rows, or (`all_rows`) on the whole training pool, one run per seed."""
    train = read_split(out, "train_pool" if all_rows else "train")
    name = "fasttext-all-rows" if all_rows else "fasttext"
    results = []
    for seed in cfg.seeds:
        key = {"settings": cfg.fasttext, "seed": seed, "train_rows": len(train), "splits": stage_key(out)}
        try:
            results.append(cached_stage(out / name / f"seed-{seed}", key, lambda folder, seed=seed: train_and_test(
                train, read_split(out, "validation"), read_split(out, "test"), folder, seed=seed,
                params=cfg.fasttext)))
        except RuntimeError as err:  # a baseline that diverges must not end a study of hours: the row says so
            log(f"{name} seed {seed}: not trained ({err}); the row reports the seeds that trained")
    log(f"{name} ({len(train)} training rows): test " + ", ".join(f"{100 * r['test_accuracy']:.2f}%" for r in results))
    return results


# ---------------------------------------------------------------------------------------------- speed
def _batch1_ms(predict, texts: list[str]) -> float:
    times = []
    for text in texts:
        start = time.perf_counter()
        predict([text])
        times.append(time.perf_counter() - start)
    return round(1000 * float(np.median(times)), 2)


def stage_speed(cfg: StudyConfig, out: Path, models: dict[str, Path], onnx: dict[str, Path]) -> dict[str, Any]:
    """Every classifier on the same test texts in one process, interleaved rounds: texts / second at the
    recipe's batch size and sequence length, and the median batch-1 latency."""
    texts = [r["document"] for r in read_split(out, "test")][: cfg.speed_texts]
    max_len = cfg.task_distill.max_seq_length
    runners = {}
    for name, path in models.items():
        model = AutoModelForSequenceClassification.from_pretrained(path).eval()
        tok = AutoTokenizer.from_pretrained(path)
        runners[name] = lambda batch, m=model, t=tok: predict_logits(m, t, batch, batch_size=cfg.speed_batch_size,
                                                                     max_seq_length=max_len)
    for name, path in onnx.items():
        classifier = OnnxClassifier.from_pretrained(path, file=INT8_FILE, max_length=max_len)
        runners[name] = lambda batch, c=classifier: _logits_onnx_batches(c, batch, cfg.speed_batch_size)
    timings: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():
        run(texts[:64])  # warm-up
    for _ in range(3):
        for name, run in runners.items():
            start = time.perf_counter()
            run(texts)
            timings[name].append(time.perf_counter() - start)
    latency_texts = texts[: cfg.latency_texts]
    result = {name: {"texts_per_second": round(len(texts) / float(np.median(t)), 1), "seconds": t,
                     "batch1_ms_p50": _batch1_ms(runners[name], latency_texts)} for name, t in timings.items()}
    result["_settings"] = {"texts": len(texts), "batch_size": cfg.speed_batch_size, "max_seq_length": max_len,
                           "latency_texts": len(latency_texts), "threads": torch.get_num_threads(),
                           "order": "length-sorted batches", "precision": "fp32 (PyTorch), int8 (ONNX Runtime)"}
    return result


def _logits_onnx_batches(classifier: OnnxClassifier, texts: list[str], batch_size: int) -> np.ndarray:
    encoded = classifier.tokenizer(texts, truncation=True, max_length=classifier.max_length)["input_ids"]
    order = np.argsort([len(e) for e in encoded], kind="stable")
    out = np.zeros((len(texts), 2), dtype=np.float32)
    for begin in range(0, len(order), batch_size):
        idx = order[begin:begin + batch_size]
        out[idx] = classifier.logits([texts[i] for i in idx])
    return out
