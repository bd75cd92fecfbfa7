"""Clear, user-facing errors for tokenizer files (each names the offending file)."""

from __future__ import annotations


class TokenizerFileError(ValueError):
    """Base class: a tokenizer input file is missing or unusable."""


class MissingFileError(TokenizerFileError, FileNotFoundError):
    """A SentencePiece model or vocab.txt does not exist."""


class CorruptModelError(TokenizerFileError):
    """The SentencePiece model file cannot be parsed or is not a Unigram model."""


class CorruptVocabError(TokenizerFileError):
    """vocab.txt is not UTF-8 text with one unique token a line."""


class MissingSpecialTokensError(TokenizerFileError):
    """vocab.txt does not start with, or lacks, the five special tokens."""


class VocabMismatchError(TokenizerFileError):
    """vocab.txt and the SentencePiece model do not describe the same pieces."""
