"""Publish a local folder to a Hub repo as an immutable, tagged version (with retries on transient failures).

The one place for the steps every publisher shares: "does this version tag exist?" (`existing_version`,
`check_version_available`), uploading a folder and tagging it (`publish_folder`), and which files of a training
output folder make up the published model (`MODEL_FOLDER_IGNORE`, `publish_model_folder`).
huggingface_hub reads HF_ENDPOINT when imported: commands configure the endpoint before importing this module.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from distilkobert.hub.storage import HubError, validate_ref_name

try:
    import httpx2  # huggingface_hub 2.x transport
except ImportError:  # pragma: no cover - other huggingface_hub versions
    httpx2 = None

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Files of a training output folder that are not part of the published model: checkpoints (pushed to a branch of
# their own), TensorBoard runs, hidden files and caches, the pickled TrainingArguments, temporary files.
# (upload_folder matches with fnmatch, where "*" also matches "/": "checkpoint-*" covers a checkpoint's files.)
MODEL_FOLDER_IGNORE = ("checkpoint-*", "runs/*", ".*", "*/.*", "training_args.bin", "*.tmp")


class VersionExistsError(RuntimeError):
    """The version tag already exists on the repo: published versions are immutable."""


@dataclass(frozen=True)
class PublishResult:
    repo_id: str
    commit_sha: str
    revision: str
    tag: str | None
    url: str


def is_transient(exc: BaseException) -> bool:
    """Connection failures, timeouts and 5xx answers (except 501) are worth retrying; nothing else is."""
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        response = getattr(e, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return status >= 500 and status != 501 or status == 429
        if isinstance(e, (ConnectionError, TimeoutError)):
            return True
        if httpx2 is not None and isinstance(e, httpx2.TransportError):
            return True
        if type(e).__name__ in ("ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError",
                                "ReadError", "WriteError", "PoolTimeout"):
            return True
        e = e.__cause__ or e.__context__
    return False


def _retry(what: str, fn: Callable[[], T], retries: int, backoff: float) -> T:
    for attempt in range(retries + 1):
        try:
            return fn()
        except Exception as e:
            if attempt >= retries or not is_transient(e):
                raise
            delay = backoff * (2 ** attempt) * (1 + 0.25 * random.random())
            logger.warning("%s failed (%s: %s); retry %d/%d in %.1f s", what, type(e).__name__,
                           str(e).splitlines()[0] if str(e) else "", attempt + 1, retries, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def existing_version(repo_id: str, version: str, *, repo_type: str = "model", endpoint: str | None = None,
                     token: str | None = None, retries: int = 0, backoff: float = 0.5) -> str | None:
    """The commit the tag `version` of `repo_id` points to; None when the tag or the whole repo does not exist.

    Other Hub errors (unreachable endpoint, no access) are raised: "cannot tell" is not "free".
    """
    api = HfApi(endpoint=endpoint, token=token)

    def lookup() -> str | None:
        try:
            refs = api.list_repo_refs(repo_id, repo_type=repo_type)
        except RepositoryNotFoundError:
            return None
        return next((t.target_commit for t in refs.tags if t.name == version), None)

    return _retry("list_repo_refs", lookup, retries, backoff)


def check_version_available(repo_id: str, version: str, *, repo_type: str = "model", endpoint: str | None = None,
                            token: str | None = None, retries: int = 0, backoff: float = 0.5) -> None:
    """Raise `VersionExistsError` when `version` is already a tag of `repo_id` (published versions are immutable).

    Commands call it before a long build or training run; `publish_folder` calls it again before uploading.
    """
    sha = existing_version(repo_id, version, repo_type=repo_type, endpoint=endpoint, token=token, retries=retries,
                           backoff=backoff)
    if sha is not None:
        raise VersionExistsError(
            f"{repo_type} repo {repo_id} already has version {version!r} (commit {sha}); published versions "
            "are immutable: choose a new version")


def publish_folder(folder: str | os.PathLike, repo_id: str, *, repo_type: str = "model", version: str | None = None,
                   revision: str = "main", commit_message: str | None = None, private: bool = False,
                   retries: int = 4, backoff: float = 0.5, token: str | None = None, endpoint: str | None = None,
                   allow_patterns: Sequence[str] | None = None, ignore_patterns: Sequence[str] | None = None,
                   ) -> PublishResult:
    """Upload ``folder`` to ``repo_id`` on ``revision`` and tag the commit ``version``.

    Creates the repo (and the branch) if needed. Refuses with :class:`VersionExistsError` when the tag
    ``version`` already exists, before uploading anything. Transient failures (connection refused, timeouts,
    5xx) are retried ``retries`` times with exponential backoff. Local files are only read, never modified.
    Call :func:`distilkobert.hub.endpoint.configure_hub_environment` before importing this module's callers'
    HF libraries so the right Hub is used.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"publish_folder: {folder} is not a folder")
    if version is not None:
        try:
            validate_ref_name(version, "version tag")
        except HubError as e:
            raise ValueError(f"publish_folder: {e.message}") from None

    api = HfApi(endpoint=endpoint, token=token)
    repo_url = _retry("create_repo", lambda: api.create_repo(repo_id, repo_type=repo_type, private=private,
                                                             exist_ok=True), retries, backoff)
    repo_id = repo_url.repo_id or repo_id

    if version is not None:
        check_version_available(repo_id, version, repo_type=repo_type, endpoint=endpoint, token=token,
                                retries=retries, backoff=backoff)
    if revision != "main":
        _retry("create_branch", lambda: api.create_branch(repo_id, branch=revision, repo_type=repo_type,
                                                          exist_ok=True), retries, backoff)
    message = commit_message or (f"Publish {version}" if version else f"Upload {folder.name}")
    info = _retry("upload_folder", lambda: api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, repo_type=repo_type, revision=revision,
        commit_message=message, allow_patterns=allow_patterns, ignore_patterns=ignore_patterns),
        retries, backoff)
    commit_sha = info.oid
    if version is not None:
        try:
            _retry("create_tag", lambda: api.create_tag(repo_id, tag=version, revision=commit_sha,
                                                        repo_type=repo_type, tag_message=message),
                   retries, backoff)
        except HfHubHTTPError as e:
            if e.response is not None and e.response.status_code == 409:
                # A concurrent publisher won the race between our check and our tag: same contract.
                raise VersionExistsError(f"{repo_type} repo {repo_id}: version {version!r} was created concurrently; "
                                         f"the upload is commit {commit_sha} on {revision} but is not tagged") from e
            raise
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    url = f"{api.endpoint.rstrip('/')}/{prefix}{repo_id}"
    return PublishResult(repo_id=repo_id, commit_sha=commit_sha, revision=revision, tag=version, url=url)


def publish_model_folder(folder: str | os.PathLike, repo_id: str, version: str, *, private: bool = False,
                         commit_message: str | None = None, retries: int = 6, endpoint: str | None = None,
                         token: str | None = None) -> PublishResult:
    """Publish a trained model's output folder to `main`, tagged `version`: the model files only, never its
    checkpoints, runs or caches (`MODEL_FOLDER_IGNORE`). Local files are only read."""
    return publish_folder(folder, repo_id, version=version, revision="main", private=private, retries=retries,
                          commit_message=commit_message or f"Publish {Path(folder).name} {version}",
                          ignore_patterns=list(MODEL_FOLDER_IGNORE), endpoint=endpoint, token=token)
