"""A small Hub-compatible HTTP server (stdlib only) that the real Hugging Face clients talk to via HF_ENDPOINT.

It implements the ~20 routes that huggingface_hub, transformers, datasets and the ``hf`` CLI use to create
repos, commit (regular and LFS files, deletions), manage branches and tags, list files and download them:
see ``../shared/docs/hub-protocol.md``. Routes live in :mod:`distilkobert.hub.handler`, storage in
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
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Sequence

from distilkobert.hub.handler import MAX_COMMIT_BODY, MAX_JSON_BODY, OPEN_MODE_USER, HubRequestHandler
from distilkobert.hub.storage import Storage

__all__ = ["HubServer", "serve_main", "MAX_JSON_BODY", "MAX_COMMIT_BODY", "OPEN_MODE_USER"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    hub: "HubServer"


class HubServer:
    """The local Hub: ``HubServer(data_dir, host, port, tokens).start()``; ``.url``, ``.port``, ``.stop()``.

    ``tokens`` maps user names to tokens. Without tokens the server runs in open single-user mode (every
    request acts as user ``local``); with tokens, writes need a valid token and private repos are visible to
    their owner only. Usable as a context manager.
    """

    def __init__(self, data_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 0,
                 tokens: dict[str, str] | None = None, any_namespace: bool = True):
        self.data_dir = Path(data_dir)
        self.host = host
        self._requested_port = port
        self.tokens = dict(tokens or {})
        # Orgs are not modelled: by default a valid token may create repos in any namespace.
        self.any_namespace = any_namespace
        self.open_namespaces: set[str] = set()
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

    def sign(self, oid: str, size: int, expires: int) -> str:
        return hmac.new(self._secret, f"{oid}:{size}:{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_upload_url(self, oid: str, size: int) -> str:
        expires = int(time.time()) + 3600
        return f"{self.url}/lfs-upload/{oid}?size={size}&exp={expires}&sig={self.sign(oid, size, expires)}"

    def start(self) -> "HubServer":
        if self._httpd is not None:
            return self
        self._httpd = _Server((self.host, self._requested_port), HubRequestHandler)
        self._httpd.hub = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"hub-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Run in the calling thread until interrupted (used by the CLI)."""
        if self._httpd is None:
            self._httpd = _Server((self.host, self._requested_port), HubRequestHandler)
            self._httpd.hub = self
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._httpd is None:
            return
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
        self._httpd.server_close()
        self._httpd, self._thread = None, None

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _parse_token(value: str) -> tuple[str, str]:
    name, sep, token = value.partition(":")
    if not sep or not name or not token:
        raise argparse.ArgumentTypeError(f"--token must be NAME:TOKEN, got {value!r}")
    return name, token


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
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="INFO logs every request (default WARNING)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    server = HubServer(args.data_dir, host=args.host, port=args.port, tokens=dict(args.token))
    try:
        server._httpd = _Server((server.host, server._requested_port), HubRequestHandler)
    except OSError as e:
        print(f"error: cannot bind {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    server._httpd.hub = server
    if args.port_file:
        args.port_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.port_file.with_name(args.port_file.name + f".tmp{os.getpid()}")
        tmp.write_text(f"{server.port}\n")
        os.replace(tmp, args.port_file)
    mode = f"{len(server.tokens)} token(s)" if server.tokens else "open single-user mode (no tokens)"
    print(f"Local Hub serving {args.data_dir} at {server.url} ({mode}).\n"
          f"  export HF_ENDPOINT={server.url} HF_HUB_DISABLE_XET=1", file=sys.stderr, flush=True)

    def _stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server._httpd.shutdown, daemon=True).start()  # type: ignore[union-attr]

    signal.signal(signal.SIGTERM, _stop)
    try:
        server._httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(serve_main())
