"""Putting a fine-tuned classifier to work: prediction, ONNX export and quantisation, publishing.

- :mod:`.classifier`: load a sequence-classification folder or Hub repo (with checks) and
  :class:`~.classifier.TorchClassifier`, the PyTorch backend;
- :mod:`.onnx`: :class:`~.onnx.OnnxClassifier`, the ONNX Runtime backend (same ``label`` / ``score`` output);
- :mod:`.export`: ``distilkobert export`` (ONNX fp32 and dynamically quantised int8);
- :mod:`.inputs` and :mod:`.predict`: ``distilkobert predict`` (streaming, batched, jsonl out);
- :mod:`.publish`: :func:`~.publish.publish_classifier`, a versioned text-classification model repo.

Nothing heavy is imported here: ``onnxruntime`` is an optional extra (``pip install distilkobert[onnx]``).
"""

from __future__ import annotations

from .errors import ServingError

__all__ = ["ServingError"]
