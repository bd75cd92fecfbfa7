"""The package version (the same as pyproject.toml's); a module of its own so that any module can import it."""

__version__ = "0.1.0"
