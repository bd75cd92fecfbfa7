"""The local Hub's users and tokens: where they are read from and the rules they must keep.

Three sources, read by ``distilkobert hub serve`` and combined:

- ``--token NAME:TOKEN`` (repeatable; visible to every local user in ``ps``, so for throw-away tokens),
- ``--token-file PATH``: one ``NAME:TOKEN`` per line; blank lines and lines starting with ``#`` are skipped,
- the environment variable ``DISTILKOBERT_HUB_TOKENS``: ``NAME:TOKEN`` entries separated by commas or newlines.

Rules (checked before the server starts; a breach is one line naming where the entry came from):
a user name is a valid Hub namespace; a token is printable ASCII without spaces; one token belongs to one user
(the server could not tell who is calling otherwise). A user may hold several tokens, as on the Hub, and all of
them are valid. Stdlib only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from distilkobert.hub.storage import HubError, validate_name

TOKENS_ENV = "DISTILKOBERT_HUB_TOKENS"
_TOKEN = re.compile(r"^[\x21-\x7e]+$")  # what an `Authorization: Bearer` header carries unchanged


class TokenSetupError(ValueError):
    """A bad user/token entry or a token given to two users; the message is one line."""


@dataclass(frozen=True)
class TokenEntry:
    user: str
    token: str
    source: str  # where it was given: "--token", "FILE:LINE" or "DISTILKOBERT_HUB_TOKENS entry N"


def check_entry(user: str, token: str, source: str) -> TokenEntry:
    """One user and token, checked; ``source`` names where they came from in the error message."""
    try:
        validate_name(user, "user name")
    except HubError as e:
        raise TokenSetupError(f"{source}: {e.message}") from None
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise TokenSetupError(f"{source}: the token of user {user!r} must be non-empty printable ASCII without "
                              "spaces")
    return TokenEntry(user, token, source)


def parse_entry(text: str, source: str) -> TokenEntry:
    """``NAME:TOKEN`` -> a checked entry. The message of a malformed entry does not repeat it (it may be a secret)."""
    user, sep, token = text.strip().partition(":")
    if not sep or not user or not token:
        raise TokenSetupError(f"{source}: expected NAME:TOKEN (a user name, a colon, the token)")
    return check_entry(user.strip(), token.strip(), source)


def read_token_file(path: str | Path) -> list[TokenEntry]:
    """The entries of a token file (``NAME:TOKEN`` per line, ``#`` comments and blank lines skipped)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenSetupError(f"--token-file {path}: no such file") from None
    except IsADirectoryError:
        raise TokenSetupError(f"--token-file {path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise TokenSetupError(f"--token-file {path}: not UTF-8 text") from None
    except OSError as e:
        raise TokenSetupError(f"--token-file {path}: cannot be read ({e.strerror})") from None
    entries = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            entries.append(parse_entry(line, f"{path}:{lineno}"))
    return entries


def parse_token_env(value: str) -> list[TokenEntry]:
    """The entries of ``DISTILKOBERT_HUB_TOKENS`` (comma- or newline-separated; empty items skipped)."""
    items = [item for item in re.split(r"[,\n]", value) if item.strip()]
    return [parse_entry(item, f"{TOKENS_ENV} entry {i}") for i, item in enumerate(items, start=1)]


def build_token_map(entries: Iterable[TokenEntry]) -> dict[str, tuple[str, ...]]:
    """user -> its tokens (in the order given). The same pair twice counts once; one token for two users is refused."""
    owner: dict[str, TokenEntry] = {}
    tokens: dict[str, list[str]] = {}
    for entry in entries:
        first = owner.setdefault(entry.token, entry)
        if first.user != entry.user:
            raise TokenSetupError(f"the same token is given to two users, {first.user!r} ({first.source}) and "
                                  f"{entry.user!r} ({entry.source}): each token must belong to one user")
        if first is entry:
            tokens.setdefault(entry.user, []).append(entry.token)
    return {user: tuple(values) for user, values in tokens.items()}


def normalize_tokens(tokens: Mapping[str, str | Iterable[str]] | None) -> dict[str, tuple[str, ...]]:
    """``HubServer``'s ``tokens`` argument (user -> a token or several) -> user -> tuple of tokens, checked."""
    entries = []
    for user, value in (tokens or {}).items():
        values = [value] if isinstance(value, str) else list(value)
        if not values:
            raise TokenSetupError(f"tokens: user {user!r} has no token")
        entries.extend(check_entry(user, token, f"tokens[{user!r}]") for token in values)
    return build_token_map(entries)
