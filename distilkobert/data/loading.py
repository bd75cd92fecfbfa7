"""Loading a dataset folder or Hub repo so that what is loaded is exactly what was named.

Both `train_distill.py` and `eval_nsmc.py` read datasets through :func:`load_dataset_pinned`, which also returns
an identity of the data (the resolved commit sha of a Hub repo, or a content hash of a local folder) for the
results files and for cache keys. `datasets` and huggingface_hub read HF_ENDPOINT when imported: commands import
this module after configuring the endpoint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
from huggingface_hub import HfApi


@dataclass
class LoadedDataset:
    """A `DatasetDict` plus where it came from."""

    dataset: Any
    name: str
    is_local: bool
    revision: str | None
    resolved_revision: str | None  # the commit sha, for a Hub repo (None if it could not be resolved)
    fingerprint: str | None  # sha256 of the folder's data files, for a local folder

    @property
    def identity(self) -> str:
        """A string that changes whenever the loaded rows can change (for cache keys)."""
        if self.is_local:
            return f"folder:{self.fingerprint}"
        return f"hub:{self.name}@{self.resolved_revision or self.revision or 'main'}"


def folder_fingerprint(folder: Path) -> str:
    """sha256 over the data files of a local dataset folder (relative names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts
                       and ".cache" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode())
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def load_dataset_pinned(name_or_path: str, revision: str | None = None) -> LoadedDataset:
    """`datasets.load_dataset` on a local folder or a Hub dataset repo at `revision`, pinned to what it names.

    datasets 5.2 caches a local folder under its basename and a hash that ignores the folder's location and
    contents: two folders named alike share one cache and the second silently loads the first's rows. A local
    folder therefore gets a cache directory of its own content hash. A Hub repo is resolved to its commit sha
    first, and that sha is loaded, so the rows and the recorded revision always agree.
    Errors from the library are re-raised as one clear `ValueError` naming the dataset and revision.
    """
    path = Path(name_or_path).expanduser()
    local = path.exists()
    where = f"dataset {name_or_path!r}" + ("" if revision is None or local else f" at revision {revision!r}")
    fingerprint = resolved = None
    try:
        if local:
            fingerprint = folder_fingerprint(path)
            cache_dir = Path(datasets.config.HF_DATASETS_CACHE) / "distilkobert-local" / fingerprint[:20]
            dd = datasets.load_dataset(str(path), cache_dir=str(cache_dir))
        else:
            resolved = HfApi().dataset_info(name_or_path, revision=revision).sha
            dd = datasets.load_dataset(name_or_path, revision=resolved or revision)
    except Exception as exc:  # one clear line instead of a deep library traceback
        raise ValueError(f"cannot load {where}: {type(exc).__name__}: {exc}") from exc
    return LoadedDataset(dataset=dd, name=name_or_path, is_local=local, revision=revision,
                         resolved_revision=resolved, fingerprint=fingerprint)
