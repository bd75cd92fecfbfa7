"""Fine-tune a sentence classifier on NSMC, optionally distilling a teacher's soft labels.

One function serves every row of the study: plain fine-tuning (cross-entropy on gold labels) and task-specific
distillation (KL to the teacher's logits at a temperature, x T^2, plus cross-entropy on the gold labels where
a row has one; teacher-labelled unlabelled reviews carry label -100). The loop is `eval_nsmc.py`'s own
(`distilkobert.evaluation.finetune.fine_tune_and_select`, with its `SoftLabelLoss`): the checkpoint is selected
on validation accuracy, the test split is read once after training.

CPU time is what limits the study, so batches are grouped by length for training and evaluation sets are
sorted by length (NSMC reviews average 22 teacher tokens; padding every batch to 64 would waste ~2/3).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from transformers import AutoTokenizer, TrainerCallback, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from distilkobert.evaluation.finetune import (
    SoftLabelCollator,
    SoftLabelLoss,
    checkpoint_step,
    fine_tune_and_select,
    load_classifier,
)
from distilkobert.study.config import FinetuneSettings

ELAPSED_FILE = "elapsed.json"


class ElapsedTime(TrainerCallback):
    """Writes the training time so far (wall and process CPU seconds) into every checkpoint it saves, so a run
    resumed from that checkpoint reports the time of the whole run, not of its last part."""

    def __init__(self, output_dir: Path, resumed_from: str | None):
        self.output_dir = output_dir
        prior = json.loads((Path(resumed_from) / ELAPSED_FILE).read_text()) if resumed_from and \
            (Path(resumed_from) / ELAPSED_FILE).is_file() else {"seconds": 0.0, "cpu_seconds": 0.0}
        self.prior = prior
        self.start, self.cpu_start = time.perf_counter(), time.process_time()

    def so_far(self) -> dict[str, float]:
        return {"seconds": self.prior["seconds"] + time.perf_counter() - self.start,
                "cpu_seconds": self.prior["cpu_seconds"] + time.process_time() - self.cpu_start}

    def on_save(self, args, state, control, **kwargs):
        folder = self.output_dir / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            (folder / ELAPSED_FILE).write_text(json.dumps(self.so_far()) + "\n", encoding="utf-8")


def tokenize_rows(tokenizer, texts: list[str], labels: list[int], max_seq_length: int,
                  teacher_logits: np.ndarray | None = None) -> Dataset:
    """A dataset of input_ids / labels (/ teacher_logits) for `texts`."""
    encoded = tokenizer(texts, truncation=True, max_length=max_seq_length)["input_ids"]
    columns: dict[str, Any] = {"input_ids": encoded, "labels": labels, "length": [len(e) for e in encoded]}
    if teacher_logits is not None:
        columns["teacher_logits"] = teacher_logits.astype(np.float32).tolist()
    return Dataset.from_dict(columns)


def sorted_by_length(ds: Dataset) -> Dataset:
    """Evaluation order that pads least (metrics do not depend on order)."""
    return ds.sort("length")


def accuracy_metrics(eval_pred) -> dict[str, float]:
    logits, labels = eval_pred
    predictions = np.asarray(logits).argmax(-1)
    labels = np.asarray(labels)
    accuracy = float((predictions == labels).mean())
    f1s = []
    for c in (0, 1):
        tp = float(((predictions == c) & (labels == c)).sum())
        fp = float(((predictions == c) & (labels != c)).sum())
        fn = float(((predictions != c) & (labels == c)).sum())
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return {"accuracy": accuracy, "macro_f1": float(np.mean(f1s))}


def finetune(init_dir: str | Path, output_dir: str | Path, *, seed: int, train: Dataset, validation: Dataset,
             test: Dataset, settings: FinetuneSettings, tokenizer_dir: str | Path | None = None,
             run_key: str | None = None) -> dict[str, Any]:
    """Fine-tune from `init_dir`, keep the best checkpoint on validation, evaluate it on test once.

    A checkpoint is saved at every evaluation; a run killed half-way continues from its last checkpoint when
    called again with the same `run_key` (a checkpoint left by other settings is discarded). Writes the
    selected model + tokenizer to `output_dir/model`, the test predictions (in `test`'s order) to
    `output_dir/test_predictions.npy` and `output_dir/result.json`; returns the result.
    """
    output_dir = Path(output_dir)
    resume = _checkpoint_to_resume(output_dir, run_key)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir or init_dir)
    model, _ = load_classifier(init_dir, None, seed)
    steps_per_epoch = math.ceil(len(train) / settings.batch_size)
    total_steps = max(1, int(steps_per_epoch * settings.epochs))
    eval_steps = max(1, steps_per_epoch // max(1, settings.evals_per_epoch))
    args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"), seed=seed, data_seed=seed,
        learning_rate=settings.learning_rate, max_steps=total_steps, warmup_steps=settings.warmup,
        weight_decay=settings.weight_decay, per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.eval_batch_size, train_sampling_strategy="group_by_length",
        length_column_name="length", eval_strategy="steps", eval_steps=eval_steps, save_strategy="steps",
        save_steps=eval_steps, save_total_limit=1, load_best_model_at_end=True, metric_for_best_model="accuracy",
        greater_is_better=True, logging_steps=max(1, eval_steps // 2), report_to="none", remove_unused_columns=False,
        disable_tqdm=True, bf16=settings.bf16, use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0,
    )
    elapsed = ElapsedTime(output_dir / "checkpoints", resume)
    run = fine_tune_and_select(
        model, args, train=train, validation=sorted_by_length(validation), tokenizer=tokenizer,
        collator=SoftLabelCollator(tokenizer.pad_token_id), compute_metrics=accuracy_metrics,
        soft_label_loss=SoftLabelLoss(alpha_kl=settings.alpha_kl, alpha_ce=settings.alpha_ce,
                                      temperature=settings.temperature),
        callbacks=[elapsed], resume_from_checkpoint=resume)
    train_time = elapsed.so_far()
    # The test split is read here, once, after the checkpoint was chosen on validation.
    start = time.perf_counter()
    test_predictions = test_predictions_in_order(run.model, test, tokenizer.pad_token_id)
    test_metrics = accuracy_metrics((np.eye(2)[test_predictions], np.asarray(test["labels"])))
    test_seconds = time.perf_counter() - start
    model_dir = output_dir / "model"
    run.trainer.save_model(str(model_dir))
    np.save(output_dir / "test_predictions.npy", test_predictions)
    shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)
    (output_dir / RUN_KEY_FILE).unlink(missing_ok=True)
    result = {
        "seed": seed,
        "init": str(init_dir),
        "train_rows": len(train),
        "steps": total_steps,
        "best_validation_accuracy": run.best_validation_accuracy,
        "best_checkpoint_step": run.best_step,
        "test_accuracy": test_metrics["accuracy"],
        "test_macro_f1": test_metrics["macro_f1"],
        "train_seconds": round(train_time["seconds"], 1),
        "train_cpu_seconds": round(train_time["cpu_seconds"], 1),
        "resumed_from_step": checkpoint_step(resume),
        "test_seconds": round(test_seconds, 1),
        "settings": settings.__dict__,
        "model_dir": str(model_dir),
    }
    (output_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


RUN_KEY_FILE = "run_key.txt"


def _checkpoint_to_resume(output_dir: Path, run_key: str | None) -> str | None:
    """The last checkpoint of an interrupted run with the same key, or None (other runs' checkpoints removed)."""
    checkpoints = output_dir / "checkpoints"
    key_file = output_dir / RUN_KEY_FILE
    same_run = run_key is not None and key_file.is_file() and key_file.read_text().strip() == run_key
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if not same_run or last is None:
        shutil.rmtree(checkpoints, ignore_errors=True)
        output_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text((run_key or "") + "\n", encoding="utf-8")
        return None
    return last


@torch.no_grad()
def logits_in_order(model, encoded: list[list[int]], pad_token_id: int, *, batch_size: int,
                    progress: str | None = None) -> np.ndarray:
    """Logits for token-id lists, computed in length-sorted batches (which pad least), returned in input order."""
    model.eval()
    order = np.argsort([len(e) for e in encoded], kind="stable")
    out = np.zeros((len(encoded), model.config.num_labels), dtype=np.float32)
    device = next(model.parameters()).device
    start = time.perf_counter()
    for b, begin in enumerate(range(0, len(order), batch_size)):
        idx = order[begin:begin + batch_size]
        length = max(len(encoded[i]) for i in idx)
        ids = torch.full((len(idx), length), pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(idx), length), dtype=torch.long)
        for row, i in enumerate(idx):
            ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
            mask[row, : len(encoded[i])] = 1
        out[idx] = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float().cpu().numpy()
        if progress and b % 50 == 0:
            done = begin + len(idx)
            rate = done / max(time.perf_counter() - start, 1e-9)
            print(f"[{progress}] {done}/{len(encoded)} texts, {rate:.0f}/s", flush=True)
    return out


def test_predictions_in_order(model, test: Dataset, pad_token_id: int, batch_size: int = 256) -> np.ndarray:
    """Predicted labels for `test` in its own order."""
    return logits_in_order(model, test["input_ids"], pad_token_id, batch_size=batch_size).argmax(-1)


def predict_logits(model, tokenizer, texts: list[str], *, batch_size: int = 128, max_seq_length: int = 128,
                   progress: str | None = None) -> np.ndarray:
    """Logits for `texts`, computed in length-sorted batches, returned in the input order."""
    encoded = tokenizer(texts, truncation=True, max_length=max_seq_length)["input_ids"]
    return logits_in_order(model, encoded, tokenizer.pad_token_id, batch_size=batch_size, progress=progress)
