"""Arguments of `train_distill.py` / `distilkobert train`: typed dataclasses for `HfArgumentParser`.

`parse_args(["recipe.yaml", "--flag", "value", ...])` reads the recipe (a YAML mapping of the fields below and of
`transformers.TrainingArguments`' fields, with their own types: `student_layers: [0, 4, 8]`, `student_config:` a
mapping) as defaults, then the flags, which win (see `distilkobert.common.recipe`). `DistillationConfig` is the
`TrainingArguments` subclass that `DistillationTrainer` reads as `self.args`; its loss fields are `LossConfig`'s.
Each dataclass checks its own fields in `__post_init__`; `check_combination` holds the few rules that join two of
them. Checks that need files (the teacher's config, the tokenizer, the output folder) run at the start of
`distill.run.run`, before any model loads.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainingArguments

from distilkobert.common.recipe import RecipeParser
from distilkobert.distill.losses import LossConfig

NO_TEACHER = ("none", "null", "")


def _layer_items(text: str) -> list[int]:
    """One `--student_layers` item: `4` or the comma-separated form `0,4,8` (both are accepted)."""
    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected teacher layer numbers (e.g. 0 4 8 or 0,4,8), got {text!r}") \
            from None


@dataclass
class DistillationModelArguments:
    """Teacher, student and tokenizer."""

    teacher_name_or_path: str = field(
        default="none",
        metadata={"help": "Teacher masked-LM (folder or Hub repo). 'none': no teacher, the student trains on MLM "
                          "alone (needs --student_config)."},
    )
    teacher_revision: str | None = field(default=None, metadata={"help": "Hub revision of the teacher."})
    tokenizer_name_or_path: str | None = field(
        default=None, metadata={"help": "Tokenizer folder / repo (default: the teacher). Loaded fast."}
    )
    tokenizer_revision: str | None = field(default=None, metadata={"help": "Hub revision of the tokenizer."})
    student_model_type: str = field(
        default="distilbert", metadata={"help": "Student architecture.", "choices": ["distilbert", "bert"]}
    )
    student_layers: list[int] = field(
        default_factory=lambda: [0, 4, 8],
        metadata={"help": "Teacher layers copied into the student, in order: 0 4 8 (or 0,4,8; a list in YAML)."},
    )
    student_config: dict | str | None = field(
        default=None,
        metadata={"help": "Student config as JSON (string or .json file; a mapping in YAML). Required without a "
                          "teacher; with a teacher it overrides fields of the derived config (e.g. dropout)."},
    )
    teacher_dtype: str = field(
        default="auto",
        metadata={"help": "Teacher weights dtype. auto: bf16/fp16 when training in that precision, else the "
                          "student's dtype.", "choices": ["auto", "float32", "bfloat16", "float16"]},
    )

    def __post_init__(self) -> None:
        self.student_layers = _flat_layers(self.student_layers)
        config_given = bool(self.student_config)  # '{}' given as a flag counts as given (BERT's defaults)
        self.student_config = _config_mapping(self.student_config)
        if self.has_teacher:
            if not self.student_layers:
                raise ValueError("--student_layers: at least one teacher layer is needed")
            negative = [i for i in self.student_layers if i < 0]
            if negative:
                raise ValueError(f"--student_layers: layer indices start at 0, got {negative}")
            repeated = sorted({i for i in self.student_layers if self.student_layers.count(i) > 1})
            if repeated:
                raise ValueError(f"--student_layers: teacher layer(s) {repeated} listed more than once")
        else:
            if not config_given:
                raise ValueError("--teacher_name_or_path none needs --student_config (the student architecture)")
            if not self.tokenizer_name_or_path:
                raise ValueError("--teacher_name_or_path none needs --tokenizer_name_or_path")

    @property
    def has_teacher(self) -> bool:
        return (self.teacher_name_or_path or "").strip().lower() not in NO_TEACHER

    @property
    def tokenizer_source(self) -> tuple[str, str | None]:
        """(folder or repo, revision) of the tokenizer: its own, else the teacher's."""
        if self.tokenizer_name_or_path:
            return self.tokenizer_name_or_path, self.tokenizer_revision
        return self.teacher_name_or_path, self.teacher_revision


