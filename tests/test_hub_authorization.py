"""Who may reference a stored object, and how users and tokens are given to `distilkobert hub serve`.

Blobs are content-addressed and shared by all repos; a user may reference one in a commit only if it uploaded
the bytes itself or can read a repo holding them. Real clients (huggingface_hub) and raw HTTP against the real
server on 127.0.0.1; `hub serve` in-process for its refusals and as a subprocess when it must serve.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from distilkobert.hub.server import HubServer, serve_main
from distilkobert.hub.tokens import TOKENS_ENV, TokenSetupError

from helpers.local_hub import start_cli_server

ALICE, BOB, CAT = "tok-alice-1", "tok-bob-2", "tok-cat-3"
REJECTED = "LFS pointer pointed to a file that does not exist"


def _raw(url: str, method: str = "GET", body: bytes | None = None, token: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _batch(url: str, repo_id: str, data: bytes, token: str) -> dict:
    """The LFS batch answer for ``data`` in ``repo_id`` (one object)."""
    body = {"operation": "upload", "transfers": ["basic"],
            "objects": [{"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}]}
    status, answer = _raw(f"{url}/{repo_id}.git/info/lfs/objects/batch", "POST", json.dumps(body).encode(), token)
    assert status == 200, answer
    return json.loads(answer)["objects"][0]


def _commit_lfs_pointer(url: str, repo_id: str, path: str, data: bytes, token: str) -> tuple[int, dict]:
    """Commit an `lfsFile` line naming ``data``'s sha256 without sending the bytes."""
    lines = [{"key": "header", "value": {"summary": "pointer only"}},
             {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": hashlib.sha256(data).hexdigest(),
                                          "size": len(data)}}]
    status, answer = _raw(f"{url}/api/models/{repo_id}/commit/main", "POST",
                          b"".join(json.dumps(line).encode() + b"\n" for line in lines), token)
    return status, json.loads(answer)


def _lfs_puts(caplog) -> int:
    """How many LFS objects the server received (its request log at INFO)."""
    return sum("PUT /lfs-upload/" in r.getMessage() for r in caplog.records)


def test_a_private_object_of_another_user_cannot_be_claimed_committed_or_downloaded(tmp_path):
    from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    secret = os.urandom(200_000)
    with HubServer(tmp_path / "data", tokens={"alice": ALICE, "bob": BOB}) as hub:
        alice, bob = HfApi(endpoint=hub.url, token=ALICE), HfApi(endpoint=hub.url, token=BOB)
        alice.create_repo("alice/secret", private=True)
        alice.upload_file(path_or_fileobj=secret, path_in_repo="weights.bin", repo_id="alice/secret")
        bob.create_repo("bob/steal")

        # The batch asks bob for the bytes, as for an object nobody stored: no hint that it exists.
        answer = _batch(hub.url, "bob/steal", secret, BOB)
        unknown = _batch(hub.url, "bob/steal", os.urandom(200_000), BOB)
        assert "upload" in answer["actions"] and answer.keys() == unknown.keys()
        # A signed upload URL is bound to its user.
        href = answer["actions"]["upload"]["href"]
        assert _raw(href.replace("user=bob", "user=alice"), "PUT", secret)[0] == 403
        # Other bytes of the same size do not prove anything.
        assert _raw(href, "PUT", os.urandom(len(secret)))[0] == 400

        # A commit that only names the sha256 is refused like the Hub does (400), and the same way as an
        # object that does not exist at all.
        status, error = _commit_lfs_pointer(hub.url, "bob/steal", "stolen.bin", secret, BOB)
        assert status == 400 and REJECTED in error["error"] and "stolen.bin" in error["error"], error
        status, missing = _commit_lfs_pointer(hub.url, "bob/steal", "stolen.bin", b"never uploaded", BOB)
        assert status == 400 and REJECTED in missing["error"]

        # Nothing to download: the file is not in bob's repo, and alice's repo stays invisible.
        assert bob.list_repo_files("bob/steal") == [".gitattributes"]
        with pytest.raises(EntryNotFoundError):
            hf_hub_download("bob/steal", "stolen.bin", endpoint=hub.url, token=BOB, cache_dir=tmp_path / "c")
        assert _raw(f"{hub.url}/bob/steal/resolve/main/stolen.bin", token=BOB)[0] == 404

        # Who really has the bytes uploads them (the batch asked for them) and may then commit them.
        bob.create_commit("bob/steal", [CommitOperationAdd("mine.bin", secret)], commit_message="own copy")
        assert _commit_lfs_pointer(hub.url, "bob/steal", "again.bin", secret, BOB)[0] == 200
        path = hf_hub_download("bob/steal", "again.bin", endpoint=hub.url, token=BOB, cache_dir=tmp_path / "c")
        assert open(path, "rb").read() == secret


