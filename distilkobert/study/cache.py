"""Stage results reused by content: a stage's folder holds `stage.json` with the key it was computed from.

A key names every input by content (file size + sha256, a model's weights digest, the settings), never by path
alone, so a changed input recomputes the stage instead of reporting old numbers as new. Each stage records the
wall-clock and CPU seconds it took (for a stage resumed from a checkpoint, the seconds of the earlier part too).
"""

from __future__ import annotations

import hashlib
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distilkobert.data.sources import sha256_of

STAGE_FILE = "stage.json"
OUTPUT_MARKER = "study-output.json"


def log(message: str) -> None:
    print(f"[study {time.strftime('%H:%M:%S')}] {message}", flush=True)


def digest(value: Any) -> str:
    """A short content digest of a JSON-serialisable value."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_identity(path: str | Path | None) -> dict[str, Any] | None:
    """A file named by its content: size and sha256 (None for no file)."""
    if path is None:
        return None
    return {"bytes": Path(path).stat().st_size, "sha256": sha256_of(Path(path))}


def model_identity(folder: Path) -> str:
    """Content identity of a model folder (its weights files)."""
    weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    return "+".join(sha256_of(w)[:16] for w in weights)


def _cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def cached_stage(folder: Path, key: dict[str, Any], compute: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Run `compute(folder)` unless `folder/stage.json` records the same key; returns the stage's result.

    `compute` may report `prior_seconds` / `prior_cpu_seconds` (time spent before a resume); they are added.
    """
    marker = folder / STAGE_FILE
    key_digest = digest(key)
    if marker.is_file():
        saved = json.loads(marker.read_text(encoding="utf-8"))
        if saved.get("key") == key_digest:
            log(f"{folder.name}: reusing the completed stage")
            return saved["result"]
        log(f"{folder.name}: its inputs or settings changed since the last run, recomputing")
        marker.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    result = compute(folder)
    result = {**result,
              "seconds": round(time.perf_counter() - start + result.pop("prior_seconds", 0.0), 1),
              "cpu_seconds": round(_cpu_seconds() - cpu_start + result.pop("prior_cpu_seconds", 0.0), 1)}
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key_digest, "settings": key, "result": result}, indent=2, default=str) + "\n",
                   encoding="utf-8")
    tmp.replace(marker)
    return result


def stage_key(out: Path, name: str = "splits") -> str:
    """The key digest of a completed stage (a later stage's key names the stage it was made from)."""
    return json.loads((out / name / STAGE_FILE).read_text(encoding="utf-8"))["key"]


def compute_seconds(out: Path) -> dict[str, dict[str, float]]:
    """Wall and CPU seconds each stage took when it was computed (summed over its seeds), from the records."""
    totals: dict[str, dict[str, float]] = {}
    for marker in sorted(out.rglob(STAGE_FILE)):
        stage = marker.parent.relative_to(out).parts[0]
        result = json.loads(marker.read_text(encoding="utf-8"))["result"]
        entry = totals.setdefault(stage, {"seconds": 0.0, "cpu_seconds": 0.0})
        entry["seconds"] = round(entry["seconds"] + result.get("seconds", 0.0), 1)
        entry["cpu_seconds"] = round(entry["cpu_seconds"] + result.get("cpu_seconds", 0.0), 1)
    totals["total"] = {k: round(sum(v[k] for v in totals.values()), 1) for k in ("seconds", "cpu_seconds")}
    return totals
