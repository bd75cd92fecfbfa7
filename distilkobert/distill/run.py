"""`distilkobert train` / `python train_distill.py recipes/NAME.yaml [--flag value ...]`.

Distils a student from a teacher (or trains MLM alone with `--teacher_name_or_path none`), evaluates held-out
MLM with fixed masks, writes `distillation_info.json` + model card and, with `--push_to_hub`, publishes the
checkpoints (branch `<version>-checkpoints`, tag `<version>-step-N`) and the final model (main, tag `<version>`).

The program that starts (`distilkobert`, `train_distill.py`) configures the Hub endpoint before it imports this
module: the Hugging Face libraries imported here read HF_ENDPOINT at import time.
"""

from __future__ import annotations

import fnmatch
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

import torch
import transformers
from huggingface_hub import snapshot_download
from transformers import AutoConfig, AutoTokenizer, BertConfig, DistilBertConfig, set_seed

from distilkobert.common.environment import library_versions, machine_info
from distilkobert.common.output_dir import check_output_dir, clear_output_dir
from distilkobert.distill.arguments import (
    DistillationConfig,
    DistillationDataArguments,
    DistillationModelArguments,
    parse_args,
    resume_requested,
)
from distilkobert.distill.collator import DistillationCollator, masking_probabilities, save_token_counts
from distilkobert.distill.data import cache_report, load_corpus, tokenize_corpus
from distilkobert.distill.distributed import accumulation_for_global_batch
from distilkobert.distill.heldout_mlm import heldout_mlm
from distilkobert.distill.losses import parse_layer_map
from distilkobert.distill.publishing import CheckpointPushCallback, check_version_available, publish_final
from distilkobert.distill.student import (
    Teacher,
    build_student,
    count_parameters,
    disable_row_gathered_forward,
    load_teacher,
)
from distilkobert.distill.trainer import DistillationTrainer
from distilkobert.hub.endpoint import require_hub, resolve_model_reference
from distilkobert.hub.publish import VersionExistsError
from distilkobert.model_card import write_model_card

logger = logging.getLogger("distilkobert.distill")

