"""Arguments of `eval_nsmc.py` / `distilkobert eval`: typed dataclasses for `HfArgumentParser`.

`parse_args(["recipes/eval-nsmc.yaml", "--flag", "value", ...])` reads an optional YAML recipe as defaults, then
the flags, which win (see `distilkobert.common.recipe`). The fine-tuning settings are `transformers.TrainingArguments`
(`NsmcTrainingArguments`, with this protocol's defaults and task options, the way TRL's `GKDConfig` extends it);
each seed's Trainer gets a copy with its own seed and checkpoint folder. Each dataclass checks itself in
`__post_init__`; `check_combination` joins them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import TrainingArguments

from distilkobert.common.recipe import RecipeParser


@dataclass
class NsmcModelArguments:
    """Which encoder to evaluate and where its tokenizer comes from."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Encoder checkpoint: a local folder or a Hub repo id (BERT / DistilBERT, with or "
                          "without an MLM head). Required unless --compare is given."})
    revision: str | None = field(
        default=None, metadata={"help": "Hub revision of the model (branch, tag or commit sha). Default: main."})
    tokenizer_name_or_path: str | None = field(
        default=None, metadata={"help": "Tokenizer folder or repo (default: the model's own; fast, no remote code)."})
    tokenizer_revision: str | None = field(
        default=None, metadata={"help": "Hub revision of --tokenizer_name_or_path (default: --revision when the "
                                        "tokenizer comes from the model repo, else main)."})
    model_label: str | None = field(
        default=None, metadata={"help": "Short name for tables (default: the last part of the model path)."})


