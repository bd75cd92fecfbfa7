"""Output folders, dataset cards and publication shared by the dataset builders."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import yaml


class OutputDirError(Exception):
    """The output folder cannot be used (exists and is not empty without --overwrite, ...)."""


def check_output_dir(output_dir: str | os.PathLike, overwrite: bool) -> Path:
    """Fail early, before any work, when `output_dir` is a non-empty folder and `overwrite` is off."""
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise OutputDirError(f"--output-dir {path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputDirError(f"--output-dir {path} exists and is not empty; pass --overwrite to replace it")
    return path


@contextmanager
def staged_output(output_dir: str | os.PathLike, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `output_dir`, on failure it is removed.

    A crash half-way therefore never leaves a half-written dataset where a good one was.
    """
    final = check_output_dir(output_dir, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-", dir=final.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    os.chmod(final, 0o755)  # mkdtemp creates 0700


def command_line(prog: str, argv: Sequence[str] | None) -> str:
    """The command as a user would type it again, for the card's 'how it was built' section."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join([prog] + [shlex.quote(a) for a in args])


def render_card(metadata: dict[str, Any], body: str) -> str:
    """README.md text: YAML front matter (kept in the given key order) then the markdown body."""
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n\n{body.strip()}\n"


def data_files_config(splits: Sequence[str]) -> list[dict[str, Any]]:
    return [{"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}]


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        cells = [f"{c:,}" if isinstance(c, int) and not isinstance(c, bool) else str(c) for c in row]
        lines.append("| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |")
    return "\n".join(lines)


def refuse_existing_version(repo_id: str, version: str) -> bool:
    """True (and an error printed) if dataset `repo_id` already has the tag `version`: checked before a long
    build; `publish_folder` checks again before uploading. Hub errors (repo absent, ...) mean "not there"."""
    from huggingface_hub import HfApi

    try:
        tags = HfApi().list_repo_refs(repo_id, repo_type="dataset").tags
    except Exception:  # noqa: BLE001 - a missing repo is the normal first-publication case
        return False
    if any(tag.name == version for tag in tags):
        print(f"error: version {version!r} of dataset {repo_id} already exists on the Hub; nothing was built or "
              "published. Choose a new --version.", file=sys.stderr)
        return True
    return False


def publish_dataset(output_dir: str | os.PathLike, repo_id: str, version: str | None) -> int:
    """Publish a built dataset folder with `distilkobert.hub.publish.publish_folder`; returns an exit code.

    An existing version tag is refused by the hub helper (`VersionExistsError`): reported, exit code 1.
    """
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


def prepare_hub(repo_id: str | None, version: str | None) -> bool:
    """Configure the Hub endpoint (before any Hugging Face import) and, when publishing, check the version is
    free before a long build. Returns False (an error was printed) if `version` already exists."""
    from distilkobert.hub.endpoint import configure_hub_environment

    configure_hub_environment()
    return not (repo_id and refuse_existing_version(repo_id, version))
