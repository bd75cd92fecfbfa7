"""Files the package ships as package data: the model-card template and metadata, the dataset-card templates.

Read through `importlib.resources`, so they are found in a checkout, an editable install and a wheel alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from string import Template
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+
    from importlib.resources.abc import Traversable

__all__ = ["resource", "read_resource", "render_template"]


def resource(*parts: str) -> Traversable:
    """The shipped file `distilkobert/resources/<parts...>` (a `Traversable`; a real path when installed)."""
    return files(__name__).joinpath(*parts)


def read_resource(*parts: str) -> str:
    """The text (UTF-8) of a shipped file; `FileNotFoundError` names it when the package data is missing."""
    item = resource(*parts)
    if not item.is_file():
        raise FileNotFoundError(f"package data distilkobert/resources/{'/'.join(parts)} is missing "
                                "(a broken install: reinstall distilkobert)")
    return item.read_text(encoding="utf-8")


def render_template(text: str, values: Mapping[str, object], *, name: str) -> str:
    """`string.Template` substitution in which a missing or malformed placeholder is an error naming `name`."""
    try:
        return Template(text).substitute({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise ValueError(f"{name}: no value for placeholder ${exc.args[0]}") from None
    except ValueError as exc:
        raise ValueError(f"{name}: bad placeholder ({exc})") from None
