"""A small Hub-compatible HTTP server (stdlib only) that the real Hugging Face clients talk to via HF_ENDPOINT.

It implements the ~20 routes that huggingface_hub, transformers, datasets and the ``hf`` CLI use to create
repos, commit (regular and LFS files, deletions), manage branches and tags, list files and download them:
see ``docs/hub-protocol.md`` in the repository. Routes live in :mod:`distilkobert.hub.handler`, storage in
:mod:`distilkobert.hub.storage`.

Use in-process::

    with HubServer("/tmp/hub") as hub:
        os.environ["HF_ENDPOINT"] = hub.url

or from the shell: ``distilkobert hub serve --data-dir DIR --port 0 --port-file FILE``.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import hmac
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from distilkobert.common.output_dir import OutputDirError, check_output_dir
from distilkobert.hub.handler import MAX_COMMIT_BODY, MAX_JSON_BODY, OPEN_MODE_USER, HubRequestHandler
from distilkobert.hub.storage import Storage
from distilkobert.hub.tokens import (
    TOKENS_ENV,
    TokenSetupError,
    build_token_map,
    normalize_tokens,
    parse_entry,
    parse_token_env,
    read_token_file,
)

__all__ = ["HubServer", "serve_main", "MAX_JSON_BODY", "MAX_COMMIT_BODY", "OPEN_MODE_USER"]


logger = logging.getLogger("distilkobert.hub")
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    hub: HubServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is one log line, not a traceback; anything else keeps its traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, _DISCONNECTS):
            logger.warning("client %s disconnected: %s", client_address[0], type(exc).__name__)
            return
        logger.exception("internal error while serving %s", client_address[0])


class HubServer:
    """The local Hub: ``HubServer(data_dir, host, port, tokens).start()``; ``.url``, ``.port``, ``.stop()``.

    ``tokens`` maps user names to a token or several (all valid, as a Hub user may hold several); a token
    given to two users, an invalid user name or token raises :class:`~distilkobert.hub.tokens.TokenSetupError`
    (a ``ValueError``). Without tokens the server runs in open single-user mode (every
    request acts as user ``local``, in any namespace); with tokens, writes need a valid token, a user creates
    and writes repos only in its own namespace and in the organisations ``orgs`` (org -> member users) gives
    it, like the Hub, and private repos are visible to those writers only. At start-up, blobs that no commit
    references (left by a commit interrupted by kill -9) and older than ``gc_grace_seconds`` are deleted and
    counted in the log (``.gc``). Usable as a context manager.
    """

    def __init__(self, data_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 0,
                 tokens: Mapping[str, str | Iterable[str]] | None = None,
                 orgs: dict[str, Iterable[str]] | None = None, gc_grace_seconds: float = 3600.0):
        self.data_dir = Path(data_dir)
        self.host = host
        self._requested_port = check_port(port)
        self.tokens = normalize_tokens(tokens)  # user -> its tokens
        self._token_pairs = [(t.encode(), user) for user, values in self.tokens.items() for t in values]
        self.orgs = {org: frozenset(members) for org, members in (orgs or {}).items()}
        self.gc_grace_seconds = gc_grace_seconds
        self.gc: dict[str, int] | None = None
        self.storage = Storage(self.data_dir)
        self._secret = os.urandom(32)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("HubServer is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def may_write(self, user: str | None, namespace: str) -> bool:
        """May ``user`` create and write repos in ``namespace``? (Always, in open single-user mode.)"""
        if not self.tokens:
            return True
        return user is not None and (user == namespace or user in self.orgs.get(namespace, ()))

    def user_of_token(self, token: str) -> str | None:
        """The user holding ``token``, or None. Compares against every token in constant time per token."""
        found = None
        for known, user in self._token_pairs:
            if hmac.compare_digest(token.encode(), known):
                found = user
        return found

    def orgs_of(self, user: str | None) -> list[str]:
        return sorted(org for org, members in self.orgs.items() if user in members)

    def collect_garbage(self) -> dict[str, int]:
        """Delete unreferenced blobs and stale temporary files (see :meth:`Storage.collect_garbage`); log the counts."""
        self.gc = self.storage.collect_garbage(self.gc_grace_seconds)
        level = logging.WARNING if self.gc["blobs"] or self.gc["tmp_files"] else logging.INFO
        logger.log(level, "start-up: collected %d unreferenced blob(s) (%d bytes) and %d stale temporary file(s) "
                   "in %s; %d referenced blob(s) kept", self.gc["blobs"], self.gc["blob_bytes"],
                   self.gc["tmp_files"], self.data_dir, self.gc["kept"])
        return self.gc

    def _bind(self, httpd: _Server | None = None) -> _Server:
        """Bind the listening socket (or adopt ``httpd``, already bound), then collect garbage before serving.

        Connections that arrive meanwhile wait in the listen queue: no request is handled before
        ``serve_forever``, so none can reference a blob that the collection is about to delete.
        """
        if self._httpd is None:
            httpd = httpd or listen(self.host, self._requested_port)
            try:
                self.collect_garbage()
            except BaseException:
                httpd.server_close()
                raise
            self._httpd = httpd
            self._httpd.hub = self
        return self._httpd

    def sign(self, oid: str, size: int, expires: int, user: str) -> str:
        """The signature of an upload URL: it binds the object, its size, the expiry and the uploading user."""
        return hmac.new(self._secret, f"{oid}:{size}:{expires}:{user}".encode(), hashlib.sha256).hexdigest()

    def signed_upload_url(self, oid: str, size: int, user: str) -> str:
        expires = int(time.time()) + 3600
        return (f"{self.url}/lfs-upload/{oid}?size={size}&exp={expires}&user={quote(user, safe='')}"
                f"&sig={self.sign(oid, size, expires, user)}")

    def start(self) -> HubServer:
        if self._httpd is not None:
            return self
        self._bind()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"hub-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Run in the calling thread until interrupted (used by the CLI)."""
        self._bind().serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._httpd is None:
            return
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
        self._httpd.server_close()
        self._httpd, self._thread = None, None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def check_port(port: Any) -> int:
    """A TCP port to bind: an int from 0 (a free port) to 65535; ``ValueError`` otherwise."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer from 0 to 65535 (0 picks a free port), got {port!r}")
    return port


def listen(host: str, port: int) -> _Server:
    """Bind and listen on ``host:port`` (``OSError`` if that fails); requests are served once a hub is attached."""
    return _Server((host, check_port(port)), HubRequestHandler)


class _UsageError(Exception):
    """A bad command-line argument: one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        """One line instead of argparse's usage block (the caller prints it and returns 2)."""
        raise _UsageError(f"{message} (see --help)")


