"""One fine-tuning run per seed: train on train, select on validation, then test the selected model once."""

from __future__ import annotations

import inspect
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from distilkobert.data.nsmc import ID2LABEL, LABEL2ID

from .arguments import NsmcTrainingArguments
from .data import PreparedData

logger = logging.getLogger(__name__)

WEIGHT_FILE_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt")


class ModelLoadError(RuntimeError):
    """The checkpoint or tokenizer could not be loaded for sequence classification."""


def load_tokenizer(name_or_path: str, revision: str | None):
    """Plain AutoTokenizer (the fast tokenizer.json, no remote code)."""
    from transformers import AutoTokenizer

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


def load_classifier(name_or_path: str, revision: str | None, seed: int, pad_token_id: int):
    """AutoModelForSequenceClassification (2 labels) from any encoder checkpoint; seeded head init."""
    from transformers import AutoModelForSequenceClassification, set_seed

    set_seed(seed)  # the new classification head (and pooler, if absent) is initialised from this seed
    try:
        model, loading = AutoModelForSequenceClassification.from_pretrained(
            name_or_path, revision=revision, num_labels=2, id2label=ID2LABEL, label2id=LABEL2ID,
            output_loading_info=True)
    except Exception as exc:
        raise ModelLoadError(f"cannot load {name_or_path!r}"
                             f"{'' if revision is None else f' at revision {revision!r}'} as a sequence "
                             f"classifier: {type(exc).__name__}: {exc}") from exc
    if getattr(model.config, "pad_token_id", None) != pad_token_id:
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
    import torch
    from torch.utils.data import DataLoader
    from transformers import DataCollatorWithPadding

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


def run_seed(seed: int, *, model_path: str, revision: str | None, tokenizer, data: PreparedData,
             train_tok, val_tok, test_tok_fn, args: NsmcTrainingArguments, seed_dir: Path) -> dict[str, Any]:
    """Fine-tune one seed (`args.for_seed(seed, ...)` is its Trainer's arguments), select on validation,
    evaluate the selected model once on test."""
    from transformers import DataCollatorWithPadding, Trainer

    from .metrics import classification_metrics, trainer_compute_metrics

    seed_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = seed_dir / "checkpoints"
    model, loading_info = load_classifier(model_path, revision, seed, tokenizer.pad_token_id)
    training_args = args.for_seed(seed, ckpt_dir)
    strategy = "steps" if args.eval_steps else "epoch"

    class RecordingTrainer(Trainer):
        """Logs the split behind every evaluation, so the JSON shows that selection only saw validation."""

        def evaluate(self, eval_dataset=None, *a, **kw):
            ds = self.eval_dataset if eval_dataset is None else eval_dataset
            name = "validation" if ds is val_tok else f"unknown dataset of {len(ds)} rows"
            data.log.record(name, f"Trainer.evaluate at step {self.state.global_step}", seed)
            return super().evaluate(eval_dataset, *a, **kw)

    trainer = RecordingTrainer(model=model, args=training_args, train_dataset=train_tok, eval_dataset=val_tok,
                      processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                      compute_metrics=trainer_compute_metrics)
    data.log.start_training(seed)
    t0 = time.perf_counter()
    try:
        train_output = trainer.train()
        train_seconds = time.perf_counter() - t0
        state = trainer.state
        history = [{"step": h["step"], "epoch": h.get("epoch"), "accuracy": h["eval_accuracy"],
                    "f1_macro": h["eval_f1_macro"], "loss": h.get("eval_loss")}
                   for h in state.log_history if "eval_accuracy" in h]
        best_ckpt = state.best_model_checkpoint
        best_step = int(Path(best_ckpt).name.rsplit("-", 1)[-1]) if best_ckpt else None
        best_entry = next((h for h in history if h["step"] == best_step), None)
        data.log.record("validation", "metrics of the selected checkpoint (next evaluate)", seed)
        val_metrics = trainer.evaluate()  # the selected (best) model, validation only
    finally:
        data.log.end_training(seed)
    training_loss = [{"step": h["step"], "loss": h["loss"]} for h in state.log_history if "loss" in h]

    model = trainer.model
    test_split = data.test.open("final evaluation of the selected model", seed)
    test_tok = test_tok_fn(test_split)
    t1 = time.perf_counter()
    predictions, throughput = predict_and_time(model, test_tok, tokenizer, args.per_device_eval_batch_size,
                                               args.resolved_device)
    test_seconds = time.perf_counter() - t1
    test_metrics = classification_metrics(predictions, list(test_tok["labels"]))

    if args.save_models:
        trainer.save_model(str(seed_dir / "model"))
    if not args.keep_checkpoints:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return {
        "seed": seed,
        "selection": {
            "split": "validation",
            "metric": "accuracy",
            "strategy": strategy,
            "best_step": best_step,
            "best_epoch": best_entry["epoch"] if best_entry else None,
            "best_validation_accuracy": state.best_metric,
            "evaluations": history,
        },
        "validation": {"accuracy": val_metrics["eval_accuracy"], "f1_macro": val_metrics["eval_f1_macro"],
                       "loss": val_metrics.get("eval_loss")},
        "test": dict(test_metrics, rows=len(predictions)),
        "training": {"global_steps": state.global_step, "epochs": state.epoch,
                     "final_train_loss": train_output.training_loss, "loss_log": training_loss},
        "throughput": throughput,
        "loading_info": loading_info,
        "timings": {"train_seconds": round(train_seconds, 2), "test_seconds": round(test_seconds, 2)},
        "_model": model,
    }
