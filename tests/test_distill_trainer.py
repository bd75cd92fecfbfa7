"""DistillationTrainer: gradient accumulation gives the large-batch update; resume continues exactly."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from distilkobert.distill.losses import LossConfig, count_items, distillation_losses
from distilkobert.distill.student import Teacher, build_student, enable_row_gathered_forward

from helpers.tiny_bert import build_wordpiece_tokenizer, tiny_bert_teacher, write_corpus_dataset

CORPUS = Path(__file__).parent / "data" / "distill_corpus.txt"
VOCAB = 40


class _Tok:
    def __init__(self, n):
        self.n, self.pad_token_id = n, 1

    def __len__(self):
        return self.n


class PremaskedCollator:
    """Pads features that already carry their masked input_ids and labels (masks independent of batching)."""

    def __call__(self, features):
        n = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), n), 1)
        labels = torch.full((len(features), n), -100)
        attn = torch.zeros((len(features), n), dtype=torch.long)
        for i, f in enumerate(features):
            k = len(f["input_ids"])
            ids[i, :k], labels[i, :k], attn[i, :k] = torch.tensor(f["input_ids"]), torch.tensor(f["labels"]), 1
        return {"input_ids": ids, "attention_mask": attn, "labels": labels}


def _features(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = []
    for i in range(n):
        length = int(torch.randint(6, 20, (1,), generator=g))
        ids = torch.randint(5, VOCAB, (length,), generator=g)
        labels = torch.full((length,), -100)
        n_mask = 1 + (i % 4) * (i < n // 2)  # the two halves carry different numbers of masked tokens
        pos = torch.randperm(length - 2, generator=g)[:n_mask] + 1
        labels[pos] = ids[pos]
        ids[pos] = 4
        ids[0], ids[-1] = 2, 3
        feats.append({"input_ids": ids.tolist(), "labels": labels.tolist()})
    return feats


def _models():
    teacher = tiny_bert_teacher(VOCAB, seed=0, n_layers=4).eval()
    student = build_student(_Tok(VOCAB), teacher=Teacher(teacher, True, "t", None), layers=[0, 2],
                            config_overrides={"dropout": 0.0, "attention_dropout": 0.0})
    torch.manual_seed(1)
    with torch.no_grad():
        for p in student.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return teacher, student


def _train_once(tmp_path, student, teacher, feats, cfg, batch, accum):
    from distilkobert.distill.arguments import DistillationConfig
    from distilkobert.distill.trainer import DistillationTrainer

    args = DistillationConfig(output_dir=str(tmp_path / f"b{batch}x{accum}"), per_device_train_batch_size=batch,
                              gradient_accumulation_steps=accum, max_steps=1, optim="sgd", learning_rate=0.5,
                              lr_scheduler_type="constant", max_grad_norm=0.0, use_cpu=True, save_strategy="no",
                              report_to="none", train_sampling_strategy="sequential", remove_unused_columns=False,
                              logging_steps=1, disable_tqdm=True, **asdict(cfg))
    trainer = DistillationTrainer(model=student, args=args, data_collator=PremaskedCollator(), train_dataset=feats,
                                  teacher=teacher)
    trainer.train()
    return dict(student.named_parameters()), trainer


def test_gradient_accumulation_equals_large_batch(tmp_path):
    teacher, base = _models()
    feats = _features()
    cfg = LossConfig(alpha_ce=0.33, alpha_mlm=0.33, alpha_cos=0.33, alpha_mse=0.2, mse_layer_map="1:2,2:4")
    layer_map = [(1, 2), (2, 4)]
    coll = PremaskedCollator()
    halves = [coll(feats[:16]), coll(feats[16:])]
    assert halves[0]["labels"].ne(-100).sum() != halves[1]["labels"].ne(-100).sum()

    # reference: one SGD step on the full batch of 32, by hand
    ref = copy.deepcopy(base)
    enable_row_gathered_forward(ref)
    full = coll(feats)
    loss = distillation_losses(ref, teacher, full, cfg, count_items([full], "all"), layer_map)["loss"]
    loss.backward()
    expected = {n: (p - 0.5 * p.grad).detach() for n, p in ref.named_parameters()}

    p1, trainer = _train_once(tmp_path, copy.deepcopy(base), teacher, feats, cfg, 32, 1)
    assert trainer.layer_map == layer_map
    p2, _ = _train_once(tmp_path, copy.deepcopy(base), teacher, feats, cfg, 16, 2)
    moved = 0.0
    for name, value in expected.items():
        torch.testing.assert_close(p1[name], value, atol=2e-6, rtol=1e-5)
        torch.testing.assert_close(p2[name], value, atol=2e-6, rtol=1e-5)
        moved = max(moved, (value - dict(base.named_parameters())[name]).abs().max().item())
    assert moved > 1e-3

    # the naive per-micro-batch mean (what Trainer does for a custom loss without the fix) differs measurably
    naive = copy.deepcopy(base)
    enable_row_gathered_forward(naive)
    for h in halves:
        (distillation_losses(naive, teacher, h, cfg, count_items([h], "all"), layer_map)["loss"] / 2).backward()
    diff = max((p.grad - q.grad).abs().max().item() for p, q in zip(naive.parameters(), ref.parameters())
               if p.grad is not None)
    assert diff > 1e-4


def test_terms_are_logged(tmp_path):
    teacher, base = _models()
    _, trainer = _train_once(tmp_path, base, teacher, _features(), LossConfig(alpha_mse=0.1, mse_layer_map="2:4"),
                             16, 2)
    logged = [h for h in trainer.state.log_history if "loss_ce" in h]
    assert logged and all(logged[0][k] > 0 for k in ("loss_ce", "loss_mlm", "loss_cos", "loss_mse"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Tokenizer, corpus and a 4-layer teacher folder for CLI runs."""
    root = tmp_path_factory.mktemp("run")
    lines = [x for x in CORPUS.read_text("utf-8").splitlines() if x]
    tok = build_wordpiece_tokenizer(lines, root / "tok", vocab_size=300)
    write_corpus_dataset(lines, root / "corpus")
    tiny_bert_teacher(len(tok), root / "teacher", n_layers=4)
    tok.save_pretrained(str(root / "teacher"))
    return root


