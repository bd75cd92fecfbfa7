"""Test session set-up.

The local Hub server is started and HF_ENDPOINT / HF_TOKEN / HF_HUB_DISABLE_XET / HF_HOME are exported by
the `distilkobert.hub.pytest_plugin` plugin *before* any test module imports huggingface_hub, datasets or
transformers (they read these variables at import time). Keep this file free of Hugging Face imports.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["distilkobert.hub.pytest_plugin"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DISTILKOBERT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; the calling test is skipped, with the reason, when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (set DISTILKOBERT_SHARED_DATA to the shared data folder to run this test)")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def kobert_files() -> tuple[Path, Path]:
    """The real KoBERT SentencePiece model and vocab.txt from ../shared (skip when absent)."""
    return (shared_path("kobert", "tokenizer_78b3253a26.model"), shared_path("kobert", "vocab.txt"))