def _parse_port(value: str) -> int:
    try:
        return check_port(int(value.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 65535 (0 picks a free port), "
                                         f"got {value!r}") from None


def _parse_org(value: str) -> tuple[str, list[str]]:
    org, sep, members = value.partition(":")
    users = [u.strip() for u in members.split(",") if u.strip()]
    if not sep or not org or not users:
        raise argparse.ArgumentTypeError(f"--org must be ORG:USER1,USER2, got {value!r}")
    return org, users


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="distilkobert hub serve",
        description="Run a local Hugging Face Hub-compatible server. Point the real clients at it with "
                    "HF_ENDPOINT=http://HOST:PORT and HF_HUB_DISABLE_XET=1 (uploads use classic LFS).",
    )
    parser.add_argument("--data-dir", required=True, type=Path,
                        help="where repos, commits and file blobs are stored (created if missing; survives restarts)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: loopback only)")
    parser.add_argument("--port", type=_parse_port, default=0,
                        help="port to bind, 0 to 65535; 0 picks a free port (default)")
    parser.add_argument("--port-file", type=Path,
                        help="write the bound port to this file (atomically) once the server accepts connections")
    parser.add_argument("--token", action="append", default=[], metavar="NAME:TOKEN",
                        help="a user and one of their tokens (repeatable; a user may hold several tokens, all "
                             "valid). Visible to other local users in `ps`: prefer --token-file or "
                             f"${TOKENS_ENV}. Without any token, the server runs in open single-user mode: no "
                             "authentication, every request acts as user 'local'")
    parser.add_argument("--token-file", type=Path, metavar="PATH",
                        help="a file of users and tokens, one NAME:TOKEN per line ('#' comments and blank lines "
                             f"allowed); combined with --token and ${TOKENS_ENV} (NAME:TOKEN entries separated by "
                             "commas or newlines). One token may not belong to two users")
    parser.add_argument("--org", action="append", type=_parse_org, default=[], metavar="ORG:USER1,USER2",
                        help="an organisation and the users who may create and write repos in it (repeatable); "
                             "with tokens a user writes only in its own namespace and its organisations")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="INFO logs every request (default WARNING)")
    return parser


