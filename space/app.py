"""The Space's entry point (``app_file`` in README.md): the distilkobert Space app, configured by the Space's
variables instead of command-line flags.

    MODEL    the classifier: ORG/NAME[@VERSION] on the Hub (HF_ENDPOINT, else huggingface.co), a folder or a
             ``distilkobert export`` folder (required)
    TEACHER  a second classifier for the Compare tab (optional)
    BACKEND  auto (default: ONNX int8 when the repo has an export, else PyTorch), onnx or pytorch

It listens where the Space runtime says (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT), 127.0.0.1:7860 otherwise.
On a workstation, ``distilkobert space --model ORG/NAME@VERSION`` does the same on 127.0.0.1.
"""

from __future__ import annotations

import os
import sys

from distilkobert.hub.endpoint import configure_hub_environment
from distilkobert.serving.space_cli import DEFAULT_PORT, HOST, build_parser, run_space


def main() -> int:
    argv = ["--model", os.environ.get("MODEL", ""), "--backend", os.environ.get("BACKEND", "auto"),
            "--port", os.environ.get("GRADIO_SERVER_PORT", str(DEFAULT_PORT))]
    if os.environ.get("TEACHER"):
        argv += ["--teacher", os.environ["TEACHER"]]
    if not argv[1]:
        print("space/app.py: error: set the MODEL variable to the classifier (ORG/NAME[@VERSION] or a folder)",
              file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    return run_space(args, host=os.environ.get("GRADIO_SERVER_NAME", HOST), prog="space/app.py")


if __name__ == "__main__":
    configure_hub_environment()  # once, before any Hugging Face import: the libraries read HF_ENDPOINT at import
    sys.exit(main())
