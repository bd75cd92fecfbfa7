"""Concurrent commits from threads and processes (two server processes sharing one data dir), and restarts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from distilkobert.hub.server import HubServer

from helpers.local_hub import start_cli_server

COMMITS_PER_WORKER = 3
_WORKER = """
import sys
from huggingface_hub import CommitOperationAdd, HfApi
url, repo, worker, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
api = HfApi(endpoint=url, token="any")
for i in range(n):
    api.create_commit(repo, operations=[CommitOperationAdd(f"{worker}/{i}.txt", f"{worker}-{i}".encode())],
                      commit_message=f"{worker} {i}")
"""


def test_threads_and_processes_commit_to_one_branch_without_loss(tmp_path):
    from huggingface_hub import CommitOperationAdd, HfApi

    data = tmp_path / "data"
    repo = "team/busy"
    with HubServer(data) as server:
        proc, other_url = start_cli_server(data, tmp_path)  # a second server process on the same data dir
        try:
            HfApi(endpoint=server.url, token="any").create_repo(repo)
            errors: list[BaseException] = []

            def thread_worker(k: int) -> None:
                try:
                    api = HfApi(endpoint=server.url, token="any")
                    for i in range(COMMITS_PER_WORKER):
                        api.create_commit(repo, operations=[CommitOperationAdd(f"t{k}/{i}.txt", f"t{k}-{i}".encode())],
                                          commit_message=f"t{k} {i}")
                except BaseException as e:  # surfaced below
                    errors.append(e)

            procs = [subprocess.Popen([sys.executable, "-c", _WORKER, url, repo, f"p{k}", str(COMMITS_PER_WORKER)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for k, url in enumerate([server.url, other_url] * 2)]
            threads = [threading.Thread(target=thread_worker, args=(k,)) for k in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for p in procs:
                out, err = p.communicate(timeout=120)
                assert p.returncode == 0, err
            assert not errors, errors
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        api = HfApi(endpoint=server.url, token="any")
        files = set(api.list_repo_files(repo))
        expected = {f"{w}/{i}.txt" for w in [f"t{k}" for k in range(6)] + [f"p{k}" for k in range(4)]
                    for i in range(COMMITS_PER_WORKER)}
        assert expected <= files
        commits = api.list_repo_commits(repo)
        assert len(commits) == 10 * COMMITS_PER_WORKER + 1  # every commit is in the first-parent history
        assert len({c.commit_id for c in commits}) == len(commits)


def test_restart_keeps_all_data(tmp_path):
    from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

    data = tmp_path / "data"
    big = os.urandom(2 * 1024 * 1024)
    with HubServer(data, tokens={"alice": "t-a"}) as server:
        api = HfApi(endpoint=server.url, token="t-a")
        api.create_repo("alice/keep", private=True)
        api.create_repo("alice/ds", repo_type="dataset")
        c1 = api.create_commit("alice/keep", operations=[CommitOperationAdd("a.txt", b"first"),
                                                         CommitOperationAdd("w.safetensors", big)],
                               commit_message="one")
        api.create_tag("alice/keep", tag="v1")
        api.create_branch("alice/keep", branch="dev")
        api.create_commit("alice/keep", operations=[CommitOperationAdd("a.txt", b"second")], commit_message="two")
        api.upload_file(path_or_fileobj=b"x,y\n1,2\n", path_in_repo="data.csv", repo_id="alice/ds",
                        repo_type="dataset")
        before = (api.list_repo_refs("alice/keep"), [c.commit_id for c in api.list_repo_commits("alice/keep")])
        old_port = server.port
    with HubServer(data, tokens={"alice": "t-a"}) as server:  # a fresh process-state, same directory
        api = HfApi(endpoint=server.url, token="t-a")
        after = (api.list_repo_refs("alice/keep"), [c.commit_id for c in api.list_repo_commits("alice/keep")])
        assert after == before
        assert api.repo_info("alice/keep").private is True
        assert not HfApi(endpoint=server.url, token=False).repo_exists("alice/keep")
        cache = tmp_path / "cache"
        kw = dict(endpoint=server.url, token="t-a", cache_dir=cache)
        assert open(hf_hub_download("alice/keep", "a.txt", revision="v1", **kw), "rb").read() == b"first"
        assert open(hf_hub_download("alice/keep", "a.txt", **kw), "rb").read() == b"second"
        assert open(hf_hub_download("alice/keep", "w.safetensors", revision=c1.oid, **kw), "rb").read() == big
        assert api.list_repo_files("alice/ds", repo_type="dataset") == [".gitattributes", "data.csv"]
        api.create_commit("alice/keep", operations=[CommitOperationAdd("b.txt", b"3")], commit_message="three",
                          parent_commit=after[1][0])  # writes continue from the persisted head
    assert old_port > 0


def test_cli_serve_port_file_health_and_tokens(tmp_path):
    proc, url = start_cli_server(tmp_path / "d", tmp_path, "--token", "ann:secret-1")
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=10) as r:
            assert r.status == 200 and b"ok" in r.read()
        req = urllib.request.Request(f"{url}/api/repos/create", data=b'{"name": "x"}', method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 401
        req.add_header("Authorization", "Bearer secret-1")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200 and b"ann/x" in r.read()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "HF_ENDPOINT=" in err
    assert (tmp_path / "d" / "repos" / "models" / "ann" / "x" / "repo.json").exists()


def test_cli_serve_help_and_bad_token_argument():
    out = subprocess.run([sys.executable, "-m", "distilkobert.cli", "hub", "serve", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--port-file" in out.stdout and "--token" in out.stdout
    out = subprocess.run([sys.executable, "-m", "distilkobert.cli", "hub", "serve", "--data-dir", "x", "--token",
                          "no-colon"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "NAME:TOKEN" in out.stderr


def test_hf_cli_upload_and_download(local_hub, unique_repo_id, tmp_path):
    hf = Path(sys.executable).with_name("hf")
    if not hf.exists():
        pytest.skip(f"the `hf` CLI is not installed next to {sys.executable}")
    repo = unique_repo_id("hf-cli")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "hello.txt").write_text("안녕 hf CLI", encoding="utf-8")
    (src / "sub" / "w.bin").write_bytes(os.urandom(2048))
    env = dict(os.environ)  # HF_ENDPOINT / HF_TOKEN / HF_HUB_DISABLE_XET exported by the pytest plugin
    up = subprocess.run([str(hf), "upload", repo, str(src), ".", "--commit-message", "via cli"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert up.returncode == 0, up.stderr
    down = subprocess.run([str(hf), "download", repo, "--local-dir", str(tmp_path / "dst")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "dst" / "hello.txt").read_text(encoding="utf-8") == "안녕 hf CLI"
    assert (tmp_path / "dst" / "sub" / "w.bin").read_bytes() == (src / "sub" / "w.bin").read_bytes()
