"""``distilkobert export``: a fine-tuned classifier as a self-contained ONNX folder (fp32, optionally int8).

The graph is exported with ``torch.onnx.export(..., dynamo=True)`` (torch.export + onnxscript), inputs
``input_ids`` and ``attention_mask`` with dynamic batch and sequence axes, output ``logits``. ``optimum-onnx``
is not used: it requires transformers < 5. Token type ids are not an input: the classifiers here read one
text, whose token type ids are all 0, the model's default. ``--quantize int8`` adds the dynamically
quantised copy (int8 weights of the MatMul / Gather ops, activations quantised at run time) made by
onnxruntime's ``quantize_dynamic``. The folder gets ``config.json`` (``id2label``), the tokenizer files and
``export_info.json`` (sizes and the largest logit difference to PyTorch on check texts, per file).

Needs the optional extra ``pip install distilkobert[onnx]`` (onnx, onnxscript, onnxruntime).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from distilkobert.common.environment import library_versions
from distilkobert.common.output_dir import staged_output

from .classifier import TorchClassifier, check_classifier_folder, encode, resolve_model_dir
from .errors import ServingError
from .onnx import FP32_FILE, INT8_FILE, OnnxClassifier, make_session

logger = logging.getLogger(__name__)

# Files copied next to the graph so the export folder loads on its own (config with id2label, tokenizer).
SIDE_FILE_SUFFIXES = (".json", ".txt", ".model", ".py")
SKIP_SIDE_FILES = {"trainer_state.json", "export_info.json"}
# Largest |logit difference| an fp32 export may have against PyTorch on the check texts: float32 rounding of
# a different operator order stays far below this; a wrong graph (lost mask, wrong input) is far above it.
FP32_TOLERANCE = 1e-3
# Korean review-like texts of different lengths (one past the tokenizer limit when it is small) to check the
# exported graph against PyTorch with padding in the batch.
CHECK_TEXTS = (
    "이 영화 정말 재미있었어요. 배우들의 연기가 훌륭했다.",
    "시간 낭비였다ㅠㅠ",
    "스토리는 뻔했지만 음악이 좋아서 끝까지 봤습니다. 다음 편도 기대됩니다!",
    "별로",
    "최악의 결말... 다시는 안 본다",
    "가족과 함께 보기 좋은 따뜻한 영화 👍 " * 8,
)


def _write_graph(classifier: TorchClassifier, path: Path) -> None:
    """Export with the dynamo exporter; the example batch has two texts of different lengths so neither the
    batch nor the sequence axis is specialised to 1."""
    batch = encode(classifier.tokenizer, list(CHECK_TEXTS[:2]), classifier.max_length).arrays
    inputs = {k: torch.from_numpy(batch[k]) for k in ("input_ids", "attention_mask")}
    batch_dim, seq_dim = torch.export.Dim("batch"), torch.export.Dim("sequence")
    n_bytes = sum(p.numel() * p.element_size() for p in classifier.model.parameters())
    # the exporter warns (Python warnings and torch's logger) about optional torchvision ops and its internals
    # and torch.export's structured trace logger emits DEBUG records that cost time when a handler listens
    quiet = [logging.getLogger(name) for name in ("torch.onnx._internal.exporter._registration", "torch.__trace")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                classifier.model, (), str(path), kwargs=inputs, dynamo=True,
                input_names=["input_ids", "attention_mask"], output_names=["logits"],
                dynamic_shapes={"input_ids": {0: batch_dim, 1: seq_dim}, "attention_mask": {0: batch_dim, 1: seq_dim}},
                external_data=n_bytes > 1_800_000_000,  # protobuf's 2 GB limit; BERT-base is 0.4 GB
                optimize=True, verbose=False, report=False)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise ServingError(f"{classifier.folder}: torch.onnx.export (dynamo) failed: {type(exc).__name__}: "
                               f"{first}") from None
        finally:
            for log, level in zip(quiet, levels):
                log.setLevel(level)


def _quantize_int8(source: Path, target: Path) -> None:
    # onnxruntime's optional pre-processing (symbolic shape inference) cannot follow the dynamo graph's
    # symbolic shapes; the quantiser works without it and the session applies the fusions at load time.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a "consider pre-processing" warning on the root logger
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)


def _max_diff(reference: np.ndarray, other: np.ndarray) -> float:
    return float(np.abs(reference.astype(np.float64) - other.astype(np.float64)).max())


def file_bytes(folder: Path, name: str) -> int:
    """Bytes on disk of an ONNX file including its external data file, if any."""
    return sum(p.stat().st_size for p in (folder / name, folder / f"{name}.data") if p.is_file())


def export_classifier(model: str, output_dir: str | Path, *, revision: str | None = None,
                      quantize: str | None = None, overwrite: bool = False,
                      check_texts: Sequence[str] = CHECK_TEXTS) -> dict[str, Any]:
    """Export ``model`` (a fine-tuned sequence-classification folder or Hub repo) to ``output_dir``.

    Writes ``model.onnx`` (and ``model.int8.onnx`` with ``quantize="int8"``), ``config.json``, the tokenizer
    files and ``export_info.json``; returns the info dict. The project's output-folder policy applies: a
    non-empty ``output_dir`` needs ``overwrite``, and the folder is built aside and swapped in at the end, so a
    failed export leaves nothing half-written. Raises :class:`ServingError` for a model without a classification
    head, a missing tokenizer, or an fp32 graph whose logits differ from PyTorch by more than ``FP32_TOLERANCE``.
    """
    if quantize not in (None, "int8"):
        raise ServingError(f"--quantize {quantize}: only int8 is supported")
    folder = resolve_model_dir(model, revision)
    check_classifier_folder(folder)
    classifier = TorchClassifier.from_pretrained(folder)
    if Path(output_dir).resolve() == folder.resolve():
        raise ServingError(f"--output-dir {output_dir}: must differ from the model folder")
    with staged_output(output_dir, overwrite, inputs={"--model": folder}) as out:
        return _export_into(out, classifier, folder, model=model, revision=revision, quantize=quantize,
                            check_texts=check_texts)


def _export_into(out: Path, classifier: TorchClassifier, folder: Path, *, model: str, revision: str | None,
                 quantize: str | None, check_texts: Sequence[str]) -> dict[str, Any]:
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix in SIDE_FILE_SUFFIXES and f.name not in SKIP_SIDE_FILES:
            shutil.copy2(f, out / f.name)

    t0 = time.perf_counter()
    _write_graph(classifier, out / FP32_FILE)
    export_seconds = time.perf_counter() - t0
    reference = classifier.logits(list(check_texts))
    files: dict[str, Any] = {}
    fp32 = OnnxClassifier(make_session(out / FP32_FILE), classifier.tokenizer, classifier.config,
                          max_length=classifier.max_length, folder=out)
    diff = _max_diff(reference, fp32.logits(list(check_texts)))
    files[FP32_FILE] = {"bytes": file_bytes(out, FP32_FILE), "max_abs_logit_diff_vs_torch": diff}
    if diff > FP32_TOLERANCE:
        raise ServingError(f"{out / FP32_FILE}: its logits differ from PyTorch by {diff:.3g} (> {FP32_TOLERANCE}) "
                           "on the check texts: the export is wrong")
    if quantize == "int8":
        t1 = time.perf_counter()
        _quantize_int8(out / FP32_FILE, out / INT8_FILE)
        int8 = OnnxClassifier(make_session(out / INT8_FILE), classifier.tokenizer, classifier.config,
                              max_length=classifier.max_length, folder=out, file=INT8_FILE)
        logits8 = int8.logits(list(check_texts))
        files[INT8_FILE] = {"bytes": file_bytes(out, INT8_FILE), "max_abs_logit_diff_vs_torch": _max_diff(reference,
                                                                                                          logits8),
                            "same_labels_as_torch": int((logits8.argmax(-1) == reference.argmax(-1)).sum()),
                            "quantize_seconds": round(time.perf_counter() - t1, 2)}
    info = {
        "source": str(model), "revision": revision, "source_folder": str(folder),
        "architectures": classifier.config.get("architectures"), "id2label": classifier.id2label,
        "inputs": ["input_ids", "attention_mask"], "outputs": ["logits"], "exporter": "torch.onnx.export(dynamo=True)",
        "export_seconds": round(export_seconds, 2), "check_texts": len(check_texts), "files": files,
        "torch_weights_bytes": sum(p.stat().st_size for p in folder.glob("*.safetensors")),
        "versions": library_versions(("torch", "transformers", "onnx", "onnxscript", "onnxruntime")),
    }
    (out / "export_info.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return info
