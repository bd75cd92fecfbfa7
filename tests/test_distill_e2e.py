"""End to end on tiny models: MLM-only teacher -> distilled 3-layer student -> versioned push to the local Hub ->
`from_pretrained(repo, revision=TAG)` gives the local student's outputs; a re-used version is refused; a run
killed after a checkpoint resumes to the same final step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers.tiny_bert import build_wordpiece_tokenizer, write_corpus_dataset

CORPUS = Path(__file__).parent / "data" / "distill_corpus.txt"
TEACHER_CONFIG = json.dumps({"hidden_size": 32, "num_hidden_layers": 12, "num_attention_heads": 2,
                             "intermediate_size": 64, "max_position_embeddings": 64})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    lines = [x for x in CORPUS.read_text("utf-8").splitlines() if x]
    build_wordpiece_tokenizer(lines, root / "tok", vocab_size=400)
    write_corpus_dataset(lines, root / "corpus")
    return root


def _common(root, out):
    return ["--dataset_name_or_path", str(root / "corpus"), "--cache_dir", str(root / "cache"), "--output_dir",
            str(out), "--max_seq_length", "48", "--per_device_train_batch_size", "16", "--use_cpu", "true",
            "--disable_tqdm", "true", "--logging_steps", "5", "--max_eval_sequences", "32", "--learning_rate", "2e-3"]


@pytest.mark.slow
def test_teacher_student_push_and_reload(data, tmp_path, unique_repo_id, hub_api):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from distilkobert.distill.run import main

    teacher_dir, student_dir = tmp_path / "teacher", tmp_path / "student"
    assert main(["--teacher_name_or_path", "none", "--tokenizer_name_or_path", str(data / "tok"),
                 "--student_model_type", "bert", "--student_config", TEACHER_CONFIG, "--alpha_ce", "0",
                 "--alpha_cos", "0", "--alpha_mlm", "1", "--max_steps", "30", "--save_steps", "30",
                 *_common(data, teacher_dir)]) == 0
    t_info = json.loads((teacher_dir / "distillation_info.json").read_text())
    assert t_info["teacher"] is None and t_info["student"]["n_layers"] == 12

    repo = unique_repo_id("distil-e2e")
    args = ["--teacher_name_or_path", str(teacher_dir), "--student_layers", "0,4,8", "--max_steps", "20",
            "--save_steps", "10", "--push_to_hub", "true", "--hub_model_id", repo, "--version", "v1",
            *_common(data, student_dir)]
    assert main(args) == 0
    info = json.loads((student_dir / "distillation_info.json").read_text())
    assert info["student"]["n_layers"] == 3 and info["student_layers"] == [0, 4, 8]
    assert info["teacher"]["has_mlm_head"] and info["training"]["global_step"] == 20
    for key in ("mlm_loss", "mlm_accuracy", "n_masked"):
        assert key in info["held_out"]

    refs = hub_api.list_repo_refs(repo)
    tags = {t.name for t in refs.tags}
    assert {"v1", "v1-step-10", "v1-step-20"} <= tags
    assert "v1-checkpoints" in {b.name for b in refs.branches}
    files = set(hub_api.list_repo_files(repo, revision="v1"))
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md",
            "distillation_info.json"} <= files
    assert not any(f.startswith("checkpoint-") for f in files)
    ckpt_files = set(hub_api.list_repo_files(repo, revision="v1-step-10"))
    assert {"model.safetensors", "trainer_state.json", "optimizer.pt"} <= ckpt_files

    remote = AutoModelForMaskedLM.from_pretrained(repo, revision="v1").eval()
    local = AutoModelForMaskedLM.from_pretrained(str(student_dir)).eval()
    remote_tok = AutoTokenizer.from_pretrained(repo, revision="v1")
    local_tok = AutoTokenizer.from_pretrained(str(student_dir))
    texts = ["오늘 아침에는 비가 많이 내려서 우산을 챙겨 나갔다.", "한국어 모델을 [MASK]합니다."]
    enc_r = remote_tok(texts, padding=True, return_tensors="pt")
    enc_l = local_tok(texts, padding=True, return_tensors="pt")
    assert torch.equal(enc_r["input_ids"], enc_l["input_ids"])
    assert type(remote).__name__ == "DistilBertForMaskedLM" and remote.config.pad_token_id == 1
    with torch.no_grad():
        out_r = remote(input_ids=enc_r["input_ids"], attention_mask=enc_r["attention_mask"]).logits
        out_l = local(input_ids=enc_l["input_ids"], attention_mask=enc_l["attention_mask"]).logits
    assert torch.equal(out_r, out_l)

    # the same version again is refused before any training
    again = tmp_path / "again"
    assert main([*args[:-len(_common(data, student_dir))], *_common(data, again)]) == 2
    assert not list(again.glob("checkpoint-*"))


@pytest.mark.slow
def test_killed_run_resumes(data, tmp_path):
    """A training process killed after its first checkpoint resumes to the same final step, checkpoints kept."""
    out = tmp_path / "run"
    args = [sys.executable, "-m", "distilkobert.cli", "train", "--teacher_name_or_path", "none",
            "--tokenizer_name_or_path", str(data / "tok"), "--student_model_type", "bert", "--student_config",
            TEACHER_CONFIG, "--alpha_ce", "0", "--alpha_cos", "0", "--alpha_mlm", "1", "--max_steps", "40",
            "--save_steps", "5", *_common(data, out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while not (out / "checkpoint-10" / "trainer_state.json").exists():
            assert proc.poll() is None, "training ended before it could be killed"
            assert time.time() < deadline
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # a process killed while saving leaves a checkpoint without trainer_state.json: make sure there is one
    newest = max(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*"))
    if newest + 5 < 40:
        partial = out / f"checkpoint-{newest + 5}"
        partial.mkdir(exist_ok=True)
        (partial / "config.json").write_text("{}")
    before = sorted(p.name for p in out.glob("checkpoint-*"))
    assert "checkpoint-40" not in before
    done = subprocess.run(args + ["--resume_from_checkpoint", "true"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    info = json.loads((out / "distillation_info.json").read_text())
    assert info["training"]["global_step"] == 40
    after = {p.name for p in out.glob("checkpoint-*")}
    assert set(before) <= after and "checkpoint-40" in after
