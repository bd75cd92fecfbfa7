"""``distilkobert predict`` and ``distilkobert export``.

The entry point (``distilkobert.cli.main``, or this module's ``__main__``) configures the Hub endpoint first; the
modules that import the Hugging Face libraries (they read HF_ENDPOINT at import) or the optional extra onnxruntime
(a missing one is one clear line, not a traceback) are imported inside the commands.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from distilkobert.common.output_dir import OutputDirError
from distilkobert.hub.endpoint import configure_hub_environment

from .errors import ServingError
from .inputs import read_records
from .predict import check_output_file, format_summary, run_predict

ONNX_EXTRA_HINT = "install the optional extra: pip install 'distilkobert[onnx]'"


def _quiet_transformers() -> None:
    """No "Loading weights" bars from transformers: the command's own progress bar and messages are the output."""
    # imported here, after the entry point configured the Hub endpoint (transformers reads it at import)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def _missing_onnx(exc: ImportError) -> str:
    return f"{exc.name or 'onnxruntime'} is not installed: {ONNX_EXTRA_HINT}"


def predict_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="distilkobert predict",
        description="Classify texts with a fine-tuned classifier (e.g. Korean sentiment, NSMC): batched and "
                    "streaming (files larger than memory work); one JSON line per input row, in order.",
        epilog="Output rows: {\"line\", \"id\" (when the input has ids), \"label\", \"score\", \"gold\" (when the "
               "input has labels)}. Empty texts and unreadable rows keep their position with label and score "
               "null and an \"error\"; unreadable rows are also reported on stderr with their line number.")
    parser.add_argument("--model", required=True,
                        help="fine-tuned classifier: a folder or Hub repo (torch), or an export folder (onnx)")
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of --model")
    parser.add_argument("--input", required=True,
                        help="texts: .txt (one per line), .tsv (NSMC: id, document, label), .jsonl; .gz works")
    parser.add_argument("--input-format", default="auto", choices=["auto", "text", "tsv", "jsonl"],
                        help="default: from the file name (a .txt with the NSMC header is read as tsv)")
    parser.add_argument("--text-field", default="text", help="jsonl: the field holding the text (default: text)")
    parser.add_argument("--id-field", default="id", help="jsonl: the field copied to the output as id")
    parser.add_argument("--output", required=True, help="jsonl file to write ('-' = stdout)")
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx"],
                        help="torch (PyTorch fp32) or onnx (ONNX Runtime on a `distilkobert export` folder)")
    parser.add_argument("--onnx-file", default="model.onnx",
                        help="--backend onnx: the graph in the folder (model.onnx, or model.int8.onnx)")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per forward pass (default 32)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="tokens per text; longer texts are cut and counted (default: the model's limit)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = the library default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be >= 1")
    if args.max_length is not None and args.max_length < 2:
        parser.error("--max-length must be >= 2")

    try:
        check_output_file(args.output, args.input)  # never over the input, and a bad path before any work
        records = read_records(args.input, args.input_format, text_field=args.text_field, id_field=args.id_field)
        first = next(records, None)  # input problems are reported before the model is loaded
        if first is None:
            raise ServingError(f"--input {args.input}: empty input (no rows to classify)")
        records = itertools.chain([first], records)
        _quiet_transformers()
        if args.backend == "onnx":
            try:  # onnxruntime is an optional extra
                from .onnx import OnnxClassifier
            except ImportError as exc:
                raise ServingError(f"--backend onnx: {_missing_onnx(exc)}") from None
            classifier = OnnxClassifier.from_pretrained(args.model, args.revision, file=args.onnx_file,
                                                        max_length=args.max_length, threads=args.threads)
        else:
            # imported here, after the entry point configured the Hub endpoint (transformers reads it at import)
            from .classifier import TorchClassifier

            if args.threads > 0:
                torch.set_num_threads(args.threads)

            classifier = TorchClassifier.from_pretrained(args.model, args.revision, max_length=args.max_length)
        summary = run_predict(classifier, records, args.output, batch_size=args.batch_size,
                              progress=not args.no_progress, source=args.input)
    except ServingError as exc:
        print(f"distilkobert predict: error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary, args.output), file=sys.stderr)
    return 0


def export_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="distilkobert export",
        description="Export a fine-tuned sequence classifier to ONNX (torch.onnx dynamo exporter), optionally with "
                    "a dynamically quantised int8 copy; the folder also gets config.json (id2label) and the "
                    "tokenizer, so `distilkobert predict --backend onnx --model OUTPUT_DIR` runs on it alone.")
    parser.add_argument("--model", required=True, help="fine-tuned *ForSequenceClassification folder or Hub repo")
    parser.add_argument("--revision", default=None, help="Hub revision of --model")
    parser.add_argument("--output-dir", required=True, help="folder to write (created if needed)")
    parser.add_argument("--quantize", choices=["int8"], default=None,
                        help="also write model.int8.onnx (onnxruntime quantize_dynamic: int8 weights)")
    parser.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty --output-dir")
    args = parser.parse_args(argv)
    _quiet_transformers()
    try:
        try:  # onnxruntime is an optional extra
            from .export import export_classifier
        except ImportError as exc:
            raise ServingError(_missing_onnx(exc)) from None
        info = export_classifier(args.model, args.output_dir, revision=args.revision, quantize=args.quantize,
                                 overwrite=args.overwrite)
    except (ServingError, OutputDirError) as exc:
        print(f"distilkobert export: error: {exc}", file=sys.stderr)
        return 2
    for name, f in info["files"].items():
        print(f"{Path(args.output_dir) / name}: {f['bytes'] / 1e6:.1f} MB, max |logit - PyTorch| = "
              f"{f['max_abs_logit_diff_vs_torch']:.2e} on {info['check_texts']} check texts")
    print(f"export written to {args.output_dir} (PyTorch safetensors: {info['torch_weights_bytes'] / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    configure_hub_environment()  # once, before any Hugging Face import
    sys.exit(predict_main())
