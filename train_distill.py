#!/usr/bin/env python
"""Distil a DistilKoBERT student: `python train_distill.py recipes/NAME.yaml [--flag value ...]`.

Same as `distilkobert train ...`; see `distilkobert/distill/run.py` and `--help`.
"""

import sys

from distilkobert.distill.run import main

if __name__ == "__main__":
    sys.exit(main())
