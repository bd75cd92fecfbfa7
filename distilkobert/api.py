"""The original DistilKoBERT Python API, kept working on transformers 5 and any Hub endpoint.

    from distilkobert import get_distilkobert_model, get_tokenizer
    model = get_distilkobert_model()
    tokenizer = get_tokenizer()
    last_hidden_state = model(input_ids, attention_mask)[0]

This is a library: it never starts a Hub server; the Hugging Face environment (HF_ENDPOINT, HF_TOKEN, ...) is
used as it is. `repo_id` may be a Hub repo id or a local folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_REPO",
    "DEFAULT_TEACHER_REPO",
    "DistilKoBERTNotFoundError",
    "get_distilkobert_model",
    "get_kobert_model",
    "get_tokenizer",
]

DEFAULT_REPO = "distilkobert/distilkobert"
DEFAULT_TEACHER_REPO = "distilkobert/kobert"


class DistilKoBERTNotFoundError(OSError):
    """A model or tokenizer could not be loaded from the given folder or Hub repo."""


def _default_repo() -> str:
    return os.environ.get("DISTILKOBERT_REPO") or DEFAULT_REPO


def _default_teacher_repo() -> str:
    return os.environ.get("DISTILKOBERT_TEACHER_REPO") or DEFAULT_TEACHER_REPO


def _looks_like_path(name: str) -> bool:
    """A name that can only be a local path (a Hub id is exactly `namespace/name` or `name`)."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def _endpoint() -> str:
    try:
        from huggingface_hub import constants

        return constants.ENDPOINT
    except Exception:  # pragma: no cover - huggingface_hub is a hard dependency
        return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def _reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """Can a TCP connection be opened to the endpoint? (The HF clients retry refused connections for ~30 s.)"""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    if not parts.hostname:
        return True  # let the client report a malformed endpoint itself
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _help(what: str, env_var: str) -> str:
    return (
        f"To fix it, either pass a local folder ({what}('path/to/folder')), or point at a Hub that has the repo: "
        f"set HF_ENDPOINT (for example to the local Hub that `distilkobert hub serve` starts, and publish the "
        f"model there with `distilkobert demo` or `train_distill.py --push_to_hub`) before Python imports "
        f"transformers, and pass repo_id=/revision= or set {env_var}=namespace/name to change the default repo."
    )


def _load(loader: Any, what: str, env_var: str, repo_id: str, revision: str | None, **kwargs: Any) -> Any:
    """`loader.from_pretrained` with a DistilKoBERTNotFoundError that says where it looked and what to do."""
    is_dir = Path(repo_id).expanduser().is_dir()
    if not is_dir and _looks_like_path(repo_id):
        raise DistilKoBERTNotFoundError(f"{what}: no such folder: {repo_id}. " + _help(what, env_var))
    source = str(Path(repo_id).expanduser()) if is_dir else repo_id
    if not is_dir and not _offline() and not kwargs.get("local_files_only") and not _reachable(_endpoint()):
        # fail fast instead of the clients' retries, but still serve a copy that is already in the cache
        try:
            return loader.from_pretrained(source, revision=revision, local_files_only=True, **kwargs)
        except Exception as exc:
            raise DistilKoBERTNotFoundError(
                f"{what}: the Hub endpoint {_endpoint()} is not reachable and Hub repo {repo_id!r} (revision "
                f"{revision or 'main'!r}) is not in the local cache.\n" + _help(what, env_var)) from exc
    try:
        return loader.from_pretrained(source, revision=revision, **kwargs)
    except DistilKoBERTNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        where = f"folder {source}" if is_dir else (
            f"Hub repo {repo_id!r} at revision {revision or 'main'!r} on {_endpoint()}")
        raise DistilKoBERTNotFoundError(
            f"{what}: could not load from {where}: {type(exc).__name__}: {str(exc).strip()[:600]}\n"
            + _help(what, env_var)) from exc
    except Exception as exc:  # connection errors of the HTTP client, bad tokens, ...
        if is_dir:
            raise
        raise DistilKoBERTNotFoundError(
            f"{what}: could not reach Hub repo {repo_id!r} on {_endpoint()}: {type(exc).__name__}: {exc}\n"
            + _help(what, env_var)) from exc


def get_distilkobert_model(repo_id: str | None = None, revision: str | None = None, **kwargs: Any):
    """The DistilKoBERT encoder (`DistilBertModel`): `model(input_ids, attention_mask)[0]` is the last hidden
    state. `repo_id`: Hub repo or folder (default env DISTILKOBERT_REPO, else "distilkobert/distilkobert");
    extra keyword arguments go to `AutoModel.from_pretrained`."""
    from transformers import AutoModel

    return _load(AutoModel, "get_distilkobert_model", "DISTILKOBERT_REPO",
                 repo_id or _default_repo(), revision, **kwargs)


def get_kobert_model(repo_id: str | None = None, revision: str | None = None, **kwargs: Any):
    """The KoBERT teacher encoder (`BertModel`): `model(input_ids, attention_mask)[0]` is the last hidden
    state. `repo_id` default: env DISTILKOBERT_TEACHER_REPO, else "distilkobert/kobert"."""
    from transformers import AutoModel

    return _load(AutoModel, "get_kobert_model", "DISTILKOBERT_TEACHER_REPO",
                 repo_id or _default_teacher_repo(), revision, **kwargs)


def get_tokenizer(repo_id: str | None = None, revision: str | None = None, trust_remote_code: bool = False,
                  **kwargs: Any):
    """The KoBERT tokenizer of a model repo or folder: the exact fast tokenizer by default, the original slow
    SentencePiece class with `trust_remote_code=True` (same ids). Pad id is 1."""
    from transformers import AutoTokenizer

    return _load(AutoTokenizer, "get_tokenizer", "DISTILKOBERT_REPO", repo_id or _default_repo(), revision,
                 trust_remote_code=trust_remote_code, **kwargs)
