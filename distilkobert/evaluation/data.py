"""Loading, validating and tokenizing an NSMC-format dataset for honest evaluation.

The test split is handed out only through `SealedTestSplit.open()`, which refuses while any fine-tuning
run is in progress and logs every access, so the results JSON can show that model selection never read it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from distilkobert.data.nsmc import LABEL_NAMES

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("id", "document", "label")


class DatasetFormatError(ValueError):
    """The dataset does not follow the NSMC format (bad column, bad label, missing split)."""


class TestSplitAccessError(RuntimeError):
    """The test split was requested while a model was being fine-tuned or selected."""


@dataclass
class AccessLog:
    """Every read of a split, in order, with the phase that read it (stored in the results JSON)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    training_active: bool = False

    def record(self, split: str, purpose: str, seed: int | None = None) -> None:
        self.events.append({"split": split, "purpose": purpose, "seed": seed, "t": round(time.time(), 3),
                            "during_training": self.training_active})

    def start_training(self, seed: int) -> None:
        self.training_active = True
        self.events.append({"split": "train", "purpose": "fine-tuning start", "seed": seed,
                            "t": round(time.time(), 3), "during_training": True})

    def end_training(self, seed: int) -> None:
        self.training_active = False
        self.events.append({"split": "train", "purpose": "fine-tuning and selection end", "seed": seed,
                            "t": round(time.time(), 3), "during_training": False})


class SealedTestSplit:
    """Holds the raw test split; `open()` returns it only while no fine-tuning run is active."""

    def __init__(self, dataset, log: AccessLog) -> None:
        self._dataset = dataset
        self._log = log

    def __len__(self) -> int:
        return len(self._dataset)

    def open(self, purpose: str, seed: int | None = None):
        if self._log.training_active:
            raise TestSplitAccessError(
                f"the test split was requested ({purpose!r}) while a model is being fine-tuned/selected; "
                "selection must use the validation split only")
        self._log.record("test", purpose, seed)
        return self._dataset


@dataclass
class PreparedData:
    """Validated splits plus what was done to them (carving, subsets), for the results JSON."""

    train: Any
    validation: Any
    test: SealedTestSplit
    info: dict[str, Any]
    log: AccessLog


def _check_labels(ds, split: str) -> None:
    labels = list(ds["label"])
    for row, value in enumerate(labels):
        if value not in (0, 1):
            raise DatasetFormatError(
                f"split {split!r} row {row} (id {ds[row]['id']!r}): label {value!r} is not 0 (negative) or "
                "1 (positive)")


def _normalise(ds, split: str):
    """Check the columns and labels; None documents become "" (counted); label becomes ClassLabel."""
    import datasets  # lazy: `eval_nsmc.py` imports this module before it configures HF_ENDPOINT

    missing = [c for c in REQUIRED_COLUMNS if c not in ds.column_names]
    if missing:
        raise DatasetFormatError(f"split {split!r} lacks column(s) {missing}; NSMC format needs "
                                 f"{list(REQUIRED_COLUMNS)} (has {ds.column_names})")
    _check_labels(ds, split)
    none_docs = sum(1 for d in list(ds["document"]) if d is None)
    if none_docs:
        ds = ds.map(lambda b: {"document": ["" if d is None else d for d in b["document"]]}, batched=True)
    features = ds.features.copy()
    features["label"] = datasets.ClassLabel(names=list(LABEL_NAMES))
    features["id"] = datasets.Value("string")
    features["document"] = datasets.Value("string")
    ds = ds.cast(features)
    return ds, none_docs


def load_nsmc(dataset_name: str, revision: str | None, *, validation_fraction: float, data_seed: int,
              max_train_samples: int | None = None, max_eval_samples: int | None = None,
              max_test_samples: int | None = None) -> PreparedData:
    """Load and validate the dataset; carve a stratified validation split from train when there is none."""
    from distilkobert.data.loading import load_dataset_pinned  # lazy: imports datasets (see _normalise)

    try:
        loaded = load_dataset_pinned(dataset_name, revision)
    except ValueError as exc:
        raise DatasetFormatError(str(exc)) from exc
    dd = loaded.dataset
    for split in ("train", "test"):
        if split not in dd:
            raise DatasetFormatError(f"dataset {dataset_name!r} has no {split!r} split (splits: {list(dd)})")
    info: dict[str, Any] = {"name": dataset_name, "is_local": loaded.is_local, "revision": revision,
                            "resolved_revision": loaded.resolved_revision,
                            "original_splits": {k: len(v) for k, v in dd.items()}}
    if loaded.is_local:
        info["fingerprint_sha256"] = loaded.fingerprint

    splits = {}
    none_docs = {}
    for split in ("train", "validation", "test"):
        if split in dd:
            splits[split], none_docs[split] = _normalise(dd[split], split)
    info["null_documents_replaced_by_empty"] = none_docs

    carved = "validation" not in splits
    info["validation_carved_from_train"] = carved
    if carved:
        parts = splits["train"].train_test_split(test_size=validation_fraction, seed=data_seed,
                                                 stratify_by_column="label")
        splits["train"], splits["validation"] = parts["train"], parts["test"]
        info["validation_carving"] = {"fraction": validation_fraction, "seed": data_seed, "stratified_by": "label",
                                      "train_rows": len(splits["train"]),
                                      "validation_rows": len(splits["validation"])}
        logger.warning("dataset %s has no validation split: carved %d rows (%.1f%%, stratified by label, seed %d) "
                       "from train; %d train rows remain", dataset_name, len(splits["validation"]),
                       100 * validation_fraction, data_seed, len(splits["train"]))

    limits = {"train": max_train_samples, "validation": max_eval_samples, "test": max_test_samples}
    info["subsets"] = {}
    for split, limit in limits.items():
        if limit is not None and limit < len(splits[split]):
            splits[split] = splits[split].shuffle(seed=data_seed).select(range(limit))
            info["subsets"][split] = {"rows": limit, "seed": data_seed}
    info["used_splits"] = {k: len(v) for k, v in splits.items()}
    info["label_names"] = list(LABEL_NAMES)
    info["label_counts"] = {k: {LABEL_NAMES[i]: int(sum(1 for x in list(v["label"]) if x == i)) for i in (0, 1)}
                            for k, v in splits.items()}
    log = AccessLog()
    return PreparedData(train=splits["train"], validation=splits["validation"],
                        test=SealedTestSplit(splits["test"], log), info=info, log=log)


def tokenize_split(ds, tokenizer, max_seq_length: int, split: str) -> tuple[Any, dict[str, Any]]:
    """Tokenize with truncation; count empty documents (kept) and documents longer than max_seq_length."""
    docs = list(ds["document"])
    full = tokenizer(docs, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    lengths = [len(x) for x in full]
    stats = {
        "rows": len(docs),
        "empty_documents": sum(1 for d in docs if not d.strip()),
        "truncated_documents": sum(1 for n in lengths if n > max_seq_length),
        "max_tokens": max(lengths, default=0),
        "mean_tokens": round(sum(lengths) / len(lengths), 2) if lengths else 0.0,
    }
    if stats["truncated_documents"]:
        logger.info("%s: %d of %d documents are longer than %d tokens and were truncated", split,
                    stats["truncated_documents"], len(docs), max_seq_length)

    def encode(batch):
        enc = tokenizer(batch["document"], truncation=True, max_length=max_seq_length)
        enc["labels"] = batch["label"]
        return enc

    tokenized = ds.map(encode, batched=True, remove_columns=ds.column_names, desc=f"tokenizing {split}")
    return tokenized, stats
