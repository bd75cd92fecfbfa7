"""Test session set-up.

The local Hub server is started and HF_ENDPOINT / HF_TOKEN / HF_HUB_DISABLE_XET / HF_HOME are exported by
the `helpers.local_hub` plugin (tests/helpers/local_hub.py) *before* any test module imports huggingface_hub,
datasets or transformers (they read these variables at import time). Keep this file free of Hugging Face imports.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["helpers.local_hub"]

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


# The original KoBERT / DistilKoBERT repos' stand-ins on the local Hub (helpers/kobert_standins.py), shared by the
# API and convert tests; imported inside the fixtures so that this file stays free of Hugging Face imports.
@pytest.fixture(scope="module")
def tokenizer_files(tmp_path_factory):
    """(SentencePiece model, vocab.txt, real KoBERT?) : the shared KoBERT files, or a vocabulary trained here."""
    from helpers.kobert_standins import kobert_tokenizer_files

    return kobert_tokenizer_files(SHARED_DATA, tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def standins(tokenizer_files, tmp_path_factory, local_hub):
    """Repos named like monologg/kobert, kobert-lm and distilkobert, in their original layout, on the local Hub."""
    from helpers.kobert_standins import publish_standins

    sp_model, vocab, _ = tokenizer_files
    return publish_standins(local_hub, tmp_path_factory.mktemp("standins"), sp_model, vocab)
