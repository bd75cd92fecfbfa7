"""Typed YAML recipes for `HfArgumentParser` jobs: the recipe gives defaults, command-line flags override them.

`train_distill.py` and `eval_nsmc.py` both take `[recipe.yaml] [--flag value ...]`. A recipe is a YAML mapping of
option names to values of their own type (numbers, booleans, lists, mappings); each value is converted and checked
as its flag would be, then becomes that option's default, so a flag given on the command line wins (the way TRL's
and alignment-handbook's parsers work). Every recipe problem is one `RecipeError` line naming the file.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser


class RecipeError(ValueError):
    """The recipe file is missing, not YAML, not a mapping, or has an unknown key or a bad value.

    `problem` says which (missing, unreadable, not_text, not_yaml, not_mapping; None for a bad key or value) and
    `cause` holds what was found (the OS or YAML error, or the value that is not a mapping), so a command can word
    it its own way.
    """

    def __init__(self, message: str, *, path: str | Path | None = None, problem: str | None = None,
                 cause: Any = None) -> None:
        super().__init__(message)
        self.path, self.problem, self.cause = path, problem, cause


def read_recipe(path: str | Path, *, allow_empty: bool = True) -> dict[str, Any]:
    """The recipe's mapping; a missing file, YAML syntax error or non-mapping is one line naming the file.

    An empty file is the empty mapping, unless `allow_empty` is False (then it is not a mapping).
    """
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe {path}: no such file", path=path, problem="missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecipeError(f"recipe {path}: {exc.strerror}", path=path, problem="unreadable", cause=exc) from None
    except UnicodeDecodeError:
        raise RecipeError(f"recipe {path}: not a YAML file (not UTF-8 text)", path=path,
                          problem="not_text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise RecipeError(f"recipe {path}: not a YAML file ({where}{getattr(exc, 'problem', None) or exc})",
                          path=path, problem="not_yaml", cause=exc) from None
    if data is None and allow_empty:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {path}: a recipe is a YAML mapping of option names to values, "
                          f"not a {type(data).__name__}", path=path, problem="not_mapping", cause=data)
    return data


class RecipeParser(HfArgumentParser):
    """`HfArgumentParser` that reads an optional leading YAML recipe as the defaults of its options."""

    def parse_recipe_and_flags(self, argv: Sequence[str]) -> tuple[tuple[Any, ...], str | None]:
        """`[recipe.yaml] [--flag value ...]` -> (dataclass instances, recipe path or None).

        The dataclasses' `__post_init__` checks raise `ValueError`; unknown flags raise `ValueError` too.
        """
        argv = list(argv)
        recipe = argv.pop(0) if argv and not argv[0].startswith("-") else None
        if recipe is not None:
            self.apply_recipe(recipe)
        return tuple(self.parse_args_into_dataclasses(args=argv)), recipe

    def error(self, message: str):
        """A bad flag is one line (the caller prints it and exits 2), not argparse's page-long usage."""
        raise ValueError(f"{message} (see --help)")

    def apply_recipe(self, path: str | Path) -> None:
        """Make every value of the recipe its option's default (converted and checked like the flag)."""
        actions: dict[str, list[argparse.Action]] = {}
        for action in self._actions:
            if action.dest != "help":
                actions.setdefault(action.dest, []).append(action)
        for key, value in read_recipe(path).items():
            if key not in actions:
                raise RecipeError(f"recipe {path}: unknown key {key!r} (`--help` lists the options)")
            converted = _convert(path, key, actions[key][0], value)
            for action in actions[key]:  # a boolean's --no_X twin shares the destination
                action.default = converted
                action.required = False


def _convert(path: str | Path, key: str, action: argparse.Action, value: Any) -> Any:
    """A YAML value -> the value the flag would give (lists for multi-value options); one-line errors."""
    if value is None:
        return None
    if isinstance(value, dict):
        if action.type not in (None, str):
            raise RecipeError(f"recipe {path}: {key}: a mapping is not a valid value")
        return value  # mapping-valued options (student_config, fsdp_config, ...) take the mapping itself
    multi = action.nargs in ("+", "*")
    if isinstance(value, list) and not multi:
        raise RecipeError(f"recipe {path}: {key}: takes one value, not a list")
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        try:
            # through the flag's own converter, from the text a user would type (so 3.5 is not silently an int 3)
            converted = item if action.type is None else action.type(item if isinstance(item, str) else str(item))
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            kind = getattr(action.type, "__name__", "value")
            raise RecipeError(f"recipe {path}: {key}: {item!r} is not a valid {kind}") from None
        if action.choices is not None and converted not in action.choices:
            raise RecipeError(f"recipe {path}: {key}: {item!r} is not one of {list(action.choices)}")
        out.append(converted)
    return out if multi else out[0]
