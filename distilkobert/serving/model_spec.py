"""``ORG/NAME[@VERSION]`` or a folder: the model argument of ``distilkobert space``, checked without any
Hugging Face import (the Hub endpoint is configured after the arguments are checked)."""

from __future__ import annotations

from pathlib import Path

from distilkobert.hub.endpoint import is_hub_repo_id

from .errors import ServingError


def parse_model_spec(spec: str, what: str = "--model") -> tuple[str, str | None]:
    """``ORG/NAME@VERSION`` -> (repo, version); an existing folder (even with an ``@`` in its name) ->
    (folder, None). Anything else is a ServingError naming ``what``."""
    if Path(spec).expanduser().is_dir():
        return spec, None
    name, at, version = spec.partition("@")
    if Path(name).expanduser().exists():
        raise ServingError(f"{what} {spec}: is a file, expected a model folder or ORG/NAME[@VERSION]")
    if name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1:
        raise ServingError(f"{what} {spec}: no such folder")
    if not is_hub_repo_id(name) or (at and not version):
        raise ServingError(f"{what} {spec}: neither an existing folder nor a Hub repo id ORG/NAME[@VERSION]")
    return name, version or None


def is_folder(spec: str) -> bool:
    """Does ``spec`` name an existing local folder (rather than a Hub repo)?"""
    return Path(spec).expanduser().is_dir()
