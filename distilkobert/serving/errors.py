"""The one error type of the serving commands: its message is the whole, one-line explanation."""

from __future__ import annotations


class ServingError(ValueError):
    """Bad input to a serving command (model, tokenizer, input file); the message names the argument or file
    (and line) and says what to do."""
