"""`distilkobert demo` (`make demo`): the main job, offline, on the embedded defaults.

raw texts -> versioned datasets on the Hub -> KoBERT-format tokenizer -> 12-layer teacher (MLM) ->
3-layer student (distillation) -> NSMC evaluation + model cards -> versioned models on the Hub ->
loaded back with AutoModel / AutoTokenizer / pipeline -> the results table.

Stage 1 starts the local Hub; the other stages (:mod:`distilkobert.demo.stages`) are imported after it, once.
`--data-dir ../shared/data` runs the same job on the real NSMC, corpus and KoBERT files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from distilkobert.hub.endpoint import configure_hub_environment

from .config import DEMO_DATA, RECIPES, DemoConfig, DemoRepos, StageError, demo_inputs, stage


def load_stages() -> ModuleType:
    """The stages' module (:mod:`distilkobert.demo.stages`), imported on first use."""
    # lazy on purpose: it imports the Hugging Face libraries, which read HF_ENDPOINT (set by stage 1) when imported
    from distilkobert.demo import stages

    return stages


def run_demo(cfg: DemoConfig) -> dict:
    """Run every stage; returns a summary (also written to OUTPUT/demo_summary.json)."""
    out = cfg.output_dir
    total = 7
    with stage(cfg, 1, total, "start the local Hub", "free a loopback port, or set HF_ENDPOINT to a running Hub"):
        endpoint = configure_hub_environment(out / "hub", use_local=True)  # HF_ENDPOINT, when set, still wins
        print(f"Hub endpoint: {endpoint}")
    stages = load_stages()
    inputs = demo_inputs(cfg)
    repos = DemoRepos(nsmc=cfg.repo("nsmc-demo"), corpus=cfg.repo("korean-corpus-demo"),
                      teacher=cfg.repo("kobert-demo"), student=cfg.repo("distilkobert-demo"))
    with stage(cfg, 2, total, "build and publish the datasets",
               "check the input files named above; a version that already exists needs a new --version"):
        stages.publish_datasets(cfg, inputs, repos)
    tokenizer_dir = out / "tokenizer"
    with stage(cfg, 3, total, "build the KoBERT-format tokenizer (slow + exact fast)",
               "check the corpus files, or lower the vocabulary size"):
        stages.build_tokenizer(inputs, tokenizer_dir)
    models = {"teacher": out / "models" / "teacher", "student": out / "models" / "student",
              "ablation": out / "models" / "student-no-teacher"}
    held_out: dict[str, dict] = {}
    with stage(cfg, 4, total, "train the 12-layer teacher (MLM), distil the 3-layer student, and its ablation",
               "see the training log above; `python train_distill.py recipes/demo.yaml --help` lists the options"):
        held_out.update(stages.train_models(cfg, repos, tokenizer_dir, models))
    results: dict[str, Path] = {}
    with stage(cfg, 5, total, "evaluate teacher and student on NSMC (select on validation, test once)",
               "see the evaluation log above; `python eval_nsmc.py --help` lists the options"):
        stages.evaluate_models(cfg, repos, models, results)
    published = {}
    with stage(cfg, 6, total, "publish teacher and student, load them back from the Hub",
               "a version that already exists needs a new --version; check the Hub endpoint printed above"):
        published = stages.publish_and_reload(cfg, {repos.teacher: models["teacher"],
                                                    repos.student: models["student"]})
    with stage(cfg, 7, total, "results", "the per-model results are in OUTPUT/eval/*/nsmc_results.json"):
        stages.print_results(cfg, results, held_out)
    summary = {
        "endpoint": os.environ.get("HF_ENDPOINT"),
        "version": cfg.version,
        "repos": {"nsmc": repos.nsmc, "corpus": repos.corpus, "teacher": repos.teacher, "student": repos.student},
        "published": published,
        "results": {k: str(p) for k, p in results.items()},
        "held_out_mlm": held_out,
        "timings_s": cfg.timings,
        "quick": cfg.quick,
        "data_dir": str(cfg.data_dir) if cfg.data_dir else None,
    }
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return summary


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="distilkobert demo",
        description="The main job, offline: build and publish the datasets, train the tokenizer, a 12-layer "
                    "teacher and a distilled 3-layer student, evaluate both on NSMC, publish and reload them, "
                    "and print the results table. About 10 minutes on 2 CPU cores with the shipped data.")
    p.add_argument("--output-dir", default="demo_output",
                   help="everything the run writes (default: demo_output; replaced at each run, including the "
                        "local Hub's data under OUTPUT/hub when HF_ENDPOINT is not set)")
    p.add_argument("--data-dir", default=os.environ.get("DATA_DIR") or None,
                   help="run on real data instead of demo_data/: a folder with nsmc/train.tsv.gz, corpus/*.gz and "
                        "optionally kobert/ (e.g. ../shared/data; also read from $DATA_DIR)")
    p.add_argument("--org", default="distilkobert", help="namespace of the published repos (default: distilkobert)")
    p.add_argument("--version", default="v1", help="version tag of everything published (default: v1)")
    p.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44], help="fine-tuning seeds of the evaluation")
    p.add_argument("--quick", action="store_true",
                   help="a shortened run (few steps, small evaluation) used by the end-to-end test")
    p.add_argument("--demo-data-dir", type=Path, default=DEMO_DATA,
                   help="the demo's texts: reviews.tsv, reviews_test.tsv, corpus/*.txt (default: the checkout's "
                        "demo_data/)")
    p.add_argument("--recipes-dir", type=Path, default=RECIPES,
                   help="the folder holding demo-teacher.yaml, demo.yaml and eval-demo.yaml (default: the "
                        "checkout's recipes/)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for flag, folder in (("--recipes-dir", args.recipes_dir),) + (
            (("--demo-data-dir", args.demo_data_dir),) if not args.data_dir else ()):
        if not folder.is_dir():
            print(f"distilkobert demo: {flag} {folder}: no such folder (the demo's inputs are in the project's "
                  f"checkout; pass {flag} pointing into one)", file=sys.stderr)
            return 2
    out = Path(args.output_dir).resolve()
    marker = out / ".distilkobert-demo"
    if out.exists() and not out.is_dir():
        print(f"distilkobert demo: --output-dir {out}: is a file, not a folder", file=sys.stderr)
        return 2
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        print(f"distilkobert demo: --output-dir {out}: {blocking} is a file, not a folder", file=sys.stderr)
        return 2
    if out.exists():
        if any(out.iterdir()) and not marker.exists():
            print(f"distilkobert demo: --output-dir {out} exists and was not written by the demo; "
                  "choose another folder", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    out.mkdir(parents=True)
    marker.write_text("written by `distilkobert demo`; replaced at each run\n", encoding="utf-8")
    cfg = DemoConfig(output_dir=out, data_dir=Path(args.data_dir).resolve() if args.data_dir else None,
                     org=args.org, version=args.version, quick=args.quick, seeds=args.seeds,
                     demo_data=args.demo_data_dir.resolve(), recipes=args.recipes_dir.resolve())
    start = time.perf_counter()
    try:
        run_demo(cfg)
    except StageError as exc:
        print(f"\ndistilkobert demo: {exc}", file=sys.stderr)
        return 1
    total = time.perf_counter() - start
    print("\nStage timings: " + ", ".join(f"{k}: {t:.0f} s" for k, t in cfg.timings.items()))
    print(f"Demo finished in {total / 60:.1f} min; outputs in {out} (summary: demo_summary.json, table: results.md)")
    print(load_stages().space_command(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
