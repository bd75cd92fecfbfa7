#!/usr/bin/env python
"""Honest NSMC evaluation: fine-tune per seed, select on validation, test once. See `--help`.

Same as `distilkobert eval`; the logic lives in `distilkobert.evaluation.run`.
"""

import sys

from distilkobert.evaluation.run import main

if __name__ == "__main__":
    sys.exit(main())
