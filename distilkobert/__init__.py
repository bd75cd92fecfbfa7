"""DistilKoBERT: a small Korean BERT distilled from KoBERT, with its exact tokenizer and Hub tooling.

The original project's API is kept, with its defaults (the published ``monologg/*`` repos):
``get_kobert_model``, ``get_kobert_lm``, ``get_distilkobert_model``, ``get_distilkobert_lm``, ``get_tokenizer``.
Heavy libraries are imported lazily so that the Hub endpoint can be configured first.
"""

from __future__ import annotations

from distilkobert._version import __version__

_API = ("get_distilkobert_lm", "get_distilkobert_model", "get_kobert_lm", "get_kobert_model", "get_tokenizer")

__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        from distilkobert.checkpoints import api  # lazy: the Hub endpoint is configured before any HF import

        return getattr(api, name)
    raise AttributeError(f"module 'distilkobert' has no attribute {name!r}")
