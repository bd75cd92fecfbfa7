"""The results JSON (`nsmc_results.json`), its human-readable table, and `--compare` of several results.

Layout of nsmc_results.json (schema_version 1), the keys other tools read:
  model:     name_or_path, label, revision, resolved_revision, is_local, model_type, architectures,
             parameters {total, encoder}, checkpoint_weights_mb, checkpoint_weight_files, evaluated_model_mb
  tokenizer: name_or_path, revision, class, vocab_size, pad_token_id
  dataset:   name, revision, resolved_revision, is_local, original_splits, used_splits,
             validation_carved_from_train, subsets, label_counts, token_stats {split: {rows, empty_documents,
             truncated_documents, max_tokens, mean_tokens}}
  hyperparameters: every fine-tuning and data option
  per_seed:  [{seed, selection {best_step, best_epoch, best_validation_accuracy, evaluations}, validation,
             test {accuracy, f1_macro, rows}, training, throughput, timings}]
  aggregate: {test_accuracy, test_f1_macro, validation_accuracy, validation_f1_macro, throughput_sentences_per_second}
             each {mean, std, n, values}
  selection: protocol, split_accesses (ordered log), test_evaluations, test_read_during_training
  timings, versions, machine, command, created_at

`card_fields` is the one reader of this layout for the model card (`distilkobert.model_card`).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from distilkobert.common.environment import library_versions, machine_info
from distilkobert.common.tables import markdown_table

SCHEMA_VERSION = 1
RESULTS_FILE = "nsmc_results.json"

# `library_versions` and `machine_info` (distilkobert.common.environment) are recorded in every results file.
__all__ = ["SCHEMA_VERSION", "RESULTS_FILE", "mean_std", "aggregate", "library_versions", "machine_info",
           "format_results_table", "load_results", "compare_rows", "format_compare_table", "write_compare_output",
           "card_fields"]


def mean_std(values: Sequence[float]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value)."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return {"mean": None, "std": None, "n": 0, "values": []}
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "std": std, "n": len(values), "values": values}


def aggregate(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "test_accuracy": mean_std([r["test"]["accuracy"] for r in per_seed]),
        "test_f1_macro": mean_std([r["test"]["f1_macro"] for r in per_seed]),
        "validation_accuracy": mean_std([r["validation"]["accuracy"] for r in per_seed]),
        "validation_f1_macro": mean_std([r["validation"]["f1_macro"] for r in per_seed]),
        "throughput_sentences_per_second": mean_std([r["throughput"]["sentences_per_second"] for r in per_seed]),
    }


def _pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}"


def format_results_table(results: dict[str, Any]) -> str:
    """A short human-readable summary: one line per seed, then mean +/- std, sizes and throughput."""
    m, d = results["model"], results["dataset"]
    title = (f"NSMC results: {m['label']} ({m.get('resolved_revision') or m.get('revision') or 'local'}) on "
             f"{d['name']} (train {d['used_splits']['train']}, validation {d['used_splits']['validation']}"
             f"{' carved from train' if d['validation_carved_from_train'] else ''}, test {d['used_splits']['test']})")
    rows = [[r["seed"], r["selection"]["best_step"], _pct(r["validation"]["accuracy"]), _pct(r["test"]["accuracy"]),
             _pct(r["test"]["f1_macro"]), f"{r['timings']['train_seconds']:.1f}",
             r["throughput"]["sentences_per_second"]] for r in results["per_seed"]]
    a = results["aggregate"]
    rows.append(["mean ± std", "",
                 f"{_pct(a['validation_accuracy']['mean'])} ± {_pct(a['validation_accuracy']['std'])}",
                 f"{_pct(a['test_accuracy']['mean'])} ± {_pct(a['test_accuracy']['std'])}",
                 f"{_pct(a['test_f1_macro']['mean'])} ± {_pct(a['test_f1_macro']['std'])}", "", ""])
    lines = [title, "", markdown_table(["seed", "best step", "val acc (%)", "test acc (%)", "test macro-F1 (%)",
                                        "train (s)", "test sent/s"], rows, align="rrrrrrr")]
    tp = results["per_seed"][0]["throughput"] if results["per_seed"] else {}
    stats = d.get("token_stats", {})
    lines += ["",
              f"parameters {m['parameters']['total']:,} (encoder {m['parameters']['encoder']:,}); checkpoint weights "
              f"{m['checkpoint_weights_mb']} MB; fine-tuned classifier {m['evaluated_model_mb']} MB",
              f"throughput on test: batch {tp.get('batch_size')}, device {tp.get('device')}, "
              f"{tp.get('torch_threads')} threads, {tp.get('dtype')}, tokenization excluded",
              "documents: " + "; ".join(f"{s}: {v['empty_documents']} empty (kept), {v['truncated_documents']} "
                                        f"truncated at {results['hyperparameters']['max_seq_length']} tokens"
                                        for s, v in stats.items()),
              "selection: best validation accuracy per seed; test evaluated once per seed after training"]
    return "\n".join(lines)


def load_results(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"--compare: {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"--compare: {path} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    for key in ("model", "aggregate"):
        if key not in data:
            raise ValueError(f"--compare: {path} is not an nsmc_results.json (no {key!r} key)")
    return data


def compare_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per results file: size, accuracy, retained accuracy and relative speed vs the first."""
    ref = results[0]
    ref_acc = ref["aggregate"]["test_accuracy"]["mean"]
    ref_speed = ref["aggregate"]["throughput_sentences_per_second"]["mean"]
    rows = []
    for r in results:
        acc = r["aggregate"]["test_accuracy"]
        speed = r["aggregate"]["throughput_sentences_per_second"]["mean"]
        rows.append({
            "model": r["model"].get("label") or r["model"]["name_or_path"],
            "revision": r["model"].get("resolved_revision") or r["model"].get("revision"),
            "size_mb": r["model"].get("checkpoint_weights_mb"),
            "parameters": r["model"].get("parameters", {}).get("total"),
            "accuracy_mean": acc["mean"], "accuracy_std": acc["std"], "seeds": acc["n"],
            "f1_macro_mean": r["aggregate"]["test_f1_macro"]["mean"],
            "retained_pct": 100 * acc["mean"] / ref_acc if ref_acc else None,
            "sentences_per_second": speed,
            "relative_speed": speed / ref_speed if speed and ref_speed else None,
            "device": _device_label((r.get("per_seed") or [{}])[0].get("throughput", {})),
        })
    return rows


