"""What a result was measured with: library versions and machine facts, recorded in every results file.

Stdlib only: nothing here imports torch or a Hugging Face library (versions are read from the installed
distributions' metadata), so benchmarks and the results writers can call it at any time.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_PACKAGES", "library_versions", "machine_info", "cpu_model", "total_ram_gb", "load_average"]

DEFAULT_PACKAGES = ("torch", "transformers", "datasets", "evaluate", "tokenizers", "sentencepiece", "safetensors",
                    "huggingface_hub", "accelerate", "numpy", "pyarrow", "distilkobert")


def library_versions(packages: Iterable[str] = DEFAULT_PACKAGES, *, python: bool = True) -> dict[str, str | None]:
    """Installed versions of `packages` (None when one is absent), plus Python's unless `python=False`."""
    out: dict[str, str | None] = {"python": platform.python_version()} if python else {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def total_ram_gb() -> float | None:
    """Physical memory in GiB (None where the OS does not say)."""
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 2)
    except (ValueError, OSError, AttributeError):
        return None


def load_average() -> list[float] | None:
    """The 1/5/15-minute load averages (None where the OS has none): above the core count, timings are noisy."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM, OS, Python, the load average now and, when torch is already imported, its threads and GPU.

    The load average is recorded because a busy machine makes every timing noisy; a reader can then judge.
    torch is only looked up, never imported, so that calling this costs nothing.
    """
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info: dict[str, Any] = {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "ram_gb": total_ram_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_1_5_15": load_average(),
        "timestamp_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = bool(torch.cuda.is_available())
        if info["cuda"]:
            info["gpu"] = torch.cuda.get_device_name(0)
    return info
