"""The model card (README.md) of a published DistilKoBERT checkpoint.

The card is rendered from `distilkobert/resources/model_card/metadata.yaml` (static Hub metadata) and
`template.md` (body, `string.Template` placeholders; both shipped as package data) with the values of the
training run (`distillation_info.json`) and of the NSMC evaluation (`nsmc_results.json`): nothing about a run
is typed by hand. Every card is checked with huggingface_hub's `ModelCard` / `ModelCardData` parsing (YAML,
`model-index`) before it is returned. NSMC results are read in their one format (`nsmc_results.json`, see
`distilkobert.common.nsmc_results.card_fields`).
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard
from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

from distilkobert.common.front_matter import with_front_matter
from distilkobert.common.nsmc_results import card_fields
from distilkobert.common.tables import markdown_table
from distilkobert.resources import read_resource, render_template

__all__ = [
    "ModelCardError",
    "render_model_card",
    "write_model_card",
    "apply_eval_results",
    "validate_model_card",
    "results_table",
    "NSMC_START",
    "NSMC_END",
]

NSMC_START = "<!-- nsmc-results:start -->"
NSMC_END = "<!-- nsmc-results:end -->"
UNKNOWN = "unknown"
DEFAULT_MODEL_NAME = "distilkobert"
NSMC_TASK = "text-classification"
# pipeline tags the Hub accepts that make sense for this project's checkpoints
_PIPELINE_TAGS = {"fill-mask", "feature-extraction", "text-classification", "token-classification"}
_REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
_YAML_BLOCK_RE = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class ModelCardError(ValueError):
    """A model card (or the values it was rendered from) is not valid Hub card metadata."""


def _card_files() -> tuple[str, str, str]:
    """(metadata.yaml text, template.md text, where they came from): the shipped package data, or the folder
    named by DISTILKOBERT_MODEL_CARD_DIR (a project's own card template)."""
    env = os.environ.get("DISTILKOBERT_MODEL_CARD_DIR")
    if env:
        folder = Path(env)
        if not ((folder / "template.md").is_file() and (folder / "metadata.yaml").is_file()):
            raise ModelCardError(f"DISTILKOBERT_MODEL_CARD_DIR={env}: expected template.md and metadata.yaml there")
        return ((folder / "metadata.yaml").read_text(encoding="utf-8"),
                (folder / "template.md").read_text(encoding="utf-8"), str(folder))
    try:
        return (read_resource("model_card", "metadata.yaml"), read_resource("model_card", "template.md"),
                "distilkobert/resources/model_card")
    except FileNotFoundError as exc:
        raise ModelCardError(str(exc)) from None


# --------------------------------------------------------------------------------------------- helpers


def _get(data: Any, *path: str, default: Any = None) -> Any:
    """data[path[0]][path[1]]...; `default` when any level is missing or not a mapping."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data or data[key] is None:
            return default
        data = data[key]
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return UNKNOWN
    if _is_number(value) and spec:
        return format(value, spec)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _fmt_int(value: Any) -> str:
    return f"{int(value):,}" if _is_number(value) else _fmt(value)


def _pct(value: Any) -> float | None:
    """Metric as a percentage: values in [0, 1] are fractions, larger ones are taken as already in %."""
    if not _is_number(value):
        return None
    return value * 100 if abs(value) <= 1.0 else float(value)


def _hub_id(name: Any) -> str | None:
    """`name` if it looks like a Hub repo id rather than a local path, else None."""
    if not isinstance(name, str) or not _REPO_ID_RE.match(name):
        return None
    if name.startswith((".", "/")) or Path(name).expanduser().exists():
        return None
    return name


def _table(rows: Iterable[tuple[str, str]], header: tuple[str, str] = ("", "")) -> str:
    return markdown_table(list(header), [list(r) for r in rows])


def _as_list(results: Mapping | list | None) -> list[Mapping]:
    if results is None:
        return []
    if isinstance(results, Mapping):
        return [results]
    if isinstance(results, list) and all(isinstance(r, Mapping) for r in results):
        return list(results)
    raise ModelCardError(f"eval results must be a dict or a list of dicts, got {type(results).__name__}")


# ------------------------------------------------------------------------------------ training section


def _no_teacher(info: Mapping | None) -> bool:
    """The run recorded that it had no teacher (MLM alone): `teacher` null or named "none"."""
    if not isinstance(info, Mapping) or "teacher" not in info:
        return False
    teacher = info["teacher"]
    return teacher is None or str(_get(teacher, "name_or_path", default="")).lower() in ("", "none")


def _teacher_text(info: Mapping | None) -> str:
    if _no_teacher(info):
        return "none (the model was trained with the masked-language-model loss alone)"
    teacher = _get(info, "teacher")
    if not isinstance(teacher, Mapping):
        return UNKNOWN
    text = f"`{_get(teacher, 'name_or_path')}`"
    if _get(teacher, "revision"):
        text += f" at revision `{_get(teacher, 'revision')}`"
    details = []
    if _is_number(_get(teacher, "n_layers")):
        details.append(f"{_get(teacher, 'n_layers')} layers")
    has_head = _get(teacher, "has_mlm_head")
    if has_head is not None:
        details.append("with MLM head" if has_head else "encoder only, no MLM head")
    return text + (f" ({', '.join(details)})" if details else "")


def _held_out_text(held: Any) -> str:
    if not isinstance(held, Mapping) or not held:
        return UNKNOWN
    acc = _pct(_get(held, "mlm_accuracy"))
    return (f"MLM loss {_fmt(_get(held, 'mlm_loss'), '.4f')}, accuracy "
            f"{'unknown' if acc is None else f'{acc:.2f}%'} on {_fmt_int(_get(held, 'n_masked'))} masked tokens")


def _distillation_rows(info: Mapping | None) -> list[tuple[str, str]]:
    s = _get(info, "student") or {}
    losses = _get(info, "losses") or {}
    corpus = _get(info, "corpus") or {}
    tr = _get(info, "training") or {}
    hw = _get(info, "hardware") or {}
    held = _get(info, "held_out") or {}
    versions = _get(info, "versions") or {}

    student = UNKNOWN
    if s:
        student = (
            f"{_fmt(_get(s, 'model_type'))}, {_fmt(_get(s, 'n_layers'))} layers, dim {_fmt(_get(s, 'dim'))}, "
            f"{_fmt(_get(s, 'n_heads'))} heads, FFN {_fmt(_get(s, 'hidden_dim'))}, "
            f"vocab {_fmt_int(_get(s, 'vocab_size'))}, {_fmt_int(_get(s, 'n_params'))} parameters"
        )
    layers = _get(info, "student_layers")
    if _no_teacher(info):
        layers_text = "random initialisation (no teacher)"
    else:
        layers_text = UNKNOWN if layers is None else (
            f"teacher layers {_fmt(layers)} copied into the student" if layers else "random initialisation")
    if losses:
        loss_text = (
            f"alpha_ce {_fmt(_get(losses, 'alpha_ce'))} (KL on logits, T = {_fmt(_get(losses, 'temperature'))}, "
            f"positions: {_fmt(_get(losses, 'ce_positions'))}), alpha_mlm {_fmt(_get(losses, 'alpha_mlm'))}, "
            f"alpha_cos {_fmt(_get(losses, 'alpha_cos'))}, alpha_mse {_fmt(_get(losses, 'alpha_mse'))}"
        )
        if _get(losses, "mse_layer_map"):
            loss_text += f" (layer map {json.dumps(_get(losses, 'mse_layer_map'))})"
    else:
        loss_text = UNKNOWN
    corpus_text = UNKNOWN
    if corpus:
        corpus_text = f"`{_fmt(_get(corpus, 'name_or_path'))}`"
        if _get(corpus, "revision"):
            corpus_text += f" at revision `{_get(corpus, 'revision')}`"
        corpus_text += (f": {_fmt_int(_get(corpus, 'n_train_sequences'))} training sequences, "
                        f"{_fmt_int(_get(corpus, 'n_train_tokens'))} tokens")
    batch = UNKNOWN
    if tr:
        batch = (f"{_fmt(_get(tr, 'per_device_batch'))} per device x {_fmt(_get(tr, 'grad_accum'))} accumulation "
                 f"x {_fmt(_get(hw, 'n_devices'))} devices = {_fmt(_get(tr, 'effective_batch'))} sequences per update")
    hardware = UNKNOWN
    if hw:
        hardware = f"{_fmt(_get(hw, 'n_devices'))} x {_fmt(_get(hw, 'device_name') or _get(hw, 'device'))}" \
                   f" ({_fmt(_get(hw, 'device'))}), {_fmt(_get(hw, 'dtype'))}"
    time_s = _get(info, "time_s")
    time_text = f"{time_s / 60:.1f} min" if _is_number(time_s) else UNKNOWN
    held_text = _held_out_text(held)
    versions_text = ", ".join(f"{k} {v}" for k, v in versions.items()) if isinstance(versions, Mapping) and versions \
        else UNKNOWN
    return [
        ("Teacher", _teacher_text(info)),
        ("Student", student),
        ("Initialisation", layers_text),
        ("Losses", loss_text),
        ("Corpus", corpus_text),
        ("Steps", f"{_fmt_int(_get(tr, 'global_step'))} optimiser steps, {_fmt(_get(tr, 'epochs'))} epochs"),
        ("Batch", batch),
        ("Learning rate", _fmt(_get(tr, "learning_rate"))),
        ("Max sequence length", _fmt(_get(tr, "max_seq_length"))),
        ("Seed", _fmt(_get(tr, "seed"))),
        ("Hardware", hardware),
        ("Training time", time_text),
        ("Held-out MLM", held_text),
    ] + ([("Teacher held-out MLM (same masks)", _held_out_text(_get(info, "teacher_held_out")))]
         if isinstance(_get(info, "teacher_held_out"), Mapping) else []) + [
        ("Recipe", _fmt(_recipe_name(_get(info, "recipe")))),
        ("Software", versions_text),
        ("distilkobert version", _fmt(_get(info, "version"))),
    ]


def _recipe_name(recipe: Any) -> Any:
    if isinstance(recipe, Mapping):
        return recipe.get("name") or recipe.get("path") or json.dumps(recipe, ensure_ascii=False)[:200]
    return recipe


# ------------------------------------------------------------------------------------- results section


def _result_fields(result: Mapping) -> dict[str, Any]:
    """The fields of one nsmc_results.json the card uses (None when absent); a wrong schema is a card error."""
    try:
        return card_fields(result)
    except ValueError as exc:
        raise ModelCardError(str(exc)) from exc


def _mean_std(mean: Any, std: Any) -> str | None:
    m = _pct(mean)
    if m is None:
        return None
    s = _pct(std) if _is_number(std) and abs(std) <= 1.0 and abs(mean) <= 1.0 else std
    return f"{m:.2f} ± {s:.2f}" if _is_number(s) else f"{m:.2f}"


def results_table(results: Mapping | list[Mapping] | None) -> str:
    """Markdown table of NSMC results, one column per result; a row is omitted when no result has it."""
    items = [_result_fields(r) for r in _as_list(results)]
    if not items:
        return "No NSMC evaluation has been recorded for this model yet."
    row_specs: list[tuple[str, Any]] = [
        ("Model", lambda f: f["model"] and f"`{f['model']}`"),
        ("Model revision", lambda f: f["revision"] and f"`{f['revision']}`"),
        ("Dataset", lambda f: f["dataset"] and f"`{f['dataset']}`" + (
            f" at `{f['dataset_revision']}`" if f["dataset_revision"] else "")),
        ("NSMC accuracy (%)", lambda f: _mean_std(f["acc"], f["acc_std"])),
        ("NSMC macro-F1 (%)", lambda f: _mean_std(f["f1"], f["f1_std"])),
        ("Seeds", lambda f: None if f["n_seeds"] is None else str(f["n_seeds"])),
        ("Parameters", lambda f: f["n_params"] is not None and _fmt_int(f["n_params"]) or None),
        ("Size (MB)", lambda f: f"{f['size_mb']:.1f}" if _is_number(f["size_mb"]) else None),
        ("Throughput (sentences/s)", lambda f: None if not _is_number(f["throughput"]) else (
            f"{f['throughput']:.1f}" + (
                f" (batch {f['tp_batch']}, {f['tp_device']})" if f["tp_batch"] or f["tp_device"] else ""))),
    ]
    headers = [""] + [str(i + 1) if len(items) > 1 else "" for i in range(len(items))]
    rows = []
    for label, fn in row_specs:
        cells = [fn(f) for f in items]
        if all(c is None for c in cells):
            continue
        rows.append([label] + [c if c else "—" for c in cells])
    table = markdown_table(headers, rows)
    note = ("Accuracy and macro-F1 on the test split, mean ± standard deviation over fine-tuning seeds; "
            "the checkpoint of each seed was selected on the validation split only (`eval_nsmc.py`).")
    return table + "\n\n" + note


def _results_section(results: Mapping | list[Mapping] | None) -> str:
    return f"## NSMC results\n\n{NSMC_START}\n{results_table(results)}\n{NSMC_END}"


def _eval_results(results: Mapping | list[Mapping] | None) -> list:
    """`EvalResult`s for model-index: accuracy and macro-F1 of each NSMC result that has them."""
    out = []
    for r in _as_list(results):
        f = _result_fields(r)
        dataset_type = _hub_id(f["dataset"]) or "nsmc"
        common = dict(task_type=NSMC_TASK, task_name="Sentiment analysis", dataset_type=dataset_type,
                      dataset_name="NSMC", dataset_split=f["split"],
                      dataset_revision=str(f["dataset_revision"]) if f["dataset_revision"] else None)
        n = f" (mean of {f['n_seeds']} seeds)" if f["n_seeds"] else ""
        if _is_number(f["acc"]):
            out.append(EvalResult(metric_type="accuracy", metric_value=round(float(f["acc"]), 6),
                                  metric_name=f"Accuracy{n}", **common))
        if _is_number(f["f1"]):
            out.append(EvalResult(metric_type="f1", metric_value=round(float(f["f1"]), 6),
                                  metric_name=f"Macro-F1{n}", metric_args={"average": "macro"}, **common))
    return out


def _merge_model_index(existing: Any, new_results: list, model_name: str) -> list:
    """Replace the NSMC entries of an existing model-index (keeping every other entry) with new ones."""
    kept = []
    if existing:
        try:
            name, old = model_index_to_eval_results(existing)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelCardError(f"the card's existing model-index cannot be parsed ({exc!r}); "
                                 "fix or remove it") from exc
        model_name = model_name or name
        kept = [r for r in old if not (r.task_type == NSMC_TASK and r.dataset_name == "NSMC")]
    merged = kept + new_results
    return eval_results_to_model_index(model_name, merged) if merged else []


# ------------------------------------------------------------------------------------------ validation


def _split_card(text: str) -> tuple[dict, str]:
    """(metadata dict, body) of a card; ({}, text) when it has no YAML block."""
    m = _YAML_BLOCK_RE.match(text)
    if not m:
        return {}, text
    try:
        data = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ModelCardError(f"the card's YAML metadata block is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelCardError("the card's YAML metadata block must be a mapping")
    return data, text[m.end():]


def _join_card(meta: Mapping, body: str) -> str:
    return with_front_matter(meta, body if body.startswith("\n") else "\n" + body)


def validate_model_card(text: str):
    """Parse `text` with huggingface_hub's ModelCard and check the metadata the Hub needs.

    Returns the `ModelCard`; raises `ModelCardError` naming the problem. Offline: the Hub's own
    `/api/validate-yaml` check runs again at upload time.
    """
    meta, _ = _split_card(text)
    if not meta:
        raise ModelCardError("the model card has no YAML metadata block (--- ... --- at the top)")
    try:
        card = ModelCard(text, ignore_metadata_errors=False)
    except ValueError as exc:
        raise ModelCardError(f"invalid model card metadata: {exc}") from exc
    data = card.data
    problems = []
    langs = [data.language] if isinstance(data.language, str) else (data.language or [])
    if not langs or not all(isinstance(x, str) and re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", x) for x in langs):
        problems.append(f"language must be ISO codes such as 'ko', got {data.language!r}")
    if not isinstance(data.license, str) or not data.license:
        problems.append(f"license must be a licence id such as 'apache-2.0', got {data.license!r}")
    if data.library_name != "transformers":
        problems.append(f"library_name must be 'transformers', got {data.library_name!r}")
    if data.pipeline_tag not in _PIPELINE_TAGS:
        problems.append(f"pipeline_tag {data.pipeline_tag!r} is not one of {sorted(_PIPELINE_TAGS)}")
    for key in ("tags", "datasets"):
        value = meta.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{key} must be a list of strings, got {value!r}")
    base = meta.get("base_model")
    if base is not None and not (isinstance(base, str) and _REPO_ID_RE.match(base)):
        problems.append(f"base_model must be a Hub repo id, got {base!r}")
    widget = meta.get("widget")
    if widget is not None:
        if not isinstance(widget, list) or not all(isinstance(w, dict) and isinstance(w.get("text"), str)
                                                   for w in widget):
            problems.append("widget must be a list of {text: ...} entries")
        elif data.pipeline_tag == "fill-mask":
            bad = [w["text"] for w in widget if w["text"].count("[MASK]") != 1]
            if bad:
                problems.append(f"fill-mask widget examples need exactly one [MASK]: {bad}")
    for r in data.eval_results or []:
        if not _is_number(r.metric_value):
            problems.append(f"model-index metric {r.metric_type!r} has a non-numeric value {r.metric_value!r}")
    if problems:
        raise ModelCardError("invalid model card metadata: " + "; ".join(problems))
    return card


# ---------------------------------------------------------------------------------------- public API


def render_model_card(
    *,
    repo_id: str | None,
    training_info: dict | None,
    eval_results: dict | list[dict] | None,
    base_model: str | None = None,
    revision: str | None = None,
) -> str:
    """README.md text (YAML metadata + body) for a checkpoint, validated before it is returned.

    `training_info` is `distillation_info.json`, `eval_results` one or more `nsmc_results.json`; any missing
    value is written as "unknown" (or its row omitted), never invented. `base_model` defaults to the teacher
    when that is a Hub repo id. `revision` (optional) is shown in the usage snippets.
    """
    if training_info is not None and not isinstance(training_info, Mapping):
        raise ModelCardError(f"training_info must be a dict, got {type(training_info).__name__}")
    if repo_id is not None and not _REPO_ID_RE.match(repo_id):
        raise ModelCardError(f"repo_id {repo_id!r} is not a Hub repo id (namespace/name)")
    results = _as_list(eval_results)
    metadata_text, template_text, where = _card_files()
    meta = _card_metadata(metadata_text, where, training_info, results, base_model,
                          repo_id.split("/")[-1] if repo_id else DEFAULT_MODEL_NAME)
    student = _get(training_info, "student") or {}
    values = {
        "title": repo_id.split("/")[-1] if repo_id else "DistilKoBERT",
        "training_heading": "How it was trained" if _no_teacher(training_info) else "How it was distilled",
        "summary": _summary(training_info),
        "model_type": _fmt(_get(student, "model_type")),
        "student_layers_text": f"{_fmt(_get(student, 'n_layers'))} layers",
        "license": meta.get("license", UNKNOWN),
        "teacher_text": _teacher_text(training_info),
        "vocab_size_text": _fmt_int(_get(student, "vocab_size")),
        "distillation_table": _table(_distillation_rows(training_info), ("", "value")),
        "results_section": _results_section(results),
        "repo_id": repo_id or "path/to/model",
        "revision_arg": f', revision="{revision}"' if revision else "",
        "data_limitation": _data_limitation(training_info),
    }
    try:
        body = render_template(template_text, values, name=f"{where}/template.md")
    except ValueError as exc:
        raise ModelCardError(str(exc)) from exc
    text = _join_card(meta, body)
    validate_model_card(text)
    return text


def _card_metadata(metadata_text: str, where: str, training_info: Mapping | None, results: list[Mapping],
                   base_model: str | None, model_name: str) -> dict:
    """The card's YAML metadata: the static metadata.yaml with the run's datasets, base model and model-index."""
    try:
        meta = yaml.safe_load(metadata_text) or {}
    except yaml.YAMLError as exc:
        raise ModelCardError(f"{where}/metadata.yaml: invalid YAML: {exc}") from exc
    meta = copy.deepcopy(meta)
    datasets = list(meta.get("datasets") or [])
    for name in [_get(training_info, "corpus", "name_or_path")] + [_result_fields(r)["dataset"] for r in results]:
        hub = _hub_id(name)
        if hub and hub not in datasets:
            datasets.append(hub)
    if datasets:
        meta["datasets"] = datasets
    base = base_model or _hub_id(_get(training_info, "teacher", "name_or_path"))
    if base and str(base).lower() != "none":
        meta["base_model"] = base
    new_eval = _eval_results(results)
    if new_eval:
        meta["model-index"] = _merge_model_index(None, new_eval, model_name)
    return meta


def _summary(training_info: Mapping | None) -> str:
    """The card's one-sentence summary: how deep the model is and how it was trained."""
    n_layers = _get(training_info, "student", "n_layers")
    teacher_layers = _get(training_info, "teacher", "n_layers")
    size = f"{n_layers}-layer " if n_layers is not None else "small "
    teacher_size = f"{teacher_layers}-layer " if teacher_layers is not None else ""
    if _no_teacher(training_info):
        how = "trained with the masked-language-model objective alone"
    elif isinstance(_get(training_info, "teacher"), Mapping):
        how = f"distilled from a {teacher_size}KoBERT-family teacher with the DistilBERT recipe"
    else:
        how = "for masked language modelling"
    return f"A {size}Korean BERT {how}, published with the distilkobert project tooling."


def _data_limitation(training_info: Mapping | None) -> str:
    """What the training corpus was, and a warning when it is too small for a useful encoder."""
    corpus_tokens = _get(training_info, "corpus", "n_train_tokens")
    corpus_name = _get(training_info, "corpus", "name_or_path")
    if corpus_name is None and corpus_tokens is None:
        return "The training corpus of this checkpoint was not recorded."
    return (f"This checkpoint was trained on {_fmt_int(corpus_tokens)} tokens of `{_fmt(corpus_name)}` "
            f"(recipe `{_fmt(_recipe_name(_get(training_info, 'recipe')))}`)"
            + ("; a corpus this small gives a demonstration model, not a useful Korean encoder."
               if _is_number(corpus_tokens) and corpus_tokens < 50_000_000 else "."))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelCardError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc


def write_model_card(
    model_dir: str | os.PathLike,
    *,
    repo_id: str | None = None,
    training_info: dict | None = None,
    eval_results: dict | list[dict] | None = None,
    base_model: str | None = None,
    revision: str | None = None,
) -> Path:
    """Render the card into `model_dir/README.md`; reads distillation_info.json / nsmc_results.json there
    when the corresponding argument is None. Returns the README path."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelCardError(f"model folder {model_dir} does not exist")
    if training_info is None and (model_dir / "distillation_info.json").is_file():
        training_info = _read_json(model_dir / "distillation_info.json")
    if eval_results is None and (model_dir / "nsmc_results.json").is_file():
        eval_results = _read_json(model_dir / "nsmc_results.json")
    text = render_model_card(repo_id=repo_id, training_info=training_info, eval_results=eval_results,
                             base_model=base_model, revision=revision)
    path = model_dir / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def apply_eval_results(card_text: str, results: dict | list[dict], *, repo_id: str | None = None) -> str:
    """Put NSMC results into any card: YAML model-index (other entries kept) and the results table between
    the nsmc-results markers (section appended when absent). Works on an empty or foreign card."""
    meta, body = _split_card(card_text or "")
    new_eval = _eval_results(results)
    if new_eval:
        existing = meta.get("model-index")
        name = repo_id.split("/")[-1] if repo_id else None
        if not name and isinstance(existing, list) and existing and isinstance(existing[0], Mapping):
            name = existing[0].get("name")
        meta["model-index"] = _merge_model_index(existing, new_eval, name or DEFAULT_MODEL_NAME)
    table = results_table(results)
    start, end = body.find(NSMC_START), body.find(NSMC_END)
    if 0 <= start < end:
        body = body[:start] + f"{NSMC_START}\n{table}\n{NSMC_END}" + body[end + len(NSMC_END):]
    else:
        body = body.rstrip("\n") + ("\n\n" if body.strip() else "\n") + _results_section(results) + "\n"
    text = _join_card(meta, body)
    # a foreign card may lack language/licence etc.: only the parts we wrote must parse
    try:
        ModelCard(text, ignore_metadata_errors=False)
    except ValueError as exc:
        raise ModelCardError(f"updated card metadata is invalid: {exc}") from exc
    return text
