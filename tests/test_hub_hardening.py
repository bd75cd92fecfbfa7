"""The local Hub as a shared server: namespaces and organisations with tokens, malformed headers, clients that
disconnect, and blobs left behind by a commit that never happened (real HTTP, the real huggingface_hub client,
and `distilkobert hub serve` as a separate process where its log is what is tested)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from distilkobert.hub.server import HubServer

from helpers.local_hub import start_cli_server

ANN, BEN, CAT = "tok-ann-1", "tok-ben-2", "tok-cat-3"


def _request(url: str, raw_head: str, body: bytes = b"", rst_after: int | None = None) -> tuple[int, dict, bytes]:
    """Send a hand-written request (for headers no client library would send); returns (status, headers, body).

    ``rst_after``: read that many bytes of the answer, then reset the connection (a client that goes away).
    """
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(30)
        if rst_after is not None:  # a small window: the server cannot push the whole file into socket buffers
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((parts.hostname, parts.port))
        sock.sendall(raw_head.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body)
        if rst_after is not None:
            got = b""
            while len(got) < rst_after:
                got += sock.recv(rst_after - len(got))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close -> RST
            return 0, {}, got
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest


def _reset_mid_request(url: str) -> None:
    """Send half a request line and headers, then reset the connection."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(b"GET /api/models HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)  # the server is now waiting for the rest of the headers
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_tokens_confine_each_user_to_its_namespace_and_organisations(tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    tokens = {"ann": ANN, "ben": BEN, "cat": CAT}
    with HubServer(tmp_path / "data", tokens=tokens, orgs={"crew": ["ann", "cat"]}) as hub:
        ann, ben, cat = (HfApi(endpoint=hub.url, token=t) for t in (ANN, BEN, CAT))
        ann.create_repo("ann/own")
        ann.create_repo("crew/shared", private=True)
        ann.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id="crew/shared")
        cat.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id="crew/shared")  # a fellow member
        assert {o["name"] for o in ann.whoami()["orgs"]} == {"crew"} and ben.whoami()["orgs"] == []

        # ann may not create in ben's namespace, nor ben in an organisation he is not part of: 403 + error code
        for api, repo_id in ((ann, "ben/not-yours"), (ben, "crew/intruder"), (ben, "nobody/new")):
            with pytest.raises(HfHubHTTPError) as err:
                api.create_repo(repo_id)
            assert err.value.response.status_code == 403, repo_id
            assert err.value.response.headers["X-Error-Code"] == "NamespaceForbidden"
        # nor write to, tag or delete a repo of another namespace
        for attempt in (lambda: ben.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="ann/own"),
                        lambda: ben.create_tag("ann/own", tag="v9"),
                        lambda: ben.delete_repo("ann/own")):
            with pytest.raises(HfHubHTTPError) as err:
                attempt()
            assert err.value.response.status_code == 403
        # a private organisation repo is visible to its members only
        assert cat.repo_info("crew/shared").private is True
        assert not ben.repo_exists("crew/shared")
        assert [r.id for r in ben.list_models()] == ["ann/own"]
        assert not (tmp_path / "data" / "repos" / "models" / "ben").exists()
        assert ann.list_repo_files("ann/own") == [".gitattributes"]  # untouched by ben's attempts

    # Open single-user mode (no tokens) stays open: every namespace is writable.
    with HubServer(tmp_path / "open") as hub:
        HfApi(endpoint=hub.url, token="unused").create_repo("anyone/anything")