def _cli(root, out, *extra):
    return ["--teacher_name_or_path", str(root / "teacher"), "--dataset_name_or_path", str(root / "corpus"),
            "--cache_dir", str(root / "cache"), "--output_dir", str(out), "--student_layers", "0,2",
            "--max_seq_length", "32", "--per_device_train_batch_size", "8", "--learning_rate", "1e-3",
            "--lr_scheduler_type", "constant", "--save_steps", "2", "--logging_steps", "2", "--use_cpu", "true",
            "--disable_tqdm", "true", "--max_eval_sequences", "16", "--seed", "3", *extra]


def test_resume_continues_exactly(tiny_run, tmp_path):
    from safetensors.torch import load_file

    from distilkobert.distill.run import main

    assert main(_cli(tiny_run, tmp_path / "full", "--max_steps", "6")) == 0
    # an interrupted run: stops after step 4 (checkpoints 2 and 4 written), then resumed to step 6
    assert main(_cli(tiny_run, tmp_path / "split", "--max_steps", "4")) == 0
    assert main(_cli(tiny_run, tmp_path / "split", "--max_steps", "6", "--resume_from_checkpoint", "true")) == 0
    for d in ("full", "split"):
        assert sorted(p.name for p in (tmp_path / d).glob("checkpoint-*")) == \
            ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    info = json.loads((tmp_path / "split" / "distillation_info.json").read_text())
    assert info["training"]["global_step"] == 6
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "split" / "model.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=1e-5)
    assert info["held_out"]["n_masked"] > 0 and info["teacher_held_out"] is not None


def test_encoder_only_teacher_with_alpha_ce_is_refused(tiny_run, tmp_path, capsys):
    from transformers import BertConfig, BertModel

    from distilkobert.distill.run import main

    from helpers.tiny_bert import tiny_bert_config

    enc = tmp_path / "encoder"
    BertModel(BertConfig(**tiny_bert_config(300, n_layers=4)), add_pooling_layer=False).save_pretrained(str(enc))
    args = _cli(tiny_run, tmp_path / "out", "--max_steps", "1")
    args[1] = str(enc)
    assert main(args + ["--tokenizer_name_or_path", str(tiny_run / "tok")]) == 2
    err = capsys.readouterr().err
    assert "no MLM head" in err and "--alpha_ce must be 0" in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("checkpoint-*"))
