"""`distilkobert study RECIPE`: real results on real Korean data, in the shape of the original DistilKoBERT table.

The stages (`distilkobert.study.stages`) each write a folder under --output-dir with a `stage.json` recording the
content they were made from; a rerun reuses every completed stage whose inputs are unchanged, and a stage killed
half-way continues from its last checkpoint, so a stopped study resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from distilkobert.common.environment import library_versions, machine_info
from distilkobert.study import stages
from distilkobert.study.cache import OUTPUT_MARKER, compute_seconds, log
from distilkobert.study.checks import check_before_work, config_from_args
from distilkobert.study.config import StudyConfig, StudyConfigError, build_config, build_parser, load_recipe
from distilkobert.study.estimate import estimate, format_estimate
from distilkobert.study.publish import publish_models
from distilkobert.study.report import (
    ROW_FASTTEXT,
    ROW_FASTTEXT_ALL,
    ROW_FASTTEXT_QUANTIZED,
    ROW_GENERAL,
    ROW_ONNX,
    ROW_TASK,
    ROW_TRUNCATED,
    correct_per_row,
    format_target,
    markdown,
    plot,
    summarise,
    targets,
    teacher_row,
    weights_info,
)


def teacher_name(teacher: str | Path) -> str:
    """The teacher's name for the table: the model it was imported from, else its folder's name."""
    info = Path(teacher) / "import_info.json"
    if info.is_file():
        return json.loads(info.read_text(encoding="utf-8")).get("source_model", "").split("/")[-1] or \
            Path(teacher).name
    return Path(teacher).name


def train_models(cfg: StudyConfig, out: Path, timed: Callable[[str, Callable[[], Any]], Any]) -> dict[str, Any]:
    """Every trained model of the study, stage by stage: teacher, labels, students, export, baselines."""
    teacher_dir = timed("trim", lambda: stages.stage_trim(cfg, out))
    teacher = timed("teacher fine-tuning", lambda: stages.run_seeds("teacher", teacher_dir, cfg, out,
                                                                    cfg.teacher_finetune))
    best_teacher = Path(best(teacher)["model_dir"])
    log(f"soft labels from the teacher of seed {best(teacher)['seed']} (best on validation)")
    logits = timed("teacher labels", lambda: stages.stage_labels(cfg, out, best_teacher))
    init_dir = timed("student init", lambda: stages.stage_truncated(cfg, out, teacher_dir))
    general_dir = timed("general distillation", lambda: stages.stage_general(cfg, out, teacher_dir))
    td = cfg.task_distill
    task_train = stages.task_distill_data(out, general_dir, td.max_seq_length, logits)
    task = timed("task distillation", lambda: stages.run_seeds(
        "student-task", general_dir, cfg, out, td, train_ds=task_train,
        extra_key={"soft_labels": stages.stage_key(out, "teacher-labels")}))
    truncated = timed("truncated fine-tuning", lambda: stages.run_seeds("student-truncated", init_dir, cfg, out,
                                                                        cfg.student_finetune))
    general = timed("general fine-tuning", lambda: stages.run_seeds("student-general-ft", general_dir, cfg, out,
                                                                    cfg.student_finetune))
    export = timed("int8 export", lambda: stages.stage_export(cfg, out, Path(best(task)["model_dir"])))
    fasttext = timed("fasttext", lambda: stages.stage_fasttext(cfg, out)) if cfg.fasttext else []
    fasttext_all = timed("fasttext, all rows", lambda: stages.stage_fasttext(cfg, out, all_rows=True)) \
        if cfg.fasttext and cfg.train_size is not None else []
    return {"teacher": teacher, "teacher_dir": teacher_dir, "task": task, "truncated": truncated,
            "general": general, "general_dir": general_dir, "export": export, "fasttext": fasttext,
            "fasttext_all": fasttext_all}


def best(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The seed selected on validation."""
    return max(results, key=lambda r: r["best_validation_accuracy"])