def _device_label(tp: dict[str, Any]) -> str | None:
    if not tp.get("device"):
        return None
    return f"{tp['device']}, {tp.get('torch_threads')} threads, batch {tp.get('batch_size')}"


def _size(mb: float | None) -> str:
    if mb is None:
        return "-"
    return f"{mb:.0f}" if mb >= 100 else f"{mb:.1f}" if mb >= 1 else f"{mb:.2f}"


def format_compare_table(rows: list[dict[str, Any]]) -> str:
    """The original DistilKoBERT README table (Size MB, NSMC acc %) plus retained accuracy and speed."""
    cells = []
    for r in rows:
        acc = _pct(r["accuracy_mean"])
        if r["seeds"] and r["seeds"] > 1:
            acc += f" ± {_pct(r['accuracy_std'])}"
        cells.append([r["model"], _size(r["size_mb"]), acc,
                      "-" if r["retained_pct"] is None else f"{r['retained_pct']:.1f}",
                      "-" if r["relative_speed"] is None else f"{r['relative_speed']:.2f}x"])
    lines = markdown_table(["Model", "Size (MB)", "NSMC acc (%)", "Retained (%)", "Relative speed"], cells,
                           align="lrrrr", pad=True).splitlines()
    devices = {r["device"] for r in rows}
    notes = ["", "Size: checkpoint weight files (MB); NSMC acc: test accuracy, mean over seeds, checkpoint "
                 "selected on validation; retained and speed relative to the first row."]
    if len(devices) > 1:
        conditions = "; ".join(sorted(map(str, devices)))
        notes.append(f"WARNING: throughput was measured under different conditions ({conditions}):"
                     " relative speed is not comparable.")
    else:
        notes.append(f"Throughput measured on {devices.pop()}, tokenization excluded.")
    return "\n".join(lines + notes)


def write_compare_output(rows: list[dict[str, Any]], table: str, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps({"rows": rows}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        path.write_text(table + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------------------ the card's view

def _get(data: Any, *path: str) -> Any:
    """data[path[0]][path[1]]...; None when a level is missing or not a mapping (a partial file never crashes)."""
    for key in path:
        if not isinstance(data, Mapping) or data.get(key) is None:
            return None
        data = data[key]
    return data


def card_fields(results: Mapping[str, Any]) -> dict[str, Any]:
    """What a model card shows of one nsmc_results.json: model and dataset (with revisions), accuracy and macro-F1
    (mean and std over seeds), seeds, parameters, size and throughput; None for anything the file lacks.

    Raises ValueError for a file of another schema_version (a file without one is read as version 1).
    """
    version = results.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ValueError(f"{RESULTS_FILE} has schema_version {version!r}; this version of distilkobert reads "
                         f"{SCHEMA_VERSION}")
    model = _get(results, "model")
    if isinstance(model, Mapping):
        # a local model folder is named by the repo it is published to (or its label), never by a local path
        name = (model.get("hub_repo_id") or model.get("label")) if model.get("is_local") else (
            model.get("name_or_path") or model.get("label"))
    else:
        name = model if isinstance(model, str) else None
    per_seed = _get(results, "per_seed")
    per_seed = per_seed if isinstance(per_seed, list) else None
    first_seed = per_seed[0] if per_seed and isinstance(per_seed[0], Mapping) else {}
    throughput = _get(first_seed, "throughput") or {}
    return {
        "model": name,
        "revision": _get(results, "model", "resolved_revision") or _get(results, "model", "revision"),
        "dataset": _get(results, "dataset", "name"),
        "dataset_revision": _get(results, "dataset", "resolved_revision") or _get(results, "dataset", "revision"),
        "split": "test",
        "acc": _get(results, "aggregate", "test_accuracy", "mean"),
        "acc_std": _get(results, "aggregate", "test_accuracy", "std"),
        "f1": _get(results, "aggregate", "test_f1_macro", "mean"),
        "f1_std": _get(results, "aggregate", "test_f1_macro", "std"),
        "n_seeds": len(per_seed) if per_seed is not None else _get(results, "aggregate", "test_accuracy", "n"),
        "n_params": _get(results, "model", "parameters", "total"),
        "size_mb": _get(results, "model", "checkpoint_weights_mb"),
        "throughput": _get(results, "aggregate", "throughput_sentences_per_second", "mean"),
        "tp_batch": _get(throughput, "batch_size"),
        "tp_device": _get(throughput, "device"),
    }
