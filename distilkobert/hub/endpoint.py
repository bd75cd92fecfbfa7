"""Which Hub the Hugging Face clients talk to, and a fast, clear failure when it cannot be reached.

The policy, the same for every command (:func:`configure_hub_environment` is the one place that applies it):

1. ``HF_ENDPOINT`` set: that Hub.
2. the local Hub when asked for (``DISTILKOBERT_LOCAL_HUB=1``, ``distilkobert --local-hub <command>``, or
   ``use_local=True`` as ``distilkobert demo`` does): a :class:`~distilkobert.hub.server.HubServer` started
   in-process, its URL exported as ``HF_ENDPOINT``.
3. otherwise huggingface.co, exactly like the Hugging Face clients: nothing is set and no server is started.

Call :func:`configure_hub_environment` at the top of every command's ``main()``, BEFORE importing
huggingface_hub / datasets / transformers: they read HF_ENDPOINT, HF_TOKEN and HF_HUB_DISABLE_XET at import.
This module imports none of them, so it stays cheap to import first.
"""

from __future__ import annotations

import atexit
import os
import re
import socket
import sys
import threading
import warnings
from pathlib import Path
from urllib.parse import urlsplit

from distilkobert.hub.server import HubServer

DEFAULT_HUB_DIR = Path.home() / ".cache" / "distilkobert" / "hub"
DEFAULT_ENDPOINT = "https://huggingface.co"
LOCAL_HUB_ENV = "DISTILKOBERT_LOCAL_HUB"
LOCAL_TOKEN = "hf_distilkobert_local_open_mode"
WAYS_OUT = (f"pass a local folder instead, set HF_ENDPOINT to a Hub that has it, or use the local Hub "
            f"({LOCAL_HUB_ENV}=1 or `distilkobert --local-hub <command>`)")
_HF_MODULES = ("huggingface_hub", "datasets", "transformers")
_TRUE = ("1", "true", "yes", "on")
# huggingface_hub's rule for repo ids: `name` or `namespace/name`, each part word characters, '-' and '.',
# starting and ending with a word character; no '--' or '..'; at most 96 characters.
_PART = r"\w(?:[\w\-.]*\w)?"
_REPO_ID = re.compile(rf"^(?:{_PART}/)?{_PART}$")

_server = None
_lock = threading.Lock()
_reachable_cache: dict[str, bool] = {}


class HubUnreachableError(ConnectionError):
    """A command needs a Hub repo and the Hub endpoint cannot be reached; the message is one line."""


class ModelReferenceError(ValueError):
    """A model / tokenizer / dataset reference that is neither an existing folder nor a valid Hub repo id."""


def local_hub_requested() -> bool:
    """True when the user asked for the local Hub (``DISTILKOBERT_LOCAL_HUB=1``, set by ``--local-hub``)."""
    return os.environ.get(LOCAL_HUB_ENV, "").strip().lower() in _TRUE


def configure_hub_environment(hub_dir: str | os.PathLike | None = None, use_local: bool | None = None) -> str:
    """Apply the endpoint policy (see the module docstring); returns the endpoint URL the clients will use.

    ``use_local``: True starts the local Hub (unless HF_ENDPOINT is set), False never does, None (default)
    follows ``DISTILKOBERT_LOCAL_HUB``. The local Hub runs in open single-user mode over ``hub_dir``, else
    ``$DISTILKOBERT_HUB_DIR``, else ``~/.cache/distilkobert/hub``; HF_ENDPOINT, HF_HUB_DISABLE_XET=1 and, when no
    HF_TOKEN is set, a local token are exported. Its data survives the process, so a later command (or
    ``distilkobert hub serve`` over the same dir) sees what was published. Idempotent.
    """
    global _server
    with _lock:
        endpoint = os.environ.get("HF_ENDPOINT")
        if endpoint:
            # A Hub other than huggingface.co is most likely this project's local Hub, which has no Xet.
            os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
            _warn_if_imported(endpoint)
            return endpoint.rstrip("/")
        if not (local_hub_requested() if use_local is None else use_local):
            return DEFAULT_ENDPOINT  # what the Hugging Face clients use when HF_ENDPOINT is unset
        directory = Path(hub_dir or os.environ.get("DISTILKOBERT_HUB_DIR") or DEFAULT_HUB_DIR).expanduser()
        _server = HubServer(directory).start()
        atexit.register(_server.stop)
        os.environ["HF_ENDPOINT"] = _server.url
        os.environ["HF_HUB_DISABLE_XET"] = "1"
        os.environ.setdefault("HF_TOKEN", LOCAL_TOKEN)
        _warn_if_imported(_server.url)
        print(f"[distilkobert] local Hub at {_server.url} (data in {directory})", file=sys.stderr)
        return _server.url


