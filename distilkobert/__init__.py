"""DistilKoBERT: a small Korean BERT distilled from KoBERT, with its exact tokenizer and Hub tooling.

The original project's API is kept: ``get_distilkobert_model``, ``get_kobert_model``, ``get_tokenizer``.
Heavy libraries are imported lazily so that the Hub endpoint can be configured first.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["get_distilkobert_model", "get_kobert_model", "get_tokenizer", "__version__"]


def __getattr__(name: str):
    if name in ("get_distilkobert_model", "get_kobert_model", "get_tokenizer"):
        from distilkobert import api

        return getattr(api, name)
    raise AttributeError(f"module 'distilkobert' has no attribute {name!r}")
