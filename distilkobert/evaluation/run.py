"""`eval_nsmc.py` / `distilkobert eval`: honest NSMC fine-tuning evaluation of any Korean encoder.

Per seed: fine-tune a 2-label classification head with Trainer on train, select the checkpoint with the best
validation accuracy, then evaluate the selected model once on test. The test split is sealed during
fine-tuning (see `data.SealedTestSplit`). Results go to OUTPUT_DIR/nsmc_results.json plus a printed table;
`--compare a.json b.json ...` prints the DistilKoBERT README comparison table instead.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

logger = logging.getLogger("distilkobert.evaluation")


def run_compare(paths: Sequence[str], output: str | None) -> int:
    from .results import compare_rows, format_compare_table, load_results, write_compare_output

    rows = compare_rows([load_results(p) for p in paths])
    table = format_compare_table(rows)
    print(table)
    if output:
        write_compare_output(rows, table, output)
    return 0


def _checkpoint_weights(model_path: str, revision: str | None, is_local: bool) -> tuple[float | None, list]:
    from .finetune import WEIGHT_FILE_SUFFIXES, weights_size_mb

    if is_local:
        return weights_size_mb(Path(model_path))
    from huggingface_hub import HfApi

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
    from distilkobert.hub.endpoint import require_hub, resolve_model_reference
    from distilkobert.output_dir import check_output_dir

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
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model_path, revision=revision)
    except (OSError, ValueError):
        return  # the model loader reports an unreadable checkpoint with its own message
    positions = getattr(config, "max_position_embeddings", None)
    if positions and max_seq_length > positions:
        raise ValueError(f"--max_seq_length {max_seq_length}: above the model's max_position_embeddings "
                         f"({positions})")


def evaluate_model(margs, dargs, targs, argv: Sequence[str]) -> dict[str, Any]:
    """Run the whole protocol and return the results dict (also written to OUTPUT_DIR/nsmc_results.json)."""
    from distilkobert.model_size import parameter_counts
    from distilkobert.output_dir import clear_output_dir

    from .data import load_nsmc, tokenize_split
    from .finetune import evaluated_model_size_mb, load_tokenizer, run_seed
    from .results import RESULTS_FILE, SCHEMA_VERSION, aggregate, format_results_table, library_versions, machine_info

    t_start = time.perf_counter()
    checked = check_before_loading(margs, dargs, targs)
    output_dir = checked.output_dir
    if targs.torch_threads > 0:
        import torch

        torch.set_num_threads(targs.torch_threads)
    model_path = margs.model_name_or_path
    is_local = Path(model_path).expanduser().exists()
    if is_local:
        model_path = str(Path(model_path).expanduser())
    revision = None if is_local else margs.revision
    if is_local and margs.revision:
        logger.warning("--revision %s ignored: %s is a local folder", margs.revision, model_path)

    resolved = None
    if not is_local:
        from huggingface_hub import HfApi

        from .finetune import ModelLoadError

        try:
            resolved = HfApi().model_info(model_path, revision=revision).sha
        except Exception as exc:  # repo or revision not found, bad id: one clear line
            raise ModelLoadError(f"model {model_path!r}{'' if revision is None else f' at revision {revision!r}'} "
                                 f"is neither a local folder nor a reachable Hub repo: {type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
        revision_for_load = resolved  # pin: every seed loads exactly the same commit
    else:
        revision_for_load = None
    _check_positions(model_path, revision_for_load, dargs.max_seq_length)

    tok_path = margs.tokenizer_name_or_path or model_path
    tok_local = Path(tok_path).expanduser().exists()
    tok_revision = None if tok_local else (margs.tokenizer_revision or (revision_for_load if
                                                                        tok_path == model_path else None))
    tokenizer = load_tokenizer(tok_path, tok_revision)

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

    if checked.clear_output:  # --overwrite: the previous contents go only now that the inputs have loaded
        clear_output_dir(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    per_seed = []
    model = None
    for seed in targs.seeds:
        logger.info("seed %d: fine-tuning on %d train rows, selecting on %d validation rows", seed,
                    len(train_tok), len(val_tok))
        result = run_seed(seed, model_path=model_path, revision=revision_for_load, tokenizer=tokenizer, data=data,
                          train_tok=train_tok, val_tok=val_tok, test_tok_fn=test_tok_fn, args=targs,
                          seed_dir=output_dir / f"seed-{seed}")
        model = result.pop("_model")
        per_seed.append(result)
        logger.info("seed %d: best step %s, validation accuracy %.4f, test accuracy %.4f, macro-F1 %.4f", seed,
                    result["selection"]["best_step"], result["validation"]["accuracy"],
                    result["test"]["accuracy"], result["test"]["f1_macro"])

    ckpt_mb, ckpt_files = _checkpoint_weights(model_path, revision_for_load, is_local)
    test_events = [e for e in data.log.events if e["split"] == "test"]
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {
            "name_or_path": margs.model_name_or_path,
            "label": margs.model_label or Path(model_path.rstrip("/")).name,
            "is_local": is_local,
            "revision": margs.revision,
            "resolved_revision": resolved,
            "hub_repo_id": targs.hub_model_id or (None if is_local else model_path),
            "model_type": model.config.model_type,
            "architectures": model.config.architectures,
            "parameters": parameter_counts(model),
            "checkpoint_weights_mb": ckpt_mb,
            "checkpoint_weight_files": ckpt_files,
            "evaluated_model_mb": evaluated_model_size_mb(model),
            "size_note": "MB = 10^6 bytes; checkpoint = the encoder's weight files as stored; evaluated = the "
                         "fine-tuned classifier saved as safetensors",
        },
        "tokenizer": {"name_or_path": margs.tokenizer_name_or_path or margs.model_name_or_path,
                      "revision": tok_revision, "class": type(tokenizer).__name__, "is_fast": tokenizer.is_fast,
                      "vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id},
        "dataset": dict(data.info, token_stats=token_stats),
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
                    "tokenization_seconds_train_validation": round(tokenize_seconds, 2),
                    "train_seconds_per_seed": [r["timings"]["train_seconds"] for r in per_seed]},
        "versions": library_versions(),
        "machine": machine_info(),
        "command": ["eval_nsmc.py", *argv],
    }
    if data.info["validation_carved_from_train"]:
        results["dataset"]["note"] = "no validation split in the dataset: validation carved from train (stratified)"
    results_path = output_dir / RESULTS_FILE
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(format_results_table(results))
    print(f"\nresults written to {results_path}")
    return results


def update_card(results: dict[str, Any], margs, targs) -> None:
    """--update_model_card: the results into the model card (and, with --push_to_hub, the card to the Hub)."""
    from .card import update_model_card

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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `eval_nsmc.py` and `distilkobert eval`; returns an exit code (2: bad argument or input,
    one line naming it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from distilkobert.hub.endpoint import configure_hub_environment

    if not {"--compare", "-h", "--help"} & set(argv):  # comparing JSON files or --help needs no Hub
        configure_hub_environment()  # before any Hugging Face import: they read HF_ENDPOINT at import time
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .arguments import parse_args
    from .data import DatasetFormatError
    from .finetune import ModelLoadError

    try:
        margs, dargs, targs = parse_args(argv)
        if targs.compare:
            return run_compare(targs.compare, targs.compare_output)
        if targs.publish_classifier:  # refuse an existing version before hours of fine-tuning
            from distilkobert.serving.publish import check_version_free

            check_version_free(targs.publish_classifier, targs.classifier_version)
        results = evaluate_model(margs, dargs, targs, argv)
        if targs.update_model_card:
            update_card(results, margs, targs)
        if targs.publish_classifier:
            from distilkobert.serving.publish import publish_evaluated_classifier

            published = publish_evaluated_classifier(results, targs.output_dir, targs.publish_classifier,
                                                     targs.classifier_version)
            print(f"classifier published: {published.url} (version {published.tag}, commit {published.commit_sha})")
    except (DatasetFormatError, ModelLoadError, OSError, ValueError) as exc:
        print(f"eval_nsmc.py: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
