"""``distilkobert space``: the Space app (Gradio) on 127.0.0.1 over a published classifier.

The arguments are checked first (model references, port, the gradio extra), each problem one line and exit
code 2; then the models are loaded and the page is served until Ctrl+C. The entry point (``distilkobert.cli.main``,
``space/app.py`` or this module's ``__main__``) configures the Hub endpoint first; the Hugging Face libraries
(they read HF_ENDPOINT at import) and gradio (an optional extra: a missing one is one line, not a traceback) are
imported inside ``run_space``.
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import sys
from collections.abc import Sequence

from distilkobert.hub.endpoint import configure_hub_environment

from .errors import ServingError
from .model_spec import parse_model_spec

HOST = "127.0.0.1"
DEFAULT_PORT = 7860
SPACE_EXTRA_HINT = "install the optional extra: pip install 'distilkobert[space]'"


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``distilkobert space`` (also built by space/app.py from the Space's variables)."""
    parser = argparse.ArgumentParser(
        prog="distilkobert space",
        description="Open the Space app in a browser: Korean sentiment (a review or a file of reviews), the exact "
                    "KoBERT tokenizer's pieces / ids / offsets next to plain AutoTokenizer's, and teacher vs "
                    f"student. Served on {HOST} only.")
    parser.add_argument("--model", required=True,
                        help="the classifier: ORG/NAME[@VERSION] on the Hub the clients use (HF_ENDPOINT; "
                             "`distilkobert --local-hub space ...` for the local Hub), a model folder or a "
                             "`distilkobert export` folder")
    parser.add_argument("--teacher", default=None,
                        help="a second classifier (same forms as --model) for the Compare tab")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on {HOST} (default {DEFAULT_PORT})")
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "pytorch"],
                        help="auto (default): ONNX Runtime on the int8 graph when the folder or repo has an ONNX "
                             "export (model.int8.onnx / model.onnx, at the top or in onnx/), else PyTorch")
    parser.add_argument("--kobert-repo", default="monologg/kobert",
                        help="the repo whose declared tokenizer (plain AutoTokenizer) the Tokenizer tab shows "
                             "next to the model's own (default monologg/kobert)")
    return parser


def check_port(port: int, host: str = HOST) -> None:
    """The port is valid and free on ``host`` (checked before minutes of model loading)."""
    if not 1 <= port <= 65535:
        raise ServingError(f"--port {port}: expected 1-65535")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServingError(f"--port {port}: {host}:{port} is in use ({exc.strerror}); choose another "
                               "port") from None


def check_arguments(args: argparse.Namespace, host: str = HOST) -> None:
    """Every argument problem as one ServingError, before anything is loaded."""
    parse_model_spec(args.model, "--model")
    if args.teacher is not None:
        parse_model_spec(args.teacher, "--teacher")
    if importlib.util.find_spec("gradio") is None:
        raise ServingError(f"gradio is not installed: {SPACE_EXTRA_HINT}")
    check_port(args.port, host)


def space_main(argv: Sequence[str] | None = None) -> int:
    """``distilkobert space``: 0 after Ctrl+C, 2 on bad arguments or a model that cannot be loaded."""
    return run_space(build_parser().parse_args(argv))


def run_space(args: argparse.Namespace, host: str = HOST, prog: str = "distilkobert space") -> int:
    """Check ``args`` (the parser's), load the models, serve the page on ``host`` until Ctrl+C; 2 on bad input."""
    try:
        check_arguments(args, host)
    except ServingError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    # imported here, after the entry point configured the Hub endpoint (transformers reads it at import)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the page is the output, not "Loading weights" bars
    from .space import DeclaredTokenizer, load_model
    from .space_ui import build_app, launch  # gradio is an optional extra

    try:
        student = load_model(args.model, args.backend, what="--model")
        # the teacher follows --backend pytorch; otherwise it runs on ONNX when it has an export, else PyTorch
        teacher_backend = "pytorch" if args.backend == "pytorch" else "auto"
        teacher = None if args.teacher is None else load_model(args.teacher, teacher_backend, what="--teacher")
    except ServingError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    app = build_app(student, teacher, DeclaredTokenizer(args.kobert_repo))
    try:
        url = launch(app, host=host, port=args.port)
        print(f"DistilKoBERT Space: {url} ({student.describe()}); Ctrl+C stops it", flush=True)
        app.block_thread()
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    configure_hub_environment()  # once, before any Hugging Face import
    sys.exit(space_main())
