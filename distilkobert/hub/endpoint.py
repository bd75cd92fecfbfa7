"""Point the Hugging Face clients at a Hub: the one in HF_ENDPOINT, or a local server started in-process.

Call :func:`configure_hub_environment` at the top of every command's ``main()``, BEFORE importing
huggingface_hub / datasets / transformers: they read HF_ENDPOINT, HF_TOKEN and HF_HUB_DISABLE_XET at import.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import warnings
from pathlib import Path

DEFAULT_HUB_DIR = Path.home() / ".cache" / "distilkobert" / "hub"
LOCAL_TOKEN = "hf_distilkobert_local_open_mode"
_HF_MODULES = ("huggingface_hub", "datasets", "transformers")

_server = None
_lock = threading.Lock()


def configure_hub_environment(hub_dir: str | os.PathLike | None = None) -> str:
    """Make sure the HF clients talk to a Hub; returns its endpoint URL.

    - HF_ENDPOINT already set: it is used as is (HF_HUB_DISABLE_XET=1 is still exported so uploads use LFS).
    - otherwise a local :class:`~distilkobert.hub.server.HubServer` (open single-user mode) is started in this
      process over ``hub_dir``, else ``$DISTILKOBERT_HUB_DIR``, else ``~/.cache/distilkobert/hub``; HF_ENDPOINT,
      HF_HUB_DISABLE_XET=1 and, when no HF_TOKEN is set, a local token are exported. The data survives the
      process, so a later command (or ``distilkobert hub serve`` over the same dir) sees what was published.
    Idempotent: a second call returns the same endpoint.
    """
    global _server
    with _lock:
        os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
        endpoint = os.environ.get("HF_ENDPOINT")
        if endpoint:
            _warn_if_imported(endpoint)
            return endpoint.rstrip("/")
        from distilkobert.hub.server import HubServer

        directory = Path(hub_dir or os.environ.get("DISTILKOBERT_HUB_DIR") or DEFAULT_HUB_DIR).expanduser()
        _server = HubServer(directory).start()
        atexit.register(_server.stop)
        os.environ["HF_ENDPOINT"] = _server.url
        os.environ.setdefault("HF_TOKEN", LOCAL_TOKEN)
        _warn_if_imported(_server.url)
        print(f"[distilkobert] local Hub at {_server.url} (data in {directory}); "
              "set HF_ENDPOINT to use another Hub", file=sys.stderr)
        return _server.url


def _warn_if_imported(endpoint: str) -> None:
    """The HF libraries read the environment at import time: if one was imported with another endpoint,
    patch huggingface_hub's constants (best effort) and warn."""
    if not any(m in sys.modules for m in _HF_MODULES):
        return
    try:
        from huggingface_hub import constants
    except Exception:  # pragma: no cover - best effort only
        return
    endpoint = endpoint.rstrip("/")
    stale = constants.ENDPOINT.rstrip("/") != endpoint or not constants.HF_HUB_DISABLE_XET
    if not stale:
        return
    constants.ENDPOINT = endpoint
    constants.HUGGINGFACE_CO_URL_TEMPLATE = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    constants.HF_HUB_DISABLE_XET = True
    imported = [m for m in _HF_MODULES if m in sys.modules]
    warnings.warn(f"configure_hub_environment() called after importing {', '.join(imported)} with another "
                  f"endpoint or Xet enabled: call it before any Hugging Face import so every library sees "
                  f"HF_ENDPOINT={endpoint} and HF_HUB_DISABLE_XET=1", RuntimeWarning, stacklevel=3)


def local_server():
    """The in-process server started by :func:`configure_hub_environment`, or None."""
    return _server
