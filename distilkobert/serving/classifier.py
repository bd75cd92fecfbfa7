"""Loading a fine-tuned sequence classifier (folder or Hub repo) and the PyTorch prediction backend.

Both backends (:class:`TorchClassifier` here, :class:`distilkobert.serving.onnx.OnnxClassifier`) share the
tokenisation (:func:`encode`) and the output (:func:`predictions_from_logits`): ``{"label", "score"}`` with
``score`` the softmax probability of the predicted label, exactly what
``pipeline("text-classification")`` returns for a multi-label-free classifier.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from huggingface_hub import snapshot_download
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from .errors import ServingError

# Files that make a tokenizer folder loadable by AutoTokenizer (fast tokenizer.json, or a config + vocabulary).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
CLASSIFIER_SUFFIX = "ForSequenceClassification"


@dataclass
class Encoded:
    """A padded batch as numpy int64 arrays, and how many of its texts were cut at ``max_length``."""

    arrays: dict[str, np.ndarray]
    truncated: int


def resolve_model_dir(model: str | os.PathLike, revision: str | None = None, *, what: str = "--model",
                      allow_patterns: Sequence[str] | None = None) -> Path:
    """A local folder for ``model``: the folder itself, or a snapshot of the Hub repo at ``revision``."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ServingError(f"{what} {model}: is a file, expected a model folder or a Hub repo id")
    try:
        return Path(snapshot_download(str(model), revision=revision, allow_patterns=allow_patterns))
    except Exception as exc:  # repo or revision not found, no network: one clear line
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ServingError(f"{what} {model}{'' if revision is None else f' (revision {revision})'}: neither a "
                           f"local folder nor a reachable Hub repo ({type(exc).__name__}: {first})") from None


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise ServingError(f"{folder}: no config.json (not a transformers model folder)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ServingError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


def check_classifier_folder(folder: Path) -> dict[str, Any]:
    """The folder's config, after checking that it is a sequence classifier and carries its tokenizer."""
    config = read_config(folder)
    architectures = config.get("architectures") or []
    if not any(str(a).endswith(CLASSIFIER_SUFFIX) for a in architectures):
        raise ServingError(
            f"{folder / 'config.json'}: architectures {architectures} has no sequence-classification head "
            f"(expected *{CLASSIFIER_SUFFIX}); fine-tune the encoder first, e.g. eval_nsmc.py --save_models")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ServingError(f"{folder}: tokenizer missing (no tokenizer.json or tokenizer_config.json): copy the "
                           "tokenizer files the model was fine-tuned with into the folder")
    return config


def load_tokenizer(folder: Path):
    """AutoTokenizer (fast, no remote code) from a checked model folder."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ServingError(f"{folder}: the tokenizer files cannot be loaded with AutoTokenizer "
                           f"({type(exc).__name__}: {first})") from None
    if tokenizer.pad_token_id is None:
        raise ServingError(f"{folder}: the tokenizer has no pad token, needed to batch texts")
    return tokenizer


def id2label_of(config: Mapping[str, Any]) -> dict[int, str]:
    """``config["id2label"]`` with int keys (JSON stores them as strings)."""
    mapping = config.get("id2label") or {}
    return {int(k): str(v) for k, v in mapping.items()}


def default_max_length(tokenizer, config: Mapping[str, Any]) -> int:
    """Tokens per text: the tokenizer's limit, capped by the model's position embeddings."""
    limits = [int(tokenizer.model_max_length)] if tokenizer.model_max_length < 1e9 else []
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    return min(limits) if limits else 512


def checked_max_length(max_length: int | None, tokenizer, config: Mapping[str, Any]) -> int:
    """``--max-length`` when given (refused above the model's position embeddings), else the default limit."""
    if max_length is None:
        return default_max_length(tokenizer, config)
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and 0 < positions < max_length:
        raise ServingError(f"--max-length {max_length}: above the model's max_position_embeddings ({positions})")
    return max_length


def encode(tokenizer, texts: Sequence[str], max_length: int) -> Encoded:
    """Tokenise a batch, padded to its longest text, cut at ``max_length`` tokens (cut texts are counted)."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=True, return_tensors="np")
    encodings = getattr(enc, "encodings", None) or []
    truncated = sum(1 for e in encodings if e.overflowing)
    arrays = {k: np.asarray(v, dtype=np.int64) for k, v in enc.items()}
    return Encoded(arrays=arrays, truncated=truncated)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def predictions_from_logits(logits: np.ndarray, id2label: Mapping[int, str]) -> list[dict[str, Any]]:
    """``[{"label": ..., "score": ...}]``: the arg-max label and its softmax probability (the pipeline's output)."""
    probs = softmax(np.asarray(logits, dtype=np.float64))
    best = probs.argmax(axis=-1)
    return [{"label": id2label.get(int(i), f"LABEL_{int(i)}"), "score": float(p[i])} for i, p in zip(best, probs)]


class TorchClassifier:
    """A fine-tuned ``*ForSequenceClassification`` in PyTorch (fp32, CPU unless told otherwise).

    ``predict(texts)`` returns ``[{"label", "score"}]`` like ``pipeline("text-classification")``;
    ``logits(texts)`` the raw logits as a float32 numpy array; ``truncated`` counts texts cut at ``max_length``.
    """

    backend = "torch"

    def __init__(self, model, tokenizer, config: Mapping[str, Any], *, max_length: int | None = None,
                 device: str = "cpu", folder: Path | None = None) -> None:
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer
        self.config = dict(config)
        self.id2label = id2label_of(config)
        self.max_length = checked_max_length(max_length, tokenizer, config)
        self.device = device
        self.folder = folder
        self.truncated = 0
        self._accepted = set(inspect.signature(model.forward).parameters)

    @classmethod
    def from_pretrained(cls, model: str | os.PathLike, revision: str | None = None, *,
                        max_length: int | None = None, device: str = "cpu") -> TorchClassifier:
        folder = resolve_model_dir(model, revision, allow_patterns=["*.json", "*.safetensors", "*.bin", "*.txt",
                                                                    "*.model", "*.py"])
        config = check_classifier_folder(folder)
        tokenizer = load_tokenizer(folder)
        checked_max_length(max_length, tokenizer, config)  # before the weights are loaded
        try:
            net, info = AutoModelForSequenceClassification.from_pretrained(str(folder), output_loading_info=True)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise ServingError(f"{folder}: cannot load the classifier ({type(exc).__name__}: {first})") from None
        if info.get("missing_keys"):
            missing = sorted(info["missing_keys"])
            raise ServingError(f"{folder}: the weights lack {len(missing)} tensors of the classifier "
                               f"({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}); they would be "
                               "random: this is not a fine-tuned classifier")
        return cls(net, tokenizer, config, max_length=max_length, device=device, folder=folder)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        batch = encode(self.tokenizer, texts, self.max_length)
        self.truncated += batch.truncated
        inputs = {k: torch.from_numpy(v).to(self.device) for k, v in batch.arrays.items() if k in self._accepted}
        with torch.inference_mode():
            return self.model(**inputs).logits.float().cpu().numpy()

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        if not texts:
            return []
        return predictions_from_logits(self.logits(texts), self.id2label)
