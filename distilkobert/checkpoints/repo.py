"""A KoBERT-family checkpoint (a Hub repo or a local folder): its files, its config and its exact tokenizer.

KoBERT-family means: a BERT or DistilBERT config, KoBERT's SentencePiece model (``tokenizer_78b3253a26.model`` in
the original repos, ``spiece.model`` in this project's) with a ``vocab.txt`` holding exactly its pieces after the
five specials, a vocabulary size equal to the lines of ``vocab.txt`` and ``pad_token_id`` 1. Everything here
reads the file list, ``config.json``, ``tokenizer_config.json`` and the two tokenizer files only, so a checkpoint
that is not KoBERT-family is refused before its weights are downloaded.

A Hub repo is pinned to the commit its revision resolves to; the tokenizer built from it is cached under
``HF_ASSETS_CACHE`` by repo, commit and a fingerprint of the converter, so a later call (or an offline one) reuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, cached_assets_path, hf_hub_download

from distilkobert.tokenization.errors import TokenizerFileError
from distilkobert.tokenization.folder import build_tokenizer_folder, read_vocab, validate_vocab
from distilkobert.tokenization.spm_proto import read_model

# The original repos' name first: monologg/kobert, kobert-lm and distilkobert ship it under this name.
SP_MODEL_NAMES = ("tokenizer_78b3253a26.model", "spiece.model")
KOBERT_PAD_ID = 1
MODEL_TYPES = ("bert", "distilbert")
# Tokenizer options this project's tokenizer_config.json records; the original repos' BertTokenizer configs carry
# BertTokenizer's own defaults (do_lower_case=True), which are not KoBERT's, so they are ignored there.
TOKENIZER_OPTIONS = ("do_lower_case", "remove_space", "keep_accents")
_BUILDER_SOURCES = ("tokenization/converter.py", "tokenization/folder.py", "tokenization/spm_proto.py")


class NotKoBertError(ValueError):
    """The checkpoint is not KoBERT-family (or is inconsistent); the message is one line naming the file."""


@dataclass
class Checkpoint:
    """Where a checkpoint lives and which files it has; ``path()`` fetches one file (pinned to ``sha``)."""

    name: str
    folder: Path | None = None
    revision: str | None = None
    sha: str | None = None
    files: list[str] = field(default_factory=list)
    local_files_only: bool = False
    _config: dict | None = field(default=None, init=False, repr=False)

    @property
    def repo_id(self) -> str | None:
        return None if self.folder is not None else self.name

    @property
    def source(self) -> str:
        """What ``from_pretrained`` takes: the folder path or the repo id (use with ``revision=self.sha``)."""
        return str(self.folder) if self.folder is not None else self.name

    def where(self) -> str:
        if self.folder is not None:
            return f"folder {self.folder}"
        commit = f", commit {self.sha[:12]}" if self.sha else ""
        return f"Hub repo {self.name} (revision {self.revision or 'main'}{commit})"

    def has(self, filename: str) -> bool:
        return filename in self.files

    def path(self, filename: str) -> Path:
        if self.folder is not None:
            return self.folder / filename
        return Path(hf_hub_download(self.name, filename, revision=self.sha or self.revision,
                                    local_files_only=self.local_files_only))

    @property
    def sp_model_name(self) -> str | None:
        for name in SP_MODEL_NAMES:
            if self.has(name):
                return name
        others = [f for f in self.files if f.endswith(".model") and "/" not in f]
        return others[0] if len(others) == 1 else None

    def config(self) -> dict:
        """config.json as a dict (read once)."""
        if self._config is None:
            if not self.has("config.json"):
                raise NotKoBertError(f"{self.where()}: no config.json: not a model checkpoint")
            path = self.path("config.json")
            try:
                self._config = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise NotKoBertError(f"{self.where()}: config.json is not valid JSON ({exc})") from None
            if not isinstance(self._config, dict):
                raise NotKoBertError(f"{self.where()}: config.json is not a JSON object")
        return self._config

    def tokenizer_config(self) -> dict:
        if not self.has("tokenizer_config.json"):
            return {}
        try:
            data = json.loads(self.path("tokenizer_config.json").read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NotKoBertError(f"{self.where()}: tokenizer_config.json is not valid JSON ({exc})") from None
        return data if isinstance(data, dict) else {}


def open_checkpoint(name: str, revision: str | None = None, *, local_files_only: bool = False) -> Checkpoint:
    """A folder (when ``name`` is one) or a Hub repo resolved to a commit, with its file list.

    Hub errors (repo or revision not found, connection errors) are the huggingface_hub ones. With
    ``local_files_only`` the commit and files come from the Hugging Face cache (what an earlier call downloaded).
    """
    folder = Path(name).expanduser()
    if folder.is_dir():
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        return Checkpoint(name, folder=folder, files=files)
    if local_files_only:
        # the snapshot folder of the cached commit: snapshots/<sha>/config.json
        config = Path(hf_hub_download(name, "config.json", revision=revision, local_files_only=True))
        snapshot = config.parent
        files = sorted(p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.exists())
        return Checkpoint(name, revision=revision, sha=snapshot.name, files=files, local_files_only=True)
    info = HfApi().model_info(name, revision=revision)
    files = sorted(s.rfilename for s in info.siblings or [])
    if "config.json" in files:
        # by the revision's own name, so that the cache records it (refs/<revision>) for a later offline call
        hf_hub_download(name, "config.json", revision=revision)
    return Checkpoint(name, revision=revision, sha=info.sha, files=files)


def check_model_config(ckpt: Checkpoint, model_types: tuple[str, ...] = MODEL_TYPES) -> dict:
    """The config must be one of ``model_types`` (BERT / DistilBERT), with pad_token_id 1 and, when the checkpoint
    has a vocab.txt, a vocab_size equal to its number of tokens. Returns the config."""
    config = ckpt.config()
    model_type = config.get("model_type")
    if model_type is None:  # configs written before model_type existed: the architecture names it
        archs = " ".join(config.get("architectures") or []).lower()
        model_type = "distilbert" if "distilbert" in archs else "bert" if "bert" in archs else None
    if model_type not in model_types:
        raise NotKoBertError(f"{ckpt.where()}: config.json model_type is {model_type!r}, expected "
                             f"{' or '.join(repr(t) for t in model_types)}: not a KoBERT-family checkpoint")
    pad = config.get("pad_token_id")
    if pad != KOBERT_PAD_ID:
        raise NotKoBertError(f"{ckpt.where()}: config.json pad_token_id is {pad!r}, but KoBERT's [PAD] is id "
                             f"{KOBERT_PAD_ID} (id 0 is [UNK]): this checkpoint was not made for the KoBERT tokenizer")
    if ckpt.has("vocab.txt"):
        vocab_size = config.get("vocab_size")
        tokens = _read_vocab(ckpt)
        if vocab_size != len(tokens):
            raise NotKoBertError(f"{ckpt.where()}: config.json vocab_size is {vocab_size!r} but vocab.txt has "
                                 f"{len(tokens)} tokens: not a KoBERT-family checkpoint")
    return config


def _read_vocab(ckpt: Checkpoint) -> list[str]:
    try:
        return read_vocab(ckpt.path("vocab.txt"))
    except TokenizerFileError as exc:
        raise NotKoBertError(f"{ckpt.where()}: vocab.txt: {_tail(exc)}") from None


def _tail(exc: Exception) -> str:
    """The message without the (cache) path it starts with."""
    text = str(exc)
    head, sep, rest = text.partition(": ")
    return rest if sep and ("/" in head or "\\" in head) else text


def tokenizer_options(ckpt: Checkpoint) -> dict[str, Any]:
    """KoBERT's defaults, or the options recorded by this project's tokenizer_config.json (slow class in auto_map)."""
    cfg = ckpt.tokenizer_config()
    auto_map = json.dumps(cfg.get("auto_map") or {})
    ours = "KoBertTokenizer" in auto_map or cfg.get("tokenizer_class") == "KoBertTokenizer"
    return {k: bool(cfg[k]) for k in TOKENIZER_OPTIONS if ours and k in cfg}


def check_tokenizer_files(ckpt: Checkpoint) -> tuple[str, list[str]]:
    """The SentencePiece file name and vocab.txt tokens, checked against each other (one-line errors)."""
    sp_name = ckpt.sp_model_name
    # offline, only the files an earlier call downloaded are known
    cached = " in the local cache (offline)" if ckpt.local_files_only else ""
    if sp_name is None:
        raise NotKoBertError(f"{ckpt.where()}: no SentencePiece model ({' or '.join(SP_MODEL_NAMES)}){cached}: "
                             "not a KoBERT-family checkpoint")
    if not ckpt.has("vocab.txt"):
        raise NotKoBertError(f"{ckpt.where()}: no vocab.txt next to {sp_name}{cached}: not a KoBERT-family "
                             "checkpoint (KoBERT's ids are vocab.txt line numbers)")
    tokens = _read_vocab(ckpt)
    try:
        spm = read_model(ckpt.path(sp_name))
        validate_vocab(spm, tokens, "vocab.txt", sp_name)
    except TokenizerFileError as exc:
        raise NotKoBertError(f"{ckpt.where()}: {_tail(exc)}") from None
    if spm.model_type != 1:
        raise NotKoBertError(f"{ckpt.where()}: {sp_name} is not a Unigram model (type {spm.model_type})")
    return sp_name, tokens


def _builder_fingerprint() -> str:
    """Changes whenever the converter does, so a cached tokenizer.json never outlives the code that built it."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]  # the distilkobert package
    for rel in _BUILDER_SOURCES:
        digest.update((root / rel).read_bytes())
    return digest.hexdigest()[:12]


