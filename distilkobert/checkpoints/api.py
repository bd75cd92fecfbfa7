"""The original DistilKoBERT Python API, with its original defaults, on transformers 5 and any Hub endpoint.

    from distilkobert import get_distilkobert_model, get_tokenizer
    model = get_distilkobert_model()            # monologg/distilkobert, DistilBertModel
    tokenizer = get_tokenizer()                 # the exact fast KoBERT tokenizer; slow=True: KoBertTokenizer
    last_hidden_state = model(input_ids, attention_mask)[0]

The defaults are the published repos ``monologg/kobert`` (``get_kobert_model``), ``monologg/kobert-lm``
(``get_kobert_lm``) and ``monologg/distilkobert`` (``get_distilkobert_model``, ``get_distilkobert_lm``,
``get_tokenizer``'s files are the same in all three); ``repo_id`` takes any other KoBERT-family Hub repo (this
project's included) or a local folder. Those repos' ``tokenizer_config.json`` declares ``BertTokenizer``, which
turns most Korean into ``[UNK]``: ``get_tokenizer`` never uses it, it builds the exact tokenizer from the repo's
own SentencePiece model and ``vocab.txt``. This is a library: it never starts a Hub server; the Hugging Face
environment (HF_ENDPOINT, else huggingface.co; HF_TOKEN, ...) is used as it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from huggingface_hub import constants
from transformers import (
    BertForMaskedLM,
    BertModel,
    DistilBertForMaskedLM,
    DistilBertModel,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from distilkobert.checkpoints.repo import (
    Checkpoint,
    NotKoBertError,
    build_checkpoint_tokenizer,
    check_model_config,
    open_checkpoint,
)
from distilkobert.hub.endpoint import endpoint_reachable
from kobert_tokenizer import KoBertTokenizer

__all__ = [
    "DEFAULT_REPO",
    "DEFAULT_TEACHER_REPO",
    "DEFAULT_TEACHER_LM_REPO",
    "DEFAULT_TOKENIZER_REPO",
    "DistilKoBERTNotFoundError",
    "NotKoBertError",
    "get_distilkobert_lm",
    "get_distilkobert_model",
    "get_kobert_lm",
    "get_kobert_model",
    "get_tokenizer",
]

DEFAULT_REPO = "monologg/distilkobert"
DEFAULT_TEACHER_REPO = "monologg/kobert"
DEFAULT_TEACHER_LM_REPO = "monologg/kobert-lm"
DEFAULT_TOKENIZER_REPO = "monologg/kobert"
# Environment overrides of the defaults (e.g. this project's own repos once they are published).
REPO_ENV = "DISTILKOBERT_REPO"
TEACHER_ENV = "DISTILKOBERT_TEACHER_REPO"


class DistilKoBERTNotFoundError(OSError):
    """A model or tokenizer could not be loaded from the given folder or Hub repo."""


def _default(env_var: str, default: str) -> str:
    return os.environ.get(env_var) or default


def _looks_like_path(name: str) -> bool:
    """A name that can only be a local path (a Hub id is exactly `namespace/name` or `name`)."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def _endpoint() -> str:
    return constants.ENDPOINT


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _help(what: str, env_var: str) -> str:
    return (
        f"To fix it, either pass a local folder ({what}('path/to/folder')), or point at a Hub that has the repo: "
        f"set HF_ENDPOINT (for example to the local Hub that `distilkobert hub serve` starts, and publish the "
        f"model there with `distilkobert demo`, `train_distill.py --push_to_hub` or `distilkobert convert`) before "
        f"Python imports transformers, and pass repo_id=/revision= or set {env_var}=namespace/name to change the "
        f"default repo."
    )


def _open(what: str, env_var: str, repo_id: str, revision: str | None, local_files_only: bool) -> Checkpoint:
    """The checkpoint's file list (and commit), with a DistilKoBERTNotFoundError that says where it looked."""
    if Path(repo_id).expanduser().is_dir():
        return open_checkpoint(repo_id)
    if _looks_like_path(repo_id):
        raise DistilKoBERTNotFoundError(f"{what}: no such folder: {repo_id}. " + _help(what, env_var))
    unreachable = not local_files_only and not _offline() and not endpoint_reachable(_endpoint())
    cache_only = local_files_only or _offline() or unreachable
    try:
        # unreachable: fail fast instead of the clients' retries, but still serve a copy already in the cache
        return open_checkpoint(repo_id, revision, local_files_only=cache_only)
    except Exception as exc:  # repo/revision not found, HTTP and connection errors of the client, bad tokens
        if unreachable:
            reason = f"the Hub endpoint {_endpoint()} is not reachable and"
        elif cache_only:
            reason = "offline (HF_HUB_OFFLINE or local_files_only) and"
        else:
            raise DistilKoBERTNotFoundError(
                f"{what}: could not load from Hub repo {repo_id!r} at revision {revision or 'main'!r} on "
                f"{_endpoint()}: {type(exc).__name__}: {str(exc).strip()[:600]}\n" + _help(what, env_var)) from exc
        raise DistilKoBERTNotFoundError(
            f"{what}: {reason} Hub repo {repo_id!r} (revision {revision or 'main'!r}) is not in the local "
            f"cache.\n" + _help(what, env_var)) from exc


