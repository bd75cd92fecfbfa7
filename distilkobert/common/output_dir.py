"""The output-folder policy of every command: `check_output_dir` before any work, `staged_output` to build a
folder aside and swap it in, `clear_output_dir` to empty an accepted one. Imports nothing from the package."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


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