def _files_digest(paths: list[Path], options: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_checkpoint_tokenizer(ckpt: Checkpoint, output_dir: str | os.PathLike | None = None) -> Path:
    """The tokenizer folder (slow class + exact ``tokenizer.json``) built from the checkpoint's own SentencePiece
    model and vocab.txt: written to ``output_dir``, or to a cache keyed by repo, commit and converter."""
    sp_name, _ = check_tokenizer_files(ckpt)
    options = tokenizer_options(ckpt)
    sp_path, vocab_path = ckpt.path(sp_name), ckpt.path("vocab.txt")
    if output_dir is not None:
        return build_tokenizer_folder(sp_path, vocab_path, output_dir, **options)
    if ckpt.folder is not None:
        namespace, key = "folders", _files_digest([sp_path, vocab_path], options)
    else:
        namespace, key = ckpt.name.replace("/", "--"), ckpt.sha or "unknown"
    target = cached_assets_path(library_name="distilkobert", namespace=namespace,
                                subfolder=f"{key}-{_builder_fingerprint()}") / "tokenizer"
    if (target / "tokenizer.json").is_file():
        return target
    # build beside it, then move into place: a reader never sees a half-written folder
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        build_tokenizer_folder(sp_path, vocab_path, tmp, **options)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "tokenizer.json").is_file():  # not a concurrent builder that won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
