"""The main job, offline, on the embedded defaults (`make demo` / `distilkobert demo`).

raw texts -> versioned datasets on the Hub -> KoBERT-format tokenizer -> 12-layer teacher (MLM) ->
3-layer student (distillation) -> NSMC evaluation + model cards -> versioned models on the Hub ->
loaded back with AutoModel / AutoTokenizer / pipeline -> the results table.

Every stage calls the same `main(argv)` as its command-line tool and prints that command, so any stage can
be rerun by hand. `--data-dir ../shared/data` runs the same job on the real NSMC, corpus and KoBERT files.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from distilkobert.common.tables import markdown_table
from distilkobert.data.nsmc import split_real_nsmc
from distilkobert.hub.endpoint import configure_hub_environment

# The demo's inputs live in the checkout, not in the package: its texts (demo_data/) and its recipes (recipes/).
# These are the defaults of --demo-data-dir / --recipes-dir; an installed package is pointed at a checkout.
REPO_ROOT = Path(__file__).resolve().parent.parent
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


def call(label: str, func: Callable[[Sequence[str]], int | None], argv: list[str]) -> None:
    """Run one tool's main(argv), echoing the equivalent command line; a non-zero exit is an error."""
    print(f"$ {label} {' '.join(shlex.quote(a) for a in argv)}", flush=True)
    code = func(argv)
    if code not in (0, None):
        raise RuntimeError(f"`{label}` exited with code {code}")


# -- inputs ---------------------------------------------------------------------------------------------------------

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


# -- the job --------------------------------------------------------------------------------------------------------

@dataclass
class DemoRepos:
    """The Hub repos the demo publishes to (all under --org, all tagged --version)."""

    nsmc: str
    corpus: str
    teacher: str
    student: str


@dataclass
class DemoTools:
    """The command-line tools the stages call (their `main` functions), imported once the Hub is configured."""

    dataset: Any
    train: Any
    evaluate: Any
    tokenizer: Any


def import_tools() -> DemoTools:
    """The tools' modules, imported after the endpoint is configured: the HF libraries read it at import time."""
    # lazy on purpose: these modules import the Hugging Face libraries, which read HF_ENDPOINT when imported
    from distilkobert.data import cli as dataset_cli
    from distilkobert.distill import run as train_cli
    from distilkobert.evaluation import run as eval_cli
    from distilkobert.tokenization import cli as tokenizer_cli

    return DemoTools(dataset=dataset_cli, train=train_cli, evaluate=eval_cli, tokenizer=tokenizer_cli)


def publish_datasets(cfg: DemoConfig, tools: DemoTools, inputs: dict, repos: DemoRepos) -> None:
    """Stage 2: the NSMC and corpus datasets, built and published with the run's version."""
    out, v = cfg.output_dir, cfg.version
    call("distilkobert dataset nsmc", tools.dataset.nsmc_main, [
        "--train-file", str(inputs["nsmc_train"]), "--test-file", str(inputs["nsmc_test"]),
        "--validation-size", str(inputs["validation_size"]), "--seed", "42",
        "--output-dir", str(out / "datasets" / "nsmc"), "--overwrite",
        "--push-to-hub", repos.nsmc, "--version", v])
    licence_args = [a for lic in inputs["corpus_licence"] for a in ("--source-licence", lic)]
    call("distilkobert dataset corpus", tools.dataset.corpus_main, [
        *inputs["corpus"], "--output-dir", str(out / "datasets" / "corpus"), "--overwrite",
        "--validation-fraction", "0.05", *licence_args,
        "--push-to-hub", repos.corpus, "--version", v])


def build_tokenizer(tools: DemoTools, inputs: dict, tokenizer_dir: Path) -> None:
    """Stage 3: the KoBERT-format tokenizer, from the KoBERT files when given, else trained on the corpus."""
    if inputs["kobert"]:
        sp_model, vocab = inputs["kobert"]
        call("distilkobert tokenizer build", tools.tokenizer.build_main, [
            "--sp-model", str(sp_model), "--vocab", str(vocab), "--output-dir", str(tokenizer_dir)])
    else:
        call("distilkobert tokenizer train", tools.tokenizer.train_main, [
            "--input", *inputs["corpus"], "--vocab-size", str(inputs["vocab_size"]),
            "--output-dir", str(tokenizer_dir)])


