"""Import rules: the console script and the dataset commands import no Hugging Face library before they have
configured the Hub endpoint (the libraries read HF_ENDPOINT when imported)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HF_LIBRARIES = ("transformers", "datasets", "huggingface_hub")


def _imported_after(statement: str) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(m for m in {HF_LIBRARIES!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("statement", [
    "import distilkobert.cli",
    "import distilkobert",
    "import distilkobert.hub.endpoint",
    "import distilkobert.data.cli",  # parses arguments, then configures the endpoint, then imports the builders
    "from distilkobert.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
])
def test_entry_points_import_no_hugging_face_library(statement: str) -> None:
    assert _imported_after(statement) == []


def test_the_check_sees_an_import() -> None:
    # the probe itself works: a module that does import them is reported
    assert "huggingface_hub" in _imported_after("import distilkobert.hub.publish")