def _flat_layers(value: Any) -> list[int]:
    """student_layers from a flag (lists of `_layer_items`), a YAML list, or an old-style "0,4,8" string."""
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[int] = []
    try:
        for item in items:
            if isinstance(item, (list, tuple)):
                out += [int(i) for i in item]
            elif isinstance(item, str):
                out += _layer_items(item)
            elif isinstance(item, bool) or not float(item).is_integer():
                raise ValueError(item)
            else:
                out.append(int(item))
    except (TypeError, ValueError):
        raise ValueError(f"--student_layers: expected teacher layer numbers (e.g. 0 4 8), got {value!r}") from None
    return out


def _config_mapping(value: dict | str | None) -> dict[str, Any]:
    """student_config from a YAML mapping, a JSON string or a .json file -> a dict."""
    if not value:
        return {}
    if isinstance(value, dict):
        return dict(value)
    text = value
    if text.strip().endswith(".json"):
        if not Path(text.strip()).is_file():
            raise ValueError(f"--student_config {text}: no such file")
        text = Path(text.strip()).read_text(encoding="utf-8")
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--student_config: not valid JSON ({exc}): {value[:200]!r}") from None
    if not isinstance(mapping, dict):
        raise ValueError("--student_config: expected a JSON object")
    return mapping


@dataclass
class DistillationDataArguments:
    """Corpus, tokenization cache, packing and masking."""

    dataset_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Corpus dataset (folder or Hub repo) with a `text` column, or a .txt[.gz] file."}
    )
    dataset_revision: str | None = field(default=None, metadata={"help": "Hub revision of the corpus dataset."})
    text_column: str = field(default="text")
    train_split: str = field(default="train")
    validation_split: str = field(default="validation")
    validation_fraction: float = field(
        default=0.02, metadata={"help": "Held-out fraction carved from train when the dataset has no validation split."}
    )
    max_seq_length: int = field(default=128, metadata={"help": "Sequence length, [CLS] and [SEP] included."})
    min_seq_length: int = field(
        default=12,
        metadata={"help": "Sequences shorter than this many tokens (specials included) are dropped (counted)."}
    )
    packing: bool = field(
        default=True,
        metadata={"help": "Pack consecutive texts ([CLS] a [SEP] b [SEP] ...) up to max_seq_length. False: one text "
                          "per sequence (long texts chunked); combine with --train_sampling_strategy group_by_length."},
    )
    max_train_texts: int | None = field(default=None, metadata={"help": "Use only the first N training texts."})
    max_eval_sequences: int = field(default=2000, metadata={"help": "Held-out sequences for the final MLM evaluation."})
    cache_dir: str | None = field(
        default=None, metadata={"help": "Tokenized-data cache (default ~/.cache/distilkobert/tokenized)."}
    )
    preprocessing_num_workers: int | None = field(default=None)
    mlm_probability: float = field(default=0.15)
    mlm_smoothing: float = field(default=0.7, metadata={"help": "Masking probability ~ max(count,1)^-smoothing."})
    word_mask: float = field(default=0.8)
    word_keep: float = field(default=0.1)
    word_rand: float = field(default=0.1)
    eval_mask_seed: int = field(default=1234, metadata={"help": "Seed of the held-out evaluation's fixed masks."})
    eval_mask_repeats: int = field(
        default=1, metadata={"help": "Held-out evaluation passes, each with other fixed masks (pooled; less noise)."})

    def __post_init__(self) -> None:
        if not self.dataset_name_or_path:
            raise ValueError("--dataset_name_or_path is required")
        total = self.word_mask + self.word_keep + self.word_rand
        if min(self.word_mask, self.word_keep, self.word_rand) < 0 or abs(total - 1.0) > 1e-6:
            raise ValueError(f"--word_mask + --word_keep + --word_rand must sum to 1, each >= 0 (got {total})")
        if self.max_seq_length < 4:
            raise ValueError("--max_seq_length must be >= 4")
        if not 0 < self.mlm_probability <= 1:
            raise ValueError(f"--mlm_probability must be in (0, 1] (got {self.mlm_probability})")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"--validation_fraction must be in [0, 1) (got {self.validation_fraction})")
        if self.max_train_texts is not None and self.max_train_texts < 1:
            raise ValueError(f"--max_train_texts must be >= 1 (got {self.max_train_texts})")
        if self.max_eval_sequences < 1 or self.eval_mask_repeats < 1:
            raise ValueError("--max_eval_sequences and --eval_mask_repeats must be >= 1")