@dataclass
class NsmcDataArguments:
    """The NSMC-format dataset and how much of it is used."""

    dataset_name: str = field(
        default="distilkobert/nsmc",
        metadata={"help": "NSMC-format dataset: a local folder or a Hub dataset repo loadable with "
                          "datasets.load_dataset (features id, document, label; splits train/validation/test)."})
    dataset_revision: str | None = field(default=None, metadata={"help": "Hub revision of the dataset."})
    max_seq_length: int = field(default=128, metadata={"help": "Tokens per document incl. [CLS]/[SEP]; longer "
                                                                "documents are truncated and counted."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use a seeded random subset of this many training rows."})
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Use a seeded random subset of this many validation rows."})
    max_test_samples: int | None = field(
        default=None, metadata={"help": "Use a seeded random subset of this many test rows (stated in the JSON)."})
    validation_fraction: float = field(
        default=0.1, metadata={"help": "When the dataset has no validation split: the fraction of train carved "
                                       "off (stratified by label) as validation."})

    def __post_init__(self) -> None:
        if self.max_seq_length < 4:
            raise ValueError(f"--max_seq_length must be >= 4 (got {self.max_seq_length})")
        for name in ("max_train_samples", "max_eval_samples", "max_test_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be >= 1 (got {value})")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"--validation_fraction must be in (0, 1) (got {self.validation_fraction})")


DEVICES = ("auto", "cpu", "cuda")
# The protocol: select the checkpoint with the best validation accuracy, then test it once.
PROTOCOL = {"load_best_model_at_end": True, "metric_for_best_model": "accuracy", "greater_is_better": True}
# The options reported in nsmc_results.json's "hyperparameters" (with the data options), in this order.
REPORTED = ("output_dir", "seeds", "learning_rate", "per_device_train_batch_size", "per_device_eval_batch_size",
            "num_train_epochs", "max_steps", "eval_steps", "warmup_ratio", "weight_decay",
            "gradient_accumulation_steps", "logging_steps", "device", "torch_threads", "bf16",
            "dataloader_num_workers", "save_models", "keep_checkpoints", "update_model_card", "push_to_hub",
            "hub_model_id", "card_branch")


@dataclass
class NsmcTrainingArguments(TrainingArguments):
    """Fine-tuning (Trainer's own options, with this protocol's defaults), selection, output and publishing."""

    output_dir: str | None = field(
        default=None, metadata={"help": "Where nsmc_results.json and per-seed folders are written (refused when "
                                        "not empty, unless --overwrite). Required unless --compare is given."})
    overwrite: bool = field(default=False, metadata={"help": "Replace the contents of a non-empty --output_dir."})
    seeds: list[int] = field(default_factory=lambda: [42, 43, 44],
                             metadata={"help": "One fine-tuning run per seed (each seed once); metrics are reported "
                                               "per seed and as mean +/- std."})
    data_seed: int = field(default=42, metadata={"help": "Seed of validation carving and of the subsets (fixed "
                                                         "across --seeds so all seeds see the same data); each "
                                                         "seed's Trainer shuffles batches with that seed."})
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate (AdamW)."})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Training batch size."})
    per_device_eval_batch_size: int = field(default=128, metadata={"help": "Validation / test batch size; also "
                                                                          "the batch of the throughput measurement."})
    eval_steps: float | None = field(default=None, metadata={"help": "Evaluate (on validation) and checkpoint every "
                                                                     "N steps; default (or 0): every epoch."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Linear warm-up over this fraction of the steps "
                                                               "(sets warmup_steps)."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    logging_steps: float = field(default=50, metadata={"help": "Log the training loss every N steps."})
    # `device` is TrainingArguments' torch.device property, so the option's field has another name
    compute_device: str = field(default="auto", metadata={"help": "auto (CUDA if available), cpu or cuda.",
                                                          "choices": list(DEVICES), "aliases": ["--device"]})
    seed: int = field(default=42, metadata={"help": "Not used: each of --seeds is one run."})
    torch_threads: int = field(default=0, metadata={"help": "torch.set_num_threads(N) for training and "
                                                            "inference; 0 = leave torch's default."})
    save_total_limit: int | None = field(default=1, metadata={"help": "Checkpoints kept besides the best one."})
    save_only_model: bool = field(default=True, metadata={"help": "Checkpoints without optimizer state."})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "(the protocol: must stay true)"})
    metric_for_best_model: str | None = field(default="accuracy", metadata={"help": "(the protocol: accuracy)"})
    greater_is_better: bool | None = field(default=True, metadata={"help": "(the protocol: true)"})
    report_to: None | str | list[str] = field(default="none", metadata={"help": "Trainer loggers (default none)."})
    disable_tqdm: bool | None = field(default=True, metadata={"help": "No progress bars (default)."})
    save_models: bool = field(default=False, metadata={"help": "Keep the selected fine-tuned model of each seed "
                                                                "in OUTPUT_DIR/seed-N/model."})
    keep_checkpoints: bool = field(default=False, metadata={"help": "Keep the Trainer checkpoints (deleted "
                                                                     "after selection by default)."})
    update_model_card: bool = field(default=False, metadata={"help": "Write the results into the model card "
                                                                      "(README.md: model-index + results table)."})
    push_to_hub: bool = field(default=False, metadata={"help": "With --update_model_card: commit the card to the "
                                                               "model repo on the Hub (fine-tuned models are "
                                                               "not pushed)."})
    hub_model_id: str | None = field(default=None, metadata={"help": "Repo to push the card to when the model is "
                                                                     "a local folder."})
    publish_classifier: str | None = field(
        default=None, metadata={"help": "Publish the fine-tuned classifier of the seed with the best validation "
                                        "accuracy to this model repo (e.g. ORG/distilkobert-nsmc) as a versioned "
                                        "text-classification model; implies --save_models, needs "
                                        "--classifier_version."})
    classifier_version: str | None = field(
        default=None, metadata={"help": "Version tag of --publish_classifier (e.g. v1); an existing tag is refused "
                                        "before training."})
    card_branch: str | None = field(
        default=None, metadata={"help": "Branch that receives the card commit. Default: --revision when it is a "
                                        "branch, else main (a tag or commit sha is never moved)."})
    compare: list[str] | None = field(
        default=None, metadata={"help": "Only compare existing nsmc_results.json files (first = reference) and "
                                        "print the README-style table."})
    compare_output: str | None = field(
        default=None, metadata={"help": "With --compare: also write the table to this .md or .json file."})

    def __post_init__(self) -> None:
        if not self.compare and not self.output_dir:
            raise ValueError("--output_dir is required (unless --compare is given)")
        if len(set(self.seeds)) != len(self.seeds):
            repeated = sorted({s for s in self.seeds if self.seeds.count(s) > 1})
            raise ValueError(f"--seeds: {repeated} listed more than once (a repeated seed is the same run and "
                             "would overstate n)")
        if not self.seeds:
            raise ValueError("--seeds needs at least one seed")
        if self.push_to_hub and not self.update_model_card:
            raise ValueError("--push_to_hub pushes the model card: give --update_model_card too")
        if bool(self.publish_classifier) != bool(self.classifier_version):
            raise ValueError("--publish_classifier and --classifier_version go together (repo and version tag)")
        if self.publish_classifier:
            self.save_models = True  # the selected seed's model is published from OUTPUT_DIR/seed-N/model
        if self.compute_device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available")
        for name, value in PROTOCOL.items():
            if getattr(self, name) != value:
                raise ValueError(f"--{name} {getattr(self, name)}: this evaluation selects the checkpoint with the "
                                 f"best validation accuracy; leave it at {value}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"--warmup_ratio must be in [0, 1) (got {self.warmup_ratio})")
        self._check_training_amount()
        if self.torch_threads < 0:
            raise ValueError(f"--torch_threads must be >= 0 (got {self.torch_threads})")
        self.eval_steps = self.eval_steps or None
        self.eval_strategy = self.save_strategy = "steps" if self.eval_steps else "epoch"
        self.save_steps = self.eval_steps  # checkpoints where the selection evaluates (None: every epoch)
        self.warmup_steps = self.warmup_ratio  # transformers 5: a float < 1 is a ratio of the total steps
        self.use_cpu = self.resolved_device == "cpu"
        super().__post_init__()

    def _check_training_amount(self) -> None:
        """Refuse settings under which nothing (or nonsense) would be trained: the untrained model would be
        reported as fine-tuned."""
        if self.compare:
            return
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError(f"--max_steps must be > 0, or -1 to train --num_train_epochs (got {self.max_steps})")
        if self.max_steps == -1 and not (0 < self.num_train_epochs < float("inf")):
            raise ValueError(f"--num_train_epochs must be > 0 (got {self.num_train_epochs}): nothing would be "
                             "fine-tuned")
        if not 0 < self.learning_rate < float("inf"):
            raise ValueError(f"--learning_rate must be > 0 (got {self.learning_rate}): nothing would be fine-tuned")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1 (got {getattr(self, name)})")
        for name in ("eval_steps", "logging_steps", "weight_decay"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"--{name} must be >= 0 (got {value})")

    @property
    def resolved_device(self) -> str:
        """cpu or cuda (auto: CUDA when available)."""
        if self.compute_device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.compute_device

    def for_seed(self, seed: int, checkpoint_dir: Path) -> NsmcTrainingArguments:
        """The Trainer's arguments of one seed: its seed, its checkpoint folder, no Hub push of the fine-tuned
        model (only the card is published, by the evaluation itself)."""
        args = copy.copy(self)
        args.output_dir = str(checkpoint_dir)
        args.seed = args.data_seed = seed
        args.push_to_hub = False
        return args

    def reported(self) -> dict[str, Any]:
        """The options as nsmc_results.json reports them (step counts as integers, 0 = every epoch)."""
        values = {name: getattr(self, "compute_device" if name == "device" else name) for name in REPORTED}
        values["eval_steps"] = int(self.eval_steps or 0)
        values["logging_steps"] = int(self.logging_steps) if float(self.logging_steps).is_integer() \
            else self.logging_steps
        return values


ARGUMENT_CLASSES = (NsmcModelArguments, NsmcDataArguments, NsmcTrainingArguments)


def check_combination(model_args: NsmcModelArguments, training_args: NsmcTrainingArguments) -> None:
    """Rules that join two argument groups (each checks itself in `__post_init__`)."""
    if not training_args.compare and not model_args.model_name_or_path:
        raise ValueError("--model_name_or_path is required (unless --compare is given)")


def build_parser() -> RecipeParser:
    return RecipeParser(ARGUMENT_CLASSES, prog="eval_nsmc.py (or: distilkobert eval)",
                        description="Honest NSMC evaluation: fine-tune per seed, select on validation, test once. "
                                    "Usage: eval_nsmc.py [recipe.yaml] [--flag value ...]; the recipe "
                                    "(recipes/eval-*.yaml) is a YAML mapping of the options below, flags override it.")


def parse_args(argv: Sequence[str]) -> tuple[NsmcModelArguments, NsmcDataArguments, NsmcTrainingArguments]:
    """`[recipe.yaml] [--flag value ...]` -> the three argument groups, checked (ValueError naming the argument)."""
    (model_args, data_args, training_args), _ = build_parser().parse_recipe_and_flags(argv)
    check_combination(model_args, training_args)
    return model_args, data_args, training_args
