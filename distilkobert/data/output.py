"""The output-folder policy of every command (`check_output_dir`, `staged_output`, `clear_output_dir`), and the
dataset cards and publication shared by the dataset builders."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml


class OutputDirError(ValueError):
    """The output folder cannot be used (a file, not empty without --overwrite, holds an input, ...)."""


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


Inputs = Mapping[str, "str | os.PathLike | None"] | Iterable[tuple[str, "str | os.PathLike | None"]]


def check_output_dir(output_dir: str | os.PathLike, overwrite: bool, *, inputs: Inputs | None = None,
                     flag: str = "--output-dir",
                     overwrite_flag: str = "--overwrite", keep_contents: bool = False) -> Path:
    """The one output-folder policy of every command, applied before any work; returns the folder's Path.

    - a path that exists and is not a folder is refused;
    - a non-empty folder is refused unless `overwrite` (the command then replaces its contents), or unless
      `keep_contents` (a folder that is meant to be reused: a resumed training run, the local Hub's data);
    - with `overwrite`, a folder that holds one of the command's `inputs` ({flag: path} or (flag, path) pairs)
      is refused: replacing the folder would delete that input.
    Raises `OutputDirError` with one line naming the argument.
    """
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise OutputDirError(f"{flag} {path}: is a file, not a folder")
    if not path.is_dir() or keep_contents or not any(path.iterdir()):
        return path
    if not overwrite:
        raise OutputDirError(f"{flag} {path}: exists and is not empty; pass {overwrite_flag} to replace its contents")
    pairs = inputs.items() if isinstance(inputs, Mapping) else (inputs or ())
    for input_flag, value in pairs:
        if value and Path(value).exists() and _inside(Path(value), path):
            raise OutputDirError(f"{flag} {path}: holds the input {input_flag} {value}, which {overwrite_flag} would "
                                 "delete; write to another folder")
    return path


def clear_output_dir(output_dir: str | os.PathLike) -> None:
    """Remove the contents of a folder that `check_output_dir(..., overwrite=True)` accepted (the folder stays)."""
    for child in Path(output_dir).iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


@contextmanager
def staged_output(output_dir: str | os.PathLike, overwrite: bool, *, inputs: Inputs | None = None,
                  flag: str = "--output-dir") -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `output_dir`, on failure it is removed.

    A crash half-way therefore never leaves a half-written folder where a good one was. The folder is checked
    with `check_output_dir` first (so an input inside it is never deleted).
    """
    final = check_output_dir(output_dir, overwrite, inputs=inputs, flag=flag)
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


def refuse_existing_version(repo_id: str, version: str) -> bool:
    """True (and an error printed) if dataset `repo_id` already has the tag `version`: checked before a long
    build; `publish_folder` checks again before uploading. Hub errors (repo absent, ...) mean "not there"."""
    # imported here: callers configure the Hub endpoint first (prepare_hub), huggingface_hub reads it at import
    from distilkobert.hub.publish import existing_version

    try:
        exists = existing_version(repo_id, version, repo_type="dataset") is not None
    except Exception:  # noqa: BLE001 - cannot tell: publish_folder checks again before uploading
        return False
    if exists:
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
