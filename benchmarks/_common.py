"""Shared helpers for the benchmark scripts: the start of a run (worker or machine line), machine facts, versions,
timing, peak memory, JSON and tables, and the tests' tiny-model builders for --quick runs.

Stdlib only at import time (torch is imported lazily where needed), so every benchmark script and the
smoke tests can import it cheaply. Peak memory is measured as the peak resident set size (``ru_maxrss``) of
a *fresh* child process: torch allocates outside Python's allocator, so ``tracemalloc`` would miss it, and a
long-lived parent process would carry the peak of whatever ran before.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from distilkobert.common.environment import library_versions, load_average, machine_info
from distilkobert.common.tables import markdown_table

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
REPO_ROOT = BENCH_DIR.parent
TESTS_DIR = REPO_ROOT / "tests"

# The line a worker process prints so that its parent can find the result among any library chatter.
WORKER_MARKER = "@@BENCH_RESULT@@ "

# machine facts and library versions: distilkobert.common.environment (the same record as every results file)
__all__ = ["BENCH_DIR", "RESULTS_DIR", "REPO_ROOT", "machine_info", "library_versions", "load_average",
           "torch_threads_info", "percentile", "summarize", "time_call", "ratio", "peak_rss_mb", "current_rss_mb",
           "emit_worker_result", "run_worker", "start_benchmark", "dir_size_mb", "results_path", "write_json",
           "format_table", "print_table", "load_test_helper"]


# --------------------------------------------------------------------------------------------- machine
def torch_threads_info() -> dict[str, Any]:
    """torch's intra-/inter-op thread counts and the relevant environment variables (imports torch)."""
    import torch

    return {
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS"),
    }


# ---------------------------------------------------------------------------------------------- timing
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(times: Sequence[float]) -> dict[str, float]:
    """Median (= p50), p95, mean, min, max and count of a list of durations in seconds."""
    return {
        "median": statistics.median(times),
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "mean": statistics.fmean(times),
        "min": min(times),
        "max": max(times),
        "n": len(times),
    }