def test_the_same_user_uploads_the_same_bytes_once_even_across_a_restart(tmp_path, caplog):
    from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

    caplog.set_level(logging.INFO, logger="distilkobert.hub")
    weights, pending = os.urandom(300_000), os.urandom(250_000)
    data = tmp_path / "data"
    with HubServer(data, tokens={"alice": ALICE, "bob": BOB}) as hub:
        alice = HfApi(endpoint=hub.url, token=ALICE)
        for repo_id in ("alice/first", "alice/second"):
            alice.create_repo(repo_id, private=True)
        alice.upload_file(path_or_fileobj=weights, path_in_repo="w.bin", repo_id="alice/first")
        assert _lfs_puts(caplog) == 1
        alice.upload_file(path_or_fileobj=weights, path_in_repo="w.bin", repo_id="alice/second")
        assert _lfs_puts(caplog) == 1  # deduplicated: the second upload sent no bytes
        # Uploaded but not committed yet (the first half of a commit): recorded as alice's.
        alice.preupload_lfs_files("alice/second", additions=[CommitOperationAdd("later.bin", pending)])
        assert _lfs_puts(caplog) == 2

    caplog.clear()
    with HubServer(data, tokens={"alice": ALICE, "bob": BOB}) as hub:  # a restart: the record is on disk
        alice = HfApi(endpoint=hub.url, token=ALICE)
        alice.create_commit("alice/second", [CommitOperationAdd("later.bin", pending)], commit_message="later")
        assert _lfs_puts(caplog) == 0
        path = hf_hub_download("alice/second", "later.bin", endpoint=hub.url, token=ALICE, cache_dir=tmp_path / "c")
        assert open(path, "rb").read() == pending
        # ...and it is alice's only: bob is asked for the bytes.
        HfApi(endpoint=hub.url, token=BOB).create_repo("bob/try")
        assert "actions" in _batch(hub.url, "bob/try", pending, BOB)


def test_an_object_in_a_repo_the_user_can_read_is_reused_without_an_upload(tmp_path, caplog):
    from huggingface_hub import HfApi, hf_hub_download

    caplog.set_level(logging.INFO, logger="distilkobert.hub")
    public, crew_only = os.urandom(150_000), os.urandom(160_000)
    tokens = {"alice": ALICE, "bob": BOB, "cat": CAT}
    with HubServer(tmp_path / "data", tokens=tokens, orgs={"crew": ["alice", "cat"]}) as hub:
        alice, bob, cat = (HfApi(endpoint=hub.url, token=t) for t in (ALICE, BOB, CAT))
        alice.create_repo("alice/public")
        alice.upload_file(path_or_fileobj=public, path_in_repo="w.bin", repo_id="alice/public")
        alice.create_repo("crew/private", private=True)
        alice.upload_file(path_or_fileobj=crew_only, path_in_repo="c.bin", repo_id="crew/private")
        uploads = _lfs_puts(caplog)

        # bob can read alice's public repo: he could download the object, so he may reference it.
        bob.create_repo("bob/copy")
        assert "actions" not in _batch(hub.url, "bob/copy", public, BOB)
        assert _commit_lfs_pointer(hub.url, "bob/copy", "w.bin", public, BOB)[0] == 200
        bob.upload_file(path_or_fileobj=public, path_in_repo="w2.bin", repo_id="bob/copy")  # the real client
        path = hf_hub_download("bob/copy", "w2.bin", endpoint=hub.url, token=BOB, cache_dir=tmp_path / "c")
        assert open(path, "rb").read() == public
        # cat reads the organisation's private repo (and keeps the copy private); bob does not.
        cat.create_repo("cat/copy", private=True)
        assert _commit_lfs_pointer(hub.url, "cat/copy", "c.bin", crew_only, CAT)[0] == 200
        assert "actions" in _batch(hub.url, "bob/copy", crew_only, BOB)
        assert _commit_lfs_pointer(hub.url, "bob/copy", "c.bin", crew_only, BOB)[0] == 400
        assert _lfs_puts(caplog) == uploads  # all of it without sending a byte


