"""Two processes (torchrun, gloo on CPU) train exactly like one process with the same global batch.

What makes them equal: accelerate shards the sampler's per-device batches round-robin over the processes
(process r takes batches r, r + N, ...), so one update of N processes x A accumulation steps sees the same
per-device micro-batches as one process with N x A accumulation steps; the masking collator seeds each
micro-batch from (seed, epoch, its content), so those micro-batches also get the same masks; dropout is 0 in the
tiny models; the distillation trainer normalises every loss by denominators summed over the whole update (and
over processes), so gradients are the same up to float summation order.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from distilkobert.distill.distributed import accumulation_for_global_batch

from helpers.tiny_bert import build_wordpiece_tokenizer, tiny_bert_teacher, write_corpus_dataset

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "data" / "distill_corpus.txt"
TERMS = ("loss", "loss_ce", "loss_mlm", "loss_cos", "grad_norm")



def test_global_batch_gives_the_accumulation_or_a_clear_error():
    assert accumulation_for_global_batch(4096, 64, 1) == 64
    assert accumulation_for_global_batch(4096, 64, 8) == 8
    with pytest.raises(ValueError, match=r"--global_batch_size 4096 is not a multiple of "
                                         r"--per_device_train_batch_size 64 x 3 processes = 192: .* 4032, 4224"):
        accumulation_for_global_batch(4096, 64, 3)
    with pytest.raises(ValueError, match="must all be >= 1"):
        accumulation_for_global_batch(4096, 0, 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def _run(cmd: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd[:6])} ...\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def _torchrun(nproc: int, script: str, args: list[str]) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_addr",
                 "127.0.0.1", "--master_port", str(_free_port()), script, *args])


@pytest.fixture(scope="module")
def distill_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp-distill")
    lines = [x for x in CORPUS.read_text("utf-8").splitlines() if x]
    tok = build_wordpiece_tokenizer(lines, root / "tok", vocab_size=400)
    write_corpus_dataset(lines, root / "corpus")
    tiny_bert_teacher(len(tok), root / "teacher", n_layers=6, max_len=64, dropout=0.0)
    return root


def _distill_args(root: Path, out: Path, batch: int, accumulation: int, steps: int = 3) -> list[str]:
    return ["--teacher_name_or_path", str(root / "teacher"), "--tokenizer_name_or_path", str(root / "tok"),
            "--student_layers", "0,2,4", "--dataset_name_or_path", str(root / "corpus"), "--cache_dir",
            str(root / "cache"), "--output_dir", str(out), "--max_seq_length", "48", "--use_cpu", "true",
            "--disable_tqdm", "true", "--logging_steps", "1", "--max_steps", str(steps), "--save_steps", str(steps),
            "--max_eval_sequences", "16", "--learning_rate", "2e-3", "--seed", "7", "--report_to", "none",
            "--per_device_train_batch_size", str(batch), "--gradient_accumulation_steps", str(accumulation)]


def _log_history(out: Path, steps: int) -> list[dict]:
    state = json.loads((out / f"checkpoint-{steps}" / "trainer_state.json").read_text("utf-8"))
    return [h for h in state["log_history"] if "loss" in h]


@pytest.mark.slow
def test_distillation_two_processes_equal_one_process(distill_data, tmp_path):
    """2 processes x batch 4 x accumulation 2 == 1 process x batch 4 x accumulation 4, every loss term."""
    import torch
    from safetensors.torch import load_file

    one, two = tmp_path / "one", tmp_path / "two"
    _run([sys.executable, "train_distill.py", *_distill_args(distill_data, one, batch=4, accumulation=4)])
    _torchrun(2, "train_distill.py", _distill_args(distill_data, two, batch=4, accumulation=2))

    info_one = json.loads((one / "distillation_info.json").read_text("utf-8"))
    info_two = json.loads((two / "distillation_info.json").read_text("utf-8"))
    assert info_one["hardware"]["n_devices"] == 1 and info_two["hardware"]["n_devices"] == 2
    assert info_one["training"]["effective_batch"] == info_two["training"]["effective_batch"] == 16
    h_one, h_two = _log_history(one, 3), _log_history(two, 3)
    assert [h["step"] for h in h_one] == [h["step"] for h in h_two] == [1, 2, 3]
    for a, b in zip(h_one, h_two):
        assert a["loss_ce"] > 0 and a["loss_mlm"] > 0 and a["loss_cos"] > 0
        for key in TERMS:
            assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), (a["step"], key, a[key], b[key])
    # the weights after three updates agree too. Adam divides by the root of the squared gradients, so for an
    # element whose gradient is ~0 the all-reduce's summation order can move one update by a good part of the
    # learning rate (2e-3 here): atol 1e-4 tolerates that, while other data or masks would move most elements by ~lr
    w_one, w_two = load_file(str(one / "model.safetensors")), load_file(str(two / "model.safetensors"))
    assert w_one.keys() == w_two.keys()
    for name in w_one:
        torch.testing.assert_close(w_two[name], w_one[name], rtol=1e-5, atol=1e-4)


@pytest.fixture(scope="module")
def nsmc_data(tmp_path_factory):
    import torch
    from test_eval_utils import make_tokenizer, standard_splits, write_dataset
    from transformers import BertConfig, BertForMaskedLM

    root = tmp_path_factory.mktemp("ddp-nsmc")
    splits = standard_splits()  # 120 train / 40 validation / 40 test rows
    write_dataset(root / "nsmc", splits)
    tok = make_tokenizer([r["document"] for rows in splits.values() for r in rows])
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=1, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    BertForMaskedLM(config).save_pretrained(root / "model")
    tok.save_pretrained(root / "model")
    return root


def _eval_args(root: Path, out: Path, batch: int, accumulation: int) -> list[str]:
    # 120 train rows / batch 10 = 12 micro-batches per epoch: whole updates for 1 x 2 and 2 x 1 alike
    return ["--model_name_or_path", str(root / "model"), "--dataset_name", str(root / "nsmc"), "--output_dir",
            str(out), "--max_seq_length", "32", "--num_train_epochs", "6", "--warmup_ratio", "0",
            "--per_device_train_batch_size", str(batch), "--gradient_accumulation_steps", str(accumulation),
            "--per_device_eval_batch_size", "16", "--learning_rate", "1e-2", "--logging_steps", "1",
            "--eval_steps", "3", "--device", "cpu", "--seeds", "42"]


@pytest.mark.slow
def test_nsmc_finetuning_two_processes_equal_one_process(nsmc_data, tmp_path):
    """eval_nsmc.py under torchrun selects the same checkpoint and gets the same test accuracy."""
    one, two = tmp_path / "one", tmp_path / "two"
    _run([sys.executable, "eval_nsmc.py", *_eval_args(nsmc_data, one, batch=10, accumulation=2)])
    _torchrun(2, "eval_nsmc.py", _eval_args(nsmc_data, two, batch=10, accumulation=1))
    r_one = json.loads((one / "nsmc_results.json").read_text("utf-8"))["per_seed"][0]
    r_two = json.loads((two / "nsmc_results.json").read_text("utf-8"))["per_seed"][0]
    acc_one = [e["accuracy"] for e in r_one["selection"]["evaluations"]]
    acc_two = [e["accuracy"] for e in r_two["selection"]["evaluations"]]
    assert len(acc_one) == 12 and acc_two == acc_one
    assert len(set(acc_one)) > 2 and max(acc_one) >= 0.9  # the model learns: the selection is not a tie
    assert r_two["selection"]["best_step"] == r_one["selection"]["best_step"]
    assert r_two["test"]["accuracy"] == r_one["test"]["accuracy"] and r_one["test"]["rows"] == 40
    losses_one = [x["loss"] for x in r_one["training"]["loss_log"]]
    losses_two = [x["loss"] for x in r_two["training"]["loss_log"]]
    assert losses_two == pytest.approx(losses_one, rel=1e-5)


@pytest.mark.slow
def test_missing_rendezvous_fails_fast_with_a_clear_error(tmp_path):
    """Node 1 of 2 with no node 0 listening: torchrun gives up after the rendezvous timeout, naming the address."""
    port = _free_port()
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node_rank", "1",
                           "--nproc_per_node", "1", "--master_addr", "127.0.0.1", "--master_port", str(port),
                           "--rdzv_conf", "timeout=5", "train_distill.py", "recipes/demo.yaml"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert time.monotonic() - start < 200  # torchrun's default rendezvous timeout alone is 900 s
    assert f"timed out after 5000ms while trying to connect to (127.0.0.1, {port})" in done.stderr


def test_cost_model_formula_and_script(tmp_path):
    """benchmarks/cost_model.py: FLOPs per token by hand for a small shape, and the recipe's table."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import cost_model
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    f = cost_model.flops_per_token(8, 1, d=4, ffn=16, layers=2, vocab=10)
    # per layer 4 d^2 + 2 d ffn = 192 weights; attention 4 x s x d = 128 per layer; head 2 d^2 + 2 d V = 112
    assert f["teacher_forward"] == 2 * 2 * 192 + 2 * 128 + 112
    assert f["student_fwd_bwd"] == 3 * (2 * 192 + 128 + 112)
    out = tmp_path / "cost.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cost_model.py"), "--corpus-gb", "1",
                           "--tokens-per-byte", "0.25", "--output", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text("utf-8"))
    assert data["global_batch"] == 64 * 64 and data["seq_len"] == 512 and data["epochs"] == 3
    assert data["train_tokens"] == pytest.approx(1e9 * 0.25 * 3)
    assert data["updates"] == pytest.approx(data["train_tokens"] / (4096 * 512))
    a100_30 = next(r for r in data["rows"] if r["GPU"].startswith("A100") and r["MFU"] == "30%")
    hours = data["total_flops"] / (312e12 * 0.30) / 3600
    assert a100_30["1 GPU hours"] == round(hours, 1) and a100_30["8 GPUs hours"] == round(hours / 8 / 0.9, 2)
