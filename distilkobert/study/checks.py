"""Everything about a study that can be known before any work: the settings, the files, the teacher, the output
folder and the Hub repo to publish to. Each problem is one line naming the setting, flag or file."""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi

from distilkobert.common.output_dir import OutputDirError, check_output_dir
from distilkobert.data.nsmc import NsmcFormatError
from distilkobert.data.sources import SourceError
from distilkobert.hub.publish import check_version_available
from distilkobert.study.cache import OUTPUT_MARKER
from distilkobert.study.config import StudyConfig, StudyConfigError
from distilkobert.study.data import load_nsmc_splits
from distilkobert.vocab_trim import VocabTrimError, check_model_folder

READ_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def config_from_args(args: argparse.Namespace, load_recipe: Callable, build_config: Callable) -> StudyConfig:
    """The recipe, then the flags that override it; data files come only from flags or the recipe."""
    overrides: dict[str, Any] = {"test_file": args.test_file, "teacher": args.teacher, "output_dir": args.output_dir,
                                 "seeds": args.seeds, "threads": args.threads, "nsmc": args.nsmc,
                                 "nsmc_revision": args.nsmc_revision, "unlabelled_file": args.unlabelled_file}
    if args.seeds is not None and any(s < 0 for s in args.seeds):
        raise StudyConfigError(f"--seeds: {args.seeds} must be >= 0")
    if args.threads is not None and args.threads < 1:
        raise StudyConfigError(f"--threads: must be >= 1, got {args.threads}")
    if args.version and not args.push_to_hub:
        raise StudyConfigError("--version: only with --push-to-hub")
    return build_config(load_recipe(args.recipe), overrides, recipe_name=args.recipe)


def check_output_folder(cfg: StudyConfig) -> None:
    """The output folder is new, empty, or a study's own (completed stages are reused); never another folder."""
    path = Path(cfg.output_dir)
    try:
        check_output_dir(path, overwrite=False, keep_contents=(path / OUTPUT_MARKER).is_file())
    except OutputDirError as err:
        raise StudyConfigError(f"{err} (a study writes only into a new, empty or earlier study folder)") from None
    for name in ("nsmc", "unlabelled_file", "test_file", "teacher"):
        value = getattr(cfg, name)
        if value and Path(value).exists() and Path(value).resolve().is_relative_to(path.resolve()):
            raise StudyConfigError(f"--output-dir {path}: holds the input {name} {value}; write to another folder")


def check_teacher(cfg: StudyConfig) -> None:
    """Layers, positions, the layer map and the tokenizer fit the teacher."""
    teacher = Path(cfg.teacher)
    config = json.loads((teacher / "config.json").read_text(encoding="utf-8"))
    layers = config.get("num_hidden_layers", 0)
    bad = [i for i in cfg.student_layers if i >= layers]
    if bad:
        raise StudyConfigError(f"student_layers: {bad} out of range, the teacher {teacher} has {layers} layers")
    positions = config.get("max_position_embeddings", 512) - (config.get("pad_token_id", 0) + 1
                                                                 if config.get("model_type") == "xlm-roberta" else 0)
    for name in ("teacher_finetune", "student_finetune", "task_distill", "general_distill"):
        length = getattr(cfg, name).max_seq_length
        if length > positions:
            raise StudyConfigError(f"{name}.max_seq_length: {length} exceeds the teacher's {positions} positions")
    for pair in cfg.general_distill.mse_layer_map.split(","):
        try:
            student, teacher_layer = (int(x) for x in pair.split(":"))
        except ValueError:
            raise StudyConfigError(f"general_distill.mse_layer_map: {pair!r} is not STUDENT:TEACHER") from None
        if not (1 <= student <= len(cfg.student_layers) and 1 <= teacher_layer <= layers):
            raise StudyConfigError(f"general_distill.mse_layer_map: {pair} out of range (student 1-"
                                   f"{len(cfg.student_layers)}, teacher 1-{layers})")
    if not any((teacher / f).is_file() for f in READ_TOKENIZER_FILES):
        raise StudyConfigError(f"--teacher: {teacher} has no tokenizer (tokenizer.json / tokenizer_config.json)")
    if cfg.trim_vocabulary:
        try:  # the trim's own checks: a Unigram tokenizer.json, weights, an embedding row per piece
            check_model_folder(teacher)
        except VocabTrimError as err:
            raise StudyConfigError(f"--teacher: {err} (only a SentencePiece Unigram vocabulary can be trimmed; set "
                                   "trim_vocabulary: false for another teacher)") from None


def check_unlabelled(cfg: StudyConfig) -> None:
    """The unlabelled file has at least one non-empty line (a quick look, not a full read)."""
    path = Path(cfg.unlabelled_file)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for raw in handle:
                if raw.strip():
                    return
    except (OSError, EOFError) as err:
        raise StudyConfigError(f"unlabelled_file: {path}: cannot be read ({err})") from None
    raise StudyConfigError(f"unlabelled_file: {path}: has no non-empty line")


def check_nsmc(cfg: StudyConfig) -> None:
    """The labelled rows read (every row, seconds), test ids are not training ids, and no pool is empty."""
    try:
        splits = load_nsmc_splits(cfg.nsmc, revision=cfg.nsmc_revision, test_file=cfg.test_file, train_size=None,
                                  validation_size=None, test_size=None)
    except (NsmcFormatError, SourceError) as err:
        message = str(err).replace(" (use --on-bad-rows skip to skip such rows)", "")
        raise StudyConfigError(f"{message} (the study reads every row; fix or remove the row)") from None
    for name, pool in (("train", splits.train), ("validation", splits.validation), ("test", splits.test)):
        if not pool:
            if name == "test" and cfg.test_file:
                raise StudyConfigError(f"--test-file {cfg.test_file}: no rows under its header")
            raise StudyConfigError(f"--nsmc {cfg.nsmc}: no {name} rows (it holds {splits.report['rows_read']} "
                                   "labelled rows)")


def check_hub(repo_id: str, version: str) -> None:
    """The repos can be published to at `version`: the tag is free and the token may write there (the repos are
    created now, empty, if they do not exist: the Hub answers a namespace the token cannot write with 403)."""
    try:
        for repo in (repo_id, f"{repo_id}-encoder"):
            check_version_available(repo, version)
            HfApi().create_repo(repo, exist_ok=True)
    except Exception as err:  # noqa: BLE001 - any Hub answer becomes one line naming the argument
        raise StudyConfigError(f"--push-to-hub {repo_id}: {' '.join(str(err).split())}") from None


def check_before_work(cfg: StudyConfig, args: argparse.Namespace) -> None:
    """Every check that needs no training, in the order a user would fix them."""
    if not args.estimate:
        check_output_folder(cfg)
    check_teacher(cfg)
    check_unlabelled(cfg)
    check_nsmc(cfg)
    if args.push_to_hub and not args.estimate:
        check_hub(args.push_to_hub, args.version or "v1")
