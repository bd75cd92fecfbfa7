"""huggingface_hub's HfApi against the local Hub: repos, commits, LFS, refs, downloads (real client, no mocks)."""

from __future__ import annotations

import hashlib
import os
import re

import pytest


def _write(folder, files: dict[str, bytes | str]) -> None:
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


@pytest.mark.parametrize("repo_type", ["model", "dataset"])
def test_create_repo_duplicate_and_exist_ok(hub_api, unique_repo_id, repo_type):
    from huggingface_hub.errors import HfHubHTTPError

    repo = unique_repo_id(f"create-{repo_type}")
    url = hub_api.create_repo(repo, repo_type=repo_type)
    assert url.repo_id == repo and url.repo_type == repo_type
    with pytest.raises(HfHubHTTPError) as err:
        hub_api.create_repo(repo, repo_type=repo_type)
    assert err.value.response.status_code == 409
    assert hub_api.create_repo(repo, repo_type=repo_type, exist_ok=True).repo_id == repo
    info = hub_api.repo_info(repo, repo_type=repo_type)
    assert re.fullmatch(r"[0-9a-f]{40}", info.sha)
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]
    commits = hub_api.list_repo_commits(repo, repo_type=repo_type)
    assert len(commits) == 1 and commits[0].commit_id == info.sha
    # The same name as the other repo type is a different repo.
    other = "dataset" if repo_type == "model" else "model"
    hub_api.create_repo(repo, repo_type=other)
    hub_api.delete_repo(repo, repo_type=other)
    assert hub_api.repo_exists(repo, repo_type=repo_type)
    assert not hub_api.repo_exists(repo, repo_type=other)


def test_upload_folder_and_large_lfs_file(hub_api, unique_repo_id, tmp_path):
    from huggingface_hub import hf_hub_download

    repo = unique_repo_id("upload")
    hub_api.create_repo(repo)
    _write(tmp_path / "src", {"config.json": '{"a": 1}', "nested/deep/readme.txt": "안녕하세요 허브",
                              "weights.safetensors": os.urandom(3000)})
    hub_api.upload_folder(folder_path=tmp_path / "src", repo_id=repo)
    assert sorted(hub_api.list_repo_files(repo)) == [".gitattributes", "config.json", "nested/deep/readme.txt",
                                                      "weights.safetensors"]
    big = tmp_path / "big.dat"
    big.write_bytes(os.urandom(11 * 1024 * 1024))  # > 10 MB: must go through the LFS batch + PUT path
    hub_api.upload_file(path_or_fileobj=str(big), path_in_repo="data/big.dat", repo_id=repo)
    info = hub_api.get_paths_info(repo, ["data/big.dat", "config.json", "weights.safetensors"])
    by_path = {i.path: i for i in info}
    assert by_path["data/big.dat"].lfs.sha256 == hashlib.sha256(big.read_bytes()).hexdigest()
    assert by_path["data/big.dat"].size == big.stat().st_size
    assert by_path["weights.safetensors"].lfs is not None  # LFS by .gitattributes pattern
    assert by_path["config.json"].lfs is None
    path = hf_hub_download(repo, "data/big.dat")
    assert open(path, "rb").read() == big.read_bytes()
    assert open(hf_hub_download(repo, "nested/deep/readme.txt"), encoding="utf-8").read() == "안녕하세요 허브"


def test_create_commit_several_files_and_deletion_and_stale_parent(hub_api, unique_repo_id):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import HfHubHTTPError

    repo = unique_repo_id("commit")
    hub_api.create_repo(repo)
    c1 = hub_api.create_commit(repo, operations=[
        CommitOperationAdd("a.txt", b"A"), CommitOperationAdd("dir/b.txt", b"B"),
        CommitOperationAdd("dir/c.txt", b"C"), CommitOperationAdd("blob.bin", b"\x00\x01" * 100)],
        commit_message="add four")
    c2 = hub_api.create_commit(repo, operations=[
        CommitOperationDelete("a.txt"), CommitOperationDelete("dir/"), CommitOperationAdd("d.txt", b"D")],
        commit_message="delete some", parent_commit=c1.oid)
    assert sorted(hub_api.list_repo_files(repo)) == [".gitattributes", "blob.bin", "d.txt"]
    assert sorted(hub_api.list_repo_files(repo, revision=c1.oid)) == [
        ".gitattributes", "a.txt", "blob.bin", "dir/b.txt", "dir/c.txt"]
    with pytest.raises(HfHubHTTPError) as err:  # c1 is no longer the head of main
        hub_api.create_commit(repo, operations=[CommitOperationAdd("e.txt", b"E")], commit_message="stale",
                              parent_commit=c1.oid)
    assert err.value.response.status_code == 412
    assert "e.txt" not in hub_api.list_repo_files(repo)
    titles = [c.title for c in hub_api.list_repo_commits(repo)]
    assert titles == ["delete some", "add four", "initial commit"]
    assert hub_api.list_repo_commits(repo)[0].commit_id == c2.oid


