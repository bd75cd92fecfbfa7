"""`python -m distilkobert.demo`: the same as `distilkobert demo`."""

import sys

from distilkobert.demo.run import main

sys.exit(main())
