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
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

logger = logging.getLogger("distilkobert.evaluation")


def _parse(argv: Sequence[str]):
    from transformers import HfArgumentParser

    from .arguments import DataArguments, EvalArguments, ModelArguments

    parser = HfArgumentParser((ModelArguments, DataArguments, EvalArguments),
                              prog="eval_nsmc.py", description=__doc__.split("\n\n")[0])
    return parser, parser.parse_args_into_dataclasses(args=list(argv))


def run_compare(paths: Sequence[str], output: Optional[str]) -> int:
    from .results import compare_rows, format_compare_table, load_results, write_compare_output

    rows = compare_rows([load_results(p) for p in paths])
    table = format_compare_table(rows)
    print(table)
    if output:
        write_compare_output(rows, table, output)
    return 0


def _checkpoint_weights(model_path: str, revision: Optional[str], is_local: bool) -> tuple[Optional[float], list]:
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


def evaluate_model(margs, dargs, eargs, argv: Sequence[str]) -> dict[str, Any]:
    """Run the whole protocol and return the results dict (also written to OUTPUT_DIR/nsmc_results.json)."""
    from distilkobert.hub.endpoint import require_hub

    from .data import load_nsmc, tokenize_split
    from .finetune import count_parameters, evaluated_model_size_mb, load_tokenizer, resolve_device, run_seed
    from .results import (RESULTS_FILE, SCHEMA_VERSION, aggregate, format_results_table, library_versions,
                          machine_info)

    t_start = time.perf_counter()
    # Offline without a reachable Hub: one line now, not the clients' retries and traceback later.
    require_hub(margs.model_name_or_path, "--model_name_or_path")
    require_hub(margs.tokenizer_name_or_path, "--tokenizer_name_or_path")
    require_hub(dargs.dataset_name, "--dataset_name", repo_type="dataset")
    output_dir = Path(eargs.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(eargs.device)
    if eargs.torch_threads > 0:
        import torch

        torch.set_num_threads(eargs.torch_threads)
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

    tok_path = margs.tokenizer_name_or_path or model_path
    tok_local = Path(tok_path).expanduser().exists()
    tok_revision = None if tok_local else (margs.tokenizer_revision or (revision_for_load if
                                                                        tok_path == model_path else None))
    tokenizer = load_tokenizer(tok_path, tok_revision)

    t0 = time.perf_counter()
    data = load_nsmc(dargs.dataset_name, dargs.dataset_revision, validation_fraction=dargs.validation_fraction,
                     data_seed=dargs.data_seed, max_train_samples=dargs.max_train_samples,
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

    per_seed = []
    model = None
    for seed in eargs.seeds:
        logger.info("seed %d: fine-tuning on %d train rows, selecting on %d validation rows", seed,
                    len(train_tok), len(val_tok))
        result = run_seed(seed, model_path=model_path, revision=revision_for_load, tokenizer=tokenizer, data=data,
                          train_tok=train_tok, val_tok=val_tok, test_tok_fn=test_tok_fn, args=eargs,
                          device=device, seed_dir=output_dir / f"seed-{seed}")
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
            "hub_repo_id": eargs.hub_model_id or (None if is_local else model_path),
            "model_type": model.config.model_type,
            "architectures": model.config.architectures,
            "parameters": count_parameters(model),
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
        "hyperparameters": {**asdict(dargs), **{k: v for k, v in asdict(eargs).items()
                                                if k not in ("compare", "compare_output")},
                            "optimizer": "adamw_torch (Trainer default)", "lr_scheduler": "linear",
                            "metric_for_best_model": "validation accuracy", "load_best_model_at_end": True},
        "per_seed": per_seed,
        "aggregate": aggregate(per_seed),
        "selection": {
            "protocol": "per seed: fine-tune on train; evaluate on validation every "
                        + (f"{eargs.eval_steps} steps" if eargs.eval_steps > 0 else "epoch")
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


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `eval_nsmc.py` and `distilkobert eval`; returns an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from distilkobert.hub.endpoint import HubUnreachableError, configure_hub_environment

    if not {"--compare", "-h", "--help"} & set(argv):  # comparing JSON files or --help needs no Hub
        configure_hub_environment()  # before any Hugging Face import: they read HF_ENDPOINT at import time
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser, (margs, dargs, eargs) = _parse(argv)
    from .data import DatasetFormatError
    from .finetune import ModelLoadError

    try:
        if eargs.compare:
            return run_compare(eargs.compare, eargs.compare_output)
        if not margs.model_name_or_path or not eargs.output_dir:
            parser.error("--model_name_or_path and --output_dir are required (unless --compare is given)")
        if eargs.push_to_hub and not eargs.update_model_card:
            parser.error("--push_to_hub pushes the model card: give --update_model_card too")
        if not eargs.seeds:
            parser.error("--seeds needs at least one seed")
        results = evaluate_model(margs, dargs, eargs, argv)
        if eargs.update_model_card:
            from .card import update_model_card

            card = update_model_card(results, model_path=results["model"]["name_or_path"]
                                     if not results["model"]["is_local"] else str(Path(margs.model_name_or_path)
                                                                                   .expanduser()),
                                     is_local=results["model"]["is_local"], revision=margs.revision,
                                     output_dir=Path(eargs.output_dir), push_to_hub=eargs.push_to_hub,
                                     hub_model_id=eargs.hub_model_id, card_branch=eargs.card_branch)
            results["model_card"] = card
            Path(eargs.output_dir, "nsmc_results.json").write_text(
                json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            print("model card: " + ", ".join(card["written"])
                  + (f"; committed to {card['pushed']['repo_id']}@{card['pushed']['branch']} "
                     f"({card['pushed']['reason']})" if card["pushed"] else ""))
    except (DatasetFormatError, ModelLoadError, FileNotFoundError, ValueError, HubUnreachableError) as exc:
        print(f"eval_nsmc.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
