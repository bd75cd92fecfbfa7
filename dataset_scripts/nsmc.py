"""Build (and publish) the NSMC dataset; same as `distilkobert dataset nsmc`. Run with --help for options."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout too

from distilkobert.data.cli import nsmc_main  # noqa: E402
from distilkobert.hub.endpoint import configure_hub_environment  # noqa: E402

if __name__ == "__main__":
    configure_hub_environment()  # once, before any Hugging Face import: the libraries read HF_ENDPOINT at import
    sys.exit(nsmc_main(sys.argv[1:]))
