"""A card's (README.md's) YAML front matter: the one writer of the metadata block, for dataset and model cards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["with_front_matter", "render_card"]


def with_front_matter(metadata: Mapping[str, Any], body: str) -> str:
    """`---`, `metadata` as YAML (keys in the given order, non-ASCII kept, no line wrapping), `---`, then `body`
    exactly as given."""
    front = yaml.safe_dump(dict(metadata), sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n{body}"


def render_card(metadata: Mapping[str, Any], body: str) -> str:
    """README.md text: the front matter, one blank line, the body without surrounding blank lines, a final newline."""
    return with_front_matter(metadata, f"\n{body.strip()}\n")
