"""Request handler of the local Hub: routing, auth and every Hub API route (see hub-protocol.md).

Each route validates its input (repo ids, paths, JSON) and answers errors as JSON with ``X-Error-Code`` and
``X-Error-Message`` headers, which huggingface_hub turns into its typed exceptions.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

from distilkobert.hub.httpio import BodyReader, parse_range
from distilkobert.hub.storage import (
    CHUNK,
    LFS_THRESHOLD,
    HubError,
    RepoRef,
    Storage,
    entry_not_found,
    gitattributes_lfs_patterns,
    lfs_pointer,
    matches_lfs,
    repo_not_found,
    tree_oid,
    validate_path,
    validate_repo_type,
)

logger = logging.getLogger("distilkobert.hub")

MAX_JSON_BODY = 16 * 1024 * 1024          # JSON / form bodies
MAX_COMMIT_LINE = 64 * 1024 * 1024        # one NDJSON line (a base64 regular file < 10 MB fits easily)
MAX_COMMIT_BODY = 4 * 1024 ** 3           # a whole NDJSON commit, streamed line by line
MAX_LFS_OBJECT = 100 * 1024 ** 3          # one LFS object, streamed to disk
XET_MESSAGE = ("This local Hub does not implement the Xet storage protocol. Set HF_HUB_DISABLE_XET=1 in the "
               "environment before importing huggingface_hub so that uploads use the classic LFS protocol.")
_PREFIX = {"model": "", "dataset": "datasets/"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
OPEN_MODE_USER = "local"


class HubState(Protocol):
    """What a request handler uses of the server it runs in (:class:`distilkobert.hub.server.HubServer`)."""

    storage: Storage
    tokens: dict[str, tuple[str, ...]]

    @property
    def url(self) -> str: ...

    def may_write(self, user: str | None, namespace: str) -> bool: ...

    def user_of_token(self, token: str) -> str | None: ...

    def orgs_of(self, user: str | None) -> list[str]: ...

    def sign(self, oid: str, size: int, expires: int, user: str) -> str: ...

    def signed_upload_url(self, oid: str, size: int, user: str) -> str: ...


class HubRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "distilkobert-hub/1.0"
    timeout = 120  # idle keep-alive connections are closed after this many seconds

    # ------------------------------------------------------------ plumbing
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        logger.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    @property
    def hub(self) -> HubState:
        return self.server.hub  # type: ignore[attr-defined]

    def _handle(self, method: str) -> None:
        self._body: BodyReader | None = None
        self._responded = False
        self._unframable = False  # a malformed Content-Length: where the body ends is unknown
        try:
            split = urlsplit(self.path)
            self.query = parse_qs(split.query, keep_blank_values=True)
            # Split the raw path before unquoting: a revision like "v1%2Fx" stays one segment.
            self.segments = [unquote(s) for s in split.path.split("/")[1:]]
            self._check_headers()
            self.user = self._authenticate()
            self._route(method)
        except HubError as e:
            self._answer_error(e)
        except _DISCONNECTS as e:
            self._disconnected(e)
        except Exception as e:  # a bug must not kill the server: answer 500 and log it
            logger.exception("internal error on %s %s", method, self.path)
            self._answer_error(HubError(500, f"Internal server error: {type(e).__name__}: {e}"))
        finally:
            self._finish_body()  # also before a close: unread request bytes would turn the close into a reset

    def _answer_error(self, e: HubError) -> None:
        try:
            self._error(e)
        except _DISCONNECTS as exc:  # the client left before reading the error
            self._disconnected(exc)

    def _disconnected(self, exc: BaseException) -> None:
        """A client that closes its connection early is normal (a cancelled download): one log line."""
        self.close_connection = True
        logger.warning("client %s disconnected during %s %s: %s", self.client_address[0], self.command,
                       self.path[:200], type(exc).__name__)

    def _check_headers(self) -> None:
        """Reject a malformed Content-Length with 400 before any route reads the body (which it could not frame)."""
        lengths = self.headers.get_all("Content-Length") or []
        if lengths and (len(set(v.strip() for v in lengths)) != 1 or not _DIGITS.match(lengths[0].strip())):
            self.close_connection = self._unframable = True  # the connection cannot be reused
            raise HubError(400, f"Invalid Content-Length {', '.join(lengths)!r}: expected one non-negative integer",
                           "BadRequest")

    def _finish_body(self) -> None:
        """Consume what the handler did not read, or close the connection if that is too much."""
        if self._unframable:
            self.close_connection = True
            return
        try:
            body = self._body if self._body is not None else self._open_body(limit=1 << 62, strict=False)
            if body is not None and (body.broken or (not body.done and not body.drain(1024 * 1024))):
                self.close_connection = True
        except Exception:
            self.close_connection = True

    def _open_body(self, limit: int, strict: bool = True) -> BodyReader | None:
        if self._body is not None:
            return self._body
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        length = self.headers.get("Content-Length")
        if length is not None and not _DIGITS.match(length.strip()):
            self.close_connection = True
            raise HubError(400, f"Invalid Content-Length {length!r}", "BadRequest")
        n = int(length) if length is not None else None
        if n is None and not chunked:
            if strict:
                self._body = BodyReader(self.rfile, 0, False, limit)
                return self._body
            return None
        try:
            self._body = BodyReader(self.rfile, n, chunked, limit)
        except HubError:
            self.close_connection = True
            raise
        return self._body

    def _read_body(self, limit: int = MAX_JSON_BODY) -> bytes:
        body = self._open_body(limit)
        try:
            return body.read()
        except HubError:
            self.close_connection = True
            raise

    def _json_body(self) -> Any:
        raw = self._read_body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise HubError(400, f"Malformed JSON body: {e}") from None

    def _form_body(self) -> dict[str, list[str]]:
        raw = self._read_body()
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            try:
                data = json.loads(raw or b"{}")
            except (ValueError, UnicodeDecodeError) as e:
                raise HubError(400, f"Malformed JSON body: {e}") from None
            if not isinstance(data, dict):
                raise HubError(400, "Malformed JSON body: expected an object")
            return {k: (v if isinstance(v, list) else [v]) for k, v in data.items()}
        try:
            return parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise HubError(400, "Malformed form body: not UTF-8") from None

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self._responded = True

    def _json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), headers=headers)

    def _error(self, e: HubError) -> None:
        if self._responded:
            self.close_connection = True
            return
        msg = e.message
        ascii_msg = msg.encode("ascii", "backslashreplace").decode("ascii")
        headers = {"X-Error-Message": ascii_msg.replace("\r", " ").replace("\n", " ")}
        if e.code:
            headers["X-Error-Code"] = e.code
        headers.update(e.extra.get("_headers", {}))
        body = {"error": msg, **{k: v for k, v in e.extra.items() if not k.startswith("_")}}
        if e.status >= 500:
            logger.warning("%s %s -> %s %s", self.command, self.path, e.status, msg)
        self._json(body, e.status, headers)

    # ------------------------------------------------------------ auth
    def _authenticate(self) -> str | None:
        """The calling user, None when anonymous; 401 for a token that is not known (when tokens are set)."""
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if not self.hub.tokens:
            return OPEN_MODE_USER
        if token is None:
            return None
        user = self.hub.user_of_token(token)
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        return user

    def _require_user(self) -> str:
        if self.user is None:
            raise HubError(401, "Authentication required: pass a token (HF_TOKEN or token=) to write to this Hub")
        return self.user

    def _can_see(self, meta: dict) -> bool:
        """Public repos are visible to all; a private one to whoever may write its namespace (and its creator)."""
        if not meta.get("private") or not self.hub.tokens:
            return True
        return self.user == meta.get("owner") or self.hub.may_write(self.user, meta["id"].split("/")[0])

    def _visible_repo(self, repo_type: str, repo_id: str) -> tuple[RepoRef, dict]:
        repo = self.hub.storage.repo(repo_type, repo_id)
        meta = self.hub.storage.repo_meta(repo)
        if meta is None or not self._can_see(meta):
            raise repo_not_found(repo_id)
        return repo, meta

    def _may_claim(self, oid: str) -> bool:
        """May the caller reference the stored object ``oid`` (sha256) in a commit without sending its bytes?

        Blobs are shared by all repos, so knowing a sha256 is not enough: like the Hub, the caller must have
        uploaded the object itself (recorded on disk, so across restarts) or be able to read a repo holding it
        (then it could download it anyway). Everything is the single user's in open mode.
        """
        if not self.hub.tokens:
            return True
        storage = self.hub.storage
        if self.user is not None and storage.has_uploaded(oid, self.user):
            return True
        for repo_type in ("model", "dataset"):
            for meta in storage.list_repos(repo_type):
                if self._can_see(meta) and storage.repo_holds(storage.repo(repo_type, meta["id"]), oid):
                    return True
        return False

    def _writable_repo(self, repo_type: str, repo_id: str) -> tuple[RepoRef, dict]:
        """Like the Hub, write access follows the namespace: the user's own, or an organisation it belongs to."""
        user = self._require_user()
        repo, meta = self._visible_repo(repo_type, repo_id)
        if not self.hub.may_write(user, repo.namespace):
            raise HubError(403, f"User {user!r} has no write access to {repo_id}: users write only in their own "
                                "namespace and their organisations", "NamespaceForbidden")
        return repo, meta

    # ------------------------------------------------------------ routing
    def _route(self, method: str) -> None:
        s = self.segments
        if s and s[-1] == "" and len(s) > 1:
            s = s[:-1]
        if s == ["health"] and method in ("GET", "HEAD"):
            return self._json({"status": "ok", "version": self.server_version})
        if s[:1] == ["api"]:
            return self._route_api(method, s[1:])
        if s[:1] == ["lfs-upload"] and method == "PUT":
            return self._lfs_put(s[1:])
        repo_type = "model"
        rest = s
        if s[:1] == ["datasets"]:
            repo_type, rest = "dataset", s[1:]
        elif s[:1] == ["spaces"]:
            raise HubError(400, "Spaces are not supported by this local Hub")
        if len(rest) >= 2 and rest[1].endswith(".git") and rest[2:] == ["info", "lfs", "objects", "batch"] \
                and method == "POST":
            return self._lfs_batch(repo_type, f"{rest[0]}/{rest[1][:-4]}")
        if len(rest) >= 5 and rest[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(repo_type, f"{rest[0]}/{rest[1]}", rest[3], "/".join(rest[4:]))
        raise HubError(404, f"Not found: {method} {self.path}")

    def _route_api(self, method: str, s: list[str]) -> None:
        if s == ["whoami-v2"] and method == "GET":
            return self._whoami()
        if s == ["agent-harnesses"] and method == "GET":
            return self._json({"standardEnvVars": [], "harnesses": {}})
        if s == ["validate-yaml"] and method == "POST":
            return self._validate_yaml()
        if s == ["repos", "create"] and method == "POST":
            return self._create_repo()
        if s == ["repos", "delete"] and method in ("POST", "DELETE"):
            return self._delete_repo()
        if not s or s[0] not in ("models", "datasets", "spaces"):
            raise HubError(404, f"Not found: {method} {self.path}")
        repo_type = s[0][:-1]
        if repo_type == "space":
            raise HubError(400, "Spaces are not supported by this local Hub")
        if len(s) == 1 and method == "GET":
            return self._list_repos(repo_type)
        if len(s) < 3:
            raise HubError(404, f"Not found: {method} {self.path}")
        repo_id, action, args = f"{s[1]}/{s[2]}", (s[3] if len(s) > 3 else ""), s[4:]
        rev = args[0] if args else None
        if action == "" and method == "GET":
            return self._repo_info(repo_type, repo_id, "main")
        if action == "revision" and rev and method == "GET":
            return self._repo_info(repo_type, repo_id, "/".join(args))
        if action == "preupload" and rev and method == "POST":
            return self._preupload(repo_type, repo_id, rev)
        if action == "commit" and rev and method == "POST":
            return self._commit(repo_type, repo_id, rev)
        if action == "refs" and method == "GET":
            return self._refs(repo_type, repo_id)
        if action == "commits" and method == "GET":
            return self._commits(repo_type, repo_id, rev or "main")
        if action == "branch" and rev:
            return self._branch(method, repo_type, repo_id, "/".join(args))
        if action == "tag" and rev:
            return self._tag(method, repo_type, repo_id, "/".join(args))
        if action == "tree" and method == "GET":
            return self._tree(repo_type, repo_id, rev or "main", "/".join(args[1:]))
        if action == "paths-info" and rev and method == "POST":
            return self._paths_info(repo_type, repo_id, rev)
        if action == "settings" and method == "PUT":
            return self._settings(repo_type, repo_id)
        if action in ("xet-write-token", "xet-read-token"):
            self._visible_repo(repo_type, repo_id)
            raise HubError(501, XET_MESSAGE, "XetNotSupported")
        raise HubError(404, f"Not found: {method} {self.path}")

    # ------------------------------------------------------------ simple endpoints
    def _whoami(self) -> None:
        if self.user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        self._json({"type": "user", "id": self.user, "name": self.user, "fullname": self.user, "email": None,
                    "emailVerified": False, "isPro": False, "canPay": False, "periodEnd": None,
                    "orgs": [{"type": "org", "name": org, "fullname": org, "roleInOrg": "write"}
                             for org in self.hub.orgs_of(self.user)],
                    "auth": {"type": "access_token",
                             "accessToken": {"displayName": f"{self.user}-local", "role": "write",
                                             "createdAt": "2024-01-01T00:00:00.000Z"}}})

    def _validate_yaml(self) -> None:
        body = self._json_body()
        if not isinstance(body, dict) or not isinstance(body.get("content", ""), str):
            raise HubError(400, "validate-yaml expects a JSON object with a string 'content'")
        content = body.get("content", "")
        if content.startswith("---") and content.count("\n---") < 1:
            self._json({"errors": [{"message": "README.md metadata block is not closed by '---'"}],
                        "warnings": []}, 400)
            return
        self._json({"errors": [], "warnings": []})

    def _url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.hub.url}/{_PREFIX[repo_type]}{repo_id}"

    def _create_repo(self) -> None:
        user = self._require_user()
        body = self._json_body()
        if not isinstance(body, dict):
            raise HubError(400, "Malformed JSON body: expected an object")
        repo_type = validate_repo_type(body.get("type"))
        name, org = body.get("name"), body.get("organization")
        if not isinstance(name, str):
            raise HubError(400, "Missing repo 'name'")
        if org is None and "/" in name:
            org, name = name.split("/", 1)
        repo_id = f"{org or user}/{name}"
        private = body.get("private")
        if body.get("visibility") is not None:
            private = body["visibility"] == "private"
        repo = self.hub.storage.repo(repo_type, repo_id)
        if not self.hub.may_write(user, repo.namespace):
            raise HubError(403, f"User {user!r} cannot create repos in namespace {repo.namespace!r}: users create "
                                "repos only in their own namespace and their organisations", "NamespaceForbidden")
        url = self._url(repo_type, repo.repo_id)
        try:
            self.hub.storage.create_repo(repo, owner=user, private=bool(private))
        except HubError as e:
            if e.status == 409:
                e.extra = {"url": url}
            raise
        self._json({"url": url, "name": repo.repo_id, "id": repo.repo_id})

    def _delete_repo(self) -> None:
        body = self._json_body()
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise HubError(400, "Malformed JSON body: expected {'name', 'organization', 'type'}")
        user = self._require_user()
        org, name = body.get("organization"), body["name"]
        if org is None and "/" in name:
            org, name = name.split("/", 1)
        repo, _ = self._writable_repo(validate_repo_type(body.get("type")), f"{org or user}/{name}")
        self.hub.storage.delete_repo(repo)
        self._json({})

    def _settings(self, repo_type: str, repo_id: str) -> None:
        repo, _ = self._writable_repo(repo_type, repo_id)
        body = self._json_body()
        if isinstance(body, dict) and ("private" in body or "visibility" in body):
            private = body.get("private") if "private" in body else body.get("visibility") == "private"
            self.hub.storage.set_private(repo, bool(private))
        self._json({})

    def _list_repos(self, repo_type: str) -> None:
        author = (self.query.get("author") or [None])[0]
        search = (self.query.get("search") or [""])[0]
        out = []
        for meta in self.hub.storage.list_repos(repo_type):
            if not self._can_see(meta):
                continue
            rid = meta["id"]
            if (author and rid.split("/")[0] != author) or (search and search not in rid):
                continue
            out.append({"_id": meta.get("_id"), "id": rid, "author": rid.split("/")[0],
                        "private": meta.get("private", False), "createdAt": meta.get("createdAt"),
                        "downloads": 0, "likes": 0, "tags": []})
        self._json(out)

    # ------------------------------------------------------------ repo info, refs, commits
    def _file_info(self, path: str, e: dict, with_blob: bool) -> dict:
        info: dict[str, Any] = {"rfilename": path}
        if with_blob:
            info.update(size=e["size"], blobId=e["oid"])
            if e["lfs"]:
                info["lfs"] = {"size": e["size"], "sha256": e["sha256"],
                               "pointerSize": len(lfs_pointer(e["sha256"], e["size"]))}
        return info

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo, meta = self._visible_repo(repo_type, repo_id)
        commit = self.hub.storage.resolve(repo, revision)
        with_blob = (self.query.get("blobs") or ["false"])[0].lower() in ("1", "true")
        files = commit["files"]
        info = {"_id": meta.get("_id"), "id": repo.repo_id, "author": repo.namespace, "sha": commit["id"],
                "lastModified": commit["date"], "createdAt": meta.get("createdAt"),
                "private": bool(meta.get("private")), "gated": False, "disabled": False, "downloads": 0,
                "likes": 0, "tags": [], "cardData": {},
                "siblings": [self._file_info(p, files[p], with_blob) for p in sorted(files)],
                "usedStorage": sum(e["size"] for e in files.values())}
        if repo_type == "model":
            info["modelId"] = repo.repo_id
        else:
            info.update(description="", citation="", paperswithcode_id=None)
        self._json(info)

    def _refs(self, repo_type: str, repo_id: str) -> None:
        repo, _ = self._visible_repo(repo_type, repo_id)
        refs = self.hub.storage.refs(repo)
        self._json({
            "branches": [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": sha}
                         for b, sha in sorted(refs["branches"].items())],
            "tags": [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": v["commit"]}
                     for t, v in sorted(refs["tags"].items())],
            "converts": [], "pullRequests": []})

    def _commits(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo, _ = self._visible_repo(repo_type, repo_id)
        head = self.hub.storage.resolve(repo, revision)
        self._json([{"id": c["id"], "title": c["title"], "message": c["message"],
                     "authors": [{"user": a, "avatar": None} for a in c["authors"]], "date": c["date"]}
                    for c in self.hub.storage.history(repo, head["id"])])

    def _branch(self, method: str, repo_type: str, repo_id: str, branch: str) -> None:
        if method == "POST":
            repo, _ = self._writable_repo(repo_type, repo_id)
            body = self._json_body()
            if not isinstance(body, dict):
                raise HubError(400, "Malformed JSON body: expected an object")
            start = body.get("startingPoint")
            if start is not None and not isinstance(start, str):
                raise HubError(400, "'startingPoint' must be a string")
            self.hub.storage.create_branch(repo, branch, start)
            return self._json({})
        if method == "DELETE":
            repo, _ = self._writable_repo(repo_type, repo_id)
            self.hub.storage.delete_branch(repo, branch)
            return self._json({})
        raise HubError(405, f"Method {method} not allowed on branches")

    def _tag(self, method: str, repo_type: str, repo_id: str, arg: str) -> None:
        if method == "POST":
            repo, _ = self._writable_repo(repo_type, repo_id)
            body = self._json_body()
            if not isinstance(body, dict) or not isinstance(body.get("tag"), str):
                raise HubError(400, "Malformed JSON body: expected {'tag': name, 'message': ...}")
            self.hub.storage.create_tag(repo, body["tag"], arg, body.get("message"))
            return self._json({})
        if method == "DELETE":
            repo, _ = self._writable_repo(repo_type, repo_id)
            self.hub.storage.delete_tag(repo, arg)
            return self._json({})
        raise HubError(405, f"Method {method} not allowed on tags")

    # ------------------------------------------------------------ tree, paths-info
    def _last_commits(self, repo: RepoRef, head: dict, paths: dict[str, bool]) -> dict[str, dict]:
        """For each path (value: is a folder), the newest first-parent commit that changed it. One history walk."""
        def snapshot(c: dict, path: str, is_dir: bool) -> Any:
            if is_dir:
                return tree_oid(c["files"], path)
            e = c["files"].get(path)
            return e and e["oid"]

        current = {p: snapshot(head, p, d) for p, d in paths.items()}
        found = {p: head for p in paths}
        pending = set(paths)
        for c in self.hub.storage.history(repo, head["id"], limit=10_000):
            for p in list(pending):
                if snapshot(c, p, paths[p]) != current[p]:
                    pending.discard(p)
                else:
                    found[p] = c
            if not pending:
                break
        return {p: {"id": c["id"], "title": c["title"], "date": c["date"]} for p, c in found.items()}

    def _entries(self, repo: RepoRef, commit: dict, paths: list[str], expand: bool) -> list[dict]:
        files = commit["files"]
        out = []
        for p in paths:
            if p in files:
                e = files[p]
                item: dict[str, Any] = {"type": "file", "oid": e["oid"], "size": e["size"], "path": p}
                if e["lfs"]:
                    item["lfs"] = {"oid": e["sha256"], "size": e["size"],
                                   "pointerSize": len(lfs_pointer(e["sha256"], e["size"]))}
            else:
                item = {"type": "directory", "oid": tree_oid(files, p), "size": 0, "path": p}
            out.append(item)
        if expand:
            last = self._last_commits(repo, commit, {i["path"]: i["type"] == "directory" for i in out})
            for item in out:
                item["lastCommit"] = last[item["path"]]
        return out

    def _tree(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        repo, _ = self._visible_repo(repo_type, repo_id)
        commit = self.hub.storage.resolve(repo, revision)
        path = path.strip("/")
        if path:
            validate_path(path)
        recursive = (self.query.get("recursive") or ["false"])[0].lower() in ("1", "true")
        expand = (self.query.get("expand") or ["false"])[0].lower() in ("1", "true")
        files = commit["files"]
        prefix = path + "/" if path else ""
        if path and path in files:
            raise entry_not_found(repo_id, revision, path)  # a file is not a folder
        names: set[str] = set()
        for p in files:
            if not p.startswith(prefix):
                continue
            rest = p[len(prefix):].split("/")
            if recursive:
                names.update(prefix + "/".join(rest[:i]) for i in range(1, len(rest) + 1))
            else:
                names.add(prefix + rest[0])
        if path and not names:
            raise entry_not_found(repo_id, revision, path)
        ordered = sorted(names, key=lambda n: (n in files, n))  # folders first, like the Hub
        self._json(self._entries(repo, commit, ordered, expand))

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo, _ = self._visible_repo(repo_type, repo_id)
        form = self._form_body()
        commit = self.hub.storage.resolve(repo, revision)
        expand = str((form.get("expand") or ["false"])[0]).lower() in ("1", "true")
        files = commit["files"]
        found = []
        for p in form.get("paths", []):
            if not isinstance(p, str):
                raise HubError(400, f"Malformed paths-info body: path {p!r} is not a string")
            p = p.strip("/")
            if not p:
                continue
            validate_path(p)
            if p in files or any(f.startswith(p + "/") for f in files):
                found.append(p)
        self._json(self._entries(repo, commit, found, expand))

    # ------------------------------------------------------------ uploads
    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo, _ = self._writable_repo(repo_type, repo_id)
        body = self._json_body()
        if not isinstance(body, dict) or not isinstance(body.get("files"), list):
            raise HubError(400, "Malformed preupload body: expected {'files': [{path, sample, size}]}")
        head = self.hub.storage.resolve(repo, revision)
        files = head["files"]
        patterns: list[str] = []
        if ".gitattributes" in files:
            text = self.hub.storage.read_blob(files[".gitattributes"]["sha256"]).decode("utf-8", "replace")
            patterns = gitattributes_lfs_patterns(text)
        out = []
        for f in body["files"]:
            if not isinstance(f, dict):
                raise HubError(400, "Malformed preupload body: each file must be an object")
            path = validate_path(f.get("path"))
            size = f.get("size", 0)
            try:
                sample = base64.b64decode(f.get("sample", ""), validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise HubError(400, f"Malformed preupload body: 'sample' of {path!r} is not base64") from None
            if not isinstance(size, int) or size < 0:
                raise HubError(400, f"Malformed preupload body: 'size' of {path!r} must be a non-negative int")
            lfs = size > 0 and (size >= LFS_THRESHOLD or b"\x00" in sample or matches_lfs(path, patterns))
            existing = files.get(path)
            oid = (existing["sha256"] if existing["lfs"] else existing["oid"]) if existing else None
            out.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                        "oid": oid})
        self._json({"files": out, "commitOid": head["id"]})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        repo, _ = self._writable_repo(repo_type, repo_id)
        body = self._json_body()
        if not isinstance(body, dict) or not isinstance(body.get("objects"), list):
            raise HubError(400, "Malformed LFS batch body: expected {'operation', 'objects': [{oid, size}]}")
        if body.get("operation", "upload") != "upload":
            raise HubError(400, "Only the 'upload' LFS operation is supported; download through /resolve/")
        transfers = body.get("transfers") or ["basic"]
        if "basic" not in transfers:
            raise HubError(400, "Only the 'basic' LFS transfer is supported. " + XET_MESSAGE)
        objects = []
        for obj in body["objects"]:
            oid, size = (obj or {}).get("oid"), (obj or {}).get("size")
            if not isinstance(oid, str) or not _HEX64.match(oid) or not isinstance(size, int) or size < 0:
                raise HubError(400, f"Malformed LFS object {obj!r}: need a 64-hex sha256 'oid' and an int 'size'")
            if size > MAX_LFS_OBJECT:
                objects.append({"oid": oid, "size": size,
                                "error": {"code": 413, "message": f"Object larger than {MAX_LFS_OBJECT} bytes"}})
            elif self.hub.storage.has_blob(oid, size) and self._may_claim(oid):
                objects.append({"oid": oid, "size": size})  # already stored and the caller's: nothing to upload
            else:  # missing, or stored but not the caller's: the upload proves it has the bytes
                href = self.hub.signed_upload_url(oid, size, self.user or OPEN_MODE_USER)
                objects.append({"oid": oid, "size": size, "authenticated": True,
                                "actions": {"upload": {"href": href, "expires_in": 3600}}})
        self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(),
                   content_type="application/vnd.git-lfs+json")

    def _lfs_put(self, s: list[str]) -> None:
        if len(s) != 1 or not _HEX64.match(s[0]):
            raise HubError(404, "Unknown LFS upload URL")
        oid = s[0]
        try:
            size = int(self.query["size"][0])
            expires = int(self.query["exp"][0])
            user = self.query["user"][0]
            sig = self.query["sig"][0]
        except (KeyError, ValueError, IndexError):
            raise HubError(403, "LFS upload URL is missing its signature") from None
        if not hmac.compare_digest(sig, self.hub.sign(oid, size, expires, user)) or expires < time.time():
            raise HubError(403, "LFS upload URL signature is invalid or expired: request a new one via the batch API")
        body = self._open_body(limit=size)
        if body.remaining != size and not body.chunked:
            self.close_connection = True
            raise HubError(400, f"Upload size {body.remaining} does not match the announced size {size}")
        try:
            # Always hashed, even when the blob is stored already: the upload is the user's proof of the bytes.
            self.hub.storage.put_stream(body, size, oid)
        except HubError:
            self.close_connection = True
            raise
        if body.chunked and not body.done and body.read(1):
            self.close_connection = True
            raise HubError(400, "Upload is larger than the announced size")
        self.hub.storage.record_upload(oid, user)
        self._send(200, b"", content_type="text/plain")

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo, _ = self._writable_repo(repo_type, repo_id)
        if (self.query.get("create_pr") or ["0"])[0] not in ("0", "", "false", "False"):
            raise HubError(400, "Pull requests are not supported by this local Hub; commit to a branch")
        body = self._open_body(limit=MAX_COMMIT_BODY)
        header = None
        ops: list[tuple] = []
        lineno = 0
        storage = self.hub.storage
        while True:
            try:
                line = body.readline(MAX_COMMIT_LINE)
            except HubError:
                self.close_connection = True
                raise
            if not line:
                break
            lineno += 1
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if not isinstance(value, dict):
                    raise TypeError("'value' must be an object")
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
                raise HubError(400, f"Malformed NDJSON commit payload at line {lineno}: {e}") from None
            if key == "header":
                header = value
                continue
            if header is None:
                raise HubError(400, "Malformed NDJSON commit payload: the first line must be the 'header'")
            raw_path = value.get("path")
            if key == "deletedFolder" and isinstance(raw_path, str):
                raw_path = raw_path.rstrip("/")  # the client sends folders as "dir/"
            path = validate_path(raw_path)
            if key == "file":
                if value.get("encoding", "base64") != "base64" or not isinstance(value.get("content"), str):
                    raise HubError(400, f"Line {lineno}: 'file' needs base64 'content' for {path!r}")
                try:
                    data = base64.b64decode(value["content"], validate=True)
                except (binascii.Error, ValueError):
                    raise HubError(400, f"Line {lineno}: content of {path!r} is not valid base64") from None
                ops.append(("add", path, storage.put_bytes(data)))
            elif key == "lfsFile":
                if value.get("algo", "sha256") != "sha256":
                    raise HubError(400, f"Line {lineno}: only sha256 LFS objects are supported")
                oid = value.get("oid")
                if not isinstance(oid, str) or not _HEX64.match(oid):
                    raise HubError(400, f"Line {lineno}: invalid LFS oid for {path!r}")
                if not storage.has_blob(oid) or not self._may_claim(oid):  # one answer: no oracle of other users
                    who = self.user or OPEN_MODE_USER
                    raise HubError(400, "Your push was rejected because an LFS pointer pointed to a file that does "
                                        f"not exist: LFS object {oid} was not uploaded by {who} and no repo {who} "
                                        "can read holds it (upload it through the LFS batch API first). "
                                        f"Offending file: - {path}")
                ops.append(("add", path, storage.lfs_entry(oid, value.get("size"))))
            elif key == "deletedFile":
                ops.append(("delete_file", path))
            elif key == "deletedFolder":
                ops.append(("delete_folder", path))
            else:
                raise HubError(400, f"Line {lineno}: unknown commit operation {key!r}")
        if header is None:
            raise HubError(400, "Malformed NDJSON commit payload: no 'header' line")
        summary = header.get("summary") or "Upload files"
        parent = header.get("parentCommit")
        if parent is not None and not isinstance(parent, str):
            raise HubError(400, "'parentCommit' must be a string")
        commit = storage.commit(repo, revision, self.user or OPEN_MODE_USER, str(summary),
                                str(header.get("description") or ""), ops, parent)
        self._json({"success": True, "commitOid": commit["id"],
                    "commitUrl": f"{self._url(repo_type, repo.repo_id)}/commit/{commit['id']}",
                    "hookOutput": "", "pullRequestUrl": None})

    # ------------------------------------------------------------ downloads
    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        repo, _ = self._visible_repo(repo_type, repo_id)
        commit = self.hub.storage.resolve(repo, revision)
        validate_path(path)
        entry = commit["files"].get(path)
        if entry is None:
            e = entry_not_found(repo_id, revision, path)
            e.extra["_headers"] = {"X-Repo-Commit": commit["id"]}
            raise e
        size = entry["size"]
        etag = entry["sha256"] if entry["lfs"] else entry["oid"]
        headers = {"X-Repo-Commit": commit["id"], "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                   "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.rsplit('/', 1)[-1])}"}
        if entry["lfs"]:
            headers["X-Linked-Etag"] = f'"{entry["sha256"]}"'
            headers["X-Linked-Size"] = str(size)
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng:
            parsed = parse_range(rng, size)
            if parsed is None:
                raise HubError(416, f"Range {rng!r} not satisfiable for a file of {size} bytes",
                               extra={"_headers": {"Content-Range": f"bytes */{size}", **headers}})
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self._responded = True
        if self.command == "HEAD" or length == 0:
            return
        with open(self.hub.storage.blob_path(entry["sha256"]), "rb") as f:
            self.wfile.flush()
            try:
                self.connection.sendfile(f, start, length)
            except (AttributeError, OSError, ValueError):
                f.seek(start)
                left = length
                while left > 0:
                    chunk = f.read(min(CHUNK, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
