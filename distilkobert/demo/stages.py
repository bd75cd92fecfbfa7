"""The demo's stages 2 to 7 and the Space command it prints last: each calls the same `main(argv)` as its
command-line tool and prints that command, so any stage can be rerun by hand.

Imported once, by :mod:`distilkobert.demo.run`, after stage 1 has configured the Hub endpoint: the modules
imported here import the Hugging Face libraries, which read HF_ENDPOINT when imported.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer, pipeline

from distilkobert.common.tables import markdown_table
from distilkobert.data import cli as dataset_cli
from distilkobert.distill import run as train_cli
from distilkobert.evaluation import run as eval_cli
from distilkobert.hub.publish import publish_model_folder
from distilkobert.model_card import write_model_card
from distilkobert.serving.publish import selected_seed
from distilkobert.tokenization import cli as tokenizer_cli

from .config import DemoConfig, DemoRepos


def call(label: str, func: Callable[[Sequence[str]], int | None], argv: list[str]) -> None:
    """Run one tool's main(argv), echoing the equivalent command line; a non-zero exit is an error."""
    print(f"$ {label} {' '.join(shlex.quote(a) for a in argv)}", flush=True)
    code = func(argv)
    if code not in (0, None):
        raise RuntimeError(f"`{label}` exited with code {code}")


def publish_datasets(cfg: DemoConfig, inputs: dict, repos: DemoRepos) -> None:
    """Stage 2: the NSMC and corpus datasets, built and published with the run's version."""
    out, v = cfg.output_dir, cfg.version
    call("distilkobert dataset nsmc", dataset_cli.nsmc_main, [
        "--train-file", str(inputs["nsmc_train"]), "--test-file", str(inputs["nsmc_test"]),
        "--validation-size", str(inputs["validation_size"]), "--seed", "42",
        "--output-dir", str(out / "datasets" / "nsmc"), "--overwrite",
        "--push-to-hub", repos.nsmc, "--version", v])
    licence_args = [a for lic in inputs["corpus_licence"] for a in ("--source-licence", lic)]
    call("distilkobert dataset corpus", dataset_cli.corpus_main, [
        *inputs["corpus"], "--output-dir", str(out / "datasets" / "corpus"), "--overwrite",
        "--validation-fraction", "0.05", *licence_args,
        "--push-to-hub", repos.corpus, "--version", v])


def build_tokenizer(inputs: dict, tokenizer_dir: Path) -> None:
    """Stage 3: the KoBERT-format tokenizer, from the KoBERT files when given, else trained on the corpus."""
    if inputs["kobert"]:
        sp_model, vocab = inputs["kobert"]
        call("distilkobert tokenizer build", tokenizer_cli.build_main, [
            "--sp-model", str(sp_model), "--vocab", str(vocab), "--output-dir", str(tokenizer_dir)])
    else:
        call("distilkobert tokenizer train", tokenizer_cli.train_main, [
            "--input", *inputs["corpus"], "--vocab-size", str(inputs["vocab_size"]),
            "--output-dir", str(tokenizer_dir)])


def train_models(cfg: DemoConfig, repos: DemoRepos, tokenizer_dir: Path, models: dict[str, Path]) -> dict[str, dict]:
    """Stage 4: the teacher (MLM), the distilled student and its ablation; their held-out MLM results."""
    v = cfg.version
    quick = ["--max_steps", "20", "--save_steps", "10", "--logging_steps", "5"] if cfg.quick else []
    data_args = ["--dataset_name_or_path", repos.corpus, "--dataset_revision", v]
    if cfg.data_dir is not None:
        data_args += ["--max_train_texts", "2000" if cfg.quick else "200000"]
    teacher_dir, student_dir, ablation_dir = models["teacher"], models["student"], models["ablation"]
    call("python train_distill.py", train_cli.main, [
        str(cfg.recipes / "demo-teacher.yaml"), "--tokenizer_name_or_path", str(tokenizer_dir),
        *data_args, "--output_dir", str(teacher_dir), "--version", v, *quick])
    call("python train_distill.py", train_cli.main, [
        str(cfg.recipes / "demo.yaml"), "--teacher_name_or_path", str(teacher_dir),
        *data_args, "--output_dir", str(student_dir), "--version", v, *quick])
    # The ablation: the same student, initialised from the same teacher layers, trained without the teacher.
    call("python train_distill.py", train_cli.main, [
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


def evaluate_models(cfg: DemoConfig, repos: DemoRepos, models: dict[str, Path], results: dict[str, Path]) -> None:
    """Stage 5: `eval_nsmc.py` on teacher and student (select on validation, test once); fills `results`."""
    # the hyper-parameters are the recipe's; --quick and --data-dir only shorten the run, as for training
    eval_quick = (["--max_train_samples", "300", "--max_test_samples", "200", "--num_train_epochs", "1"]
                  if cfg.quick else [])
    if cfg.data_dir is not None and not cfg.quick:
        eval_quick = ["--max_train_samples", "20000", "--num_train_epochs", "1"]
    for name in ("teacher", "student"):
        model_dir, eval_dir = models[name], cfg.output_dir / "eval" / name
        call("python eval_nsmc.py", eval_cli.main, [
            str(cfg.recipes / "eval-demo.yaml"),
            "--model_name_or_path", str(model_dir), "--dataset_name", repos.nsmc, "--dataset_revision",
            cfg.version, "--output_dir", str(eval_dir), "--seeds", *map(str, cfg.seeds),
            "--model_label", f"{name} ({'12' if name == 'teacher' else '3'} layers)", "--save_models",
            *eval_quick])
        results[name] = eval_dir / "nsmc_results.json"
        shutil.copy(results[name], model_dir / "nsmc_results.json")


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
    """Stage 6: publish each model folder with the run's version, then load it back from the Hub as a user would."""
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


def print_results(cfg: DemoConfig, results: dict[str, Path], held_out: dict[str, dict]) -> None:
    """Stage 7: the NSMC comparison table and the held-out MLM table, printed and written to results.md."""
    out = cfg.output_dir
    call("python eval_nsmc.py", eval_cli.main, [
        "--compare", str(results["teacher"]), str(results["student"]),
        "--compare_output", str(out / "results.md")])
    lines = ["", "Held-out masked-LM (corpus validation split, same masks for every model):",
             markdown_table(["Model", "MLM loss", "MLM accuracy (%)"],
                            [[name, f"{r['mlm_loss']:.3f}", f"{100 * r['mlm_accuracy']:.1f}"]
                             for name, r in held_out.items()])]
    print("\n".join(lines))
    with open(out / "results.md", "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def space_command(out: Path) -> str:
    """The command that opens the Space app on the demo's fine-tuned student, its teacher in the Compare tab:
    the seed each evaluation selected on validation (kept by --save_models)."""
    folders = []
    for name in ("student", "teacher"):
        results = json.loads((out / "eval" / name / "nsmc_results.json").read_text(encoding="utf-8"))
        folders.append(out / "eval" / name / f"seed-{selected_seed(results)['seed']}" / "model")
    return (f"Open the Space on the demo's classifiers: distilkobert space --model {shlex.quote(str(folders[0]))} "
            f"--teacher {shlex.quote(str(folders[1]))}")