def result_rows(cfg: StudyConfig, out: Path, trained: dict[str, Any]) -> tuple[dict, dict, dict]:
    """Table rows (name -> per-seed results), the model folder of each PyTorch row, and per-row correctness on
    the test rows of the model selected on validation (for the paired bootstrap)."""
    teacher = teacher_row(teacher_name(cfg.teacher))
    export = trained["export"]
    rows = {ROW_FASTTEXT_ALL: trained["fasttext_all"], ROW_FASTTEXT: trained["fasttext"],
            ROW_FASTTEXT_QUANTIZED: [{**r, **r["quantized"], "size": {"size_mb": r["quantized"]["size_mb"]}}
                                     for r in trained["fasttext"] if "quantized" in r],
            teacher: trained["teacher"], ROW_TRUNCATED: trained["truncated"], ROW_GENERAL: trained["general"],
            ROW_TASK: trained["task"],
            ROW_ONNX: [{"test_accuracy": export["test_accuracy"], "size": {
                "size_mb": export["size_mb"],
                "parameters": weights_info(Path(best(trained["task"])["model_dir"]))["parameters"]}}]}
    rows = {name: results for name, results in rows.items() if results}  # a FastText row may be off or failed
    models = {teacher: Path(best(trained["teacher"])["model_dir"])}
    for name, key in ((ROW_TRUNCATED, "truncated"), (ROW_GENERAL, "general"), (ROW_TASK, "task")):
        models[name] = Path(best(trained[key])["model_dir"])
    labels = stages.test_labels(out)
    files = {name: path.parent / "test_predictions.npy" for name, path in models.items()}
    files[ROW_ONNX] = out / "student-onnx" / "test_predictions.npy"
    if trained["fasttext"]:
        folder = Path(best(trained["fasttext"])["model_dir"])
        files[ROW_FASTTEXT] = folder / "test_predictions.npy"
        files[ROW_FASTTEXT_QUANTIZED] = folder / "test_predictions.quantized.npy"
    correct = {name: correct_per_row(f, labels) for name, f in files.items() if f.is_file()}
    return rows, models, correct


def compute_hours(seconds: dict[str, dict[str, float]]) -> float:
    """Hours of the machine's cores the stages used: CPU seconds / cores. Unlike wall-clock seconds this does
    not grow when other work shares the machine (the wall-clock seconds are reported beside it)."""
    cores = min(torch.get_num_threads(), os.cpu_count() or 1)
    return seconds["total"]["cpu_seconds"] / cores / 3600


def write_report(cfg: StudyConfig, out: Path, trained: dict[str, Any], stage_times: dict[str, float]) -> dict:
    """The table, targets and picture: printed and written to results.json / results.md / results.png."""
    rows, models, correct = result_rows(cfg, out, trained)
    teacher = teacher_row(teacher_name(cfg.teacher))
    speed = stages.stage_speed(cfg, out, models, {ROW_ONNX: Path(trained["export"]["export_dir"])})
    table = summarise(rows, models, speed, teacher)
    seconds = compute_seconds(out)
    report = {
        "mode": cfg.mode, "teacher": teacher_name(cfg.teacher), "table": table,
        "targets": targets(correct, table, teacher, samples=cfg.bootstrap_samples,
                           compute_hours=compute_hours(seconds), budget_hours=cfg.budget_hours),
        "splits": json.loads((out / "splits" / "stage.json").read_text())["result"],
        "trim": json.loads((trained["teacher_dir"] / "vocab_trim.json").read_text()) if cfg.trim_vocabulary else None,
        "labels": json.loads((out / "teacher-labels" / "stage.json").read_text())["result"],
        "export": trained["export"], "speed": speed, "stage_seconds": stage_times, "compute_seconds": seconds,
        "config": json.loads(json.dumps(cfg, default=lambda o: o.__dict__)),
        "machine": {**machine_info(), "torch_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "versions": library_versions(), "models": {name: str(path) for name, path in models.items()},
    }
    (out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(table)
    (out / "results.md").write_text(text + "\n", encoding="utf-8")
    try:
        plot(table, out / "results.png", f"NSMC, {cfg.mode} recipe: {len(correct.get(ROW_TASK, []))} test reviews")
    except ImportError:
        log("results.png: not drawn (pip install 'distilkobert[study]' for matplotlib)")
    print(text)
    for t in report["targets"]:
        print(format_target(t))
    print(f"compute per stage (wall / CPU seconds, as recorded when each ran): {report['compute_seconds']}")
    return report


def run(cfg: StudyConfig, *, push_to_hub: str | None = None, version: str | None = None) -> dict[str, Any]:
    """Every stage, then the table (printed, results.json / .md / .png); optionally publish the models."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / OUTPUT_MARKER).write_text(json.dumps({"written_by": "distilkobert study"}) + "\n", encoding="utf-8")
    stage_times: dict[str, float] = {}

    def timed(name: str, func: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = func()
        stage_times[name] = round(time.perf_counter() - start, 1)
        return value

    timed("splits", lambda: stages.stage_splits(cfg, out))
    trained = train_models(cfg, out, timed)
    report = write_report(cfg, out, trained, stage_times)
    if push_to_hub:
        report["published"] = publish_models(report, trained, push_to_hub, version or "v1", cfg)
        (out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(args, load_recipe, build_config)
        check_before_work(cfg, args)
    except StudyConfigError as err:
        parser.error(str(err))
    if args.estimate:
        print(format_estimate(estimate(cfg)))
        return 0
    run(cfg, push_to_hub=args.push_to_hub, version=args.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
