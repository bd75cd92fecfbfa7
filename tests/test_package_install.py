"""A non-editable install works on its own: the wheel carries every file the package reads.

The wheel is built from a copy of the checkout and installed with `pip install --no-deps` into a fresh venv
that has no system site-packages; the dependencies (torch, transformers, ...) are made visible through a .pth
line naming .venv's site-packages, which adds that folder to sys.path without running its .pth files, so the
editable install of the checkout stays invisible. Every command runs from an empty folder, never the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# never copied into the build: environments, outputs, caches, VCS data
_SKIP = {".git", ".venv", "build", "dist", "demo_output", "outputs", "runs", "__pycache__", ".pytest_cache",
         ".ruff_cache"}

NSMC_HEADER = "id\tdocument\tlabel\n"
WORDS = ["영화", "정말", "재미", "있어요", "배우", "연기", "최고", "지루", "했다", "음악", "좋네요", "오늘", "날씨",
         "친구", "함께", "봤어요", "한국어", "모델", "공유", "합니다", "이야기", "감동", "다시", "보고", "싶다"]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> dict[str, Path | dict[str, str]]:
    """(venv python, venv bin, environment, empty work folder) of a fresh non-editable install."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"
    shutil.copytree(repo_root, source, ignore=lambda _d, names: [n for n in names if n in _SKIP
                                                                 or n.endswith(".egg-info")])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    work = tmp / "work"
    work.mkdir()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w",
          str(tmp / "wheels"), str(source)], cwd=work, env=env)
    wheel = next((tmp / "wheels").glob("distilkobert-*.whl"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work, env=env)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=work, env=env).stdout.strip())
    (site / "deps-from-dev-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
         cwd=work, env=env)
    return {"python": python, "bin": venv / "bin", "env": env, "work": work, "site": site}


def test_the_wheel_installs_the_package_and_its_data(installed) -> None:
    where = _run([str(installed["python"]), "-c", "import distilkobert, kobert_tokenizer; "
                  "print(distilkobert.__file__); print(kobert_tokenizer.__file__)"],
                 cwd=installed["work"], env=installed["env"]).stdout.split()
    assert all(Path(p).is_relative_to(installed["site"]) for p in where), where  # not the checkout
    package = installed["site"] / "distilkobert"
    checkout = Path(__file__).resolve().parent.parent / "distilkobert"
    subpackages = {p.parent.relative_to(checkout) for p in checkout.rglob("__init__.py")}
    missing = sorted(str(p) for p in subpackages if not (package / p / "__init__.py").is_file())
    assert not missing, f"packages missing from the wheel (add them to pyproject's packages): {missing}"
    # test fixtures live in tests/helpers/, never in the installed package
    fixtures = [str(f.relative_to(package)) for f in package.rglob("*.py")
                if f.name in ("testing.py", "pytest_plugin.py", "conftest.py") or "helpers" in f.parts]
    assert not fixtures, f"test fixtures in the installed package: {fixtures}"
    for data in ("resources/model_card/template.md", "resources/model_card/metadata.yaml",
                 "resources/dataset_cards/nsmc.md", "resources/dataset_cards/corpus.md",
                 "metrics/accuracy/accuracy.py", "metrics/f1/f1.py"):
        assert (package / data).is_file(), data


def test_console_script_help(installed) -> None:
    out = _run([str(installed["bin"] / "distilkobert"), "--help"], cwd=installed["work"], env=installed["env"])
    assert "dataset" in out.stdout and "tokenizer" in out.stdout and "demo" in out.stdout


def test_render_a_model_card(installed) -> None:
    code = ("import json\nfrom distilkobert.model_card import render_model_card, validate_model_card\n"
            "text = render_model_card(repo_id='test-org/tiny', training_info={'student': {'n_layers': 3}}, "
            "eval_results={'schema_version': 1, 'model': {'name_or_path': 'test-org/tiny'}, "
            "'aggregate': {'test_accuracy': {'mean': 0.9, 'std': 0.01}}})\n"
            "card = validate_model_card(text)\n"
            "print(json.dumps({'text': text, 'widget': len(card.data.widget)}))")
    out = json.loads(_run([str(installed["python"]), "-c", code], cwd=installed["work"],
                          env=installed["env"]).stdout.splitlines()[-1])
    assert out["widget"] >= 1 and "# tiny" in out["text"] and "90.00 ± 1.00" in out["text"]


def test_build_a_dataset_and_a_tokenizer_folder(installed) -> None:
    work, env, bin_dir = installed["work"], installed["env"], installed["bin"]
    rows = [f"{i}\t{WORDS[i % 25]} {WORDS[(i * 7) % 25]} {WORDS[(i * 3) % 25]}\t{i % 2}\n" for i in range(1, 41)]
    (work / "train.tsv").write_text(NSMC_HEADER + "".join(rows[:30]), encoding="utf-8")
    (work / "test.tsv").write_text(NSMC_HEADER + "".join(rows[30:]), encoding="utf-8")
    _run([str(bin_dir / "distilkobert"), "dataset", "nsmc", "--train-file", "train.tsv", "--test-file", "test.tsv",
          "--validation-size", "4", "--output-dir", "nsmc"], cwd=work, env=env)
    card = (work / "nsmc" / "README.md").read_text(encoding="utf-8")
    assert "# NSMC: Naver Sentiment Movie Corpus" in card and "| validation | 4 |" in card

    corpus = work / "corpus.txt"
    corpus.write_text("".join(f"{WORDS[i % 25]} {WORDS[(i * 7) % 25]} {WORDS[(i * 11) % 25]}{WORDS[(i * 13) % 25]} "
                              f"{WORDS[(i * 5) % 25]}.\n" for i in range(600)), encoding="utf-8")
    _run([str(bin_dir / "distilkobert"), "tokenizer", "train", "--input", str(corpus), "--vocab-size", "120",
          "--soft-vocab-limit", "--output-dir", "tok"], cwd=work, env=env)
    folder = work / "tok"
    assert (folder / "tokenization_kobert.py").is_file() and (folder / "tokenizer.json").is_file()
    code = ("from transformers import AutoTokenizer\n"
            "fast = AutoTokenizer.from_pretrained('tok')\n"
            "slow = AutoTokenizer.from_pretrained('tok', trust_remote_code=True)\n"
            "text = '영화 정말 재미 있어요'\n"
            "assert fast(text)['input_ids'] == slow(text)['input_ids'], (fast(text), slow(text))\n"
            "print(type(slow).__name__, fast(text)['input_ids'])")
    out = _run([str(installed["python"]), "-c", code], cwd=work, env=env).stdout
    assert out.startswith("KoBertTokenizer [2, ") and out.rstrip().endswith("3]")
