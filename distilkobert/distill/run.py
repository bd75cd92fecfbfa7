"""`distilkobert train` / `python train_distill.py recipes/NAME.yaml [--flag value ...]`.

Distils a student from a teacher (or trains MLM alone with `--teacher_name_or_path none`), evaluates held-out
MLM with fixed masks, writes `distillation_info.json` + model card and, with `--push_to_hub`, publishes the
checkpoints (branch `<version>-checkpoints`, tag `<version>-step-N`) and the final model (main, tag `<version>`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("distilkobert.distill")

TOKENIZER_PATTERNS = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                      "*.model", "tokenization_*.py", "added_tokens.json"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns a process exit code (2, with one line naming the argument, for bad arguments)."""
    from distilkobert.hub.endpoint import configure_hub_environment

    argv = list(sys.argv[1:] if argv is None else argv)
    if not {"-h", "--help"} & set(argv):  # --help needs no Hub
        configure_hub_environment()  # before any Hugging Face import: they read HF_ENDPOINT at import time
    from distilkobert.distill.arguments import parse_args
    from distilkobert.hub.publish import VersionExistsError

    try:
        run(*parse_args(argv))
    except (ValueError, OSError, VersionExistsError) as exc:
        print(f"train_distill: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return 0


def _setup_logging(training_args) -> None:
    import transformers

    level = logging.INFO if training_args.process_index == 0 else logging.WARNING
    # root stays at WARNING (quiet HTTP / server logs); this package and transformers say what they do
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.WARNING,
                        stream=sys.stdout)
    logging.getLogger("distilkobert.distill").setLevel(level)
    # transformers' INFO level dumps every config it loads; its warnings are what a user needs to see
    transformers.utils.logging.set_verbosity(logging.WARNING)


def copy_tokenizer_files(source: str, revision: str | None, output_dir: Path) -> list[str]:
    """Copy the tokenizer folder's own files (fast tokenizer.json, slow files, remote code) into output_dir."""
    import fnmatch

    src = Path(source)
    if not src.is_dir():
        from huggingface_hub import snapshot_download

        src = Path(snapshot_download(source, revision=revision, allow_patterns=TOKENIZER_PATTERNS))
    copied = []
    for item in sorted(src.iterdir()):
        if item.is_file() and any(fnmatch.fnmatch(item.name, p) for p in TOKENIZER_PATTERNS):
            shutil.copy2(item, output_dir / item.name)
            copied.append(item.name)
    return copied


def _student_summary(model, model_type: str) -> dict:
    from distilkobert.distill.student import count_parameters

    c = model.config
    if model_type == "bert":
        dims = dict(n_layers=c.num_hidden_layers, dim=c.hidden_size, n_heads=c.num_attention_heads,
                    hidden_dim=c.intermediate_size)
    else:
        dims = dict(n_layers=c.n_layers, dim=c.dim, n_heads=c.n_heads, hidden_dim=c.hidden_dim)
    return {"model_type": c.model_type, **dims, "vocab_size": c.vocab_size, "n_params": count_parameters(model)}


def _resume_value(value, output_dir: Path):
    """`--resume_from_checkpoint`: None, a checkpoint path, or for true/last the newest COMPLETE checkpoint.

    Trainer writes trainer_state.json last; a process killed while saving leaves a checkpoint folder without it,
    which Trainer's own "last checkpoint" would pick and then fail on. Such folders are skipped and reported.
    """
    if value is None or str(value).lower() in ("false", "0", "no", ""):
        return None
    if str(value).lower() not in ("true", "last", "1", "yes"):
        return value
    folders = sorted((p for p in output_dir.glob("checkpoint-*") if p.is_dir() and p.name[11:].isdigit()),
                     key=lambda p: int(p.name[11:]), reverse=True)
    for folder in folders:
        if (folder / "trainer_state.json").is_file():
            return str(folder)
        logger.warning("resume: %s is incomplete (no trainer_state.json, the run stopped while saving it): skipped",
                       folder)
    raise ValueError(f"--resume_from_checkpoint {value}: no complete checkpoint in {output_dir}")


