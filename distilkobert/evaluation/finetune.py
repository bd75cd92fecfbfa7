"""Fine-tune, select on validation, read test once: the loop every NSMC fine-tuning of the project runs.

`fine_tune_and_select` is that loop (Trainer on train, evaluation and checkpoints on validation, the best
checkpoint loaded back at the end); `eval_nsmc.py` runs it once per seed (`run_seed`), and so does the study
(`distilkobert.study.classifier.finetune`), with the optional soft-label loss (`SoftLabelLoss`: KL to a
teacher's logits at a temperature, plus cross-entropy where a row has a gold label).
"""

from __future__ import annotations

import inspect
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    set_seed,
)

from distilkobert.data.nsmc import ID2LABEL, LABEL2ID

from .arguments import NsmcTrainingArguments
from .data import PreparedData
from .metrics import classification_metrics, trainer_compute_metrics

logger = logging.getLogger(__name__)

WEIGHT_FILE_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt")


class ModelLoadError(RuntimeError):
    """The checkpoint or tokenizer could not be loaded for sequence classification."""


def load_tokenizer(name_or_path: str, revision: str | None):
    """Plain AutoTokenizer (the fast tokenizer.json, no remote code)."""
    try:
        tok = AutoTokenizer.from_pretrained(name_or_path, revision=revision)
    except Exception as exc:
        raise ModelLoadError(f"cannot load a tokenizer from {name_or_path!r}"
                             f"{'' if revision is None else f' at revision {revision!r}'} with AutoTokenizer "
                             f"(fast, no remote code; pass --tokenizer_name_or_path): {type(exc).__name__}: {exc}"
                             ) from exc
    if tok.pad_token_id is None:
        raise ModelLoadError(f"tokenizer {name_or_path!r} has no pad token")
    return tok


def load_classifier(name_or_path: str | Path, revision: str | None, seed: int, pad_token_id: int | None = None):
    """AutoModelForSequenceClassification (2 labels) from any encoder or masked-LM checkpoint; seeded head init.

    Returns (model, loading info). With `pad_token_id` (the tokenizer's), a checkpoint whose config names another
    pad id is given the tokenizer's; None keeps the checkpoint's config as it is.
    """
    set_seed(seed)  # the new classification head (and pooler, if absent) is initialised from this seed
    try:
        model, loading = AutoModelForSequenceClassification.from_pretrained(
            name_or_path, revision=revision, num_labels=2, id2label=ID2LABEL, label2id=LABEL2ID,
            output_loading_info=True)
    except Exception as exc:
        raise ModelLoadError(f"cannot load {name_or_path!r}"
                             f"{'' if revision is None else f' at revision {revision!r}'} as a sequence "
                             f"classifier: {type(exc).__name__}: {exc}") from exc
    if pad_token_id is not None and getattr(model.config, "pad_token_id", None) != pad_token_id:
        logger.warning("model pad_token_id %s != tokenizer pad_token_id %s; using the tokenizer's",
                       getattr(model.config, "pad_token_id", None), pad_token_id)
        model.config.pad_token_id = pad_token_id
    return model, {k: sorted(v) if isinstance(v, (list, set)) else v for k, v in loading.items()
                   if k in ("missing_keys", "unexpected_keys", "mismatched_keys")}


