"""Opening raw inputs: local files (plain or gzip, detected by content) and URLs.

stdlib only, so that the dataset commands can configure the Hub endpoint before any Hugging Face import.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"\r\n|\r|\n")
_BLOCK = 1 << 16
_HUB_DATASET_SPEC = re.compile(r"[^:\s]+(?::[^:\s]+)?:[^:\s]+:[^:\s]+")


class SourceError(Exception):
    """An input could not be opened or read; the message names it and says what to do."""


def is_url(location: str | os.PathLike) -> bool:
    return str(location).startswith(("http://", "https://"))


def is_hub_dataset_spec(spec: str) -> bool:
    """Is `spec` shaped like a Hub dataset source `name[:config]:split:column`? (A local file wins if it exists.)"""
    return bool(_HUB_DATASET_SPEC.fullmatch(spec))


def _maybe_gunzip(raw: BinaryIO) -> BinaryIO:
    # By content, not by name: a `.txt` that is really gzip (or the reverse) still reads correctly.
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered)  # type: ignore[return-value]
    return buffered


def open_binary(location: str | os.PathLike, *, url_hint: str = "", timeout: float = 30.0) -> BinaryIO:
    """Open a local path or URL for binary line iteration, transparently decompressing gzip.

    A URL that cannot be fetched raises `SourceError` whose message includes `url_hint` (e.g. which
    command-line option takes a local file instead).
    """
    if is_url(location):
        try:
            response = urllib.request.urlopen(str(location), timeout=timeout)  # noqa: S310 - user-given URL
            data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceError(f"could not download {location}: {reason}. {url_hint}".strip()) from None
        return _maybe_gunzip(io.BytesIO(data))  # type: ignore[arg-type]
    path = Path(location)
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, expected a file")
    try:
        return _maybe_gunzip(open(path, "rb"))
    except OSError as exc:
        raise SourceError(f"{path}: cannot open ({exc.strerror or exc})") from None


def iter_lines(handle: BinaryIO, source: str | os.PathLike) -> Iterator[tuple[int, bytes]]:
    """(line number, line without its ending) for every line of a binary stream, streamed in blocks.

    Lines end with "\\n", "\\r\\n" or a lone "\\r" (old Mac files), so a CR-only file is many rows, not one; a
    UTF-8 byte order mark on line 1 is dropped. A truncated or corrupt gzip stream (or a read error) raises
    `SourceError` naming `source` and the line the reading had reached.
    """
    carry, number = b"", 0
    while True:
        try:
            block = handle.read(_BLOCK)
        except (EOFError, OSError, zlib.error) as exc:
            what = "truncated or corrupt gzip data" if isinstance(exc, (EOFError, gzip.BadGzipFile, zlib.error)) \
                else f"read error ({exc})"
            raise SourceError(f"{source}:{number + 1}: {what}; {number:,} complete lines were read before it") \
                from None
        if not block:
            break
        data = carry + block
        tail = b""
        if data.endswith(b"\r"):  # maybe the first half of a CR LF split between two blocks
            data, tail = data[:-1], b"\r"
        parts = _EOL.split(data)
        carry = parts.pop() + tail
        for raw in parts:
            number += 1
            yield number, (raw[3:] if number == 1 and raw.startswith(BOM) else raw)
    if carry:
        raw = carry[:-1] if carry.endswith(b"\r") else carry
        number += 1
        yield number, (raw[3:] if number == 1 and raw.startswith(BOM) else raw)


def read_lines(location: str | os.PathLike, *, url_hint: str = "") -> Iterator[tuple[int, bytes]]:
    """`iter_lines` of a local path or URL opened with `open_binary` (gzip detected by content)."""
    with open_binary(location, url_hint=url_hint) as handle:
        yield from iter_lines(handle, location)


def sha256_of(location: str | os.PathLike) -> str | None:
    """sha256 of a local file's bytes as stored (None for URLs), recorded in dataset cards."""
    if is_url(location):
        return None
    digest = hashlib.sha256()
    with open(location, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
