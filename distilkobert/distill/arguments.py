"""Command-line / YAML arguments of `train_distill.py` (dataclasses for `HfArgumentParser`).

A recipe is a flat YAML mapping whose keys are the fields below plus `transformers.TrainingArguments`'
fields. Flags given on the command line override the recipe (flags win). `parse_args(argv)` does both.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

NO_TEACHER = ("none", "null", "")


@dataclass
class ModelArguments:
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
    student_layers: str = field(
        default="0,4,8", metadata={"help": "Teacher layers copied into the student, comma separated (e.g. 0,4,8)."}
    )
    student_config: str | None = field(
        default=None,
        metadata={"help": "Student config as JSON (string or .json file; a mapping in YAML). Required without a "
                          "teacher; with a teacher it overrides fields of the derived config (e.g. dropout)."},
    )
    teacher_dtype: str = field(
        default="auto",
        metadata={"help": "Teacher weights dtype. auto: bf16/fp16 when training in that precision, else the "
                          "student's dtype.", "choices": ["auto", "float32", "bfloat16", "float16"]},
    )

    @property
    def has_teacher(self) -> bool:
        return (self.teacher_name_or_path or "").strip().lower() not in NO_TEACHER

    def layer_list(self) -> list[int]:
        try:
            return [int(x) for x in str(self.student_layers).replace(" ", "").split(",") if x != ""]
        except ValueError:
            raise ValueError(f"--student_layers: expected comma-separated integers, got {self.student_layers!r}")

    def student_config_dict(self) -> dict[str, Any]:
        if not self.student_config:
            return {}
        text = self.student_config
        if text.strip().endswith(".json") and Path(text).is_file():
            text = Path(text).read_text(encoding="utf-8")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--student_config: not valid JSON ({exc}): {self.student_config[:200]!r}")
        if not isinstance(value, dict):
            raise ValueError("--student_config: expected a JSON object")
        return value


@dataclass
class DataArguments:
    """Corpus, tokenization cache, packing and masking."""

    dataset_name_or_path: str | None = field(
        default=None, metadata={"help": "Corpus dataset (folder or Hub repo) with a `text` column, or a .txt[.gz] file."}
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
        default=12, metadata={"help": "Sequences shorter than this many tokens (specials included) are dropped (counted)."}
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


@dataclass
class DistillationArguments:
    """Loss weights, publication and switches."""

    alpha_ce: float = field(default=0.33, metadata={"help": "Weight of KL(student || teacher) x T^2."})
    alpha_mlm: float = field(default=0.33, metadata={"help": "Weight of the MLM cross-entropy."})
    alpha_cos: float = field(default=0.33, metadata={"help": "Weight of the cosine loss on last hidden states."})
    alpha_mse: float = field(default=0.0, metadata={"help": "Weight of the MSE on hidden states (--mse_layer_map)."})
    temperature: float = field(default=2.0)
    ce_positions: str = field(default="all", metadata={"choices": ["all", "masked"],
                                                       "help": "KL over all non-pad positions or masked only."})
    mse_layer_map: str | None = field(
        default=None,
        metadata={"help": "student:teacher hidden-state pairs (0 = embeddings), e.g. '1:4,2:8,3:12' (default uniform)."},
    )
    full_logits: bool = field(
        default=False, metadata={"help": "Project every position onto the vocabulary (slower; for comparison)."}
    )
    version: str | None = field(default=None, metadata={"help": "Version tag of the final model (with --push_to_hub)."})
    checkpoint_branch: str | None = field(
        default=None, metadata={"help": "Branch receiving pushed checkpoints (default '<version>-checkpoints')."}
    )
    push_checkpoints: bool = field(default=True, metadata={"help": "Push every saved checkpoint (with --push_to_hub)."})
    recipe: str | None = field(default=None, metadata={"help": "(set automatically) the YAML recipe path."})


# YAML values that HfArgumentParser expects as one comma-separated string
_COMMA_FIELDS = {"student_layers"}
_JSON_FIELDS = {"student_config"}


def _parser():
    from transformers import HfArgumentParser, TrainingArguments

    return HfArgumentParser(
        (ModelArguments, DataArguments, DistillationArguments, TrainingArguments),
        prog="train_distill.py (or: distilkobert train)",
        description="Distil a student from a masked-LM teacher, or train MLM alone (--teacher_name_or_path none). "
                    "Usage: train_distill.py [recipe.yaml] [--flag value ...]; the recipe is a flat YAML mapping of "
                    "the options below, flags override it.")


def yaml_to_argv(path: str | Path) -> list[str]:
    """Turn a flat YAML recipe into flags, checking every key (clear error naming the file)."""
    import yaml
    from transformers import TrainingArguments

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the recipe: {exc}")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a recipe must be a mapping of argument names to values")
    known = {f.name for cls in (ModelArguments, DataArguments, DistillationArguments, TrainingArguments)
             for f in fields(cls)}
    argv: list[str] = []
    for key, value in data.items():
        if key not in known:
            raise ValueError(f"{path}: unknown recipe key {key!r} (see `train_distill.py --help`)")
        if value is None:
            continue
        if key in _JSON_FIELDS and isinstance(value, dict):
            argv += [f"--{key}", json.dumps(value)]
        elif isinstance(value, (list, tuple)):
            items = [str(v) for v in value]
            argv += [f"--{key}", ",".join(items)] if key in _COMMA_FIELDS else [f"--{key}", *items]
        elif isinstance(value, dict):
            argv += [f"--{key}", json.dumps(value)]
        else:
            argv += [f"--{key}", str(value)]
    return argv


def parse_args(argv: Sequence[str] | None = None):
    """`[recipe.yaml] [--flag value ...]` -> (ModelArguments, DataArguments, DistillationArguments, TrainingArguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    recipe = None
    if argv and not argv[0].startswith("-") and argv[0].endswith((".yaml", ".yml")):
        recipe = argv.pop(0)
    full = (yaml_to_argv(recipe) if recipe else []) + argv  # argparse keeps the last value: flags win
    parser = _parser()
    model_args, data_args, distill_args, training_args = parser.parse_args_into_dataclasses(args=full)
    if recipe:
        distill_args.recipe = recipe
    validate(model_args, data_args, distill_args)
    return model_args, data_args, distill_args, training_args


def validate(model_args: ModelArguments, data_args: DataArguments, distill_args: DistillationArguments) -> None:
    """Argument errors that can be found before anything is loaded."""
    layers = model_args.layer_list()
    if model_args.has_teacher and not layers:
        raise ValueError("--student_layers: at least one teacher layer is needed")
    if not model_args.has_teacher:
        if not model_args.student_config:
            raise ValueError("--teacher_name_or_path none needs --student_config (the student architecture)")
        if distill_args.alpha_ce or distill_args.alpha_cos or distill_args.alpha_mse:
            raise ValueError("--teacher_name_or_path none trains MLM alone: set --alpha_ce 0 --alpha_cos 0 --alpha_mse 0")
        if not distill_args.alpha_mlm:
            raise ValueError("--teacher_name_or_path none with --alpha_mlm 0 leaves no loss to train")
        if not model_args.tokenizer_name_or_path:
            raise ValueError("--teacher_name_or_path none needs --tokenizer_name_or_path")
    for name in ("alpha_ce", "alpha_mlm", "alpha_cos", "alpha_mse"):
        if getattr(distill_args, name) < 0:
            raise ValueError(f"--{name} must be >= 0")
    if distill_args.temperature <= 0:
        raise ValueError("--temperature must be > 0")
    if not data_args.dataset_name_or_path:
        raise ValueError("--dataset_name_or_path is required")
    total = data_args.word_mask + data_args.word_keep + data_args.word_rand
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"--word_mask + --word_keep + --word_rand must sum to 1 (got {total})")
    if data_args.max_seq_length < 4:
        raise ValueError("--max_seq_length must be >= 4")