def weights_size_mb(folder: Path) -> tuple[float, list[str]]:
    """Size in MB (10^6 bytes) of the weight files in a folder (not config/tokenizer files)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(WEIGHT_FILE_SUFFIXES)
                   and not p.name.startswith(("optimizer", "scheduler", "rng_state", "training_args")))
    # a folder with both safetensors and .bin holds the same weights twice: count one format
    safetensors = [p for p in files if p.suffix == ".safetensors"]
    files = safetensors or files
    return round(sum(p.stat().st_size for p in files) / 1e6, 3), [p.name for p in files]


def evaluated_model_size_mb(model) -> float:
    """On-disk size of the fine-tuned classifier as written by save_pretrained (safetensors, own dtype)."""
    with tempfile.TemporaryDirectory(prefix="nsmc-size-") as tmp:
        model.save_pretrained(tmp)
        return weights_size_mb(Path(tmp))[0]


def predict_and_time(model, dataset, tokenizer, batch_size: int, device: str) -> tuple[list[int], dict[str, Any]]:
    """Predict a pre-tokenized split in order and time it.

    Timing covers padding/collation, host-to-device copies and the forward passes (tokenization is
    excluded: the split is tokenized beforehand); one warm-up batch is run first and not timed.
    """
    features = dataset.remove_columns([c for c in dataset.column_names if c == "labels"])
    collator = DataCollatorWithPadding(tokenizer)
    loader = DataLoader(features, batch_size=batch_size, shuffle=False, collate_fn=collator)
    model.eval()
    model.to(device)
    accepted = set(inspect.signature(model.forward).parameters)

    def run(batch):
        batch = {k: v.to(device) for k, v in batch.items() if k in accepted}
        return model(**batch).logits

    predictions: list[int] = []
    with torch.inference_mode():
        first = next(iter(loader), None)
        if first is not None:
            run(first)  # warm-up: kernels, allocator
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for batch in loader:
            logits = run(batch)
            predictions.extend(logits.argmax(dim=-1).tolist())
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    n = len(predictions)
    return predictions, {
        "sentences": n, "seconds": round(seconds, 4),
        "sentences_per_second": round(n / seconds, 2) if seconds > 0 else None,
        "batch_size": batch_size, "device": device, "torch_threads": torch.get_num_threads(),
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "padding": "dynamic, to the longest document of each batch, in dataset order",
        "includes_tokenization": False,
        "warmup_batches": 1 if n else 0,
    }


@dataclass(frozen=True)
class SoftLabelLoss:
    """alpha_kl x T^2 x KL(teacher || student) at temperature T, plus alpha_ce x cross-entropy on the rows that
    have a gold label (a row labelled -100 has none: it learns from the teacher's logits alone)."""

    alpha_kl: float
    alpha_ce: float
    temperature: float

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor | None):
        loss = logits.new_zeros(())
        labelled = labels.ne(-100)
        if self.alpha_ce > 0 and bool(labelled.any()):
            loss = loss + self.alpha_ce * F.cross_entropy(logits[labelled], labels[labelled])
        if self.alpha_kl > 0 and teacher_logits is not None:
            t = self.temperature
            kl = F.kl_div(F.log_softmax(logits / t, dim=-1), F.log_softmax(teacher_logits / t, dim=-1),
                          reduction="batchmean", log_target=True)
            loss = loss + self.alpha_kl * t * t * kl
        return loss


