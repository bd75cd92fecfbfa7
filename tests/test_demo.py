"""The main job (`distilkobert demo`), shortened with --quick, run end to end as a user runs it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from distilkobert.data.nsmc import split_real_nsmc
from distilkobert.hub.server import HubServer


def test_real_nsmc_split_keeps_every_line_once(tmp_path):
    """The --data-dir mode's train/test carve of an NSMC file: byte-identical lines, none lost, none shared."""
    source = tmp_path / "nsmc.tsv"
    rows = [f"{i}\t리뷰 {i} \"\"\"인용\"\"\" 끝\t{i % 2}\n" for i in range(2000)]
    source.write_text("id\tdocument\tlabel\n" + "".join(rows), encoding="utf-8")
    train, test = split_real_nsmc(source, tmp_path / "out", test_size=200)
    train_rows = train.read_text(encoding="utf-8").splitlines(keepends=True)
    test_rows = test.read_text(encoding="utf-8").splitlines(keepends=True)
    assert train_rows[0] == test_rows[0] == "id\tdocument\tlabel\n"
    assert sorted(train_rows[1:] + test_rows[1:]) == sorted(rows)
    assert 120 < len(test_rows) - 1 < 280  # about test_size rows, chosen by a hash of the id
    again, _ = split_real_nsmc(source, tmp_path / "again", test_size=200)
    assert again.read_text(encoding="utf-8") == train.read_text(encoding="utf-8")  # deterministic


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path):
    """Data -> Hub -> tokenizer -> teacher -> student -> eval -> cards -> Hub -> reload -> table, offline,
    with the demo's own local Hub (HF_ENDPOINT unset, as on a fresh machine)."""
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp_path / "hf_home"), HF_HUB_OFFLINE="0", DISTILKOBERT_HUB_DIR=str(tmp_path / "unused"))
    proc = subprocess.run([sys.executable, "-m", "distilkobert.cli", "demo", "--quick", "--seeds", "42",
                           "--output-dir", str(out)], env=env, capture_output=True, text=True, timeout=1500)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    for n in range(1, 8):  # one line when each stage starts and one with its time when it ends
        assert f"=== [{n}/7] " in log and any(line.startswith(f"=== [{n}/7] ") and ": done in " in line
                                              for line in log.splitlines()), n
    summary = json.loads((out / "demo_summary.json").read_text(encoding="utf-8"))
    assert set(summary["timings_s"]) and len(summary["timings_s"]) == 7
    table = (out / "results.md").read_text(encoding="utf-8")
    assert "teacher (12 layers)" in table and "student (3 layers)" in table and "Retained" in table
    assert set(summary["held_out_mlm"]) == {"teacher", "student (distilled)", "student (no teacher)"}
    assert "student (no teacher)" in table

    # What was published is on the demo's Hub (in OUTPUT/hub), tagged v1, with a card holding the NSMC results.
    from huggingface_hub import HfApi, hf_hub_download

    with HubServer(out / "hub") as hub:
        api = HfApi(endpoint=hub.url, token="unused-in-open-mode")
        repos = summary["repos"]
        for kind, repo in repos.items():
            repo_type = "dataset" if kind in ("nsmc", "corpus") else "model"
            tags = {t.name: t.target_commit for t in api.list_repo_refs(repo, repo_type=repo_type).tags}
            assert "v1" in tags, (repo, tags)
            if repo_type == "model":
                assert summary["published"][repo]["commit_sha"] == tags["v1"]
        student = repos["student"]
        card = Path(hf_hub_download(student, "README.md", revision="v1", endpoint=hub.url,
                                    cache_dir=tmp_path / "dl")).read_text(encoding="utf-8")
        assert "model-index" in card and "accuracy" in card and f"# {student.split('/')[1]}" in card
        info = json.loads(Path(hf_hub_download(student, "distillation_info.json", revision="v1", endpoint=hub.url,
                                               cache_dir=tmp_path / "dl")).read_text(encoding="utf-8"))
        assert info["teacher"]["name_or_path"] == repos["teacher"] and info["teacher"]["revision"] == "v1"
        assert info["student_layers"] == [0, 4, 8] and info["student"]["n_layers"] == 3
        files = {f for f in api.list_repo_files(student, revision="v1")}
        assert {"config.json", "model.safetensors", "tokenizer.json", "tokenization_kobert.py", "spiece.model",
                "vocab.txt", "README.md"} <= files
        assert not any(f.startswith("checkpoint-") for f in files)
    for repo, entry in summary["published"].items():
        assert len(entry["fill_mask"]) == 3, (repo, entry)

    # The last line: the command that opens the Space app on the demo's fine-tuned classifiers.
    prefix = "Open the Space on the demo's classifiers: "
    assert proc.stdout.splitlines()[-1].startswith(prefix), proc.stdout[-2000:]
    command = shlex.split(proc.stdout.splitlines()[-1][len(prefix):])
    assert command[:2] == ["distilkobert", "space"] and command[2::2] == ["--model", "--teacher"]
    from distilkobert.serving.space import load_model

    for folder in command[3::2]:
        assert Path(folder).parent.parent.parent == out / "eval"
        assert load_model(folder).classifier.predict(["재미있어요"])[0]["label"] in {"negative", "positive"}


def test_space_command_names_the_models_selected_on_validation(tmp_path):
    from distilkobert.demo.stages import space_command

    out = tmp_path / "demo out"
    for name, accuracies in (("student", {42: 0.71, 43: 0.74, 44: 0.74}), ("teacher", {42: 0.80, 43: 0.78})):
        (out / "eval" / name).mkdir(parents=True)
        per_seed = [{"seed": seed, "validation": {"accuracy": acc}, "test": {"accuracy": 0.9}}
                    for seed, acc in accuracies.items()]
        (out / "eval" / name / "nsmc_results.json").write_text(json.dumps({"per_seed": per_seed}), encoding="utf-8")
    line = space_command(out)
    assert line.startswith("Open the Space on the demo's classifiers: distilkobert space --model ")
    command = shlex.split(line.split(": ", 1)[1])
    assert command == ["distilkobert", "space", "--model", str(out / "eval" / "student" / "seed-43" / "model"),
                       "--teacher", str(out / "eval" / "teacher" / "seed-42" / "model")]


def test_bad_data_dir_fails_with_a_clear_message(tmp_path):
    """A failure says what is wrong and where, with a non-zero exit, not a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_HOME"] = str(tmp_path / "hf_home")
    proc = subprocess.run([sys.executable, "-m", "distilkobert.cli", "demo", "--data-dir", str(tmp_path / "missing"),
                           "--output-dir", str(tmp_path / "out")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1
    assert "nsmc/train.tsv.gz" in proc.stderr and "Traceback" not in proc.stderr


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "notes.txt").write_text("내 메모", encoding="utf-8")
    from distilkobert.demo.run import main

    assert main(["--output-dir", str(keep)]) == 2
    assert (keep / "notes.txt").read_text(encoding="utf-8") == "내 메모"
