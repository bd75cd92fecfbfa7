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
import hashlib
import hmac
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from distilkobert.data.output import OutputDirError, check_output_dir
from distilkobert.hub.handler import MAX_COMMIT_BODY, MAX_JSON_BODY, OPEN_MODE_USER, HubRequestHandler
from distilkobert.hub.storage import Storage

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

    ``tokens`` maps user names to tokens. Without tokens the server runs in open single-user mode (every
    request acts as user ``local``, in any namespace); with tokens, writes need a valid token, a user creates
    and writes repos only in its own namespace and in the organisations ``orgs`` (org -> member users) gives
    it, like the Hub, and private repos are visible to those writers only. At start-up, blobs that no commit
    references (left by a commit interrupted by kill -9) and older than ``gc_grace_seconds`` are deleted and
    counted in the log (``.gc``). Usable as a context manager.
    """

    def __init__(self, data_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 0,
                 tokens: dict[str, str] | None = None, orgs: dict[str, Iterable[str]] | None = None,
                 gc_grace_seconds: float = 3600.0):
        self.data_dir = Path(data_dir)
        self.host = host
        self._requested_port = port
        self.tokens = dict(tokens or {})
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

    def _bind(self) -> _Server:
        """Collect garbage (before any request can reference a blob), then bind the listening socket."""
        if self._httpd is None:
            self.collect_garbage()
            self._httpd = _Server((self.host, self._requested_port), HubRequestHandler)
            self._httpd.hub = self
        return self._httpd

    def sign(self, oid: str, size: int, expires: int) -> str:
        return hmac.new(self._secret, f"{oid}:{size}:{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_upload_url(self, oid: str, size: int) -> str:
        expires = int(time.time()) + 3600
        return f"{self.url}/lfs-upload/{oid}?size={size}&exp={expires}&sig={self.sign(oid, size, expires)}"

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


def _parse_token(value: str) -> tuple[str, str]:
    name, sep, token = value.partition(":")
    if not sep or not name or not token:
        raise argparse.ArgumentTypeError(f"--token must be NAME:TOKEN, got {value!r}")
    return name, token


def _parse_org(value: str) -> tuple[str, list[str]]:
    org, sep, members = value.partition(":")
    users = [u.strip() for u in members.split(",") if u.strip()]
    if not sep or not org or not users:
        raise argparse.ArgumentTypeError(f"--org must be ORG:USER1,USER2, got {value!r}")
    return org, users


def serve_main(argv: Sequence[str] | None = None) -> int:
    """``distilkobert hub serve``: run the local Hub-compatible server until interrupted."""
    parser = argparse.ArgumentParser(
        prog="distilkobert hub serve",
        description="Run a local Hugging Face Hub-compatible server. Point the real clients at it with "
                    "HF_ENDPOINT=http://HOST:PORT and HF_HUB_DISABLE_XET=1 (uploads use classic LFS).",
    )
    parser.add_argument("--data-dir", required=True, type=Path,
                        help="where repos, commits and file blobs are stored (created if missing; survives restarts)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free port (default)")
    parser.add_argument("--port-file", type=Path,
                        help="write the bound port to this file (atomically) once the server accepts connections")
    parser.add_argument("--token", action="append", type=_parse_token, default=[], metavar="NAME:TOKEN",
                        help="a user and their token (repeatable). Without any, the server runs in open "
                             "single-user mode: no authentication, every request acts as user 'local'")
    parser.add_argument("--org", action="append", type=_parse_org, default=[], metavar="ORG:USER1,USER2",
                        help="an organisation and the users who may create and write repos in it (repeatable); "
                             "with tokens a user writes only in its own namespace and its organisations")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="INFO logs every request (default WARNING)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:  # the output-folder policy of every command; the Hub's data folder is meant to be reused
        check_output_dir(args.data_dir, overwrite=False, keep_contents=True, flag="--data-dir")
    except OutputDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    orgs: dict[str, set[str]] = {}
    for org, users in args.org:
        orgs.setdefault(org, set()).update(users)
    unknown = sorted({u for users in orgs.values() for u in users} - {name for name, _ in args.token})
    if unknown:
        print(f"error: --org names user(s) without a --token: {', '.join(unknown)}", file=sys.stderr)
        return 2
    server = HubServer(args.data_dir, host=args.host, port=args.port, tokens=dict(args.token), orgs=orgs)
    try:
        httpd = server._bind()
    except OSError as e:
        print(f"error: cannot bind {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    if args.port_file:
        args.port_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.port_file.with_name(args.port_file.name + f".tmp{os.getpid()}")
        tmp.write_text(f"{server.port}\n")
        os.replace(tmp, args.port_file)
    mode = f"{len(server.tokens)} token(s)" if server.tokens else "open single-user mode (no tokens)"
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
