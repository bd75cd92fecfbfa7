"""Command-line arguments of `eval_nsmc.py` / `distilkobert eval`, as dataclasses for HfArgumentParser."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class ModelArguments:
    """Which encoder to evaluate and where its tokenizer comes from."""

    model_name_or_path: Optional[str] = field(
        default=None,
        metadata={"help": "Encoder checkpoint: a local folder or a Hub repo id (BERT / DistilBERT, with or "
                          "without an MLM head). Required unless --compare is given."})
    revision: Optional[str] = field(
        default=None, metadata={"help": "Hub revision of the model (branch, tag or commit sha). Default: main."})
    tokenizer_name_or_path: Optional[str] = field(
        default=None, metadata={"help": "Tokenizer folder or repo (default: the model's own; fast, no remote code)."})
    tokenizer_revision: Optional[str] = field(
        default=None, metadata={"help": "Hub revision of --tokenizer_name_or_path (default: --revision when the "
                                        "tokenizer comes from the model repo, else main)."})
    model_label: Optional[str] = field(
        default=None, metadata={"help": "Short name for tables (default: the last part of the model path)."})


@dataclass
class DataArguments:
    """The NSMC-format dataset and how much of it is used."""

    dataset_name: str = field(
        default="distilkobert/nsmc",
        metadata={"help": "NSMC-format dataset: a local folder or a Hub dataset repo loadable with "
                          "datasets.load_dataset (features id, document, label; splits train/validation/test)."})
    dataset_revision: Optional[str] = field(default=None, metadata={"help": "Hub revision of the dataset."})
    max_seq_length: int = field(default=128, metadata={"help": "Tokens per document incl. [CLS]/[SEP]; longer "
                                                                "documents are truncated and counted."})
    max_train_samples: Optional[int] = field(
        default=None, metadata={"help": "Use a seeded random subset of this many training rows."})
    max_eval_samples: Optional[int] = field(
        default=None, metadata={"help": "Use a seeded random subset of this many validation rows."})
    max_test_samples: Optional[int] = field(
        default=None, metadata={"help": "Use a seeded random subset of this many test rows (stated in the JSON)."})
    validation_fraction: float = field(
        default=0.1, metadata={"help": "When the dataset has no validation split: the fraction of train carved "
                                       "off (stratified by label) as validation."})
    data_seed: int = field(default=42, metadata={"help": "Seed of validation carving and of the subsets "
                                                         "(fixed across --seeds so all seeds see the same data)."})


@dataclass
class EvalArguments:
    """Fine-tuning, selection, output and publishing options."""

    output_dir: Optional[str] = field(
        default=None, metadata={"help": "Where nsmc_results.json and per-seed folders are written. Required "
                                        "unless --compare is given."})
    seeds: list[int] = field(default_factory=lambda: [42, 43, 44],
                             metadata={"help": "One fine-tuning run per seed; metrics are reported per seed "
                                               "and as mean +/- std.", "nargs": "+"})
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate (AdamW)."})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Training batch size."})
    per_device_eval_batch_size: int = field(default=128, metadata={"help": "Validation / test batch size; also "
                                                                          "the batch of the throughput measurement."})
    num_train_epochs: float = field(default=3.0, metadata={"help": "Training epochs."})
    max_steps: int = field(default=-1, metadata={"help": "If > 0, stop after this many optimizer steps."})
    eval_steps: int = field(default=0, metadata={"help": "Evaluate (on validation) and checkpoint every N steps; "
                                                         "0 = at the end of every epoch."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Linear warm-up over this fraction of steps."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Gradient accumulation steps."})
    logging_steps: int = field(default=50, metadata={"help": "Log the training loss every N steps."})
    device: str = field(default="auto", metadata={"help": "auto (CUDA if available), cpu or cuda."})
    torch_threads: int = field(default=0, metadata={"help": "torch.set_num_threads(N) for training and "
                                                               "inference; 0 = leave torch's default."})
    bf16: bool = field(default=False, metadata={"help": "bf16 mixed precision for training (GPU)."})
    dataloader_num_workers: int = field(default=0, metadata={"help": "DataLoader worker processes."})
    save_models: bool = field(default=False, metadata={"help": "Keep the selected fine-tuned model of each seed "
                                                                "in OUTPUT_DIR/seed-N/model."})
    keep_checkpoints: bool = field(default=False, metadata={"help": "Keep the Trainer checkpoints (deleted "
                                                                     "after selection by default)."})
    update_model_card: bool = field(default=False, metadata={"help": "Write the results into the model card "
                                                                      "(README.md: model-index + results table)."})
    push_to_hub: bool = field(default=False, metadata={"help": "With --update_model_card: commit the card to the "
                                                               "model repo on the Hub."})
    hub_model_id: Optional[str] = field(default=None, metadata={"help": "Repo to push the card to when the model is "
                                                                        "a local folder."})
    card_branch: Optional[str] = field(
        default=None, metadata={"help": "Branch that receives the card commit. Default: --revision when it is a "
                                        "branch, else main (a tag or commit sha is never moved)."})
    compare: Optional[list[str]] = field(
        default=None, metadata={"help": "Only compare existing nsmc_results.json files (first = reference) and "
                                        "print the README-style table.", "nargs": "+"})
    compare_output: Optional[str] = field(
        default=None, metadata={"help": "With --compare: also write the table to this .md or .json file."})
