"""Publishing the folders the dataset builders write: the command line for the card, the version check before a
long build, the upload and the end-of-command report."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path


def command_line(prog: str, argv: Sequence[str] | None) -> str:
    """The command as a user would type it again, for the card's 'how it was built' section."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join([prog] + [shlex.quote(a) for a in args])


def refuse_existing_version(repo_id: str, version: str) -> bool:
    """True (and an error printed) if dataset `repo_id` already has the tag `version`, or if the Hub cannot tell:
    checked before a long build (`check_version_available`); `publish_folder` checks again before uploading."""
    # imported here, after the entry point configured the Hub endpoint: huggingface_hub reads it at import
    from distilkobert.hub.publish import VersionExistsError, check_version_available

    try:
        check_version_available(repo_id, version, repo_type="dataset")
    except VersionExistsError:
        print(f"error: version {version!r} of dataset {repo_id} already exists on the Hub; nothing was built or "
              "published. Choose a new --version.", file=sys.stderr)
        return True
    except Exception as exc:  # noqa: BLE001 - cannot tell is not free: one line, never a deep traceback
        endpoint = os.environ.get("HF_ENDPOINT", "the default Hub")
        print(f"error: cannot tell whether dataset {repo_id} at {endpoint} has version {version!r}: "
              f"{type(exc).__name__}: {' '.join(str(exc).split())}; nothing was built or published.", file=sys.stderr)
        return True
    return False


def publish_dataset(output_dir: str | os.PathLike, repo_id: str, version: str | None) -> int:
    """Publish a built dataset folder with `distilkobert.hub.publish.publish_folder`; returns an exit code.

    An existing version tag is refused by the hub helper (`VersionExistsError`): reported, exit code 1.
    """
    # imported here, after the entry point configured the Hub endpoint: huggingface_hub reads it at import
    from distilkobert.hub.publish import VersionExistsError, publish_folder

    try:
        result = publish_folder(output_dir, repo_id, repo_type="dataset", version=version,
                                commit_message=f"Dataset {repo_id}" + (f" {version}" if version else ""))
    except VersionExistsError as exc:
        print(f"error: version {version!r} of dataset {repo_id} already exists on the Hub; nothing was "
              f"published. Choose a new --version. ({exc})", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - report, never a deep traceback, for network/Hub failures
        endpoint = os.environ.get("HF_ENDPOINT", "the default Hub")
        print(f"error: publishing {output_dir} to dataset {repo_id} at {endpoint} failed: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"published dataset {result.repo_id} revision {result.commit_sha}"
          + (f" tagged {result.tag}" if result.tag else "") + f": {result.url}")
    return 0


def report_and_publish(summary: str, result_dict: dict, *, output_dir: str | os.PathLike,
                       summary_json: str | None, repo_id: str | None, version: str | None) -> int:
    """The end of every builder command: print the summary, write it as JSON if asked, publish if asked."""
    print(summary)
    if summary_json:
        Path(summary_json).write_text(json.dumps(result_dict, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if repo_id:
        return publish_dataset(output_dir, repo_id, version)
    return 0