@dataclass
class DistillationConfig(TrainingArguments, LossConfig):
    """`TrainingArguments` with the distillation loss (`LossConfig`'s fields), publication and run switches; the
    `args` that `DistillationTrainer` reads (as TRL's `GKDConfig` is `GKDTrainer`'s)."""

    version: str | None = field(default=None, metadata={"help": "Version tag of the final model (with --push_to_hub)."})
    checkpoint_branch: str | None = field(
        default=None, metadata={"help": "Branch receiving pushed checkpoints (default '<version>-checkpoints')."}
    )
    push_checkpoints: bool = field(default=True, metadata={"help": "Push every saved checkpoint (with --push_to_hub)."})
    global_batch_size: int | None = field(
        default=None,
        metadata={"help": "Sequences per update across all processes; sets --gradient_accumulation_steps from the "
                          "per-device batch and the world size, and refuses a world size that does not divide it."})
    overwrite: bool = field(
        default=False,
        metadata={"help": "Replace the contents of a non-empty --output_dir (refused by default; not needed with "
                          "--resume_from_checkpoint, which continues the run in that folder)."})
    recipe: str | None = field(default=None, metadata={"help": "(set automatically) the YAML recipe path."})

    def __post_init__(self) -> None:
        LossConfig.__post_init__(self)  # the loss settings first, then TrainingArguments' own checks
        super().__post_init__()


ARGUMENT_CLASSES = (DistillationModelArguments, DistillationDataArguments, DistillationConfig)


def resume_requested(value: str | None) -> bool:
    """Does `--resume_from_checkpoint` ask to resume (a path, or true / last)?"""
    return str(value or "").strip().lower() not in ("", "false", "0", "no")


def check_combination(model_args: DistillationModelArguments, args: DistillationConfig) -> None:
    """The rules that join the argument groups, or two settings (each group checks itself in `__post_init__`)."""
    if not model_args.has_teacher:
        if args.alpha_ce or args.alpha_cos or args.alpha_mse:
            raise ValueError("--teacher_name_or_path none trains MLM alone: set --alpha_ce 0 --alpha_cos 0 "
                             "--alpha_mse 0")
    if args.push_to_hub:
        if not args.hub_model_id or "/" not in args.hub_model_id:
            raise ValueError("--push_to_hub needs --hub_model_id ORG/NAME")
        if not args.version:
            raise ValueError("--push_to_hub needs --version TAG")
    for name in ("gradient_accumulation_steps", "per_device_train_batch_size", "per_device_eval_batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1 (got {getattr(args, name)})")
    if args.global_batch_size is not None and args.global_batch_size < 1:
        raise ValueError(f"--global_batch_size must be >= 1 (got {args.global_batch_size})")
    if args.max_steps == 0 or args.max_steps < -1:
        raise ValueError(f"--max_steps must be > 0, or -1 to train --num_train_epochs (got {args.max_steps})")
    if args.max_steps == -1 and not 0 < args.num_train_epochs < float("inf"):
        raise ValueError(f"--num_train_epochs must be > 0 (got {args.num_train_epochs}): nothing would be trained")
    if args.overwrite and resume_requested(args.resume_from_checkpoint):
        raise ValueError("--overwrite with --resume_from_checkpoint: overwriting would delete the checkpoints the "
                         "run resumes from; give one of them")


def build_parser() -> RecipeParser:
    parser = RecipeParser(
        ARGUMENT_CLASSES,
        prog="train_distill.py (or: distilkobert train)",
        description="Distil a student from a masked-LM teacher, or train MLM alone (--teacher_name_or_path none). "
                    "Usage: train_distill.py [recipe.yaml] [--flag value ...]; the recipe is a YAML mapping of the "
                    "options below (lists and mappings as such), flags override it.")
    for action in parser._actions:
        if action.dest == "student_layers":  # also accept the comma-separated form 0,4,8
            action.type = _layer_items
    return parser


def parse_args(argv: Sequence[str]):
    """`[recipe.yaml] [--flag value ...]` -> (DistillationModelArguments, DistillationDataArguments,
    DistillationConfig), checked; a bad argument is a ValueError naming it."""
    (model_args, data_args, args), recipe = build_parser().parse_recipe_and_flags(argv)
    args.recipe = recipe
    check_combination(model_args, args)
    return model_args, data_args, args
