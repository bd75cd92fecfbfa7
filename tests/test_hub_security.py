"""Auth, private repos, path validation, body limits and malformed input (real clients and raw HTTP)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import urllib.error
import urllib.request

import pytest

from distilkobert.hub.server import HubServer

ALICE, BOB = "tok-alice-123", "tok-bob-456"


@pytest.fixture
def secured(tmp_path):
    with HubServer(tmp_path / "data", tokens={"alice": ALICE, "bob": BOB}) as server:
        yield server


def _raw(url: str, method: str = "GET", body: bytes | None = None, token: str | None = None,
         headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _ndjson(*items: dict) -> bytes:
    return b"".join(json.dumps(i).encode() + b"\n" for i in items)


def test_write_needs_a_valid_token(secured):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=secured.url, token=False).create_repo("alice/anon")
    assert err.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=secured.url, token="wrong-token").create_repo("alice/bad")
    assert err.value.response.status_code == 401
    alice = HfApi(endpoint=secured.url, token=ALICE)
    alice.create_repo("alice/public")
    alice.upload_file(path_or_fileobj=b"hi", path_in_repo="x.txt", repo_id="alice/public")
    # Anonymous reads of a public repo are fine; anonymous and foreign writes are not.
    assert HfApi(endpoint=secured.url, token=False).list_repo_files("alice/public") == [".gitattributes", "x.txt"]
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=secured.url, token=False).upload_file(path_or_fileobj=b"x", path_in_repo="y.txt",
                                                             repo_id="alice/public")
    assert err.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=secured.url, token=BOB).upload_file(path_or_fileobj=b"x", path_in_repo="y.txt",
                                                           repo_id="alice/public")
    assert err.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=secured.url, token=BOB).delete_repo("alice/public")
    assert err.value.response.status_code == 403
    assert HfApi(endpoint=secured.url, token=ALICE).whoami()["name"] == "alice"
    status, _, _ = _raw(f"{secured.url}/api/whoami-v2", token="nope")
    assert status == 401


def test_private_repo_is_invisible_to_others(secured, tmp_path):
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import RepositoryNotFoundError

    alice = HfApi(endpoint=secured.url, token=ALICE)
    alice.create_repo("alice/secret", private=True)
    alice.upload_file(path_or_fileobj=b"classified", path_in_repo="s.txt", repo_id="alice/secret")
    assert alice.repo_info("alice/secret").private is True
    for token in (BOB, False):
        other = HfApi(endpoint=secured.url, token=token)
        with pytest.raises(RepositoryNotFoundError):
            other.repo_info("alice/secret")
        with pytest.raises(RepositoryNotFoundError):
            other.list_repo_refs("alice/secret")
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download("alice/secret", "s.txt", endpoint=secured.url, token=token, cache_dir=tmp_path / "c")
        assert "alice/secret" not in {m.id for m in other.list_models()}
    status, headers, _ = _raw(f"{secured.url}/alice/secret/resolve/main/s.txt", token=BOB)
    assert status == 404 and headers["X-Error-Code"] == "RepoNotFound"
    path = hf_hub_download("alice/secret", "s.txt", endpoint=secured.url, token=ALICE, cache_dir=tmp_path / "c")
    assert open(path, "rb").read() == b"classified"


@pytest.mark.parametrize("bad_path", ["../../evil.txt", "/etc/evil.txt", "a\\..\\evil.txt", "a/../../evil.txt",
                                      "nul\x00byte.txt", ".git/config", "a//b.txt", "./x"])
def test_commit_with_bad_path_is_rejected(secured, tmp_path, bad_path):
    from huggingface_hub import HfApi

    HfApi(endpoint=secured.url, token=ALICE).create_repo("alice/paths")
    payload = _ndjson({"key": "header", "value": {"summary": "evil"}},
                      {"key": "file", "value": {"path": bad_path, "encoding": "base64",
                                                "content": base64.b64encode(b"pwned").decode()}})
    status, headers, body = _raw(f"{secured.url}/api/models/alice/paths/commit/main", "POST", payload, ALICE,
                                 {"Content-Type": "application/x-ndjson"})
    assert status == 400, body
    assert "Invalid path" in json.loads(body)["error"]
    status, _, _ = _raw(f"{secured.url}/api/models/alice/paths/preupload/main", "POST",
                        json.dumps({"files": [{"path": bad_path, "sample": "", "size": 1}]}).encode(), ALICE,
                        {"Content-Type": "application/json"})
    assert status == 400
    # Nothing was written anywhere near or outside the data dir.
    assert not any(p.name == "evil.txt" for p in tmp_path.rglob("*"))
    assert not any(p.name == "evil.txt" for p in tmp_path.parent.iterdir())


@pytest.mark.parametrize("url_path", ["/alice/..%2F..%2Fx/resolve/main/f", "/%2E%2E/paths/resolve/main/f",
                                      "/alice/paths/resolve/main/..%2F..%2Frepo.json",
                                      "/alice/paths/resolve/main/../../../refs.json",
                                      "/api/models/alice/paths/tree/main/..%2F..",
                                      "/api/models/..%2F..%2Fetc/passwd"])
def test_traversal_in_urls_is_rejected(secured, url_path):
    from huggingface_hub import HfApi

    HfApi(endpoint=secured.url, token=ALICE).create_repo("alice/paths", exist_ok=True)
    conn = http.client.HTTPConnection("127.0.0.1", secured.port, timeout=10)
    conn.request("GET", url_path, headers={"Authorization": f"Bearer {ALICE}"})  # sent verbatim, no normalising
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status in (400, 404), (resp.status, body)
    assert b"\"branches\"" not in body and b"root:" not in body  # no file content leaked


@pytest.mark.parametrize("name,org", [("../escape", None), ("ok", ".."), ("a/b/c", None), ("x" * 200, None),
                                      ("bad name", None), ("nul\x00", None)])
def test_create_repo_rejects_bad_names(secured, name, org):
    status, _, body = _raw(f"{secured.url}/api/repos/create", "POST",
                           json.dumps({"name": name, "organization": org, "type": "model"}).encode(), ALICE,
                           {"Content-Type": "application/json"})
    assert status == 400, body
    assert not (secured.data_dir.parent / "escape").exists()


def test_malformed_bodies_get_400_with_a_message(secured):
    from huggingface_hub import HfApi

    HfApi(endpoint=secured.url, token=ALICE).create_repo("alice/bodies")
    status, _, body = _raw(f"{secured.url}/api/repos/create", "POST", b"{not json", ALICE)
    assert status == 400 and "Malformed JSON" in json.loads(body)["error"]
    status, _, body = _raw(f"{secured.url}/api/models/alice/bodies/commit/main", "POST",
                           b'{"key": "header", "value": {"summary": "x"}}\n{oops\n', ALICE)
    assert status == 400 and "line 2" in json.loads(body)["error"]
    status, _, body = _raw(f"{secured.url}/api/models/alice/bodies/commit/main", "POST",
                           _ndjson({"key": "file", "value": {"path": "a.txt", "content": ""}}), ALICE)
    assert status == 400 and "header" in json.loads(body)["error"]
    status, _, body = _raw(f"{secured.url}/api/models/alice/bodies/commit/main", "POST",
                           _ndjson({"key": "header", "value": {}},
                                   {"key": "file", "value": {"path": "a.txt", "content": "!!notb64"}}), ALICE)
    assert status == 400 and "base64" in json.loads(body)["error"]
    status, _, body = _raw(f"{secured.url}/api/models/alice/bodies/commit/main", "POST",
                           _ndjson({"key": "header", "value": {}},
                                   {"key": "lfsFile", "value": {"path": "big.bin", "algo": "sha256",
                                                                "oid": "0" * 64, "size": 5}}), ALICE)
    assert status == 400 and "not uploaded" in json.loads(body)["error"]
    status, headers, _ = _raw(f"{secured.url}/api/models/alice/bodies/commit/nobranch", "POST",
                              _ndjson({"key": "header", "value": {}}), ALICE)
    assert status == 404 and headers["X-Error-Code"] == "RevisionNotFound"
    # The server is still healthy afterwards.
    assert _raw(f"{secured.url}/health")[0] == 200


def test_oversized_body_gets_413(secured):
    conn = http.client.HTTPConnection("127.0.0.1", secured.port, timeout=10)
    conn.putrequest("POST", "/api/repos/create")
    conn.putheader("Authorization", f"Bearer {ALICE}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(10 ** 12))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413
    resp.read()
    conn.close()


def test_lfs_upload_checks_sha256_and_signature(secured):
    from huggingface_hub import HfApi

    HfApi(endpoint=secured.url, token=ALICE).create_repo("alice/lfs")
    data = os.urandom(1000)
    oid = hashlib.sha256(data).hexdigest()
    status, _, body = _raw(f"{secured.url}/alice/lfs.git/info/lfs/objects/batch", "POST",
                           json.dumps({"operation": "upload", "transfers": ["basic"],
                                       "objects": [{"oid": oid, "size": len(data)}]}).encode(), ALICE)
    assert status == 200
    href = json.loads(body)["objects"][0]["actions"]["upload"]["href"]
    status, _, body = _raw(href, "PUT", os.urandom(1000))  # right size, wrong content
    assert status == 400 and "sha256 mismatch" in json.loads(body)["error"]
    status, _, _ = _raw(href.replace("sig=", "sig=00"), "PUT", data)
    assert status == 403
    status, _, _ = _raw(href, "PUT", data)
    assert status == 200
    assert secured.storage.has_blob(oid, len(data))
    status, _, body = _raw(f"{secured.url}/alice/lfs.git/info/lfs/objects/batch", "POST",
                           json.dumps({"operation": "upload", "objects": [{"oid": oid, "size": 1000}]}).encode(),
                           BOB)
    assert status == 403  # bob may not upload into alice's repo


def test_xet_routes_answer_501_with_instructions(secured):
    from huggingface_hub import HfApi

    HfApi(endpoint=secured.url, token=ALICE).create_repo("alice/xet")
    status, _, body = _raw(f"{secured.url}/api/models/alice/xet/xet-write-token/main", token=ALICE)
    assert status == 501 and "HF_HUB_DISABLE_XET=1" in json.loads(body)["error"]


def test_chunked_request_bodies_are_read(secured):
    from huggingface_hub import HfApi

    HfApi(endpoint=secured.url, token=ALICE).create_repo("alice/chunked")
    lines = [json.dumps({"key": "header", "value": {"summary": "chunked"}}).encode() + b"\n",
             json.dumps({"key": "file", "value": {"path": "c.txt", "encoding": "base64",
                                                  "content": base64.b64encode(b"chunky" * 1000).decode()}}).encode()
             + b"\n"]
    pieces = [lines[0][:7], lines[0][7:] + lines[1][:100], lines[1][100:]]  # chunk borders inside lines
    conn = http.client.HTTPConnection("127.0.0.1", secured.port, timeout=10)
    for _ in range(2):  # two requests on one keep-alive connection
        conn.request("POST", "/api/models/alice/chunked/commit/main", body=iter(pieces), encode_chunked=True,
                     headers={"Authorization": f"Bearer {ALICE}", "Content-Type": "application/x-ndjson"})
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        assert len(json.loads(resp.read())["commitOid"]) == 40
    conn.close()
    files = HfApi(endpoint=secured.url, token=ALICE).list_repo_files("alice/chunked")
    assert "c.txt" in files