def current_endpoint() -> str:
    """The endpoint the Hugging Face clients use now: HF_ENDPOINT, else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def endpoint_reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """Can a TCP connection be opened to the endpoint? Cached per endpoint for the process.

    The clients retry refused connections for about 30 s and then print a long traceback; this answers in
    at most ``timeout`` seconds.
    """
    if endpoint in _reachable_cache:
        return _reachable_cache[endpoint]
    parts = urlsplit(endpoint)
    if not parts.hostname:
        return True  # a malformed endpoint: let the client report it itself
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            ok = True
    except OSError:
        ok = False
    _reachable_cache[endpoint] = ok
    return ok


def is_hub_repo_id(name: str) -> bool:
    """Is ``name`` a syntactically valid Hub repo id (``name`` or ``namespace/name``)?"""
    return (isinstance(name, str) and len(name) <= 96 and bool(_REPO_ID.match(name))
            and "--" not in name and ".." not in name and not name.endswith(".git"))


def resolve_model_reference(name: str, what: str = "model", allow_file: bool = False) -> Path | str:
    """A model / tokenizer (/ dataset) reference -> the local folder (a Path) or the Hub repo id (a str).

    Raises :class:`ModelReferenceError` (one line, naming ``what``, e.g. ``--teacher_name_or_path``) for a name
    that is neither an existing folder nor a valid Hub id, such as ``./missing`` or ``/data/models/x``, and for a
    file unless ``allow_file`` (a dataset may be one file). No network access.
    """
    path = Path(str(name)).expanduser()
    if path.is_dir() or (allow_file and path.exists()):
        return path
    if path.exists():
        raise ModelReferenceError(f"{what} {name}: is a file, not a folder (and not a Hub id)")
    looks_like_path = str(name).startswith((".", "/", "~")) or "\\" in str(name)
    if looks_like_path or not is_hub_repo_id(str(name)):
        place = "file or folder" if allow_file else "folder"
        raise ModelReferenceError(f"{what} {name}: no such {place}, and not a Hub id (namespace/name)")
    return str(name)


def require_hub(repo_id: str | None, what: str, repo_type: str = "model") -> None:
    """Fail fast, in one line, when ``repo_id`` is a Hub repo and the Hub endpoint cannot be reached.

    Nothing to check for None, a local path, or offline mode (``HF_HUB_OFFLINE=1``: the clients then use their
    cache and say themselves what is missing). ``what`` names the argument, e.g. ``--teacher_name_or_path``.
    A name that is neither a local path nor a Hub id raises :class:`ModelReferenceError` (see
    :func:`resolve_model_reference`); an unreachable endpoint raises :class:`HubUnreachableError`.
    """
    if not repo_id:
        return
    if isinstance(resolve_model_reference(repo_id, what, allow_file=repo_type == "dataset"), Path):
        return
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return
    endpoint = current_endpoint()
    if not endpoint_reachable(endpoint):
        kind = "" if repo_type == "model" else f"{repo_type} "
        cached = ("; a copy is in the Hugging Face cache: HF_HUB_OFFLINE=1 uses it"
                  if _cache_folder(repo_id, repo_type).is_dir() else "")
        raise HubUnreachableError(f"{what} {repo_id}: needs the Hub {kind}repo {repo_id!r}, but the Hub endpoint "
                                  f"{endpoint} is not reachable; {WAYS_OUT}{cached}")


def _cache_folder(repo_id: str, repo_type: str) -> Path:
    """Where huggingface_hub caches the repo (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``), without importing it."""
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface").expanduser()
    cache = Path(os.environ.get("HF_HUB_CACHE") or home / "hub").expanduser()
    return cache / f"{repo_type}s--{repo_id.replace('/', '--')}"


def _warn_if_imported(endpoint: str) -> None:
    """The HF libraries read the environment at import time: if one was imported with another endpoint,
    patch huggingface_hub's constants (best effort) and warn."""
    if not any(m in sys.modules for m in _HF_MODULES):
        return
    try:  # only once one was imported: this module itself must stay free of the Hugging Face libraries
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
