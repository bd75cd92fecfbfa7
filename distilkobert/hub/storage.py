"""On-disk storage of the local Hub: content-addressed blobs, per-repo refs and immutable commit records.

Layout under ``data_dir``::

    blobs/<aa>/<bb>/<sha256>            file contents, shared by every repo (content-addressed)
    uploads/<aa>/<sha256>/<user>        empty marker: ``user`` uploaded these bytes through the LFS API
    tmp/                                 partial uploads, renamed into blobs/ once verified
    repos/<type>s/<ns>/<name>/repo.json  id, type, owner, private, createdAt
    repos/<type>s/<ns>/<name>/refs.json  {"branches": {name: sha}, "tags": {name: {"commit", "message"}}}
    repos/<type>s/<ns>/<name>/commits/<sha>.json   parents, title, message, authors, date, files
    repos/<type>s/<ns>/<name>/lock       fcntl lock file serialising writers (threads and processes)

Every JSON file is written atomically (temporary file, fsync, ``os.replace``), so a reader never sees a torn
file and a crash never leaves a half-written ref. Commit records hold the full file table of the snapshot:
resolving a revision is one small JSON read, and history walks follow ``parents``.

Blobs are shared, but a user may only reference one it has uploaded (``uploads/`` records that, across
restarts) or one held by a repo it can read (:meth:`Storage.repo_holds`); the handler applies that rule.
Stdlib only.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO_TYPES = ("model", "dataset")
CHUNK = 1024 * 1024
LFS_THRESHOLD = 10 * 1024 * 1024
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")

DEFAULT_GITATTRIBUTES = """\
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.lz4 filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
"""


class HubError(Exception):
    """An error with an HTTP status, an optional ``X-Error-Code`` and a message for the client."""

    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.extra = extra or {}


def repo_not_found(repo_id: str) -> HubError:
    return HubError(404, f"Repository not found: {repo_id}", "RepoNotFound")


def revision_not_found(repo_id: str, revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision} (repository {repo_id})", "RevisionNotFound")


def entry_not_found(repo_id: str, revision: str, path: str) -> HubError:
    return HubError(404, f"Entry not found: {path} at revision {revision} of {repo_id}", "EntryNotFound")


def now_iso() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def validate_name(part: str, what: str) -> str:
    if not isinstance(part, str) or not _NAME.match(part) or ".." in part or "--" in part:
        raise HubError(400, f"Invalid {what} {part!r}: use letters, digits, '-', '_', '.' (max 96 chars, "
                            "no '--' or '..', not starting or ending with '-' or '.')")
    return part


def validate_repo_id(repo_id: str) -> tuple[str, str]:
    """``namespace/name`` -> (namespace, name); 400 on anything that could escape the data dir."""
    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise HubError(400, f"Invalid repo id {repo_id!r}: expected 'namespace/name'")
    ns, name = repo_id.split("/")
    return validate_name(ns, "namespace"), validate_name(name, "repo name")


def validate_repo_type(repo_type: str | None) -> str:
    repo_type = repo_type or "model"
    if repo_type not in REPO_TYPES:
        raise HubError(400, f"Unsupported repo type {repo_type!r}: this local Hub serves {', '.join(REPO_TYPES)}")
    return repo_type


def validate_path(path: Any) -> str:
    """A file path inside a repo: relative, '/'-separated, no '..', NUL, backslash or empty segment."""
    if not isinstance(path, str) or not path:
        raise HubError(400, f"Invalid path {path!r}: must be a non-empty string")
    if len(path.encode("utf-8", "surrogatepass")) > 1000:
        raise HubError(400, "Invalid path: longer than 1000 bytes")
    if "\x00" in path or "\\" in path or path.startswith("/") or any(ord(c) < 0x20 for c in path):
        raise HubError(400, f"Invalid path {path!r}: absolute paths, NUL, control characters and backslashes "
                            "are not allowed")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts) or parts[0] == ".git":
        raise HubError(400, f"Invalid path {path!r}: empty, '.', '..' and '.git' segments are not allowed")
    return path


def validate_ref_name(name: Any, what: str = "branch") -> str:
    if (not isinstance(name, str) or not name or len(name) > 200 or _REF_FORBIDDEN.search(name)
            or ".." in name or name.startswith(("/", "-", "refs/")) or name.endswith(("/", ".lock", "."))
            or "//" in name or "@{" in name or _HEX40.match(name)):
        raise HubError(400, f"Invalid {what} name {name!r}")
    return name


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes, tmp_dir: Path) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new file, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"w-{os.getpid()}-{threading.get_ident()}-{os.urandom(6).hex()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any, tmp_dir: Path) -> None:
    atomic_write(path, json.dumps(obj, ensure_ascii=False, sort_keys=True).encode("utf-8"), tmp_dir)


def gitattributes_lfs_patterns(text: str) -> list[str]:
    patterns = []
    for line in text.splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and "filter=lfs" in fields[1:]:
            patterns.append(fields[0])
    return patterns


def matches_lfs(path: str, patterns: list[str]) -> bool:
    base = path.rsplit("/", 1)[-1]
    for pat in patterns:
        if "/" in pat.strip("/"):
            if fnmatch.fnmatchcase(path, pat.lstrip("/")) or fnmatch.fnmatchcase(path, pat.replace("/**/", "/*")):
                return True
        elif fnmatch.fnmatchcase(base, pat):
            return True
    return False


@dataclass
class RepoRef:
    repo_type: str
    repo_id: str
    path: Path

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]


class Storage:
    """The local Hub's data directory. Thread- and process-safe; see the module docstring for the layout."""

    def __init__(self, data_dir: str | os.PathLike):
        self.root = Path(data_dir).resolve()
        self.blobs = self.root / "blobs"
        self.tmp = self.root / "tmp"
        self.repos = self.root / "repos"
        self.uploads = self.root / "uploads"
        for d in (self.blobs, self.tmp, self.repos, self.uploads):
            d.mkdir(parents=True, exist_ok=True)
        self._thread_locks: dict[str, threading.Lock] = {}
        self._thread_locks_guard = threading.Lock()
        # Commit records are immutable (ids include a random nonce), so caching them is always safe.
        self._commit_cache: OrderedDict[tuple[str, str], dict] = OrderedDict()
        self._commit_cache_lock = threading.Lock()

    # ---------------------------------------------------------------- locking
    @contextlib.contextmanager
    def _lock(self, lock_path: Path) -> Iterator[None]:
        """Serialise writers: a thread lock (cheap, in-process) plus an fcntl lock (other processes)."""
        key = str(lock_path)
        with self._thread_locks_guard:
            tlock = self._thread_locks.setdefault(key, threading.Lock())
        with tlock:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def repo_lock(self, repo: RepoRef):
        return self._lock(repo.path.parent / f".{repo.path.name}.lock")

    # ---------------------------------------------------------------- blobs
    def blob_path(self, sha256: str) -> Path:
        if not _HEX64.match(sha256 or ""):
            raise HubError(400, f"Invalid sha256 {sha256!r}")
        return self.blobs / sha256[:2] / sha256[2:4] / sha256

    def has_blob(self, sha256: str, size: int | None = None) -> bool:
        p = self.blob_path(sha256)
        try:
            return size is None or p.stat().st_size == size
        except FileNotFoundError:
            return False

    def _install_blob(self, tmp: Path, sha256: str) -> None:
        dest = self.blob_path(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            tmp.unlink(missing_ok=True)
        else:
            os.replace(tmp, dest)
            _fsync_dir(dest.parent)

    def put_bytes(self, data: bytes) -> dict:
        """Store a small (regular) file; returns its tree entry."""
        sha256 = hashlib.sha256(data).hexdigest()
        if not self.has_blob(sha256, len(data)):
            tmp = self.tmp / f"b-{os.getpid()}-{threading.get_ident()}-{os.urandom(6).hex()}"
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self._install_blob(tmp, sha256)
        return {"size": len(data), "sha256": sha256, "oid": git_blob_sha1(data), "lfs": False}

    def put_stream(self, stream: IO[bytes], size: int, expected_sha256: str) -> None:
        """Stream exactly ``size`` bytes to a temporary file, check the sha256, then install the blob.

        Memory use is one chunk, whatever the file size.
        """
        tmp = self.tmp / f"u-{os.getpid()}-{threading.get_ident()}-{os.urandom(6).hex()}"
        h = hashlib.sha256()
        remaining = size
        try:
            with open(tmp, "wb") as f:
                while remaining > 0:
                    chunk = stream.read(min(CHUNK, remaining))
                    if not chunk:
                        raise HubError(400, f"Upload truncated: got {size - remaining} of {size} bytes")
                    h.update(chunk)
                    f.write(chunk)
                    remaining -= len(chunk)
                f.flush()
                os.fsync(f.fileno())
            digest = h.hexdigest()
            if digest != expected_sha256:
                raise HubError(400, f"sha256 mismatch: the uploaded content hashes to {digest}, "
                                    f"expected {expected_sha256}")
            self._install_blob(tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)

    def lfs_entry(self, sha256: str, size: int | None) -> dict:
        p = self.blob_path(sha256)
        try:
            actual = p.stat().st_size
        except FileNotFoundError:
            raise HubError(400, f"LFS object {sha256} was not uploaded (run the LFS batch upload first)") from None
        if size is not None and int(size) != actual:
            raise HubError(400, f"LFS object {sha256} has size {actual}, not {size}")
        return {"size": actual, "sha256": sha256, "oid": git_blob_sha1(lfs_pointer(sha256, actual)), "lfs": True}

    def _upload_marker(self, sha256: str, user: str) -> Path:
        if not _HEX64.match(sha256 or ""):
            raise HubError(400, f"Invalid sha256 {sha256!r}")
        return self.uploads / sha256[:2] / sha256 / validate_name(user, "user name")

    def record_upload(self, sha256: str, user: str) -> None:
        """Remember (on disk, durably) that ``user`` uploaded the bytes of ``sha256``: it may reference them."""
        marker = self._upload_marker(sha256, user)
        if marker.exists():
            return
        marker.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644))
        _fsync_dir(marker.parent)

    def has_uploaded(self, sha256: str, user: str) -> bool:
        """Did ``user`` upload the bytes of ``sha256`` (in this server's lifetime or an earlier one)?"""
        return self._upload_marker(sha256, user).exists()

    def repo_holds(self, repo: RepoRef, sha256: str) -> bool:
        """Does any commit of ``repo`` (any branch, tag or older revision: all are readable) hold ``sha256``?"""
        for record_path in (repo.path / "commits").glob("*.json"):  # read directly: a scan must not flush the cache
            try:
                files = json.loads(record_path.read_text("utf-8"))["files"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a record being deleted with its repo
            if any(e.get("sha256") == sha256 for e in files.values()):
                return True
        return False

    def read_blob(self, sha256: str) -> bytes:
        return self.blob_path(sha256).read_bytes()

    def collect_garbage(self, grace_seconds: float = 3600.0) -> dict[str, int]:
        """Delete blobs that no commit of any repo references, and leftover temporary files.

        A commit interrupted by kill -9 (or an LFS upload never committed) leaves such blobs behind. Only files
        older than ``grace_seconds`` go: another server process over the same data dir may be between an
        upload and its commit. Returns counts: ``blobs``, ``blob_bytes``, ``tmp_files``, ``kept``.
        """
        referenced: set[str] = set()
        for record_path in self.repos.glob("*/*/*/commits/*.json"):
            try:
                files = json.loads(record_path.read_text("utf-8"))["files"]
            except (OSError, ValueError, KeyError, TypeError):
                # An unreadable record: keep every blob rather than risk deleting one it references.
                return {"blobs": 0, "blob_bytes": 0, "tmp_files": 0, "kept": -1}
            referenced.update(e["sha256"] for e in files.values())
        cutoff = time.time() - grace_seconds
        counts = {"blobs": 0, "blob_bytes": 0, "tmp_files": 0, "kept": 0}
        for blob in self.blobs.glob("*/*/*"):
            if blob.name in referenced:
                counts["kept"] += 1
                continue
            if not _HEX64.match(blob.name):
                continue  # not a blob this storage wrote: leave it alone
            with contextlib.suppress(OSError):
                st = blob.stat()
                if st.st_mtime < cutoff:
                    blob.unlink()
                    shutil.rmtree(self.uploads / blob.name[:2] / blob.name, ignore_errors=True)
                    counts["blobs"] += 1
                    counts["blob_bytes"] += st.st_size
        for leftover in self.tmp.iterdir():
            with contextlib.suppress(OSError):
                if leftover.lstat().st_mtime < cutoff:
                    if leftover.is_dir() and not leftover.is_symlink():
                        shutil.rmtree(leftover)
                    else:
                        leftover.unlink()
                    counts["tmp_files"] += 1
        return counts

    # ---------------------------------------------------------------- repos
    def repo(self, repo_type: str, repo_id: str) -> RepoRef:
        repo_type = validate_repo_type(repo_type)
        ns, name = validate_repo_id(repo_id)
        path = self.repos / f"{repo_type}s" / ns / name
        # Defence in depth: names are validated above, but never hand out a path outside the data dir.
        if self.repos not in path.resolve().parents:
            raise HubError(400, f"Invalid repo id {repo_id!r}")
        return RepoRef(repo_type, f"{ns}/{name}", path)

    def repo_meta(self, repo: RepoRef) -> dict | None:
        try:
            return json.loads((repo.path / "repo.json").read_text("utf-8"))
        except FileNotFoundError:
            return None

    def create_repo(self, repo: RepoRef, owner: str, private: bool) -> dict:
        """Create the repo with an initial commit holding .gitattributes; 409 if it already exists."""
        with self.repo_lock(repo):
            meta = self.repo_meta(repo)
            if meta is not None:
                raise HubError(409, f"You already created this {repo.repo_type} repo: {repo.repo_id}",
                               extra={"_conflict": True})
            if repo.path.exists():  # leftover of a crashed create/delete: start clean
                shutil.rmtree(repo.path)
            (repo.path / "commits").mkdir(parents=True)
            date = now_iso()
            entry = self.put_bytes(DEFAULT_GITATTRIBUTES.encode())
            commit = self._new_commit([], {".gitattributes": entry}, "initial commit", "", owner, date)
            self._write_commit(repo, commit)
            atomic_write_json(repo.path / "refs.json", {"branches": {"main": commit["id"]}, "tags": {}}, self.tmp)
            meta = {"id": repo.repo_id, "type": repo.repo_type, "owner": owner, "private": bool(private),
                    "createdAt": date, "_id": os.urandom(12).hex()}
            # repo.json last: its presence is what makes the repo exist.
            atomic_write_json(repo.path / "repo.json", meta, self.tmp)
            return meta

    def delete_repo(self, repo: RepoRef) -> None:
        with self.repo_lock(repo):
            if self.repo_meta(repo) is None:
                raise repo_not_found(repo.repo_id)
            trash = self.tmp / f"deleted-{os.urandom(8).hex()}"
            os.replace(repo.path, trash)
            with self._commit_cache_lock:  # a re-created repo must not see the old records
                for key in [k for k in self._commit_cache if k[0] == str(repo.path)]:
                    del self._commit_cache[key]
            shutil.rmtree(trash, ignore_errors=True)

    def list_repos(self, repo_type: str) -> list[dict]:
        base = self.repos / f"{validate_repo_type(repo_type)}s"
        out = []
        for meta_path in sorted(base.glob("*/*/repo.json")):
            with contextlib.suppress(OSError, ValueError):
                out.append(json.loads(meta_path.read_text("utf-8")))
        return out

    def set_private(self, repo: RepoRef, private: bool) -> None:
        with self.repo_lock(repo):
            meta = self.repo_meta(repo)
            if meta is None:
                raise repo_not_found(repo.repo_id)
            meta["private"] = bool(private)
            atomic_write_json(repo.path / "repo.json", meta, self.tmp)

    # ---------------------------------------------------------------- refs & commits
    def refs(self, repo: RepoRef) -> dict:
        try:
            return json.loads((repo.path / "refs.json").read_text("utf-8"))
        except FileNotFoundError:
            raise repo_not_found(repo.repo_id) from None

    def commit_record(self, repo: RepoRef, sha: str) -> dict | None:
        """The commit record (treat as read-only: it is shared through a cache), or None."""
        if not _HEX40.match(sha):
            return None
        key = (str(repo.path), sha)
        with self._commit_cache_lock:
            if key in self._commit_cache:
                self._commit_cache.move_to_end(key)
                return self._commit_cache[key]
        try:
            record = json.loads((repo.path / "commits" / f"{sha}.json").read_text("utf-8"))
        except FileNotFoundError:
            return None
        with self._commit_cache_lock:
            self._commit_cache[key] = record
            while len(self._commit_cache) > 256:
                self._commit_cache.popitem(last=False)
        return record

    def resolve(self, repo: RepoRef, revision: str) -> dict:
        """Branch, tag, ``refs/heads/x``, ``refs/tags/x`` or a 40-hex commit id -> the commit record."""
        refs = self.refs(repo)
        rev = revision
        sha = None
        if rev.startswith("refs/heads/"):
            sha = refs["branches"].get(rev[len("refs/heads/"):])
        elif rev.startswith("refs/tags/"):
            tag = refs["tags"].get(rev[len("refs/tags/"):])
            sha = tag and tag["commit"]
        elif rev in refs["branches"]:
            sha = refs["branches"][rev]
        elif rev in refs["tags"]:
            sha = refs["tags"][rev]["commit"]
        elif _HEX40.match(rev):
            sha = rev
        record = self.commit_record(repo, sha) if sha else None
        if record is None:
            raise revision_not_found(repo.repo_id, revision)
        return record

    def _new_commit(self, parents: list[str], files: dict, title: str, message: str, author: str,
                    date: str) -> dict:
        body = json.dumps({"parents": parents, "files": files, "title": title, "message": message,
                           "author": author, "date": date, "nonce": os.urandom(8).hex()}, sort_keys=True)
        sha = hashlib.sha1(body.encode()).hexdigest()
        return {"id": sha, "parents": parents, "title": title, "message": message,
                "authors": [author], "date": date, "files": files}

    def _write_commit(self, repo: RepoRef, commit: dict) -> None:
        atomic_write_json(repo.path / "commits" / f"{commit['id']}.json", commit, self.tmp)

    def commit(self, repo: RepoRef, branch: str, author: str, title: str, message: str, operations: list,
               parent_commit: str | None = None) -> dict:
        """Apply ``operations`` on top of ``branch`` atomically and move the branch; returns the new commit.

        operations: ("add", path, entry) | ("delete_file", path) | ("delete_folder", path).
        A ``parent_commit`` that is not the branch head gets 412 (someone committed in between).
        """
        with self.repo_lock(repo):
            refs = self.refs(repo)
            if branch not in refs["branches"]:
                if branch in refs["tags"] or _HEX40.match(branch):
                    raise HubError(400, f"Cannot commit to {branch!r}: commits are only allowed on branches")
                raise revision_not_found(repo.repo_id, branch)
            head = refs["branches"][branch]
            if parent_commit is not None and parent_commit != head:
                raise HubError(412, f"A commit has happened since {parent_commit} on {branch} (head is now {head}). "
                                    "Please refresh and try again.", "PreconditionFailed")
            head_record = self.commit_record(repo, head)
            files = dict(head_record["files"])
            for op in operations:
                kind, path = op[0], op[1]
                if kind == "add":
                    # A file cannot also be a folder: refuse 'a' when 'a/b' exists and vice versa.
                    if any(p.startswith(path + "/") for p in files):
                        raise HubError(400, f"Cannot add file {path!r}: a folder with this name exists")
                    parts = path.split("/")
                    for i in range(1, len(parts)):
                        if "/".join(parts[:i]) in files:
                            raise HubError(400, f"Cannot add {path!r}: {'/'.join(parts[:i])!r} is a file")
                    files[path] = op[2]
                elif kind == "delete_file":
                    if path not in files:
                        raise entry_not_found(repo.repo_id, branch, path)
                    del files[path]
                elif kind == "delete_folder":
                    prefix = path.rstrip("/") + "/"
                    doomed = [p for p in files if p.startswith(prefix)]
                    if not doomed:
                        raise entry_not_found(repo.repo_id, branch, path)
                    for p in doomed:
                        del files[p]
            commit = self._new_commit([head], files, title, message, author, now_iso())
            self._write_commit(repo, commit)
            refs["branches"][branch] = commit["id"]
            atomic_write_json(repo.path / "refs.json", refs, self.tmp)
            return commit

    def create_branch(self, repo: RepoRef, branch: str, starting_point: str | None) -> str:
        validate_ref_name(branch, "branch")
        with self.repo_lock(repo):
            refs = self.refs(repo)
            if branch in refs["branches"]:
                raise HubError(409, f"Branch {branch!r} already exists")
            if branch in refs["tags"]:
                raise HubError(409, f"A tag named {branch!r} already exists")
            sha = self.resolve(repo, starting_point or "main")["id"]
            refs["branches"][branch] = sha
            atomic_write_json(repo.path / "refs.json", refs, self.tmp)
            return sha

    def delete_branch(self, repo: RepoRef, branch: str) -> None:
        with self.repo_lock(repo):
            refs = self.refs(repo)
            if branch not in refs["branches"]:
                raise revision_not_found(repo.repo_id, branch)
            if branch == "main":
                raise HubError(403, "The main branch cannot be deleted")
            del refs["branches"][branch]
            atomic_write_json(repo.path / "refs.json", refs, self.tmp)

    def create_tag(self, repo: RepoRef, tag: str, revision: str, message: str | None) -> str:
        validate_ref_name(tag, "tag")
        with self.repo_lock(repo):
            refs = self.refs(repo)
            if tag in refs["tags"]:
                raise HubError(409, f"Tag {tag!r} already exists (tags are immutable; delete it first)")
            if tag in refs["branches"]:
                raise HubError(409, f"A branch named {tag!r} already exists")
            sha = self.resolve(repo, revision)["id"]
            refs["tags"][tag] = {"commit": sha, "message": message or ""}
            atomic_write_json(repo.path / "refs.json", refs, self.tmp)
            return sha

    def delete_tag(self, repo: RepoRef, tag: str) -> None:
        with self.repo_lock(repo):
            refs = self.refs(repo)
            if tag not in refs["tags"]:
                raise revision_not_found(repo.repo_id, tag)
            del refs["tags"][tag]
            atomic_write_json(repo.path / "refs.json", refs, self.tmp)

    def history(self, repo: RepoRef, sha: str, limit: int = 100_000) -> Iterator[dict]:
        """Commits reachable by first parents, newest first."""
        seen = 0
        record = self.commit_record(repo, sha)
        while record is not None and seen < limit:
            yield record
            seen += 1
            record = self.commit_record(repo, record["parents"][0]) if record["parents"] else None


def tree_oid(files: dict, prefix: str) -> str:
    """A stable id for a folder: hash of the (path, oid) pairs below it."""
    h = hashlib.sha1()
    for p in sorted(files):
        if not prefix or p.startswith(prefix + "/"):
            h.update(f"{p}\0{files[p]['oid']}\n".encode())
    return h.hexdigest()
