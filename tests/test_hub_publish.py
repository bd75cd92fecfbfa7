"""publish_folder: versions become tags, existing versions are refused, transient failures are retried."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time

import pytest

from distilkobert.hub.publish import VersionExistsError, is_transient, publish_folder
from distilkobert.hub.server import HubServer


def _snapshot(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_publish_creates_tag_and_refuses_existing_version(hub_api, unique_repo_id, tmp_path):
    from huggingface_hub import hf_hub_download

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"v": 1}')
    (folder / "weights.bin").write_bytes(os.urandom(4096))
    before = _snapshot(folder)
    repo = unique_repo_id("publish")
    res = publish_folder(folder, repo, version="v1.0.0", commit_message="first release")
    assert res.repo_id == repo and res.tag == "v1.0.0" and res.revision == "main"
    assert res.url.endswith(f"/{repo}")
    refs = hub_api.list_repo_refs(repo)
    assert {t.name: t.target_commit for t in refs.tags} == {"v1.0.0": res.commit_sha}
    assert hub_api.list_repo_commits(repo)[0].title == "first release"

    (folder / "config.json").write_text('{"v": 2}')
    with pytest.raises(VersionExistsError, match="v1.0.0"):
        publish_folder(folder, repo, version="v1.0.0")
    assert hub_api.list_repo_commits(repo)[0].commit_id == res.commit_sha  # nothing was uploaded
    res2 = publish_folder(folder, repo, version="v1.1.0", revision="release")
    assert res2.revision == "release"
    assert open(hf_hub_download(repo, "config.json", revision="v1.0.0"), "rb").read() == b'{"v": 1}'
    assert open(hf_hub_download(repo, "config.json", revision="v1.1.0"), "rb").read() == b'{"v": 2}'
    assert set(_snapshot(folder)) == set(before)  # local files are never deleted


def test_publish_dataset_and_bad_inputs(hub_api, unique_repo_id, tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files: data.csv\n---\n# ds\n")
    (folder / "data.csv").write_text("text\n안녕\n")
    repo = unique_repo_id("publish-ds")
    res = publish_folder(folder, repo, repo_type="dataset", version="2024.01")
    assert "/datasets/" in res.url
    assert sorted(hub_api.list_repo_files(repo, repo_type="dataset", revision="2024.01")) == [
        ".gitattributes", "README.md", "data.csv"]
    with pytest.raises(FileNotFoundError):
        publish_folder(tmp_path / "missing", repo, repo_type="dataset")
    with pytest.raises(ValueError, match="version"):
        publish_folder(folder, repo, repo_type="dataset", version="bad version..")


def test_publish_retries_until_the_server_is_up(local_hub, unique_repo_id, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "a.txt").write_text("retry me")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started: list[HubServer] = []

    def start_later() -> None:
        time.sleep(1.5)
        started.append(HubServer(tmp_path / "late", port=port).start())

    t = threading.Thread(target=start_later)
    t.start()
    t0 = time.time()
    try:
        res = publish_folder(folder, "late/model", version="v1", endpoint=f"http://127.0.0.1:{port}",
                             token="x", retries=6, backoff=0.3)
        assert time.time() - t0 >= 1.0  # it really waited for the server
        assert res.tag == "v1" and len(res.commit_sha) == 40
    finally:
        t.join()
        for s in started:
            s.stop()


def test_publish_gives_up_on_permanent_errors(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "a.txt").write_text("x")
    with HubServer(tmp_path / "d", tokens={"a": "good"}) as server:
        t0 = time.time()
        from huggingface_hub.errors import HfHubHTTPError

        with pytest.raises(HfHubHTTPError) as err:
            publish_folder(folder, "a/m", endpoint=server.url, token="bad", retries=3, backoff=1.0)
        assert err.value.response.status_code == 401
        assert time.time() - t0 < 1.0  # a 401 is not retried
        assert not is_transient(err.value)
    assert is_transient(ConnectionRefusedError())