class SoftLabelCollator:
    """Pads token ids per batch (pad id from the tokenizer) and stacks labels / teacher logits."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        length = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), length), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(features), length), dtype=torch.long)
        for i, f in enumerate(features):
            ids[i, : len(f["input_ids"])] = torch.tensor(f["input_ids"])
            mask[i, : len(f["input_ids"])] = 1
        batch = {"input_ids": ids, "attention_mask": mask,
                 "labels": torch.tensor([f["labels"] for f in features], dtype=torch.long)}
        if "teacher_logits" in features[0]:
            batch["teacher_logits"] = torch.tensor([f["teacher_logits"] for f in features], dtype=torch.float32)
        return batch


class SelectionTrainer(Trainer):
    """Trainer that tells `on_evaluate(dataset, step)` about every evaluation (so a log can show that selection
    only saw validation)."""

    def __init__(self, *args, on_evaluate: Callable[[Any, int], None] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_evaluate = on_evaluate

    def evaluate(self, eval_dataset=None, *a, **kw):
        if self.on_evaluate is not None:
            self.on_evaluate(self.eval_dataset if eval_dataset is None else eval_dataset, self.state.global_step)
        return super().evaluate(eval_dataset, *a, **kw)


class SoftLabelTrainer(SelectionTrainer):
    """SelectionTrainer whose loss is `SoftLabelLoss` on the fp32 logits (teacher logits from the batch)."""

    model_accepts_loss_kwargs = False  # the loss below is a per-batch mean; Trainer must scale it for accumulation

    def __init__(self, *args, soft_label_loss: SoftLabelLoss, **kwargs):
        super().__init__(*args, **kwargs)
        self.soft_label_loss = soft_label_loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        teacher_logits = inputs.pop("teacher_logits", None)
        labels = inputs.pop("labels")
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        loss = self.soft_label_loss(outputs.logits.float(), labels, teacher_logits)
        return (loss, outputs) if return_outputs else loss


@dataclass
class SelectedRun:
    """One fine-tune-and-select run: the trainer (its model is the selected checkpoint), what `train()` returned,
    the selected step and its validation accuracy, the training seconds and the Trainer's log as training left
    it (an evaluation run afterwards adds nothing to it)."""

    trainer: Trainer
    train_output: Any
    best_step: int | None
    best_validation_accuracy: float | None
    train_seconds: float
    log_history: list[dict[str, Any]]

    @property
    def model(self):
        return self.trainer.model


def checkpoint_step(checkpoint: str | None) -> int | None:
    """The step of a Trainer checkpoint folder (`checkpoint-N`), or None."""
    if not checkpoint:
        return None
    try:
        return int(Path(checkpoint).name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return None


def fine_tune_and_select(model, args, *, train, validation, tokenizer, collator, compute_metrics,
                         soft_label_loss: SoftLabelLoss | None = None, callbacks: list | None = None,
                         resume_from_checkpoint: str | None = None,
                         on_evaluate: Callable[[Any, int], None] | None = None) -> SelectedRun:
    """Train `model` on `train` with Trainer `args` (which evaluate and checkpoint on `validation` and load the
    best checkpoint at the end, by `args.metric_for_best_model`); the test split is not seen here.

    Without `soft_label_loss` the loss is the model's own (cross-entropy on the labels); with it, `SoftLabelLoss`
    on the batch's `teacher_logits` and labels. `resume_from_checkpoint` continues a killed run.
    """
    extra = {} if soft_label_loss is None else {"soft_label_loss": soft_label_loss}
    trainer = (SelectionTrainer if soft_label_loss is None else SoftLabelTrainer)(
        model=model, args=args, train_dataset=train, eval_dataset=validation, processing_class=tokenizer,
        data_collator=collator, compute_metrics=compute_metrics, callbacks=callbacks, on_evaluate=on_evaluate,
        **extra)
    start = time.perf_counter()
    train_output = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    return SelectedRun(trainer=trainer, train_output=train_output,
                       best_step=checkpoint_step(trainer.state.best_model_checkpoint),
                       best_validation_accuracy=trainer.state.best_metric,
                       train_seconds=time.perf_counter() - start, log_history=list(trainer.state.log_history))


def run_seed(seed: int, *, model_path: str, revision: str | None, tokenizer, data: PreparedData,
             train_tok, val_tok, test_tok_fn, args: NsmcTrainingArguments, seed_dir: Path) -> dict[str, Any]:
    """Fine-tune one seed (`args.for_seed(seed, ...)` is its Trainer's arguments), select on validation,
    evaluate the selected model once on test."""
    seed_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = seed_dir / "checkpoints"
    model, loading_info = load_classifier(model_path, revision, seed, tokenizer.pad_token_id)
    training_args = args.for_seed(seed, ckpt_dir)
    strategy = "steps" if args.eval_steps else "epoch"

    def record_evaluation(dataset, step: int) -> None:
        """Logs the split behind every evaluation, so the JSON shows that selection only saw validation."""
        name = "validation" if dataset is val_tok else f"unknown dataset of {len(dataset)} rows"
        data.log.record(name, f"Trainer.evaluate at step {step}", seed)

    data.log.start_training(seed)
    try:
        run = fine_tune_and_select(model, training_args, train=train_tok, validation=val_tok, tokenizer=tokenizer,
                                   collator=DataCollatorWithPadding(tokenizer),
                                   compute_metrics=trainer_compute_metrics, on_evaluate=record_evaluation)
        data.log.record("validation", "metrics of the selected checkpoint (next evaluate)", seed)
        val_metrics = run.trainer.evaluate()  # the selected (best) model, validation only
    finally:
        data.log.end_training(seed)
    model = run.model
    test_split = data.test.open("final evaluation of the selected model", seed)
    test_tok = test_tok_fn(test_split)
    t1 = time.perf_counter()
    predictions, throughput = predict_and_time(model, test_tok, tokenizer, args.per_device_eval_batch_size,
                                               args.resolved_device)
    test_seconds = time.perf_counter() - t1
    test_metrics = classification_metrics(predictions, list(test_tok["labels"]))

    if args.save_models:
        run.trainer.save_model(str(seed_dir / "model"))
    if not args.keep_checkpoints:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return seed_record(seed, run, strategy, val_metrics, test_metrics, len(predictions), throughput,
                       loading_info, test_seconds)


def seed_record(seed: int, run: SelectedRun, strategy: str, val_metrics: dict[str, Any],
                test_metrics: dict[str, Any], test_rows: int, throughput: dict[str, Any],
                loading_info: dict[str, Any], test_seconds: float) -> dict[str, Any]:
    """One seed's entry of nsmc_results.json's per_seed (with the selected model under `_model`)."""
    history = [{"step": h["step"], "epoch": h.get("epoch"), "accuracy": h["eval_accuracy"],
                "f1_macro": h["eval_f1_macro"], "loss": h.get("eval_loss")}
               for h in run.log_history if "eval_accuracy" in h]
    best_entry = next((h for h in history if h["step"] == run.best_step), None)
    state = run.trainer.state
    return {
        "seed": seed,
        "selection": {
            "split": "validation",
            "metric": "accuracy",
            "strategy": strategy,
            "best_step": run.best_step,
            "best_epoch": best_entry["epoch"] if best_entry else None,
            "best_validation_accuracy": run.best_validation_accuracy,
            "evaluations": history,
        },
        "validation": {"accuracy": val_metrics["eval_accuracy"], "f1_macro": val_metrics["eval_f1_macro"],
                       "loss": val_metrics.get("eval_loss")},
        "test": dict(test_metrics, rows=test_rows),
        "training": {"global_steps": state.global_step, "epochs": state.epoch,
                     "final_train_loss": run.train_output.training_loss,
                     "loss_log": [{"step": h["step"], "loss": h["loss"]} for h in run.log_history if "loss" in h]},
        "throughput": throughput,
        "loading_info": loading_info,
        "timings": {"train_seconds": round(run.train_seconds, 2), "test_seconds": round(test_seconds, 2)},
        "_model": run.model,
    }
