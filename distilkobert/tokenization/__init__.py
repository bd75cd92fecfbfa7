"""KoBERT tokenizer tooling: the exact fast converter, folder builder, vocabulary trainer and CLI.

The package exports the builders and the error types; the command line is ``distilkobert.tokenization.cli``.
"""

from __future__ import annotations

from .converter import build_fast_tokenizer
from .errors import (
    CorruptModelError,
    CorruptVocabError,
    MissingFileError,
    MissingSpecialTokensError,
    TokenizerFileError,
    VocabMismatchError,
)
from .folder import build_tokenizer_folder, read_vocab, validate_vocab
from .spm_proto import read_model
from .train import train_vocabulary

__all__ = [
    "build_tokenizer_folder", "train_vocabulary", "build_fast_tokenizer", "read_vocab", "validate_vocab", "read_model",
    "TokenizerFileError", "MissingFileError", "CorruptModelError", "CorruptVocabError",
    "MissingSpecialTokensError", "VocabMismatchError",
]
