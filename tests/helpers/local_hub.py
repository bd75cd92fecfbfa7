"""pytest plugin: a local Hub for the whole test session, configured before any Hugging Face import.

Loaded from ``tests/conftest.py`` (``pytest_plugins = ["helpers.local_hub"]``). At
``pytest_configure`` (before test modules are collected, hence before they import huggingface_hub, datasets
or transformers) it starts a :class:`HubServer` on a free port in a temporary dir, with one user
``test-user`` (member of the organisation ``test-org``) and a random token, and exports HF_ENDPOINT,
HF_TOKEN, HF_HUB_DISABLE_XET=1 and a temporary HF_HOME (plus the caches under it), and unsets
DISTILKOBERT_HUB_TOKENS. Subprocesses started by tests inherit these variables.

Fixtures: ``local_hub`` (``.url``, ``.token``, ``.user``, ``.data_dir``, ``.server``), ``hub_api`` (an
``HfApi`` for it) and ``unique_repo_id`` (``unique_repo_id("prefix") -> "test-org/prefix-<random>"``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from distilkobert.hub.server import HubServer
from distilkobert.hub.tokens import TOKENS_ENV

TEST_USER = "test-user"
TEST_ORG = "test-org"
_ENV_KEYS = ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_DISABLE_XET", "HF_HOME", "HF_HUB_CACHE", "HF_DATASETS_CACHE",
             "HF_XET_CACHE", "HF_ASSETS_CACHE", "HF_HUB_DISABLE_TELEMETRY", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE",
             "TRANSFORMERS_OFFLINE", "HF_TOKEN_PATH", TOKENS_ENV)


@dataclass
class LocalHub:
    url: str
    token: str
    user: str
    data_dir: Path
    server: HubServer


_state: dict = {}


def start_cli_server(data_dir: str | os.PathLike, work_dir: str | os.PathLike, *extra_args: str,
                     timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Run ``distilkobert hub serve --port 0 --port-file F`` as a subprocess; returns (process, url).

    For tests that need the server in another process (memory measurements, multi-process locking).
    The caller terminates the process.
    """
    port_file = Path(work_dir) / f"hub-port-{os.urandom(4).hex()}"
    proc = subprocess.Popen([sys.executable, "-m", "distilkobert.cli", "hub", "serve", "--data-dir", str(data_dir),
                             "--port", "0", "--port-file", str(port_file), *extra_args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    while not port_file.exists():
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"distilkobert hub serve did not start: {proc.communicate()}")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{int(port_file.read_text())}"


def pytest_configure(config: pytest.Config) -> None:
    if "hub" in _state:
        return
    root = Path(tempfile.mkdtemp(prefix="distilkobert-test-hub-"))
    token = "hf_test_" + secrets.token_hex(16)
    # Like the Hub, a user writes only in its own namespace and its organisations: test repos go to TEST_ORG.
    server = HubServer(root / "hub", tokens={TEST_USER: token}, orgs={TEST_ORG: [TEST_USER]}).start()
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    hf_home = root / "hf_home"
    os.environ.update({
        "HF_ENDPOINT": server.url,
        "HF_TOKEN": token,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hf_home / "hub"),
        "HF_DATASETS_CACHE": str(hf_home / "datasets"),
        "HF_XET_CACHE": str(hf_home / "xet"),
        "HF_ASSETS_CACHE": str(hf_home / "assets"),
        "HF_TOKEN_PATH": str(hf_home / "token"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    })
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.pop(key, None)  # the tests publish and load for real, against the local Hub
    os.environ.pop(TOKENS_ENV, None)  # `hub serve` subprocesses get only the tokens a test gives them
    _state.update(hub=LocalHub(server.url, token, TEST_USER, root / "hub", server), root=root, saved=saved)


def pytest_unconfigure(config: pytest.Config) -> None:
    hub = _state.pop("hub", None)
    if hub is None:
        return
    hub.server.stop()
    for key, value in _state.pop("saved").items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(_state.pop("root"), ignore_errors=True)


@pytest.fixture(scope="session")
def local_hub() -> LocalHub:
    """The session's local Hub server (started at pytest_configure)."""
    return _state["hub"]


@pytest.fixture(scope="session")
def hub_api(local_hub: LocalHub):
    """An ``HfApi`` talking to the local Hub with the session token."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=local_hub.url, token=local_hub.token)


@pytest.fixture
def unique_repo_id():
    """Factory: ``unique_repo_id("prefix") -> "test-org/prefix-<random>"`` (a fresh repo name per call)."""
    def make(prefix: str = "repo", namespace: str = TEST_ORG) -> str:
        return f"{namespace}/{prefix}-{uuid.uuid4().hex[:10]}"

    return make