def _read_tokens(args: argparse.Namespace) -> dict[str, tuple[str, ...]]:
    """Users and tokens from --token, --token-file and $DISTILKOBERT_HUB_TOKENS (``TokenSetupError``: one line)."""
    entries = [parse_entry(value, "--token") for value in args.token]
    if args.token_file is not None:
        entries += read_token_file(args.token_file)
    entries += parse_token_env(os.environ.get(TOKENS_ENV, ""))
    return build_token_map(entries)


def _check_args(args: argparse.Namespace) -> tuple[dict[str, tuple[str, ...]], dict[str, set[str]]]:
    """Every argument checked before any work: (tokens, orgs), or ``_UsageError`` with one line."""
    try:  # the output-folder policy of every command; the Hub's data folder is meant to be reused
        check_output_dir(args.data_dir, overwrite=False, keep_contents=True, flag="--data-dir")
        tokens = _read_tokens(args)
    except (OutputDirError, TokenSetupError) as exc:
        raise _UsageError(str(exc)) from None
    orgs: dict[str, set[str]] = {}
    for org, users in args.org:
        orgs.setdefault(org, set()).update(users)
    unknown = sorted({u for users in orgs.values() for u in users} - set(tokens))
    if unknown:
        raise _UsageError(f"--org names user(s) without a token: {', '.join(unknown)}")
    return tokens, orgs


def _listen_or_explain(host: str, port: int) -> _Server:
    """Bind before anything is created on disk; a port in use or a bad host is one line naming the flag."""
    try:
        return listen(host, port)
    except OSError as e:
        flag, value = ("--port", port) if e.errno in (errno.EADDRINUSE, errno.EACCES) else ("--host", host)
        raise _UsageError(f"{flag} {value}: cannot listen on {host}:{port}: {e.strerror or e}") from None


def _write_port_file(path: Path, port: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, path)


def serve_main(argv: Sequence[str] | None = None) -> int:
    """``distilkobert hub serve``: run the local Hub-compatible server until interrupted."""
    try:
        args = _build_parser().parse_args(list(argv) if argv is not None else None)
        tokens, orgs = _check_args(args)
        httpd = _listen_or_explain(args.host, args.port)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    server = HubServer(args.data_dir, host=args.host, port=args.port, tokens=tokens, orgs=orgs)
    server._bind(httpd)
    if args.port_file:
        _write_port_file(args.port_file, server.port)
    n_tokens = sum(len(values) for values in server.tokens.values())
    mode = (f"{len(server.tokens)} user(s), {n_tokens} token(s)" if server.tokens
            else "open single-user mode (no tokens)")
    gc = server.gc or {}
    print(f"Local Hub serving {args.data_dir} at {server.url} ({mode}; start-up collected {gc.get('blobs', 0)} "
          f"unreferenced blob(s)).\n"
          f"  export HF_ENDPOINT={server.url} HF_HUB_DISABLE_XET=1", file=sys.stderr, flush=True)

    def _stop(signum: int, frame: Any) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(serve_main())
