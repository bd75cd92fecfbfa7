#!/usr/bin/env python
"""Distil a DistilKoBERT student: `python train_distill.py recipes/NAME.yaml [--flag value ...]`.

Same as `distilkobert train ...`; see `distilkobert/distill/run.py` and `--help`.
"""

import sys

from distilkobert.hub.endpoint import configure_hub_environment

if __name__ == "__main__":
    if not {"-h", "--help"} & set(sys.argv[1:]):  # --help needs no Hub
        configure_hub_environment()  # before any Hugging Face import: they read HF_ENDPOINT at import time
    from distilkobert.distill.run import main  # imports the Hugging Face libraries: after the endpoint is set

    sys.exit(main())