def train_models(cfg: DemoConfig, tools: DemoTools, repos: DemoRepos, tokenizer_dir: Path,
                 models: dict[str, Path]) -> dict[str, dict]:
    """Stage 4: the teacher (MLM), the distilled student and its ablation; their held-out MLM results."""
    v = cfg.version
    quick = ["--max_steps", "20", "--save_steps", "10", "--logging_steps", "5"] if cfg.quick else []
    data_args = ["--dataset_name_or_path", repos.corpus, "--dataset_revision", v]
    if cfg.data_dir is not None:
        data_args += ["--max_train_texts", "2000" if cfg.quick else "200000"]
    teacher_dir, student_dir, ablation_dir = models["teacher"], models["student"], models["ablation"]
    call("python train_distill.py", tools.train.main, [
        str(cfg.recipes / "demo-teacher.yaml"), "--tokenizer_name_or_path", str(tokenizer_dir),
        *data_args, "--output_dir", str(teacher_dir), "--version", v, *quick])
    call("python train_distill.py", tools.train.main, [
        str(cfg.recipes / "demo.yaml"), "--teacher_name_or_path", str(teacher_dir),
        *data_args, "--output_dir", str(student_dir), "--version", v, *quick])
    # The ablation: the same student, initialised from the same teacher layers, trained without the teacher.
    call("python train_distill.py", tools.train.main, [
        str(cfg.recipes / "demo.yaml"), "--teacher_name_or_path", str(teacher_dir),
        "--alpha_ce", "0", "--alpha_cos", "0", "--alpha_mse", "0", "--alpha_mlm", "1",
        *data_args, "--output_dir", str(ablation_dir), "--save_strategy", "no", *quick])
    held_out = {name: json.loads((d / "distillation_info.json").read_text(encoding="utf-8"))["held_out"]
                for name, d in (("teacher", teacher_dir), ("student (distilled)", student_dir),
                                ("student (no teacher)", ablation_dir))}
    print("held-out MLM on the corpus' validation split (same masks): " + "; ".join(
        f"{name}: loss {r['mlm_loss']:.3f}, accuracy {100 * r['mlm_accuracy']:.1f}%"
        for name, r in held_out.items()))
    return held_out


def evaluate_models(cfg: DemoConfig, tools: DemoTools, repos: DemoRepos, models: dict[str, Path],
                    results: dict[str, Path]) -> None:
    """Stage 5: `eval_nsmc.py` on teacher and student (select on validation, test once); fills `results`."""
    # the hyper-parameters are the recipe's; --quick and --data-dir only shorten the run, as for training
    eval_quick = (["--max_train_samples", "300", "--max_test_samples", "200", "--num_train_epochs", "1"]
                  if cfg.quick else [])
    if cfg.data_dir is not None and not cfg.quick:
        eval_quick = ["--max_train_samples", "20000", "--num_train_epochs", "1"]
    for name in ("teacher", "student"):
        model_dir, eval_dir = models[name], cfg.output_dir / "eval" / name
        call("python eval_nsmc.py", tools.evaluate.main, [
            str(cfg.recipes / "eval-demo.yaml"),
            "--model_name_or_path", str(model_dir), "--dataset_name", repos.nsmc, "--dataset_revision",
            cfg.version, "--output_dir", str(eval_dir), "--seeds", *map(str, cfg.seeds),
            "--model_label", f"{name} ({'12' if name == 'teacher' else '3'} layers)", "--save_models",
            *eval_quick])
        results[name] = eval_dir / "nsmc_results.json"
        shutil.copy(results[name], model_dir / "nsmc_results.json")


