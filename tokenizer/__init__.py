"""The KoBERT slow tokenizer, importable as ``kobert_tokenizer`` once the project is installed."""

from .tokenization_kobert import KoBertTokenizer

__all__ = ["KoBertTokenizer"]