TOKENIZER_PATTERNS = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                      "*.model", "tokenization_*.py", "added_tokens.json"]
TEACHER_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns a process exit code (2, with one line naming the argument, for bad arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        run(*parse_args(argv))
    except (ValueError, OSError, VersionExistsError) as exc:
        print(f"train_distill: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return 0


def _setup_logging(args: DistillationConfig) -> None:
    level = logging.INFO if args.process_index == 0 else logging.WARNING
    # root stays at WARNING (quiet HTTP / server logs); this package and transformers say what they do
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.WARNING,
                        stream=sys.stdout)
    logging.getLogger("distilkobert.distill").setLevel(level)
    # transformers' INFO level dumps every config it loads; its warnings are what a user needs to see
    transformers.utils.logging.set_verbosity(logging.WARNING)


def copy_tokenizer_files(source: str, revision: str | None, output_dir: Path) -> list[str]:
    """Copy the tokenizer folder's own files (fast tokenizer.json, slow files, remote code) into output_dir."""
    src = Path(source)
    if not src.is_dir():
        src = Path(snapshot_download(source, revision=revision, allow_patterns=TOKENIZER_PATTERNS))
    copied = []
    for item in sorted(src.iterdir()):
        if item.is_file() and any(fnmatch.fnmatch(item.name, p) for p in TOKENIZER_PATTERNS):
            shutil.copy2(item, output_dir / item.name)
            copied.append(item.name)
    return copied


def _student_summary(model, model_type: str) -> dict:
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


# ------------------------------------------------------------------------------------- checks before loading


@dataclass
class Checked:
    """What the checks before loading found out and `run` reuses."""

    tokenizer: Any
    output_dir: Path
    clear_output: bool


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def check_before_loading(model_args: DistillationModelArguments, data_args: DistillationDataArguments,
                         args: DistillationConfig) -> Checked:
    """Every check that needs files but no model weights, before anything is loaded or tokenized.

    References (folder or valid Hub id, Hub reachable), the output folder, the teacher's config (read alone,
    cheap): layer indices, positions vs --max_seq_length, vocabulary vs the tokenizer; the student's positions;
    --mse_layer_map; a free --version on the Hub. Raises ValueError / OSError with one line naming the argument.
    """
    if args.global_batch_size:
        args.gradient_accumulation_steps = accumulation_for_global_batch(
            args.global_batch_size, args.per_device_train_batch_size, args.world_size)
    references = _check_references(model_args, data_args)
    output_dir, clear_output = _check_output_folder(data_args, args, references)
    teacher_config = _read_teacher_config(model_args, data_args, args)
    tokenizer = _load_tokenizer(model_args, teacher_config)
    _check_student_positions(model_args, data_args, teacher_config)
    if teacher_config is not None and args.alpha_mse > 0:  # the pairs are valid (the trainer uses them)
        parse_layer_map(args.mse_layer_map, len(model_args.student_layers), teacher_config.num_hidden_layers)
    if args.push_to_hub:
        require_hub(args.hub_model_id, "--hub_model_id")
        check_version_available(args.hub_model_id, args.version)  # refuse before any training
    return Checked(tokenizer=tokenizer, output_dir=output_dir, clear_output=clear_output)


def _tokenizer_flag(model_args: DistillationModelArguments) -> str:
    """The flag that names the tokenizer: its own, else the teacher's."""
    return "--tokenizer_name_or_path" if model_args.tokenizer_name_or_path else "--teacher_name_or_path"


def _check_references(model_args: DistillationModelArguments,
                      data_args: DistillationDataArguments) -> dict[str, tuple[str, str]]:
    """{flag: (name, repo type)} of the tokenizer, teacher and corpus, each a folder or a Hub id the Hub has."""
    tok_src, _ = model_args.tokenizer_source
    references = {_tokenizer_flag(model_args): (tok_src, "model")}
    if model_args.has_teacher:
        references["--teacher_name_or_path"] = (model_args.teacher_name_or_path, "model")
    dataset = data_args.dataset_name_or_path
    if not Path(dataset).expanduser().is_file():  # a .txt[.gz] corpus file is a valid dataset too
        references["--dataset_name_or_path"] = (dataset, "dataset")
    for flag, (name, repo_type) in references.items():
        resolve_model_reference(name, flag)
        require_hub(name, flag, repo_type=repo_type)
    return references


def _check_output_folder(data_args: DistillationDataArguments, args: DistillationConfig,
                         references: dict[str, tuple[str, str]]) -> tuple[Path, bool]:
    """(the output folder, whether --overwrite must clear it once everything has loaded)."""
    inputs = {flag: name for flag, (name, _) in references.items()}
    inputs.update({"--dataset_name_or_path": data_args.dataset_name_or_path, "--cache_dir": data_args.cache_dir,
                   "recipe": args.recipe})
    # a resumed run continues in its own folder: its contents are kept (--overwrite with it is refused earlier)
    resume = resume_requested(args.resume_from_checkpoint)
    output_dir = check_output_dir(args.output_dir, args.overwrite, inputs=inputs,
                                  flag="--output_dir", keep_contents=resume)
    return output_dir, args.overwrite and output_dir.is_dir() and any(output_dir.iterdir())


def _read_teacher_config(model_args: DistillationModelArguments, data_args: DistillationDataArguments,
                         args: DistillationConfig):
    """The teacher's config (None without a teacher), checked against the student's layers and the lengths."""
    if not model_args.has_teacher:
        return None
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
    if args.alpha_ce > 0 and architectures and not any("MaskedLM" in a for a in architectures):
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
    return teacher_config


def _load_tokenizer(model_args: DistillationModelArguments, teacher_config):
    """The tokenizer, with the special tokens the masking needs and no more tokens than the teacher's rows."""
    tok_src, tok_rev = model_args.tokenizer_source
    tok_flag = _tokenizer_flag(model_args)
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
    return tokenizer


def _check_student_positions(model_args: DistillationModelArguments, data_args: DistillationDataArguments,
                             teacher_config) -> None:
    """--max_seq_length fits the student's positions (its --student_config, else the teacher's, else default)."""
    overrides = model_args.student_config
    default_config = BertConfig if model_args.student_model_type == "bert" else DistilBertConfig
    positions = overrides.get("max_position_embeddings") or (
        teacher_config.max_position_embeddings if teacher_config is not None
        else default_config().max_position_embeddings)
    if data_args.max_seq_length > positions:
        raise ValueError(f"--max_seq_length {data_args.max_seq_length}: above the student's max_position_embeddings "
                         f"({positions}; set it with --student_config)")


# ------------------------------------------------------------------------------------------------------ run


@dataclass
class TrainingData:
    """The tokenized corpus and the masking that the training and the held-out evaluation share."""

    train: Any
    eval: Any
    counts: Any  # token counts of the training split (masking probabilities, saved with the model)
    cache_folder: Path
    token_probs: torch.Tensor
    collator_kwargs: dict[str, Any]

    def collator(self, **kwargs) -> DistillationCollator:
        return DistillationCollator(self.token_probs, **kwargs, **self.collator_kwargs)


def run(model_args: DistillationModelArguments, data_args: DistillationDataArguments,
        args: DistillationConfig) -> dict:
    """Check, train, evaluate, save and publish; returns the distillation info dict."""
    _setup_logging(args)
    checked = check_before_loading(model_args, data_args, args)
    set_seed(args.seed)
    output_dir = checked.output_dir
    push = bool(args.push_to_hub)
    args.push_to_hub = False  # publication is ours (versioned), not Trainer's
    args.remove_unused_columns = False
    args.prediction_loss_only = True  # Trainer evaluation (if asked for) reports the loss only
    repo_id = args.hub_model_id

    teacher, student = _load_models(model_args, args, checked.tokenizer)
    data = _load_data(data_args, args, checked.tokenizer)
    trainer = _build_trainer(model_args, args, student, teacher, data, checked.tokenizer,
                             repo_id if push else None)
    if checked.clear_output and args.process_index == 0:
        # --overwrite: the previous contents go only now that everything has loaded (one process clears; the
        # others write nothing there before the first checkpoint)
        clear_output_dir(output_dir)
    start = time.time()
    train_result = trainer.train(resume_from_checkpoint=_resume_value(args.resume_from_checkpoint, output_dir))
    elapsed = time.time() - start
    disable_row_gathered_forward(student)
    trainer.save_model(str(output_dir))  # every rank calls it (sharded setups need that); only rank 0 writes
    if not trainer.is_world_process_zero():
        return {}

    # -- evaluate, describe, publish (main process) -------------------------------------------------------------
    copy_tokenizer_files(*model_args.tokenizer_source, output_dir)
    save_token_counts(data.counts, output_dir)
    held_out, teacher_held_out = _evaluate(data_args, args, student, teacher, data)
    info = {
        "version": args.version,
        "teacher": None if teacher is None else {
            "name_or_path": teacher.name_or_path, "revision": teacher.revision, "n_layers": teacher.n_layers,
            "has_mlm_head": teacher.has_mlm_head},
        "student": _student_summary(student, model_args.student_model_type),
        "student_layers": model_args.student_layers if teacher is not None else None,
        "losses": args.record(trainer.layer_map),
        "corpus": _corpus_info(data_args, data),
        "training": _training_info(data_args, args, trainer.state, train_result),
        "hardware": _hardware_info(args),
        "versions": library_versions(),
        "time_s": round(elapsed, 2),
        "held_out": held_out,
        "teacher_held_out": teacher_held_out,
        "recipe": _recipe_info(args.recipe),
    }
    (output_dir / "distillation_info.json").write_text(json.dumps(info, indent=2, ensure_ascii=False), "utf-8")
    logger.info("held-out MLM: %s", held_out)
    # README.md of the model folder, rendered from distillation_info.json (and nsmc_results.json if present)
    write_model_card(output_dir, repo_id=repo_id if push else None)
    if push:
        info["published"] = _publish(output_dir, repo_id, args)
    return info


def _load_models(model_args: DistillationModelArguments, args: DistillationConfig,
                 tokenizer) -> tuple[Teacher | None, torch.nn.Module]:
    """(the teacher, or None, and the student built from it: its layers copied, or initialised at random)."""
    teacher = None
    if model_args.has_teacher:
        teacher = load_teacher(model_args.teacher_name_or_path, model_args.teacher_revision)
        if args.alpha_ce > 0 and not teacher.has_mlm_head:
            raise ValueError(f"teacher {model_args.teacher_name_or_path} has no MLM head (encoder only): "
                             "--alpha_ce must be 0 (use --alpha_cos / --alpha_mse)")
    student = build_student(tokenizer, model_type=model_args.student_model_type, teacher=teacher,
                            layers=model_args.student_layers, config_overrides=model_args.student_config)
    return teacher, student


def _load_data(data_args: DistillationDataArguments, args: DistillationConfig, tokenizer) -> TrainingData:
    """The corpus, tokenized and packed once (cached; the main process first), and its masking probabilities."""
    cache_dir = data_args.cache_dir or os.path.join(os.path.expanduser("~"), ".cache", "distilkobert", "tokenized")
    with args.main_process_first(desc="tokenize corpus"):
        corpus, data_identity = load_corpus(data_args.dataset_name_or_path, data_args.dataset_revision,
                                            text_column=data_args.text_column, train_split=data_args.train_split,
                                            validation_split=data_args.validation_split,
                                            validation_fraction=data_args.validation_fraction, seed=args.seed)
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
    return TrainingData(train=train_ds, eval=eval_ds, counts=counts, cache_folder=cache_folder,
                        token_probs=token_probs, collator_kwargs=collator_kwargs)


def _teacher_dtype(model_args: DistillationModelArguments, args: DistillationConfig) -> torch.dtype | None:
    """--teacher_dtype; auto: bf16 / fp16 when training in that precision, else None (the student's dtype)."""
    if model_args.teacher_dtype == "auto":
        return torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else None
    return TEACHER_DTYPES.get(model_args.teacher_dtype)


def _build_trainer(model_args: DistillationModelArguments, args: DistillationConfig, student,
                   teacher: Teacher | None, data: TrainingData, tokenizer,
                   repo_id: str | None) -> DistillationTrainer:
    """The trainer; with `repo_id` (--push_to_hub) and --push_checkpoints it pushes every saved checkpoint."""
    callbacks = []
    if repo_id and args.push_checkpoints:
        branch = args.checkpoint_branch or f"{args.version}-checkpoints"
        callbacks.append(CheckpointPushCallback(repo_id, args.version, branch,
                                                private=args.hub_private_repo or False))
    use_eval = str(getattr(args.eval_strategy, "value", args.eval_strategy)) != "no"
    return DistillationTrainer(model=student, args=args, data_collator=data.collator(seed=args.seed),
                               train_dataset=data.train, eval_dataset=data.eval if use_eval else None,
                               processing_class=tokenizer, teacher=teacher.model if teacher else None,
                               teacher_dtype=_teacher_dtype(model_args, args), callbacks=callbacks)


def _evaluate(data_args: DistillationDataArguments, args: DistillationConfig, student, teacher: Teacher | None,
              data: TrainingData) -> tuple[dict, dict | None]:
    """Held-out MLM of the student and (with an MLM head) of the teacher, on the same sequences and masks."""
    eval_seqs = data.eval.select(range(min(len(data.eval), data_args.max_eval_sequences)))
    eval_collator = data.collator()

    def held_out(model) -> dict:
        return heldout_mlm(model, eval_seqs, eval_collator, seed=data_args.eval_mask_seed,
                           batch_size=args.per_device_eval_batch_size, device=args.device,
                           repeats=data_args.eval_mask_repeats)

    student_result = held_out(student)
    teacher_result = held_out(teacher.model) if teacher is not None and teacher.has_mlm_head else None
    return student_result, teacher_result


def _corpus_info(data_args: DistillationDataArguments, data: TrainingData) -> dict:
    report = cache_report(data.cache_folder)
    return {"name_or_path": data_args.dataset_name_or_path, "revision": data_args.dataset_revision,
            "n_train_sequences": len(data.train), "n_train_tokens": int(report[data_args.train_split]["tokens"]),
            "tokenization": report, "packing": data_args.packing}


def _training_info(data_args: DistillationDataArguments, args: DistillationConfig, state, train_result) -> dict:
    return {"global_step": state.global_step, "epochs": round(float(state.epoch or 0), 4),
            "per_device_batch": args.per_device_train_batch_size, "grad_accum": args.gradient_accumulation_steps,
            "effective_batch": args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size,
            "learning_rate": args.learning_rate, "max_seq_length": data_args.max_seq_length,
            "seed": args.seed, "train_loss": getattr(train_result, "training_loss", None)}


def _hardware_info(args: DistillationConfig) -> dict:
    return {"device": args.device.type,
            "device_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
            "n_devices": args.world_size, "dtype": "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32",
            **machine_info()}


def _recipe_info(path: str | None) -> dict | None:
    if not path:
        return None
    try:
        return {"path": str(path), "content": Path(path).read_text(encoding="utf-8")}
    except OSError:
        return {"path": str(path), "content": None}


def _publish(output_dir: Path, repo_id: str, args: DistillationConfig) -> dict:
    """The final model to main, tagged --version; what was published."""
    res = publish_final(output_dir, repo_id, args.version, private=args.hub_private_repo or False)
    logger.info("published %s@%s", repo_id, args.version)
    return {"repo_id": repo_id, "tag": args.version, "commit_sha": getattr(res, "commit_sha", None)}
