"""The evaluation protocol of `eval_nsmc.py` / `distilkobert eval`, step by step (imports the Hugging Face
libraries: `distilkobert.evaluation.run.main` imports this module once the Hub endpoint is configured).

Per seed: fine-tune a 2-label classification head with Trainer on train, select the checkpoint with the best
validation accuracy, then evaluate the selected model once on test (`finetune.run_seed`). The test split is
sealed during fine-tuning (see `data.SealedTestSplit`). Results go to OUTPUT_DIR/nsmc_results.json plus a
printed table.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import HfApi
from transformers import AutoConfig

from distilkobert.common.model_size import parameter_counts
from distilkobert.common.nsmc_results import (
    RESULTS_FILE,
    SCHEMA_VERSION,
    aggregate,
    format_results_table,
    library_versions,
    machine_info,
)
from distilkobert.common.output_dir import check_output_dir, clear_output_dir
from distilkobert.hub.endpoint import require_hub, resolve_model_reference
from distilkobert.hub.publish import VersionExistsError, check_version_available
from distilkobert.serving.publish import publish_evaluated_classifier

from .arguments import parse_args
from .card import update_model_card
from .data import DatasetFormatError, PreparedData, load_nsmc, tokenize_split
from .finetune import (
    WEIGHT_FILE_SUFFIXES,
    ModelLoadError,
    evaluated_model_size_mb,
    load_tokenizer,
    run_seed,
    weights_size_mb,
)

__all__ = ["DatasetFormatError", "ModelLoadError", "VersionExistsError", "check_version_available", "evaluate_model",
           "parse_args", "publish_evaluated_classifier", "update_card"]

logger = logging.getLogger("distilkobert.evaluation")


def _checkpoint_weights(model_path: str, revision: str | None, is_local: bool) -> tuple[float | None, list]:
    if is_local:
        return weights_size_mb(Path(model_path))
    try:
        files = [f for f in HfApi().list_repo_tree(model_path, revision=revision)
                 if getattr(f, "size", None) is not None and f.path.endswith(WEIGHT_FILE_SUFFIXES)]
    except Exception as exc:  # sizes are informative: never fail the evaluation on them
        logger.warning("could not list %s to measure its weights: %s", model_path, exc)
        return None, []
    safetensors = [f for f in files if f.path.endswith(".safetensors")]
    files = safetensors or files
    return round(sum(f.size for f in files) / 1e6, 3), [f.path for f in files]


@dataclass
class Checked:
    """What the checks before loading found out."""

    output_dir: Path
    clear_output: bool


def check_before_loading(margs, dargs, targs) -> Checked:
    """Checks that need files but no weights, before anything is loaded: the model, tokenizer and dataset
    references (folder or valid Hub id, Hub reachable) and the output folder. One line naming the argument."""
    references = {"--model_name_or_path": (margs.model_name_or_path, "model"),
                  "--tokenizer_name_or_path": (margs.tokenizer_name_or_path, "model"),
                  "--dataset_name": (dargs.dataset_name, "dataset")}
    for flag, (name, repo_type) in references.items():
        if name:
            resolve_model_reference(name, flag)
            require_hub(name, flag, repo_type=repo_type)
    output_dir = check_output_dir(targs.output_dir, targs.overwrite, flag="--output_dir",
                                  inputs={flag: name for flag, (name, _) in references.items()})
    return Checked(output_dir, targs.overwrite and output_dir.is_dir() and any(output_dir.iterdir()))


def _check_positions(model_path: str, revision: str | None, max_seq_length: int) -> None:
    """--max_seq_length must fit the model's position embeddings (its config alone is read)."""
    try:
        config = AutoConfig.from_pretrained(model_path, revision=revision)
    except (OSError, ValueError):
        return  # the model loader reports an unreadable checkpoint with its own message
    positions = getattr(config, "max_position_embeddings", None)
    if positions and max_seq_length > positions:
        raise ValueError(f"--max_seq_length {max_seq_length}: above the model's max_position_embeddings "
                         f"({positions})")


@dataclass
class ModelReference:
    """The model as evaluated: a local folder, or a Hub repo pinned to the commit its revision resolved to."""

    path: str
    is_local: bool
    resolved: str | None  # the Hub commit sha (None for a folder)

    @property
    def revision_for_load(self) -> str | None:
        return self.resolved  # pin: every seed loads exactly the same commit


