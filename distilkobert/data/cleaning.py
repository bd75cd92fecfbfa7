"""Text cleaning for the pretraining corpus: NFC, control characters, whitespace, sentence packing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# C0/C1 controls that are not whitespace (whitespace is collapsed instead), DEL, and invisible format
# characters that only confuse tokenisation: BOM / zero-width space / word joiner / bidi marks and overrides.
# ZWJ / ZWNJ (U+200C/D) are kept: they carry meaning in emoji sequences and some scripts.
_CONTROL_CHARS = (
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb"
)
_CONTROL_RE = re.compile(f"[{_CONTROL_CHARS}]")
# Sentence end: terminal punctuation (possibly repeated, possibly followed by closing quotes/brackets),
# then a space. Text is whitespace-collapsed first, so the separator is exactly one space.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?。！？…])(?:[\"'”’)\]」』]*) ")


@dataclass
class CleanResult:
    text: str
    nfc_changed: bool
    control_removed: bool
    whitespace_changed: bool


def clean_text(text: str) -> CleanResult:
    """NFC-normalise, remove control/invisible format characters, collapse all whitespace to single spaces
    and strip; reports which of the steps changed the text (the corpus build counts them)."""
    nfc_changed = not unicodedata.is_normalized("NFC", text)
    if nfc_changed:
        text = unicodedata.normalize("NFC", text)
    stripped = _CONTROL_RE.sub("", text)
    control_removed = len(stripped) != len(text)
    collapsed = " ".join(stripped.split())
    return CleanResult(collapsed, nfc_changed, control_removed, collapsed != stripped)


def split_sentences(text: str) -> list[str]:
    """Split whitespace-collapsed text after sentence-final punctuation (`.!?。！？…` and closing quotes)."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END_RE.finditer(text):
        end = match.end() - 1  # the separating space is not part of either sentence
        pieces.append(text[start:end])
        start = match.end()
    pieces.append(text[start:])
    return [p for p in pieces if p]


def pack_sentences(text: str, max_chars: int) -> list[str]:
    """Cut a long document into chunks of at most `max_chars`, at sentence boundaries, greedily.

    A single sentence longer than `max_chars` becomes its own chunk, uncut (never split mid-sentence).
    Joining the chunks with one space gives back `text` exactly.
    """
    if len(text) <= max_chars:
        return [text]
    chunks: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        if not current:
            current = sentence
        elif len(current) + 1 + len(sentence) <= max_chars:
            current = f"{current} {sentence}"
        else:
            chunks.append(current)
            current = sentence
    if current:
        chunks.append(current)
    return chunks
