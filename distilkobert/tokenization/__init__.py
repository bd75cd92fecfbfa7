"""KoBERT tokenizer tooling: the exact fast converter, folder builder, vocabulary trainer and CLI.

Heavy imports happen inside the functions; ``import distilkobert.tokenization`` stays cheap.
"""

from __future__ import annotations

from .errors import (
    CorruptModelError,
    CorruptVocabError,
    MissingFileError,
    MissingSpecialTokensError,
    TokenizerFileError,
    VocabMismatchError,
)

__all__ = [
    "build_tokenizer_folder", "train_vocabulary", "build_fast_tokenizer", "read_vocab", "read_model",
    "TokenizerFileError", "MissingFileError", "CorruptModelError", "CorruptVocabError",
    "MissingSpecialTokensError", "VocabMismatchError",
]


def __getattr__(name: str):
    if name in ("build_tokenizer_folder", "read_vocab", "validate_vocab"):
        from . import folder

        return getattr(folder, name)
    if name == "train_vocabulary":
        from .train import train_vocabulary

        return train_vocabulary
    if name == "build_fast_tokenizer":
        from .converter import build_fast_tokenizer

        return build_fast_tokenizer
    if name == "read_model":
        from .spm_proto import read_model

        return read_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
