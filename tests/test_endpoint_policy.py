"""The Hub endpoint policy: HF_ENDPOINT, else the local Hub when asked for, else huggingface.co; and the
one-line failures when a command's Hub repo cannot be reached or a model reference is neither folder nor Hub id.

The policy runs in fresh subprocesses: it changes the environment and the Hugging Face clients read it once, at
import, so it cannot be exercised inside this test process (whose clients point at the session's local Hub).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from distilkobert.hub.endpoint import (
    DEFAULT_ENDPOINT,
    HubUnreachableError,
    ModelReferenceError,
    require_hub,
    resolve_model_reference,
)

PROBE = ("import os, sys\n"
         "from distilkobert.hub.endpoint import configure_hub_environment, local_server\n"
         "use_local = {'none': None, 'true': True, 'false': False}[sys.argv[2]]\n"
         "url = configure_hub_environment(sys.argv[1], use_local=use_local)\n"
         "from huggingface_hub import constants\n"
         "print(url, os.environ.get('HF_ENDPOINT'), local_server() is not None, constants.ENDPOINT,\n"
         "      os.environ.get('HF_HUB_DISABLE_XET'))\n")


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user who set nothing: no HF_* variables, no local-Hub request."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "DISTILKOBERT_LOCAL_HUB"}
    env.update(HF_HOME=str(tmp_path / "hf_home"), DISTILKOBERT_HUB_DIR=str(tmp_path / "default-hub"), **extra)
    return env


def _probe(tmp_path: Path, use_local: str, **env: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "hub"), use_local], capture_output=True,
                         text=True, env=_clean_env(tmp_path, **env), timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def _dead_endpoint() -> str:
    """A loopback URL nobody listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_without_hf_endpoint_the_clients_use_huggingface_co_and_no_server_starts(tmp_path):
    assert _probe(tmp_path, "none") == [DEFAULT_ENDPOINT, "None", "False", DEFAULT_ENDPOINT, "None"]
    # use_local=False wins over the environment variable
    assert _probe(tmp_path, "false", DISTILKOBERT_LOCAL_HUB="1")[:3] == [DEFAULT_ENDPOINT, "None", "False"]
    assert not (tmp_path / "hub").exists() and not (tmp_path / "default-hub").exists()


def test_the_local_hub_starts_when_asked_for_and_hf_endpoint_still_wins(tmp_path):
    url, exported, started, client_endpoint, no_xet = _probe(tmp_path, "none", DISTILKOBERT_LOCAL_HUB="1")
    assert url.startswith("http://127.0.0.1:") and exported == url == client_endpoint
    assert started == "True" and no_xet == "1" and (tmp_path / "hub" / "repos").is_dir()
    url, exported, started, *_ = _probe(tmp_path, "true", DISTILKOBERT_LOCAL_HUB="1", HF_ENDPOINT="http://127.0.0.1:9")
    assert (url, exported, started) == ("http://127.0.0.1:9", "http://127.0.0.1:9", "False")


