"""Build (and publish) the cleaned pretraining corpus; same as `distilkobert dataset corpus`. See --help."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout too

from distilkobert.data.cli import corpus_main  # noqa: E402
from distilkobert.hub.endpoint import configure_hub_environment  # noqa: E402

if __name__ == "__main__":
    configure_hub_environment()  # once, before any Hugging Face import: the libraries read HF_ENDPOINT at import
    sys.exit(corpus_main(sys.argv[1:]))
