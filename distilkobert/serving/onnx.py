"""The ONNX Runtime backend: a folder written by ``distilkobert export`` in, ``{"label", "score"}`` out.

Needs the optional extra ``pip install distilkobert[onnx]`` (onnxruntime).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from .classifier import (
    checked_max_length,
    encode,
    id2label_of,
    load_tokenizer,
    predictions_from_logits,
    read_config,
    resolve_model_dir,
)
from .errors import ServingError

FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"


def make_session(path: Path, threads: int = 0) -> ort.InferenceSession:
    """A CPU inference session with all graph optimisations; ``threads`` > 0 fixes the intra-op threads."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ServingError(f"{path}: ONNX Runtime cannot load it ({type(exc).__name__}: {first})") from None


class OnnxClassifier:
    """An exported classifier run by ONNX Runtime; same ``predict`` / ``logits`` as ``TorchClassifier``.

    ``OnnxClassifier.from_pretrained(export_dir)`` loads ``model.onnx``; ``file="model.int8.onnx"`` the
    quantised copy. The folder also holds ``config.json`` (``id2label``) and the tokenizer files.
    """

    backend = "onnx"

    def __init__(self, session: ort.InferenceSession, tokenizer, config: dict[str, Any], *,
                 max_length: int | None = None, folder: Path | None = None, file: str = FP32_FILE) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.config = config
        self.id2label = id2label_of(config)
        self.max_length = checked_max_length(max_length, tokenizer, config)
        self.folder = folder
        self.file = file
        self.truncated = 0
        self._inputs = [i.name for i in session.get_inputs()]

    @classmethod
    def from_pretrained(cls, model: str | os.PathLike, revision: str | None = None, *, file: str = FP32_FILE,
                        max_length: int | None = None, threads: int = 0) -> OnnxClassifier:
        folder = resolve_model_dir(model, revision, allow_patterns=["*.json", "*.onnx", "*.onnx.data", "*.txt",
                                                                    "*.model", "*.py"])
        path = folder / file
        if not path.is_file():
            raise ServingError(f"{folder}: no {file} (export the classifier first: distilkobert export --model "
                               f"MODEL_DIR --output-dir {folder})")
        config = read_config(folder)
        if not (folder / "tokenizer.json").is_file() and not (folder / "tokenizer_config.json").is_file():
            raise ServingError(f"{folder}: tokenizer missing (no tokenizer.json or tokenizer_config.json)")
        tokenizer = load_tokenizer(folder)
        return cls(make_session(path, threads), tokenizer, config, max_length=max_length, folder=folder, file=file)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        batch = encode(self.tokenizer, texts, self.max_length)
        self.truncated += batch.truncated
        missing = [name for name in self._inputs if name not in batch.arrays]
        if missing:
            raise ServingError(f"{self.folder / self.file}: the graph needs inputs {missing} that the tokenizer "
                               "does not produce")
        return self.session.run(None, {name: batch.arrays[name] for name in self._inputs})[0]

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        if not texts:
            return []
        return predictions_from_logits(self.logits(texts), self.id2label)
