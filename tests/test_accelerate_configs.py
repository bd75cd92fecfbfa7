"""The `accelerate launch` configs in recipes/accelerate/: each parses with accelerate's own loader, is used by a
command in docs/scaling.md, and (where the backend runs on CPU) starts a real 1-step distillation run."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.tiny_bert import build_wordpiece_tokenizer, tiny_bert_teacher, write_corpus_dataset

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "recipes" / "accelerate"
CORPUS = Path(__file__).parent / "data" / "distill_corpus.txt"
ACCELERATE = [sys.executable, "-m", "accelerate.commands.launch"]


def _config(name: str):
    from accelerate.commands.config.config_args import load_config_from_file

    return load_config_from_file(str(CONFIGS / name))


def test_every_config_parses_and_is_documented():
    readme = (ROOT / "docs" / "scaling.md").read_text("utf-8")  # the README's page on several GPUs and nodes
    names = sorted(p.name for p in CONFIGS.glob("*.yaml"))
    assert names == ["deepspeed-zero2.yaml", "one-node-8gpu.yaml", "two-nodes-8gpu.yaml"]
    for name in names:
        assert f"--config_file recipes/accelerate/{name}" in readme, f"{name}: no command in docs/scaling.md uses it"
        assert type(_config(name)).__name__ == "ClusterConfig"


def test_config_contents():
    one = _config("one-node-8gpu.yaml")
    assert one.distributed_type == "MULTI_GPU" and one.num_machines == 1 and one.num_processes == 8
    two = _config("two-nodes-8gpu.yaml")
    assert two.distributed_type == "MULTI_GPU" and two.num_machines == 2 and two.num_processes == 16
    assert two.main_process_ip == "MAIN_IP" and two.main_process_port == 29500  # placeholder, set per launch
    ds = _config("deepspeed-zero2.yaml")
    assert ds.distributed_type == "DEEPSPEED" and ds.num_processes == 8
    ds_file = ROOT / ds.deepspeed_config["deepspeed_config_file"]
    settings = json.loads(ds_file.read_text("utf-8"))
    assert settings["zero_optimization"]["stage"] == 2
    # batch sizes, accumulation and clipping come from the training arguments ("auto"), never fixed twice
    for key in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping"):
        assert settings[key] == "auto", key
    assert "optimizer" not in settings and "scheduler" not in settings  # the recipe's own AdamW + linear schedule


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("accelerate")
    lines = [x for x in CORPUS.read_text("utf-8").splitlines() if x]
    tok = build_wordpiece_tokenizer(lines, root / "tok", vocab_size=400)
    write_corpus_dataset(lines, root / "corpus")
    tiny_bert_teacher(len(tok), root / "teacher", n_layers=6, max_len=64)
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train_args(root: Path, out: Path) -> list[str]:
    return ["train_distill.py", "--teacher_name_or_path", str(root / "teacher"), "--tokenizer_name_or_path",
            str(root / "tok"), "--student_layers", "0,2,4", "--dataset_name_or_path", str(root / "corpus"),
            "--cache_dir", str(root / "cache"), "--output_dir", str(out), "--max_seq_length", "48", "--use_cpu", "true",
            "--disable_tqdm", "true", "--max_steps", "1", "--save_strategy", "no", "--max_eval_sequences", "8",
            "--per_device_train_batch_size", "4", "--report_to", "none"]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def _check_run(out: Path, n_devices: int) -> None:
    info = json.loads((out / "distillation_info.json").read_text("utf-8"))
    assert info["training"]["global_step"] == 1 and info["hardware"]["n_devices"] == n_devices


@pytest.mark.slow
def test_one_node_config_runs_two_cpu_processes(tiny, tmp_path):
    out = tmp_path / "run"
    cmd = [*ACCELERATE, "--config_file", str(CONFIGS / "one-node-8gpu.yaml"), "--num_processes", "2",
           "--main_process_port", str(_free_port()), "--mixed_precision", "no", *_train_args(tiny, out)]
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    _check_run(out, 2)


@pytest.mark.slow
def test_two_node_config_runs_as_two_local_nodes(tiny, tmp_path):
    """Both machine ranks on this machine (main_process_ip 127.0.0.1), one CPU process each."""
    out, port = tmp_path / "run", _free_port()
    procs = [subprocess.Popen([*ACCELERATE, "--config_file", str(CONFIGS / "two-nodes-8gpu.yaml"), "--num_processes",
                               "2", "--machine_rank", str(rank), "--main_process_ip", "127.0.0.1",
                               "--main_process_port", str(port), "--rdzv_conf", "timeout=120", "--mixed_precision",
                               "no", *_train_args(tiny, out)], cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for rank in (0, 1)]
    try:
        errors = [p.communicate(timeout=600)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(e[-3000:] for e in errors)
    _check_run(out, 2)


def test_deepspeed_config_fills_from_training_arguments():
    """transformers fills the "auto" values of the ZeRO-2 file from the training arguments (needs deepspeed).

    No CPU run for this backend: on CPU deepspeed 0.19 JIT-compiles its shared-memory communication op and did
    not finish one 2-process step in 5 minutes on the project machine; ZeRO-2 is for GPUs.
    """
    if importlib.util.find_spec("deepspeed") is None:
        pytest.skip("deepspeed is not installed (optional extra: pip install 'distilkobert[deepspeed]')")
    from transformers import DistilBertConfig, DistilBertForMaskedLM, TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    ds_file = ROOT / _config("deepspeed-zero2.yaml").deepspeed_config["deepspeed_config_file"]
    args = TrainingArguments(output_dir="unused", per_device_train_batch_size=64, gradient_accumulation_steps=8,
                             max_grad_norm=5.0, use_cpu=True, report_to="none")
    config = HfTrainerDeepSpeedConfig(str(ds_file))
    config.trainer_config_process(args)
    model = DistilBertForMaskedLM(DistilBertConfig(vocab_size=100, dim=32, n_layers=1, n_heads=2, hidden_dim=64))
    config.trainer_config_finalize(args, model, num_training_steps=100)
    filled = config.config
    assert filled["train_micro_batch_size_per_gpu"] == 64 and filled["gradient_accumulation_steps"] == 8
    assert filled["train_batch_size"] == 64 * 8 * args.world_size and filled["gradient_clipping"] == 5.0
    assert filled["zero_optimization"]["reduce_bucket_size"] == 32 * 32