def resolve_model(margs, max_seq_length: int) -> ModelReference:
    """A local folder as it is, a Hub repo pinned to the commit of --revision; --max_seq_length is checked."""
    model_path = margs.model_name_or_path
    is_local = Path(model_path).expanduser().exists()
    if is_local:
        model_path = str(Path(model_path).expanduser())
    revision = None if is_local else margs.revision
    if is_local and margs.revision:
        logger.warning("--revision %s ignored: %s is a local folder", margs.revision, model_path)
    resolved = None
    if not is_local:
        try:
            resolved = HfApi().model_info(model_path, revision=revision).sha
        except Exception as exc:  # repo or revision not found, bad id: one clear line
            raise ModelLoadError(f"model {model_path!r}{'' if revision is None else f' at revision {revision!r}'} "
                                 f"is neither a local folder nor a reachable Hub repo: {type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
    reference = ModelReference(model_path, is_local, resolved)
    _check_positions(model_path, reference.revision_for_load, max_seq_length)
    return reference


def load_evaluation_tokenizer(margs, model: ModelReference):
    """(tokenizer, its revision): --tokenizer_name_or_path, else the model's own at the model's pinned commit."""
    tok_path = margs.tokenizer_name_or_path or model.path
    tok_local = Path(tok_path).expanduser().exists()
    tok_revision = None if tok_local else (margs.tokenizer_revision or (model.revision_for_load if
                                                                        tok_path == model.path else None))
    return load_tokenizer(tok_path, tok_revision), tok_revision


@dataclass
class TokenizedSplits:
    """The loaded dataset, train and validation tokenized, and test tokenized on first use (after training)."""

    data: PreparedData
    train: Any
    validation: Any
    token_stats: dict[str, Any]
    seconds: float
    test: Callable[[Any], Any]


def tokenize_splits(dargs, targs, tokenizer) -> TokenizedSplits:
    """Load and check the dataset, tokenize train and validation now and the test split only when opened."""
    t0 = time.perf_counter()
    data = load_nsmc(dargs.dataset_name, dargs.dataset_revision, validation_fraction=dargs.validation_fraction,
                     data_seed=targs.data_seed, max_train_samples=dargs.max_train_samples,
                     max_eval_samples=dargs.max_eval_samples, max_test_samples=dargs.max_test_samples)
    data.log.record("train", "tokenization")
    train_tok, train_stats = tokenize_split(data.train, tokenizer, dargs.max_seq_length, "train")
    data.log.record("validation", "tokenization")
    val_tok, val_stats = tokenize_split(data.validation, tokenizer, dargs.max_seq_length, "validation")
    token_stats = {"train": train_stats, "validation": val_stats}
    tokenize_seconds = time.perf_counter() - t0
    test_cache: dict[str, Any] = {}

    def test_tok_fn(test_split):
        # tokenized on first use, i.e. after the first seed's training and selection have finished
        if "tok" not in test_cache:
            test_cache["tok"], token_stats["test"] = tokenize_split(test_split, tokenizer, dargs.max_seq_length,
                                                                    "test")
        return test_cache["tok"]

    return TokenizedSplits(data, train_tok, val_tok, token_stats, tokenize_seconds, test_tok_fn)


def run_all_seeds(targs, model: ModelReference, tokenizer, splits: TokenizedSplits,
                  output_dir: Path) -> tuple[list[dict[str, Any]], Any]:
    """`finetune.run_seed` for each of --seeds; (the per-seed records, the last seed's selected model)."""
    per_seed = []
    selected = None
    for seed in targs.seeds:
        logger.info("seed %d: fine-tuning on %d train rows, selecting on %d validation rows", seed,
                    len(splits.train), len(splits.validation))
        result = run_seed(seed, model_path=model.path, revision=model.revision_for_load, tokenizer=tokenizer,
                          data=splits.data, train_tok=splits.train, val_tok=splits.validation,
                          test_tok_fn=splits.test, args=targs, seed_dir=output_dir / f"seed-{seed}")
        selected = result.pop("_model")
        per_seed.append(result)
        logger.info("seed %d: best step %s, validation accuracy %.4f, test accuracy %.4f, macro-F1 %.4f", seed,
                    result["selection"]["best_step"], result["validation"]["accuracy"],
                    result["test"]["accuracy"], result["test"]["f1_macro"])
    return per_seed, selected


def model_section(margs, targs, model: ModelReference, selected) -> dict[str, Any]:
    """nsmc_results.json's "model": what was evaluated, its sizes and parameters."""
    ckpt_mb, ckpt_files = _checkpoint_weights(model.path, model.revision_for_load, model.is_local)
    return {
        "name_or_path": margs.model_name_or_path,
        "label": margs.model_label or Path(model.path.rstrip("/")).name,
        "is_local": model.is_local,
        "revision": margs.revision,
        "resolved_revision": model.resolved,
        "hub_repo_id": targs.hub_model_id or (None if model.is_local else model.path),
        "model_type": selected.config.model_type,
        "architectures": selected.config.architectures,
        "parameters": parameter_counts(selected),
        "checkpoint_weights_mb": ckpt_mb,
        "checkpoint_weight_files": ckpt_files,
        "evaluated_model_mb": evaluated_model_size_mb(selected),
        "size_note": "MB = 10^6 bytes; checkpoint = the encoder's weight files as stored; evaluated = the "
                     "fine-tuned classifier saved as safetensors",
    }


def build_results(margs, dargs, targs, argv: Sequence[str], *, model: ModelReference, tokenizer, tok_revision,
                  splits: TokenizedSplits, per_seed: list[dict[str, Any]], selected, t_start: float) -> dict[str, Any]:
    """The whole nsmc_results.json."""
    data = splits.data
    test_events = [e for e in data.log.events if e["split"] == "test"]
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_section(margs, targs, model, selected),
        "tokenizer": {"name_or_path": margs.tokenizer_name_or_path or margs.model_name_or_path,
                      "revision": tok_revision, "class": type(tokenizer).__name__, "is_fast": tokenizer.is_fast,
                      "vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id},
        "dataset": dict(data.info, token_stats=splits.token_stats),
        "hyperparameters": {**asdict(dargs), "data_seed": targs.data_seed, **targs.reported(),
                            "optimizer": "adamw_torch (Trainer default)", "lr_scheduler": "linear",
                            "metric_for_best_model": "validation accuracy", "load_best_model_at_end": True},
        "per_seed": per_seed,
        "aggregate": aggregate(per_seed),
        "selection": {
            "protocol": "per seed: fine-tune on train; evaluate on validation every "
                        + (f"{int(targs.eval_steps)} steps" if targs.eval_steps else "epoch")
                        + "; keep the checkpoint with the best validation accuracy; then evaluate it once on test",
            "splits_used_for_selection": ["validation"],
            "test_evaluations": len(test_events),
            "test_read_during_training": any(e["during_training"] for e in test_events),
            "split_accesses": data.log.events,
        },
        "timings": {"total_seconds": round(time.perf_counter() - t_start, 2),
                    "tokenization_seconds_train_validation": round(splits.seconds, 2),
                    "train_seconds_per_seed": [r["timings"]["train_seconds"] for r in per_seed]},
        "versions": library_versions(),
        "machine": machine_info(),
        "command": ["eval_nsmc.py", *argv],
    }
    if data.info["validation_carved_from_train"]:
        results["dataset"]["note"] = "no validation split in the dataset: validation carved from train (stratified)"
    return results


def evaluate_model(margs, dargs, targs, argv: Sequence[str]) -> dict[str, Any]:
    """Run the whole protocol and return the results dict (also written to OUTPUT_DIR/nsmc_results.json)."""
    t_start = time.perf_counter()
    checked = check_before_loading(margs, dargs, targs)
    output_dir = checked.output_dir
    if targs.torch_threads > 0:
        torch.set_num_threads(targs.torch_threads)
    model = resolve_model(margs, dargs.max_seq_length)
    tokenizer, tok_revision = load_evaluation_tokenizer(margs, model)
    splits = tokenize_splits(dargs, targs, tokenizer)
    if checked.clear_output:  # --overwrite: the previous contents go only now that the inputs have loaded
        clear_output_dir(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    per_seed, selected = run_all_seeds(targs, model, tokenizer, splits, output_dir)
    results = build_results(margs, dargs, targs, argv, model=model, tokenizer=tokenizer, tok_revision=tok_revision,
                            splits=splits, per_seed=per_seed, selected=selected, t_start=t_start)
    results_path = output_dir / RESULTS_FILE
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(format_results_table(results))
    print(f"\nresults written to {results_path}")
    return results


def update_card(results: dict[str, Any], margs, targs) -> None:
    """--update_model_card: the results into the model card (and, with --push_to_hub, the card to the Hub)."""
    model_path = (results["model"]["name_or_path"] if not results["model"]["is_local"]
                  else str(Path(margs.model_name_or_path).expanduser()))
    card = update_model_card(results, model_path=model_path, is_local=results["model"]["is_local"],
                             revision=margs.revision, output_dir=Path(targs.output_dir),
                             push_to_hub=targs.push_to_hub, hub_model_id=targs.hub_model_id,
                             card_branch=targs.card_branch)
    results["model_card"] = card
    Path(targs.output_dir, "nsmc_results.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("model card: " + ", ".join(card["written"])
          + (f"; committed to {card['pushed']['repo_id']}@{card['pushed']['branch']} "
             f"({card['pushed']['reason']})" if card["pushed"] else ""))