def test_hub_serve_process_answers_bad_headers_with_4xx_and_logs_disconnects_in_one_line(tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    proc, url = start_cli_server(tmp_path / "data", tmp_path, "--token", f"ann:{ANN}", "--token", f"ben:{BEN}",
                                 "--org", "crew:ann")
    try:
        ann, ben = HfApi(endpoint=url, token=ANN), HfApi(endpoint=url, token=BEN)
        ann.create_repo("crew/model")  # --org on the command line
        with pytest.raises(HfHubHTTPError) as err:
            ben.create_repo("crew/other")
        assert err.value.response.status_code == 403
        big = os.urandom(8 * 1024 * 1024)
        ann.upload_file(path_or_fileobj=big, path_in_repo="weights.bin", repo_id="crew/model")
        resolve = "/crew/model/resolve/main/weights.bin"
        auth = f"Authorization: Bearer {ANN}\n"
        create = '{"name": "crew/x"}'
        bad = {
            "negative Content-Length": f"POST /api/repos/create HTTP/1.1\nHost: x\n{auth}Content-Length: -5\n",
            "non-numeric Content-Length": f"POST /api/repos/create HTTP/1.1\nHost: x\n{auth}Content-Length: ten\n",
            "underscored Content-Length": f"POST /api/repos/create HTTP/1.1\nHost: x\n{auth}Content-Length: 1_7\n",
            "two Content-Lengths": (f"POST /api/repos/create HTTP/1.1\nHost: x\n{auth}Content-Length: {len(create)}"
                                    f"\nContent-Length: 3\n"),
            "GET with negative Content-Length": "GET /api/models HTTP/1.1\nHost: x\nContent-Length: -1\n",
            "negative chunk size": f"POST /api/repos/create HTTP/1.1\nHost: x\n{auth}Transfer-Encoding: chunked\n",
            "Range not bytes": f"GET {resolve} HTTP/1.1\nHost: x\nRange: lines=1-2\n",
            "Range reversed": f"GET {resolve} HTTP/1.1\nHost: x\nRange: bytes=9-2\n",
            "Range of 30 digits": f"GET {resolve} HTTP/1.1\nHost: x\nRange: bytes={'9' * 30}-\n",
            "Range with letters": f"GET {resolve} HTTP/1.1\nHost: x\nRange: bytes=a-b\n",
            "Range past the end": f"GET {resolve} HTTP/1.1\nHost: x\nRange: bytes={len(big)}-\n",
        }
        for case, head in bad.items():
            # no body beyond what the server reads before it refuses: unread bytes would turn its close into a reset
            body = b"-5\r\n" if "chunk" in case else b""
            status, headers, answer = _request(url, head + "Connection: close\n", body)
            assert 400 <= status < 500, (case, status, answer[:300])
            assert b"Traceback" not in answer and b"Internal" not in answer, case
            if "Content-Length" in case:
                assert status == 400 and headers["x-error-code"] == "BadRequest", case
        assert not ann.repo_exists("crew/x")  # no malformed request created anything
        status, headers, answer = _request(url, f"GET {resolve} HTTP/1.1\nHost: x\nRange: bytes=-4\n"
                                                "Connection: close\n")
        assert status == 206 and answer == big[-4:]  # a good Range still works

        # Two clients that go away: one in the middle of its request, one in the middle of a download.
        _reset_mid_request(url)
        status, _, got = _request(url, f"GET {resolve} HTTP/1.1\nHost: x\n", rst_after=64 * 1024)
        assert len(got) == 64 * 1024
        time.sleep(1.0)
        assert HfApi(endpoint=url, token=ANN).repo_exists("crew/model")  # still serving
    finally:
        proc.terminate()
        _, log = proc.communicate(timeout=30)
    assert "Traceback" not in log, log[-3000:]
    disconnects = [line for line in log.splitlines() if "disconnected" in line]
    assert len(disconnects) == 2, log[-3000:]
    assert any("during GET /crew/model/resolve/main/weights.bin" in line for line in disconnects), disconnects


def test_blobs_of_an_interrupted_commit_are_collected_at_start_up_and_counted(tmp_path, caplog):
    from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

    data = tmp_path / "data"
    kept_lfs, kept_small = os.urandom(300_000), b"small regular file\n"
    orphan_lfs = os.urandom(200_000)
    with HubServer(data) as hub:
        api = HfApi(endpoint=hub.url, token="unused")
        api.create_repo("ann/model")
        api.create_commit("ann/model", [CommitOperationAdd("weights.bin", kept_lfs),
                                        CommitOperationAdd("notes.txt", kept_small)], commit_message="v1")
        # The first half of a commit (the LFS upload) without the second (the commit itself), as after kill -9.
        api.preupload_lfs_files("ann/model", additions=[CommitOperationAdd("lost.bin", orphan_lfs)])
    blobs = data / "blobs"
    orphan = blobs / hashlib.sha256(orphan_lfs).hexdigest()[:2] / hashlib.sha256(orphan_lfs).hexdigest()[2:4] \
        / hashlib.sha256(orphan_lfs).hexdigest()
    assert orphan.is_file()
    upload_record = data / "uploads" / orphan.name[:2] / orphan.name
    assert (upload_record / "local").is_file()  # who uploaded it (open mode: the user 'local')
    fresh = blobs / "ab" / "cd" / ("abcd" + "0" * 60)  # an upload that another server may be about to commit
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"just uploaded")
    leftover = data / "tmp" / "u-1234-5678-partial"  # a partial upload of the killed process
    leftover.write_bytes(b"partial")
    an_hour_ago = time.time() - 2 * 3600
    for path in (orphan, leftover):
        os.utime(path, (an_hour_ago, an_hour_ago))
    before = {p.name for p in blobs.glob("*/*/*")}

    caplog.set_level(logging.INFO, logger="distilkobert.hub")
    with HubServer(data) as hub:
        assert hub.gc == {"blobs": 1, "blob_bytes": len(orphan_lfs), "tmp_files": 1, "kept": len(before) - 2}
        assert not orphan.exists() and not leftover.exists() and fresh.exists()
        assert not upload_record.exists()  # its upload record went with it
        assert {p.name for p in blobs.glob("*/*/*")} == before - {orphan.name}
        # every referenced blob survived: the committed files download byte for byte
        for name, content in (("weights.bin", kept_lfs), ("notes.txt", kept_small)):
            path = hf_hub_download("ann/model", name, endpoint=hub.url, token="unused", cache_dir=tmp_path / "c")
            assert Path(path).read_bytes() == content
    counted = [r.getMessage() for r in caplog.records if "unreferenced blob" in r.getMessage()]
    assert counted and f"collected 1 unreferenced blob(s) ({len(orphan_lfs)} bytes) and 1 stale" in counted[0]

    # `distilkobert hub serve` says it on start-up too.
    os.utime(fresh, (an_hour_ago, an_hour_ago))
    proc, _ = start_cli_server(data, tmp_path)
    proc.terminate()
    _, log = proc.communicate(timeout=30)
    assert "collected 1 unreferenced blob(s)" in log and not fresh.exists(), log


def test_hub_serve_refuses_a_file_as_data_dir_and_org_members_without_tokens(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    cases = {("--data-dir", str(not_a_dir)): "is a file, not a folder",
             ("--data-dir", str(tmp_path / "d"), "--token", "ann:t", "--org", "crew:ann,zed"): "zed",
             ("--data-dir", str(tmp_path / "d"), "--org", "crew"): "--org must be ORG:USER1,USER2"}
    for args, message in cases.items():
        out = subprocess.run([sys.executable, "-m", "distilkobert.cli", "hub", "serve", *args], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr, (args, out.stderr)
        assert len([line for line in out.stderr.splitlines() if "error" in line]) == 1, out.stderr
    assert not (tmp_path / "d").exists()


def test_whoami_json_lists_organisations(tmp_path):
    with HubServer(tmp_path / "d", tokens={"ann": ANN}, orgs={"crew": ["ann"], "band": ["ann"]}) as hub:
        status, _, body = _request(hub.url, f"GET /api/whoami-v2 HTTP/1.1\nHost: x\nAuthorization: Bearer {ANN}\n"
                                            "Connection: close\n")
        assert status == 200 and [o["name"] for o in json.loads(body)["orgs"]] == ["band", "crew"]