def test_local_hub_global_flag_starts_the_local_hub_for_the_command(tmp_path):
    env = _clean_env(tmp_path)
    out = subprocess.run([sys.executable, "-m", "distilkobert.cli", "--local-hub", "train", "--no_such_flag"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode != 0  # the unknown flag, after the endpoint was configured
    assert "local Hub at http://127.0.0.1:" in out.stderr, out.stderr[-2000:]
    assert (tmp_path / "default-hub" / "repos").is_dir()  # DISTILKOBERT_HUB_DIR holds its data


def test_require_hub_fails_fast_in_one_line_naming_repo_endpoint_and_ways_out(monkeypatch, tmp_path, local_hub):
    dead = _dead_endpoint()
    monkeypatch.setenv("HF_ENDPOINT", dead)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    t0 = time.perf_counter()
    with pytest.raises(HubUnreachableError) as err:
        require_hub("some-org/kobert-teacher", "--teacher_name_or_path")
    assert time.perf_counter() - t0 < 5
    message = str(err.value)
    assert "\n" not in message
    for part in ("--teacher_name_or_path", "'some-org/kobert-teacher'", dead, "local folder", "HF_ENDPOINT",
                 "DISTILKOBERT_LOCAL_HUB=1", "--local-hub"):
        assert part in message, part
    assert "HF_HUB_OFFLINE" not in message  # nothing in the cache
    with pytest.raises(HubUnreachableError, match="dataset repo 'some-org/corpus'"):
        require_hub("some-org/corpus", "--dataset_name_or_path", repo_type="dataset")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "models--some-org--kobert-teacher").mkdir(parents=True)  # what a download leaves
    with pytest.raises(HubUnreachableError, match="a copy is in the Hugging Face cache: HF_HUB_OFFLINE=1 uses it"):
        require_hub("some-org/kobert-teacher", "--teacher_name_or_path")
    require_hub(str(tmp_path), "--teacher_name_or_path")  # a local folder needs no Hub
    with pytest.raises(ModelReferenceError, match="no such folder, and not a Hub id"):
        require_hub("./no-such-teacher", "--teacher_name_or_path")  # not a Hub repo: say so, not "unreachable"
    (tmp_path / "corpus.txt").write_text("문장\n", encoding="utf-8")
    require_hub(str(tmp_path / "corpus.txt"), "--dataset_name_or_path", repo_type="dataset")  # a data file
    require_hub(None, "--tokenizer_name_or_path")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline mode: the clients use their cache
    require_hub("some-org/kobert-teacher", "--teacher_name_or_path")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", local_hub.url)
    require_hub("some-org/kobert-teacher", "--teacher_name_or_path")  # reachable: the clients take over


def test_resolve_model_reference_folder_hub_id_or_one_line_error(tmp_path):
    assert resolve_model_reference(str(tmp_path)) == tmp_path
    assert resolve_model_reference("monologg/kobert-lm") == "monologg/kobert-lm"
    assert resolve_model_reference("bert-base-uncased") == "bert-base-uncased"
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelReferenceError, match="is a file, not a folder"):
        resolve_model_reference(str(tmp_path / "weights.bin"), "--teacher_name_or_path")
    for bad in ("./no-such-teacher", str(tmp_path / "missing"), "a/b/c", "org/bad--name", "org/-x", "~/nothing",
                "org/name.git", "x" * 97):
        with pytest.raises(ModelReferenceError) as err:
            resolve_model_reference(bad, "--teacher_name_or_path")
        assert str(err.value) == f"--teacher_name_or_path {bad}: no such folder, and not a Hub id (namespace/name)"


def test_train_and_eval_stop_in_one_line_when_their_hub_is_unreachable(tmp_path):
    dead = _dead_endpoint()
    env = _clean_env(tmp_path, HF_ENDPOINT=dead)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("한국어 문장 하나.\n또 다른 문장.\n", encoding="utf-8")
    commands = {
        "train": ["--teacher_name_or_path", "some-org/kobert-teacher", "--dataset_name_or_path", str(corpus),
                  "--output_dir", str(tmp_path / "train-out")],
        "eval": ["--model_name_or_path", "some-org/kobert-student", "--output_dir", str(tmp_path / "eval-out")],
    }
    for command, args in commands.items():
        out = subprocess.run([sys.executable, "-m", "distilkobert.cli", command, *args], capture_output=True,
                             text=True, env=env, timeout=300)
        assert out.returncode == 2, (command, out.stderr[-3000:])
        assert "Traceback" not in out.stderr, out.stderr[-3000:]
        errors = [line for line in out.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1 and dead in errors[0] and "some-org/kobert-" in errors[0], out.stderr[-3000:]
        # the check's own line (before any download was tried), not the clients' error after their retries
        assert "is not reachable; pass a local folder" in errors[0] and "DISTILKOBERT_LOCAL_HUB=1" in errors[0]
    assert not (tmp_path / "eval-out").exists()  # nothing written before the check
