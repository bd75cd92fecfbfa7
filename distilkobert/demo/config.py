"""The demo's settings, its inputs and the frame of its stages; light: no Hugging Face import (the demo starts its
local Hub first, and the Hugging Face libraries read HF_ENDPOINT when imported)."""

from __future__ import annotations

import contextlib
import glob
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from distilkobert.data.nsmc import split_real_nsmc

# The demo's inputs live in the checkout, not in the package: its texts (demo_data/) and its recipes (recipes/).
# These are the defaults of --demo-data-dir / --recipes-dir; an installed package is pointed at a checkout.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DATA = REPO_ROOT / "demo_data"
RECIPES = REPO_ROOT / "recipes"


class StageError(RuntimeError):
    """A demo stage failed; the message names the stage and what to do."""


@dataclass
class DemoConfig:
    output_dir: Path
    data_dir: Path | None
    org: str
    version: str
    quick: bool
    seeds: list[int]
    timings: dict[str, float] = field(default_factory=dict)
    demo_data: Path = DEMO_DATA
    recipes: Path = RECIPES

    def repo(self, name: str) -> str:
        return f"{self.org}/{name}"


@dataclass
class DemoRepos:
    """The Hub repos the demo publishes to (all under --org, all tagged --version)."""

    nsmc: str
    corpus: str
    teacher: str
    student: str


@contextlib.contextmanager
def stage(cfg: DemoConfig, number: int, total: int, name: str, hint: str) -> Iterator[None]:
    """One line when a stage starts and one when it ends (with its time); a failure names stage and remedy."""
    print(f"\n=== [{number}/{total}] {name}", flush=True)
    start = time.perf_counter()
    try:
        yield
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise StageError(f"stage {number} ({name}) failed with exit code {exc.code}. {hint}") from exc
    except StageError:
        raise
    except Exception as exc:
        raise StageError(f"stage {number} ({name}) failed: {type(exc).__name__}: {exc}\n  what to do: {hint}") from exc
    elapsed = time.perf_counter() - start
    cfg.timings[name] = round(elapsed, 1)
    print(f"=== [{number}/{total}] {name}: done in {elapsed:.1f} s", flush=True)


def demo_inputs(cfg: DemoConfig) -> dict:
    """Where the raw data of this run comes from: the texts shipped in demo_data/, or --data-dir."""
    if cfg.data_dir is None:
        return {
            "nsmc_train": cfg.demo_data / "reviews.tsv",
            "nsmc_test": cfg.demo_data / "reviews_test.tsv",
            "validation_size": 300,
            "corpus": sorted(str(p) for p in (cfg.demo_data / "corpus").glob("*.txt")),
            "corpus_licence": ["CC0-1.0"],
            "kobert": None,
            "vocab_size": 2000,
        }
    data = cfg.data_dir
    nsmc_file = data / "nsmc" / "train.tsv.gz"
    corpus = sorted(glob.glob(str(data / "corpus" / "*.gz")))
    if not nsmc_file.is_file():
        raise StageError(f"--data-dir {data}: {nsmc_file} not found (expected nsmc/train.tsv.gz)")
    if not corpus:
        raise StageError(f"--data-dir {data}: no corpus/*.gz files")
    train, test = split_real_nsmc(nsmc_file, cfg.output_dir / "raw")
    kobert = data / "kobert"
    has_kobert = (kobert / "tokenizer_78b3253a26.model").is_file() and (kobert / "vocab.txt").is_file()
    return {
        "nsmc_train": train,
        "nsmc_test": test,
        "validation_size": 5000,
        "corpus": corpus,
        "corpus_licence": ["nsmc_*=CC0-1.0", "boddari_*=see yiunsr/boddari (CC-BY / CC-BY-SA)"],
        "kobert": (kobert / "tokenizer_78b3253a26.model", kobert / "vocab.txt") if has_kobert else None,
        "vocab_size": 8000,
    }