def test_branches_tags_refs_commits_and_downloads_per_revision(hub_api, unique_repo_id, tmp_path):
    from huggingface_hub import CommitOperationAdd, hf_hub_download, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError

    repo = unique_repo_id("refs")
    hub_api.create_repo(repo)
    c1 = hub_api.create_commit(repo, operations=[CommitOperationAdd("f.txt", b"one"),
                                                 CommitOperationAdd("w.bin", b"\x00first")], commit_message="1")
    hub_api.create_tag(repo, tag="v1", revision=c1.oid, tag_message="first")
    hub_api.create_branch(repo, branch="dev", revision="v1")
    c2 = hub_api.create_commit(repo, operations=[CommitOperationAdd("f.txt", b"two")], commit_message="2")
    c3 = hub_api.create_commit(repo, operations=[CommitOperationAdd("f.txt", b"three")], commit_message="3",
                               revision="dev")
    with pytest.raises(HfHubHTTPError) as err:
        hub_api.create_tag(repo, tag="v1", revision=c2.oid)
    assert err.value.response.status_code == 409
    hub_api.create_tag(repo, tag="v1", revision=c2.oid, exist_ok=True)
    with pytest.raises(HfHubHTTPError) as err:
        hub_api.create_branch(repo, branch="dev")
    assert err.value.response.status_code == 409

    refs = hub_api.list_repo_refs(repo)
    assert {b.name: b.target_commit for b in refs.branches} == {"main": c2.oid, "dev": c3.oid}
    assert {t.name: t.target_commit for t in refs.tags} == {"v1": c1.oid}
    assert [c.title for c in hub_api.list_repo_commits(repo, revision="dev")] == ["3", "1", "initial commit"]

    expected = {"main": b"two", "dev": b"three", "v1": b"one", c1.oid: b"one", c2.oid: b"two", c3.oid: b"three"}
    for rev, content in expected.items():
        assert open(hf_hub_download(repo, "f.txt", revision=rev), "rb").read() == content, rev
        snap = snapshot_download(repo, revision=rev, cache_dir=tmp_path / "cache")
        assert open(os.path.join(snap, "f.txt"), "rb").read() == content, rev
        assert open(os.path.join(snap, "w.bin"), "rb").read() == b"\x00first"
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo, "f.txt", revision="no-such-branch")

    hub_api.delete_tag(repo, tag="v1")
    hub_api.delete_branch(repo, branch="dev")
    refs = hub_api.list_repo_refs(repo)
    assert [b.name for b in refs.branches] == ["main"] and refs.tags == []


def test_tree_listing_and_missing_paths(hub_api, unique_repo_id):
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    repo = unique_repo_id("tree")
    hub_api.create_repo(repo, repo_type="dataset")
    hub_api.create_commit(repo, repo_type="dataset", commit_message="data", operations=[
        CommitOperationAdd("data/train-00000.parquet", b"PAR1x"), CommitOperationAdd("data/sub/x.txt", b"x"),
        CommitOperationAdd("README.md", b"# hi")])
    top = {e.path for e in hub_api.list_repo_tree(repo, repo_type="dataset")}
    assert top == {".gitattributes", "README.md", "data"}
    deep = {e.path for e in hub_api.list_repo_tree(repo, path_in_repo="data", repo_type="dataset",
                                                     recursive=True)}
    assert deep == {"data/train-00000.parquet", "data/sub", "data/sub/x.txt"}
    hub_api.create_commit(repo, repo_type="dataset", commit_message="readme only",
                          operations=[CommitOperationAdd("README.md", b"# hello")])
    expanded = {e.path: e.last_commit.title for e in hub_api.list_repo_tree(repo, repo_type="dataset",
                                                                              expand=True)}
    assert expanded == {".gitattributes": "initial commit", "README.md": "readme only", "data": "data"}
    with pytest.raises(EntryNotFoundError):
        list(hub_api.list_repo_tree(repo, path_in_repo="nope", repo_type="dataset"))
    with pytest.raises(RepositoryNotFoundError):
        hub_api.repo_info("test-org/does-not-exist-xyz", repo_type="dataset")
    assert hub_api.file_exists(repo, "README.md", repo_type="dataset")
    assert not hub_api.file_exists(repo, "nope.md", repo_type="dataset")