@dataclass
class Checked:
    """What the checks before loading found out and `run` reuses."""

    tokenizer: Any
    layer_map: list[tuple[int, int]]
    output_dir: Path
    clear_output: bool


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def check_before_loading(model_args, data_args, distill_args, training_args) -> Checked:
    """Every check that needs files but no model weights, before anything is loaded or tokenized.

    References (folder or valid Hub id, Hub reachable), the output folder, the teacher's config (read alone,
    cheap): layer indices, positions vs --max_seq_length, vocabulary vs the tokenizer; the student's positions;
    --mse_layer_map; a free --version on the Hub. Raises ValueError / OSError with one line naming the argument.
    """
    from transformers import AutoConfig, AutoTokenizer, BertConfig, DistilBertConfig

    from distilkobert.distill.arguments import resume_requested
    from distilkobert.distill.losses import parse_layer_map
    from distilkobert.distill.publishing import check_version_available
    from distilkobert.hub.endpoint import require_hub, resolve_model_reference
    from distilkobert.output_dir import check_output_dir

    if distill_args.global_batch_size:
        from distilkobert.distill.distributed import accumulation_for_global_batch

        training_args.gradient_accumulation_steps = accumulation_for_global_batch(
            distill_args.global_batch_size, training_args.per_device_train_batch_size, training_args.world_size)
    tok_src, tok_rev = model_args.tokenizer_source
    tok_flag = "--tokenizer_name_or_path" if model_args.tokenizer_name_or_path else "--teacher_name_or_path"
    references = {tok_flag: (tok_src, "model")}
    if model_args.has_teacher:
        references["--teacher_name_or_path"] = (model_args.teacher_name_or_path, "model")
    dataset = data_args.dataset_name_or_path
    if not Path(dataset).expanduser().is_file():  # a .txt[.gz] corpus file is a valid dataset too
        references["--dataset_name_or_path"] = (dataset, "dataset")
    for flag, (name, repo_type) in references.items():
        resolve_model_reference(name, flag)
        require_hub(name, flag, repo_type=repo_type)

    inputs = {flag: name for flag, (name, _) in references.items()}
    inputs.update({"--dataset_name_or_path": dataset, "--cache_dir": data_args.cache_dir,
                   "recipe": distill_args.recipe})
    # a resumed run continues in its own folder: its contents are kept (--overwrite with it is refused earlier)
    resume = resume_requested(training_args.resume_from_checkpoint)
    output_dir = check_output_dir(training_args.output_dir, distill_args.overwrite, inputs=inputs,
                                  flag="--output_dir", keep_contents=resume)
    clear_output = distill_args.overwrite and output_dir.is_dir() and any(output_dir.iterdir())

    teacher_config = None
    if model_args.has_teacher:
        name = model_args.teacher_name_or_path
        try:
            teacher_config = AutoConfig.from_pretrained(name, revision=model_args.teacher_revision)
        except (OSError, ValueError) as exc:
            raise ValueError(f"--teacher_name_or_path {name}: cannot read its config.json ({_first_line(exc)})") \
                from None
        if getattr(teacher_config, "model_type", None) != "bert":
            raise ValueError(f"--teacher_name_or_path {name}: only BERT-family teachers are supported (model_type "
                             f"{getattr(teacher_config, 'model_type', None)!r})")
        architectures = getattr(teacher_config, "architectures", None) or []
        if distill_args.alpha_ce > 0 and architectures and not any("MaskedLM" in a for a in architectures):
            # saved without its MLM head (e.g. BertModel); load_teacher checks the weights themselves again
            raise ValueError(f"teacher {name} has no MLM head (encoder only, {architectures[0]}): --alpha_ce must "
                             "be 0 (use --alpha_cos / --alpha_mse)")
        n_layers = teacher_config.num_hidden_layers
        bad = [i for i in model_args.student_layers if i >= n_layers]
        if bad:
            raise ValueError(f"--student_layers {bad}: out of range, the teacher has {n_layers} layers "
                             f"(0 to {n_layers - 1})")
        if data_args.max_seq_length > teacher_config.max_position_embeddings:
            raise ValueError(f"--max_seq_length {data_args.max_seq_length}: above the teacher's "
                             f"max_position_embeddings ({teacher_config.max_position_embeddings})")

    try:
        tokenizer = AutoTokenizer.from_pretrained(tok_src, revision=tok_rev)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{tok_flag} {tok_src}: cannot load a tokenizer ({_first_line(exc)})") from None
    for attr in ("pad_token_id", "mask_token_id", "cls_token_id", "sep_token_id"):
        if getattr(tokenizer, attr) is None:
            raise ValueError(f"{tok_flag} {tok_src}: the tokenizer's {attr} is not defined")
    # more embedding rows than tokens is fine: padding rows no id reaches (multilingual-e5 has 35)
    if teacher_config is not None and len(tokenizer) > teacher_config.vocab_size:
        raise ValueError(f"{tok_flag} {tok_src}: the tokenizer has {len(tokenizer)} tokens but the teacher's "
                         f"vocab_size is {teacher_config.vocab_size}; use the teacher's tokenizer")

    overrides = model_args.student_config
    default_config = BertConfig if model_args.student_model_type == "bert" else DistilBertConfig
    positions = overrides.get("max_position_embeddings") or (
        teacher_config.max_position_embeddings if teacher_config is not None
        else default_config().max_position_embeddings)
    if data_args.max_seq_length > positions:
        raise ValueError(f"--max_seq_length {data_args.max_seq_length}: above the student's max_position_embeddings "
                         f"({positions}; set it with --student_config)")

    layer_map = []
    if teacher_config is not None and distill_args.alpha_mse > 0:
        layer_map = parse_layer_map(distill_args.mse_layer_map, len(model_args.student_layers),
                                    teacher_config.num_hidden_layers)
    if training_args.push_to_hub:
        require_hub(training_args.hub_model_id, "--hub_model_id")
        check_version_available(training_args.hub_model_id, distill_args.version)  # refuse before any training
    return Checked(tokenizer=tokenizer, layer_map=layer_map, output_dir=output_dir, clear_output=clear_output)