def time_call(fn: Callable[[], Any], *, warmup: int = 1, repeats: int = 5,
              max_seconds: float | None = None, min_repeats: int = 3,
              sync: Callable[[], None] | None = None) -> list[float]:
    """Run ``fn`` ``warmup`` times untimed, then time up to ``repeats`` calls (seconds each).

    ``max_seconds`` caps the timed phase (after at least ``min_repeats`` calls) so that a slow configuration
    on a small machine cannot blow the time budget; the number of calls actually timed is ``len(result)``.
    ``sync`` (e.g. ``torch.cuda.synchronize``) is called before reading the clock.
    """
    for _ in range(max(0, warmup)):
        fn()
    if sync:
        sync()
    times: list[float] = []
    start_all = time.perf_counter()
    for i in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
        if (max_seconds is not None and i + 1 >= min_repeats
                and time.perf_counter() - start_all > max_seconds):
            break
    return times


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is zero."""
    if numerator is None or denominator in (None, 0):
        return None
    return numerator / denominator


# ------------------------------------------------------------------------------------- memory / workers
def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB.

    On Linux this is VmHWM of /proc/self/status: ru_maxrss survives fork + exec, so a worker started from a
    large parent (pytest, say) would report the parent's peak instead of its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def current_rss_mb() -> float | None:
    """Current resident set size in MiB (Linux /proc only; None elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def emit_worker_result(result: Mapping[str, Any]) -> None:
    """Print a worker's result for :func:`run_worker`, with this process's peak RSS added."""
    payload = dict(result)
    payload.setdefault("peak_rss_mb", peak_rss_mb())
    sys.stdout.write("\n" + WORKER_MARKER + json.dumps(payload) + "\n")
    sys.stdout.flush()


def run_worker(script: str | Path, spec: Mapping[str, Any], *, flag: str = "--_worker",
               timeout: float | None = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``python script <flag> <json spec>`` in a fresh process and return the dict it emitted.

    The child must call :func:`emit_worker_result`. A fresh interpreter per measurement makes its peak RSS
    belong to that measurement alone. A failing child raises ``RuntimeError`` with the tail of its stderr.
    """
    cmd = [sys.executable, str(script), flag, json.dumps(dict(spec))]
    child_env = dict(os.environ)
    if env:
        child_env.update(env)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env)
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(WORKER_MARKER):
            result = json.loads(line[len(WORKER_MARKER):])
    if proc.returncode != 0 or result is None:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise RuntimeError(f"benchmark worker {Path(script).name} failed (exit {proc.returncode}) "
                           f"for spec {dict(spec)}:\n{tail}")
    return result


def start_benchmark(args: Any, worker: Callable[[dict], Mapping[str, Any]],
                    title: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The start of a benchmark's ``main()``. In a worker process (``--_worker SPEC``, started by :func:`run_worker`):
    run ``worker(spec)``, emit its result and return None. In the parent: print the machine line
    (``# TITLE on CPU (N usable cores, load ...), torch ..., transformers ...``) and return (machine, versions)."""
    if args._worker:
        emit_worker_result(worker(json.loads(args._worker)))
        return None
    machine, versions = machine_info(), library_versions()
    print(f"# {title} on {machine['cpu_model']} ({machine['usable_cores']} usable cores, "
          f"load {machine['load_average_1_5_15']}), torch {versions['torch']}, "
          f"transformers {versions['transformers']}")
    return machine, versions


def dir_size_mb(path: str | Path, suffixes: tuple[str, ...] = (".safetensors",)) -> float:
    """Total size in MB (10^6 bytes, as the Hub shows it) of files under ``path`` ending with ``suffixes``."""
    total = sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file() and p.name.endswith(suffixes))
    return total / 1e6


# ---------------------------------------------------------------------------------------- JSON / table
def results_path(name: str, output: str | Path | None = None) -> Path:
    """``output`` if given, else ``benchmarks/results/<name>.json``."""
    return Path(output) if output else RESULTS_DIR / f"{name}.json"


def write_json(name: str, payload: Mapping[str, Any], output: str | Path | None = None) -> Path:
    """Write ``payload`` as indented JSON to :func:`results_path` (parents created) and return the path."""
    path = results_path(name, output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        mag = abs(value)
        if mag >= 1000:
            return f"{value:,.0f}"
        if mag >= 100:
            return f"{value:.1f}"
        if mag >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return str(value)


def format_table(rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
                 headers: Sequence[str] | None = None, *, markdown: bool = False) -> str:
    """Render rows (dicts keyed by header, or sequences) as an aligned text table or a Markdown table."""
    if rows and isinstance(rows[0], Mapping):
        headers = list(headers or rows[0].keys())
        cells = [[_fmt(r.get(h)) for h in headers] for r in rows]  # type: ignore[union-attr]
    else:
        headers = list(headers or [])
        cells = [[_fmt(v) for v in r] for r in rows]
    if markdown:
        return markdown_table(headers, cells, align="r" * len(headers), pad=True)
    widths = [max([len(str(h))] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).rjust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def print_table(rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
                headers: Sequence[str] | None = None, *, title: str | None = None,
                markdown: bool = False) -> None:
    """Print :func:`format_table` with an optional title line."""
    if title:
        print(f"\n{title}")
    print(format_table(rows, headers, markdown=markdown))


# ------------------------------------------------------------------------------------------ tiny models
def load_test_helper(name: str) -> ModuleType:
    """``tests/helpers/<name>.py``, the tests' tiny-model builders, for the --quick runs: test code stays out of the
    installed package, and ``tests/`` goes on ``sys.path`` (last) as it does under pytest."""
    if str(TESTS_DIR) not in sys.path:
        sys.path.append(str(TESTS_DIR))
    return importlib.import_module(f"helpers.{name}")