def test_resolve_headers_range_and_etags(local_hub, hub_api, unique_repo_id):
    import urllib.error
    import urllib.request

    from huggingface_hub import CommitOperationAdd

    repo = unique_repo_id("resolve")
    hub_api.create_repo(repo, repo_type="dataset")
    lfs_data, text = bytes(range(256)) * 40, "가나다라마바사".encode()
    commit = hub_api.create_commit(repo, repo_type="dataset", commit_message="c", operations=[
        CommitOperationAdd("w.bin", lfs_data), CommitOperationAdd("t.txt", text)])

    def fetch(path, method="GET", rng=None, rev="main"):
        req = urllib.request.Request(f"{local_hub.url}/datasets/{repo}/resolve/{rev}/{path}", method=method,
                                     headers={"Authorization": f"Bearer {local_hub.token}",
                                              **({"Range": rng} if rng else {})})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    status, h, body = fetch("w.bin", "HEAD")
    assert status == 200 and body == b""
    assert h["X-Repo-Commit"] == commit.oid and h["Content-Length"] == str(len(lfs_data))
    assert h["ETag"] == h["X-Linked-Etag"] == f'"{hashlib.sha256(lfs_data).hexdigest()}"'
    assert h["X-Linked-Size"] == str(len(lfs_data))
    status, h, body = fetch("t.txt")
    assert status == 200 and body == text and "X-Linked-Etag" not in h
    assert h["ETag"] == '"' + hashlib.sha1(b"blob %d\0" % len(text) + text).hexdigest() + '"'  # git blob id
    status, h, body = fetch("w.bin", rng="bytes=10-19")
    assert status == 206 and body == lfs_data[10:20] and h["Content-Range"] == f"bytes 10-19/{len(lfs_data)}"
    assert fetch("w.bin", rng="bytes=-5")[2] == lfs_data[-5:]
    assert fetch("w.bin", rng=f"bytes={len(lfs_data) - 3}-")[2] == lfs_data[-3:]
    status, h, _ = fetch("w.bin", rng=f"bytes={len(lfs_data)}-")
    assert status == 416 and h["Content-Range"] == f"bytes */{len(lfs_data)}"
    status, h, _ = fetch("missing.txt", rev=commit.oid)
    assert status == 404 and h["X-Error-Code"] == "EntryNotFound" and h["X-Repo-Commit"] == commit.oid
    assert fetch("t.txt", rev="0" * 40)[1]["X-Error-Code"] == "RevisionNotFound"


def test_misc_routes_health_whoami_yaml_settings_listing(local_hub, hub_api, unique_repo_id):
    import json
    import urllib.error
    import urllib.request

    def call(path, method="GET", body=None):
        req = urllib.request.Request(f"{local_hub.url}{path}", method=method, data=body,
                                     headers={"Authorization": f"Bearer {local_hub.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    assert call("/health") == (200, {"status": "ok", "version": "distilkobert-hub/1.0"})
    assert call("/api/agent-harnesses")[1] == {"standardEnvVars": [], "harnesses": {}}
    assert hub_api.whoami()["name"] == local_hub.user
    ok = call("/api/validate-yaml", "POST", json.dumps({"content": "---\nlicense: mit\n---\n# x"}).encode())
    assert ok == (200, {"errors": [], "warnings": []})
    assert call("/api/validate-yaml", "POST", json.dumps({"content": "---\nlicense: mit\n"}).encode())[0] == 400
    repo = unique_repo_id("misc")
    hub_api.create_repo(repo)
    assert repo in {m.id for m in hub_api.list_models(author="test-org")}
    hub_api.update_repo_settings(repo, private=True)
    assert hub_api.model_info(repo).private is True
    info = hub_api.model_info(repo, files_metadata=True)
    assert info.siblings[0].rfilename == ".gitattributes" and info.siblings[0].size > 0
    assert call(f"/api/models/{repo}/xet-read-token/main")[0] == 501
    assert call("/api/nothing-here")[0] == 404