def print_results(cfg: DemoConfig, tools: DemoTools, results: dict[str, Path], held_out: dict[str, dict]) -> None:
    """Stage 7: the NSMC comparison table and the held-out MLM table, printed and written to results.md."""
    out = cfg.output_dir
    call("python eval_nsmc.py", tools.evaluate.main, [
        "--compare", str(results["teacher"]), str(results["student"]),
        "--compare_output", str(out / "results.md")])
    lines = ["", "Held-out masked-LM (corpus validation split, same masks for every model):",
             markdown_table(["Model", "MLM loss", "MLM accuracy (%)"],
                            [[name, f"{r['mlm_loss']:.3f}", f"{100 * r['mlm_accuracy']:.1f}"]
                             for name, r in held_out.items()])]
    print("\n".join(lines))
    with open(out / "results.md", "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def run_demo(cfg: DemoConfig) -> dict:
    """Run every stage; returns a summary (also written to OUTPUT/demo_summary.json)."""
    out = cfg.output_dir
    total = 7
    with stage(cfg, 1, total, "start the local Hub", "free a loopback port, or set HF_ENDPOINT to a running Hub"):
        endpoint = configure_hub_environment(out / "hub", use_local=True)  # HF_ENDPOINT, when set, still wins
        print(f"Hub endpoint: {endpoint}")
    tools = import_tools()
    inputs = demo_inputs(cfg)
    repos = DemoRepos(nsmc=cfg.repo("nsmc-demo"), corpus=cfg.repo("korean-corpus-demo"),
                      teacher=cfg.repo("kobert-demo"), student=cfg.repo("distilkobert-demo"))
    with stage(cfg, 2, total, "build and publish the datasets",
               "check the input files named above; a version that already exists needs a new --version"):
        publish_datasets(cfg, tools, inputs, repos)
    tokenizer_dir = out / "tokenizer"
    with stage(cfg, 3, total, "build the KoBERT-format tokenizer (slow + exact fast)",
               "check the corpus files, or lower the vocabulary size"):
        build_tokenizer(tools, inputs, tokenizer_dir)
    models = {"teacher": out / "models" / "teacher", "student": out / "models" / "student",
              "ablation": out / "models" / "student-no-teacher"}
    held_out: dict[str, dict] = {}
    with stage(cfg, 4, total, "train the 12-layer teacher (MLM), distil the 3-layer student, and its ablation",
               "see the training log above; `python train_distill.py recipes/demo.yaml --help` lists the options"):
        held_out.update(train_models(cfg, tools, repos, tokenizer_dir, models))
    results: dict[str, Path] = {}
    with stage(cfg, 5, total, "evaluate teacher and student on NSMC (select on validation, test once)",
               "see the evaluation log above; `python eval_nsmc.py --help` lists the options"):
        evaluate_models(cfg, tools, repos, models, results)
    published = {}
    with stage(cfg, 6, total, "publish teacher and student, load them back from the Hub",
               "a version that already exists needs a new --version; check the Hub endpoint printed above"):
        published = publish_and_reload(cfg, {repos.teacher: models["teacher"], repos.student: models["student"]})
    with stage(cfg, 7, total, "results", "the per-model results are in OUTPUT/eval/*/nsmc_results.json"):
        print_results(cfg, tools, results, held_out)
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


def space_command(out: Path) -> str:
    """The command that opens the Space app on the demo's fine-tuned student, its teacher in the Compare tab:
    the seed each evaluation selected on validation (kept by --save_models)."""
    from distilkobert.serving.publish import selected_seed  # a Hugging Face import: after the run, like the others

    folders = []
    for name in ("student", "teacher"):
        results = json.loads((out / "eval" / name / "nsmc_results.json").read_text(encoding="utf-8"))
        folders.append(out / "eval" / name / f"seed-{selected_seed(results)['seed']}" / "model")
    return (f"Open the Space on the demo's classifiers: distilkobert space --model {shlex.quote(str(folders[0]))} "
            f"--teacher {shlex.quote(str(folders[1]))}")


def point_teacher_at_hub(folder: Path, local_to_repo: dict[str, str], version: str) -> None:
    """A student distilled from a local teacher folder that is published in the same run names the teacher's
    repo and version in its training record (the folder's path is kept as `local_path`)."""
    info_path = folder / "distillation_info.json"
    if not info_path.is_file():
        return
    info = json.loads(info_path.read_text(encoding="utf-8"))
    teacher = info.get("teacher") or {}
    repo = local_to_repo.get(str(Path(teacher.get("name_or_path", "")).resolve())) if teacher else None
    if repo is None:
        return
    teacher.update({"local_path": teacher["name_or_path"], "name_or_path": repo, "revision": version})
    info_path.write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")


def publish_and_reload(cfg: DemoConfig, models: dict[str, Path]) -> dict:
    """Publish each model folder with the run's version, then load it back from the Hub as a user would."""
    # lazy on purpose: Hugging Face imports, after the endpoint is configured (they read HF_ENDPOINT when imported)
    from transformers import AutoModel, AutoTokenizer, pipeline

    from distilkobert.hub.publish import publish_model_folder
    from distilkobert.model_card import write_model_card

    published: dict[str, dict] = {}
    local_to_repo = {str(folder.resolve()): repo_id for repo_id, folder in models.items()}
    for repo_id, folder in models.items():
        point_teacher_at_hub(folder, local_to_repo, cfg.version)
        write_model_card(folder, repo_id=repo_id)  # the card names the repo it is published to
        res = publish_model_folder(folder, repo_id, cfg.version)
        print(f"published {repo_id}@{cfg.version} (commit {res.commit_sha[:10]}) at {res.url}")
        tokenizer = AutoTokenizer.from_pretrained(repo_id, revision=cfg.version)
        model = AutoModel.from_pretrained(repo_id, revision=cfg.version)
        batch = tokenizer(["이 영화 정말 재미있어요"], return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**batch)[0]
        fill = pipeline("fill-mask", model=repo_id, revision=cfg.version)
        sentence = f"이 영화 정말 {fill.tokenizer.mask_token}"
        top = fill(sentence, top_k=3)
        print(f"  AutoTokenizer -> {type(tokenizer).__name__}; AutoModel -> {type(model).__name__}, "
              f"last hidden state {tuple(hidden.shape)}")
        print(f"  fill-mask {sentence!r}: " + ", ".join(f"{p['token_str']!r} {p['score']:.3f}" for p in top))
        published[repo_id] = {"tag": cfg.version, "commit_sha": res.commit_sha, "url": res.url,
                              "fill_mask": [p["token_str"] for p in top]}
    return published


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
    print(space_command(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