def _load_model(cls: type[PreTrainedModel], model_type: str, what: str, env_var: str, repo_id: str,
                revision: str | None, kwargs: dict[str, Any]) -> PreTrainedModel:
    ckpt = _open(what, env_var, repo_id, revision, bool(kwargs.pop("local_files_only", False)))
    if not ckpt.has("config.json"):
        raise DistilKoBERTNotFoundError(f"{what}: could not load from {ckpt.where()}: it has no config.json. "
                                        + _help(what, env_var))
    check_model_config(ckpt, (model_type,))  # before the weights: wrong family, pad id or vocabulary size
    try:
        return cls.from_pretrained(ckpt.source, revision=ckpt.sha, local_files_only=ckpt.local_files_only,
                                   **kwargs)
    except (OSError, ValueError) as exc:
        raise DistilKoBERTNotFoundError(
            f"{what}: could not load from {ckpt.where()}: {type(exc).__name__}: {str(exc).strip()[:600]}\n"
            + _help(what, env_var)) from exc


def get_kobert_model(repo_id: str | None = None, revision: str | None = None, **kwargs: Any) -> BertModel:
    """The KoBERT encoder (`BertModel`, 12 x 768): `model(input_ids, attention_mask)[0]` is the last hidden
    state. `repo_id`: Hub repo or folder (default env DISTILKOBERT_TEACHER_REPO, else "monologg/kobert");
    extra keyword arguments go to `from_pretrained`."""
    return _load_model(BertModel, "bert", "get_kobert_model", TEACHER_ENV,
                       repo_id or _default(TEACHER_ENV, DEFAULT_TEACHER_REPO), revision, kwargs)


def get_kobert_lm(repo_id: str | None = None, revision: str | None = None, **kwargs: Any) -> BertForMaskedLM:
    """KoBERT with its masked-LM head (`BertForMaskedLM`; default "monologg/kobert-lm", the distillation teacher;
    "monologg/kobert" has no trained MLM head)."""
    return _load_model(BertForMaskedLM, "bert", "get_kobert_lm", TEACHER_ENV,
                       repo_id or _default(TEACHER_ENV, DEFAULT_TEACHER_LM_REPO), revision, kwargs)


def get_distilkobert_model(repo_id: str | None = None, revision: str | None = None,
                           **kwargs: Any) -> DistilBertModel:
    """The DistilKoBERT encoder (`DistilBertModel`, 3 x 768): `model(input_ids, attention_mask)[0]` is the last
    hidden state. `repo_id` default: env DISTILKOBERT_REPO, else "monologg/distilkobert"."""
    return _load_model(DistilBertModel, "distilbert", "get_distilkobert_model", REPO_ENV,
                       repo_id or _default(REPO_ENV, DEFAULT_REPO), revision, kwargs)


def get_distilkobert_lm(repo_id: str | None = None, revision: str | None = None,
                        **kwargs: Any) -> DistilBertForMaskedLM:
    """DistilKoBERT with its masked-LM head (`DistilBertForMaskedLM`; default "monologg/distilkobert")."""
    return _load_model(DistilBertForMaskedLM, "distilbert", "get_distilkobert_lm", REPO_ENV,
                       repo_id or _default(REPO_ENV, DEFAULT_REPO), revision, kwargs)


def get_tokenizer(repo_id: str | None = None, revision: str | None = None, slow: bool = False,
                  trust_remote_code: bool = False, **kwargs: Any):
    """The exact KoBERT tokenizer of a KoBERT-family repo or folder (default env DISTILKOBERT_REPO, else
    "monologg/kobert"), built from its own SentencePiece model and vocab.txt whatever its tokenizer_config.json
    declares: the fast tokenizer by default, the slow `KoBertTokenizer` with `slow=True` (or
    `trust_remote_code=True`, as with `AutoTokenizer`); same ids, pad id 1. Only those two files are downloaded,
    at the commit the revision resolves to; the built tokenizer is cached by repo and commit."""
    what = "get_tokenizer"
    ckpt = _open(what, REPO_ENV, repo_id or _default(REPO_ENV, DEFAULT_TOKENIZER_REPO), revision,
                 bool(kwargs.pop("local_files_only", False)))
    folder = str(build_checkpoint_tokenizer(ckpt))
    if slow or trust_remote_code:
        return KoBertTokenizer.from_pretrained(folder, **kwargs)
    return PreTrainedTokenizerFast.from_pretrained(folder, **kwargs)