def test_hub_server_tokens_several_per_user_and_one_token_per_user(tmp_path):
    from huggingface_hub import HfApi

    with HubServer(tmp_path / "d", tokens={"ann": ["tok-a1", "tok-a2"], "ben": "tok-b"}) as hub:
        assert [HfApi(endpoint=hub.url, token=t).whoami()["name"] for t in ("tok-a1", "tok-a2", "tok-b")] == \
            ["ann", "ann", "ben"]
    with pytest.raises(TokenSetupError, match="two users, 'ann'"):
        HubServer(tmp_path / "d", tokens={"ann": "same", "ben": "same"})
    with pytest.raises(ValueError, match="port must be an integer from 0 to 65535"):
        HubServer(tmp_path / "d", port=99999)


def _refused(argv: list[str], capsys) -> str:
    """Run `hub serve` in-process; it must refuse with exit code 2 and one line, before any work."""
    assert serve_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.mark.timeout(120)  # in-process: a server that starts instead of refusing would block
def test_hub_serve_refuses_conflicting_or_malformed_tokens_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(TOKENS_ENV, raising=False)
    data = tmp_path / "data"
    base = ["--data-dir", str(data), "--port", "0"]
    err = _refused(base + ["--token", "ann:shared-secret", "--token", "ben:shared-secret"], capsys)
    assert "same token is given to two users, 'ann' (--token) and 'ben' (--token)" in err
    assert "shared-secret" not in err  # a token is never printed

    tokens = tmp_path / "tokens.txt"
    tokens.write_text("# users of the lab Hub\n\nann:file-secret\nben file-secret-2\n", encoding="utf-8")
    err = _refused(base + ["--token-file", str(tokens)], capsys)
    assert err.startswith(f"error: {tokens}:4: expected NAME:TOKEN") and "file-secret-2" not in err

    tokens.write_text("ann:file-secret\n  # indented comment\ncat:cat-secret\n", encoding="utf-8")
    monkeypatch.setenv(TOKENS_ENV, "ben:env-secret,\ndan:file-secret")
    err = _refused(base + ["--token-file", str(tokens)], capsys)
    assert f"'ann' ({tokens}:1) and 'dan' ({TOKENS_ENV} entry 2)" in err

    monkeypatch.setenv(TOKENS_ENV, "ben:env-secret,no-colon-here")
    assert f"{TOKENS_ENV} entry 2: expected NAME:TOKEN" in _refused(base, capsys)
    monkeypatch.setenv(TOKENS_ENV, "bad name:env-secret")
    assert f"{TOKENS_ENV} entry 1: Invalid user name 'bad name'" in _refused(base, capsys)
    monkeypatch.delenv(TOKENS_ENV)
    assert "--token-file" in _refused(base + ["--token-file", str(tmp_path / "absent.txt")], capsys)
    assert "--token: expected NAME:TOKEN" in _refused(base + ["--token", "no-colon"], capsys)
    assert not data.exists()  # refused before anything was created


def test_hub_serve_takes_tokens_from_flags_a_file_and_the_environment(tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    tokens = tmp_path / "tokens.txt"
    tokens.write_text("# ann's second token\nann: file-tok\n\n", encoding="utf-8")
    monkeypatch.setenv(TOKENS_ENV, "ben:env-tok, ann:flag-tok")  # the same pair twice counts once
    proc, url = start_cli_server(tmp_path / "data", tmp_path, "--token", "ann:flag-tok", "--token-file", str(tokens))
    try:
        users = [HfApi(endpoint=url, token=t).whoami()["name"] for t in ("flag-tok", "file-tok", "env-tok")]
        assert users == ["ann", "ann", "ben"]  # a second token for ann adds to the first
        assert _raw(f"{url}/api/whoami-v2", token="other")[0] == 401
    finally:
        proc.terminate()
        _, log = proc.communicate(timeout=30)
    assert "2 user(s), 3 token(s)" in log, log


@pytest.mark.timeout(120)  # in-process: a server that starts instead of refusing would block
def test_hub_serve_refuses_a_bad_port_in_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    for port in ("99999", "-1", "80.5", "http"):
        err = _refused(["--data-dir", str(data), "--port", port], capsys)
        assert "--port" in err and "from 0 to 65535" in err and repr(port) in err, err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = _refused(["--data-dir", str(data), "--port", str(port)], capsys)
        assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in err, err
    assert not data.exists()
    out = subprocess.run([sys.executable, "-m", "distilkobert.cli", "hub", "serve", "--data-dir", str(data),
                          "--port", "99999"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "--port" in out.stderr and "Traceback" not in out.stderr