def run(model_args, data_args, distill_args, training_args) -> dict:
    """Check, train, evaluate, save and publish; returns the distillation info dict."""
    import torch
    from transformers import set_seed

    from distilkobert.distill import publishing as run_hub
    from distilkobert.distill.collator import DistillationCollator, masking_probabilities, save_token_counts
    from distilkobert.distill.data import cache_report, load_corpus, tokenize_corpus
    from distilkobert.distill.heldout_mlm import heldout_mlm
    from distilkobert.distill.losses import LossConfig
    from distilkobert.distill.student import build_student, disable_row_gathered_forward, load_teacher
    from distilkobert.distill.trainer import DistillationTrainer
    from distilkobert.environment import library_versions, machine_info
    from distilkobert.output_dir import clear_output_dir

    _setup_logging(training_args)
    checked = check_before_loading(model_args, data_args, distill_args, training_args)
    set_seed(training_args.seed)
    output_dir = checked.output_dir
    push = bool(training_args.push_to_hub)
    training_args.push_to_hub = False  # publication is ours (versioned), not Trainer's
    training_args.remove_unused_columns = False
    training_args.prediction_loss_only = True  # Trainer evaluation (if asked for) reports the loss only
    repo_id = training_args.hub_model_id

    # -- tokenizer, teacher, student ----------------------------------------------------------------------------
    tok_src, tok_rev = model_args.tokenizer_source
    tokenizer = checked.tokenizer
    teacher = None
    if model_args.has_teacher:
        teacher = load_teacher(model_args.teacher_name_or_path, model_args.teacher_revision)
        if distill_args.alpha_ce > 0 and not teacher.has_mlm_head:
            raise ValueError(f"teacher {model_args.teacher_name_or_path} has no MLM head (encoder only): "
                             "--alpha_ce must be 0 (use --alpha_cos / --alpha_mse)")
    layers = model_args.student_layers
    student = build_student(tokenizer, model_type=model_args.student_model_type, teacher=teacher, layers=layers,
                            config_overrides=model_args.student_config)
    layer_map = checked.layer_map
    loss_config = LossConfig(alpha_ce=distill_args.alpha_ce, alpha_mlm=distill_args.alpha_mlm,
                             alpha_cos=distill_args.alpha_cos, alpha_mse=distill_args.alpha_mse,
                             temperature=distill_args.temperature, ce_positions=distill_args.ce_positions,
                             layer_map=layer_map, full_logits=distill_args.full_logits)

    # -- data ---------------------------------------------------------------------------------------------------
    cache_dir = data_args.cache_dir or os.path.join(os.path.expanduser("~"), ".cache", "distilkobert", "tokenized")
    with training_args.main_process_first(desc="tokenize corpus"):
        corpus, data_identity = load_corpus(data_args.dataset_name_or_path, data_args.dataset_revision,
                             text_column=data_args.text_column, train_split=data_args.train_split,
                             validation_split=data_args.validation_split,
                             validation_fraction=data_args.validation_fraction, seed=training_args.seed)
        if data_args.max_train_texts:
            train = corpus[data_args.train_split]
            corpus[data_args.train_split] = train.select(range(min(data_args.max_train_texts, len(train))))
        dataset_id = f"{data_identity}:{data_args.max_train_texts}"
        tokenized, counts, cache_folder = tokenize_corpus(
            corpus, tokenizer, max_seq_length=data_args.max_seq_length, min_seq_length=data_args.min_seq_length,
            packing=data_args.packing, cache_dir=cache_dir, dataset_id=dataset_id,
            num_proc=data_args.preprocessing_num_workers)
    train_ds, eval_ds = tokenized[data_args.train_split], tokenized[data_args.validation_split]
    if len(train_ds) == 0:
        raise ValueError(f"dataset {data_args.dataset_name_or_path}: no training sequence left after tokenization")
    collator_kwargs = dict(pad_token_id=tokenizer.pad_token_id, mask_token_id=tokenizer.mask_token_id,
                           special_ids=tokenizer.all_special_ids, mlm_probability=data_args.mlm_probability,
                           word_mask=data_args.word_mask, word_keep=data_args.word_keep,
                           word_rand=data_args.word_rand)
    token_probs = masking_probabilities(counts, tokenizer.all_special_ids, data_args.mlm_smoothing)
    collator = DistillationCollator(token_probs, seed=training_args.seed, **collator_kwargs)

    # -- training -----------------------------------------------------------------------------------------------
    teacher_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}.get(
        model_args.teacher_dtype)
    if model_args.teacher_dtype == "auto":
        teacher_dtype = torch.bfloat16 if training_args.bf16 else torch.float16 if training_args.fp16 else None
    callbacks = []
    if push and distill_args.push_checkpoints:
        branch = distill_args.checkpoint_branch or f"{distill_args.version}-checkpoints"
        callbacks.append(run_hub.CheckpointPushCallback(repo_id, distill_args.version, branch,
                                                        private=training_args.hub_private_repo or False))
    use_eval = str(getattr(training_args.eval_strategy, "value", training_args.eval_strategy)) != "no"
    trainer = DistillationTrainer(model=student, args=training_args, data_collator=collator, train_dataset=train_ds,
                                  eval_dataset=eval_ds if use_eval else None,
                                  processing_class=tokenizer, teacher=teacher.model if teacher else None,
                                  loss_config=loss_config, teacher_dtype=teacher_dtype, callbacks=callbacks)
    if checked.clear_output and training_args.process_index == 0:
        # --overwrite: the previous contents go only now that everything has loaded (one process clears; the
        # others write nothing there before the first checkpoint)
        clear_output_dir(output_dir)
    start = time.time()
    train_result = trainer.train(resume_from_checkpoint=_resume_value(training_args.resume_from_checkpoint, output_dir))
    elapsed = time.time() - start
    disable_row_gathered_forward(student)
    trainer.save_model(str(output_dir))  # every rank calls it (sharded setups need that); only rank 0 writes
    if not trainer.is_world_process_zero():
        return {}

    # -- evaluate, describe, publish (main process) -------------------------------------------------------------
    copy_tokenizer_files(tok_src, tok_rev, output_dir)
    save_token_counts(counts, output_dir)
    eval_seqs = eval_ds.select(range(min(len(eval_ds), data_args.max_eval_sequences)))
    eval_collator = DistillationCollator(token_probs, **collator_kwargs)
    held_out = heldout_mlm(student, eval_seqs, eval_collator, seed=data_args.eval_mask_seed,
                           batch_size=training_args.per_device_eval_batch_size, device=training_args.device,
                           repeats=data_args.eval_mask_repeats)
    teacher_held_out = None
    if teacher is not None and teacher.has_mlm_head:
        teacher_held_out = heldout_mlm(teacher.model, eval_seqs, eval_collator, seed=data_args.eval_mask_seed,
                                       batch_size=training_args.per_device_eval_batch_size,
                                       device=training_args.device, repeats=data_args.eval_mask_repeats)
    state = trainer.state
    report = cache_report(cache_folder)
    n_dev = training_args.world_size
    info = {
        "version": distill_args.version,
        "teacher": None if teacher is None else {
            "name_or_path": teacher.name_or_path, "revision": teacher.revision, "n_layers": teacher.n_layers,
            "has_mlm_head": teacher.has_mlm_head},
        "student": _student_summary(student, model_args.student_model_type),
        "student_layers": layers if teacher is not None else None,
        "losses": {"alpha_ce": distill_args.alpha_ce, "alpha_mlm": distill_args.alpha_mlm,
                   "alpha_cos": distill_args.alpha_cos, "alpha_mse": distill_args.alpha_mse,
                   "temperature": distill_args.temperature, "ce_positions": distill_args.ce_positions,
                   "mse_layer_map": [list(p) for p in layer_map] or None},
        "corpus": {"name_or_path": data_args.dataset_name_or_path, "revision": data_args.dataset_revision,
                   "n_train_sequences": len(train_ds),
                   "n_train_tokens": int(report[data_args.train_split]["tokens"]),
                   "tokenization": report, "packing": data_args.packing},
        "training": {"global_step": state.global_step, "epochs": round(float(state.epoch or 0), 4),
                     "per_device_batch": training_args.per_device_train_batch_size,
                     "grad_accum": training_args.gradient_accumulation_steps,
                     "effective_batch": training_args.per_device_train_batch_size
                     * training_args.gradient_accumulation_steps * n_dev,
                     "learning_rate": training_args.learning_rate, "max_seq_length": data_args.max_seq_length,
                     "seed": training_args.seed, "train_loss": getattr(train_result, "training_loss", None)},
        "hardware": {"device": training_args.device.type,
                     "device_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
                     "n_devices": n_dev,
                     "dtype": "bf16" if training_args.bf16 else "fp16" if training_args.fp16 else "fp32",
                     **machine_info()},
        "versions": library_versions(),
        "time_s": round(elapsed, 2),
        "held_out": held_out,
        "teacher_held_out": teacher_held_out,
        "recipe": _recipe_info(distill_args.recipe),
    }
    (output_dir / "distillation_info.json").write_text(json.dumps(info, indent=2, ensure_ascii=False), "utf-8")
    logger.info("held-out MLM: %s", held_out)
    _write_card(output_dir, repo_id if push else None)
    if push:
        res = run_hub.publish_final(output_dir, repo_id, distill_args.version,
                                    private=training_args.hub_private_repo or False)
        info["published"] = {"repo_id": repo_id, "tag": distill_args.version,
                             "commit_sha": getattr(res, "commit_sha", None)}
        logger.info("published %s@%s", repo_id, distill_args.version)
    return info


def _recipe_info(path: str | None) -> dict | None:
    if not path:
        return None
    try:
        return {"path": str(path), "content": Path(path).read_text(encoding="utf-8")}
    except OSError:
        return {"path": str(path), "content": None}


def _write_card(output_dir: Path, repo_id: str | None) -> None:
    """README.md of the model folder, rendered from distillation_info.json (and nsmc_results.json if present)."""
    from distilkobert.model_card import write_model_card

    write_model_card(output_dir, repo_id=repo_id)
