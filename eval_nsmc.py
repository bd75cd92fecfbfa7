#!/usr/bin/env python
"""Honest NSMC evaluation: fine-tune per seed, select on validation, test once. See `--help`.

Same as `distilkobert eval`; the logic lives in `distilkobert.evaluation.run`.
"""

import sys

from distilkobert.hub.endpoint import configure_hub_environment

if __name__ == "__main__":
    if not {"--compare", "-h", "--help"} & set(sys.argv[1:]):  # comparing JSON files or --help needs no Hub
        configure_hub_environment()  # before any Hugging Face import: they read HF_ENDPOINT at import time
    from distilkobert.evaluation.run import main

    sys.exit(main())
