"""HTTP/1.1 request-body reading (Content-Length or chunked, size-limited) and Range parsing for the local Hub."""

from __future__ import annotations

import re

from distilkobert.hub.storage import CHUNK, HubError


class BodyReader:
    """Reads a request body with Content-Length or chunked transfer encoding, enforcing a size limit."""

    def __init__(self, rfile, length: int | None, chunked: bool, limit: int):
        self.rfile, self.chunked, self.limit = rfile, chunked, limit
        self.remaining = 0 if chunked else (length or 0)  # bytes left in the body (or in the current chunk)
        self.total = 0
        self._eof = not chunked and self.remaining == 0
        self._pending = bytearray()  # read ahead by readline()
        self.broken = False  # malformed framing: the rest of the body cannot be found, only the connection closed
        if length is not None and not chunked and length > limit:
            raise HubError(413, f"Request body of {length} bytes exceeds the limit of {limit} bytes")

    @property
    def done(self) -> bool:
        return self._eof and not self._pending

    def _next_chunk(self) -> None:
        line = self.rfile.readline(1024)
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            size = -1
        if size < 0:
            self.broken = True
            raise HubError(400, f"Malformed chunked request body: chunk size {line[:40]!r}")
        if size == 0:
            while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._eof = True
        self.remaining = size

    def _raw_read(self, n: int) -> bytes:
        while not self._eof:
            if self.remaining == 0:
                if not self.chunked:
                    self._eof = True
                    break
                self._next_chunk()
                continue
            data = self.rfile.read(min(self.remaining, n))
            if not data:
                self.broken = True
                raise HubError(400, "Request body ended early")
            self.remaining -= len(data)
            self.total += len(data)
            if self.total > self.limit:
                raise HubError(413, f"Request body exceeds the limit of {self.limit} bytes")
            if self.remaining == 0:
                if self.chunked:
                    self.rfile.readline(16)  # CRLF after each chunk
                else:
                    self._eof = True
            return data
        return b""

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            out = bytearray(self._pending)
            self._pending.clear()
            while True:
                data = self._raw_read(CHUNK)
                if not data:
                    return bytes(out)
                out += data
        if self._pending:
            data = bytes(self._pending[:n])
            del self._pending[:n]
            return data
        return self._raw_read(n)

    def readline(self, limit: int) -> bytes:
        """One line (with its newline) of at most ``limit`` bytes; 413 for a longer line."""
        searched = 0
        while True:
            nl = self._pending.find(b"\n", searched)
            if nl >= 0:
                line = bytes(self._pending[:nl + 1])
                del self._pending[:nl + 1]
                if len(line) > limit:
                    raise HubError(413, f"A line of the request body is longer than {limit} bytes")
                return line
            searched = len(self._pending)
            if searched > limit:
                raise HubError(413, f"A line of the request body is longer than {limit} bytes")
            data = self._raw_read(CHUNK)
            if not data:
                line = bytes(self._pending)
                self._pending.clear()
                return line
            self._pending += data

    def drain(self, max_bytes: int) -> bool:
        """Discard the rest of the body (to keep the connection usable); False when too much is left."""
        skipped = 0
        while not self.done:
            data = self.read(CHUNK)
            if not data:
                break
            skipped += len(data)
            if skipped > max_bytes:
                return False
        return True


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` -> inclusive (start, end); None when not satisfiable."""
    # ASCII digits only, at most 19 (an int64): Python's int() also takes other scripts' digits and refuses
    # strings over 4300 digits with a ValueError.
    m = re.fullmatch(r"\s*bytes\s*=\s*([0-9]{0,19})\s*-\s*([0-9]{0,19})\s*", header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":
        n = int(m.group(2))
        if n == 0 or size == 0:
            return None
        return max(0, size - n), size - 1
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)
