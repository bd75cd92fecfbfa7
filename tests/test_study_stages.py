"""The study's stages on tiny models: a fine-tuning run killed half-way continues from its checkpoint to the
result of an uninterrupted run; the labelling backends agree with PyTorch fp32; inputs are keyed by content."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from distilkobert.serving.export import export_classifier
from distilkobert.study import stages
from distilkobert.study.cache import cached_stage, file_identity
from distilkobert.study.classifier import finetune, tokenize_rows
from distilkobert.study.config import FinetuneSettings

from helpers.tiny_e5 import build_tiny_e5_teacher

REPO = Path(__file__).resolve().parent.parent
REVIEWS = REPO / "demo_data" / "reviews.tsv"
SETTINGS = FinetuneSettings(learning_rate=1e-3, epochs=1, batch_size=16, evals_per_epoch=4, max_seq_length=48)


def _rows() -> list[tuple[str, int]]:
    lines = REVIEWS.read_text(encoding="utf-8").splitlines()[1:]
    return [(line.split("\t")[1], int(line.split("\t")[2])) for line in lines]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    """A tiny e5-shaped encoder and the tokenized train / validation / test rows of the demo reviews."""
    folder = tmp_path_factory.mktemp("tiny")
    rows = _rows()
    encoder = build_tiny_e5_teacher([t for t, _ in rows], folder / "encoder", vocab_size=500, layers=2)
    tokenizer = AutoTokenizer.from_pretrained(encoder)

    def data(part):
        return tokenize_rows(tokenizer, [t for t, _ in part], [lab for _, lab in part], 48)

    return {"encoder": encoder, "train": data(rows[:256]), "validation": data(rows[256:320]),
            "test": data(rows[320:400]), "folder": folder}


KILLER = textwrap.dedent("""
    import os, sys
    from datasets import load_from_disk
    from transformers import TrainerCallback
    from distilkobert.evaluation import finetune as loop
    from distilkobert.study import classifier
    from distilkobert.study.config import FinetuneSettings

    class DieAfterSave(TrainerCallback):  # a hard kill right after the checkpoint of step 8 is on disk
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == 8:
                os._exit(3)

    class Trainer(loop.SoftLabelTrainer):
        def __init__(self, *args, callbacks=None, **kwargs):
            super().__init__(*args, callbacks=[*(callbacks or []), DieAfterSave()], **kwargs)

    loop.SoftLabelTrainer = Trainer
    data = {name: load_from_disk(os.path.join(sys.argv[3], name)) for name in ("train", "validation", "test")}
    settings = FinetuneSettings(**__import__("json").loads(sys.argv[4]))
    classifier.finetune(sys.argv[1], sys.argv[2], seed=7, settings=settings, run_key="the-key", **data)
""")


@pytest.mark.slow
def test_a_killed_run_continues_from_its_checkpoint_to_the_uninterrupted_result(tiny, tmp_path):
    for name in ("train", "validation", "test"):
        tiny[name].save_to_disk(str(tmp_path / "data" / name))
    killed = tmp_path / "killed"
    code = subprocess.run([sys.executable, "-c", KILLER, str(tiny["encoder"]), str(killed), str(tmp_path / "data"),
                           json.dumps(SETTINGS.__dict__)], capture_output=True, text=True, timeout=300)
    assert code.returncode == 3, code.stderr[-2000:]
    assert (killed / "checkpoints" / "checkpoint-8").is_dir() and not (killed / "result.json").exists()
    data = {name: tiny[name] for name in ("train", "validation", "test")}
    resumed = finetune(tiny["encoder"], killed, seed=7, settings=SETTINGS, run_key="the-key", **data)
    whole = finetune(tiny["encoder"], tmp_path / "whole", seed=7, settings=SETTINGS, run_key="the-key", **data)
    assert resumed["resumed_from_step"] == 8 and whole["resumed_from_step"] is None
    assert resumed["steps"] == whole["steps"] == 16
    assert resumed["test_accuracy"] == whole["test_accuracy"]
    assert resumed["best_checkpoint_step"] == whole["best_checkpoint_step"]
    a = load_file(killed / "model" / "model.safetensors")
    b = load_file(tmp_path / "whole" / "model" / "model.safetensors")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5
    assert (np.load(killed / "test_predictions.npy") == np.load(tmp_path / "whole" / "test_predictions.npy")).all()
    # the time of the killed part counts: the resumed run reports more than its own part
    assert resumed["train_seconds"] > 0 and not (killed / "checkpoints").exists()


def test_a_checkpoint_of_other_settings_is_not_resumed(tiny, tmp_path):
    data = {name: tiny[name] for name in ("train", "validation", "test")}
    stale = tmp_path / "run" / "checkpoints" / "checkpoint-8"
    stale.mkdir(parents=True)
    (tmp_path / "run" / "run_key.txt").write_text("another-key\n")
    result = finetune(tiny["encoder"], tmp_path / "run", seed=7, settings=SETTINGS, run_key="the-key", **data)
    assert result["resumed_from_step"] is None and result["steps"] == 16


def test_labelling_backends_agree_with_pytorch_fp32(tiny, tmp_path):
    classifier = tmp_path / "classifier"
    result = finetune(tiny["encoder"], tmp_path / "ft", seed=3, settings=SETTINGS, train=tiny["train"],
                      validation=tiny["validation"], test=tiny["test"])
    model = AutoModelForSequenceClassification.from_pretrained(result["model_dir"])
    model.save_pretrained(classifier)
    AutoTokenizer.from_pretrained(result["model_dir"]).save_pretrained(classifier)
    export_classifier(str(classifier), tmp_path / "onnx", quantize="int8")
    texts = [t for t, _ in _rows()[400:600]]
    reference = stages._logits("torch", classifier, texts, 48, 32)
    assert np.abs(reference).max() > 0.05  # a classifier whose answers differ between texts
    for backend in ("torch-bf16", "onnx-int8"):
        logits = stages._logits(backend, classifier, texts, 48, 32, tmp_path / "onnx")
        agreement = float((logits.argmax(-1) == reference.argmax(-1)).mean())
        kl = torch.nn.functional.kl_div(torch.log_softmax(torch.from_numpy(logits), -1),
                                        torch.log_softmax(torch.from_numpy(reference), -1),
                                        reduction="batchmean", log_target=True)
        assert agreement >= 0.9 and float(kl) < 1e-2, (backend, agreement, float(kl))
        assert np.abs(logits - reference).max() < 0.5  # the same numbers up to precision, in the input order


def test_a_stage_is_keyed_by_the_content_of_its_inputs(tmp_path):
    data = tmp_path / "reviews.txt"
    data.write_text("좋아요\n", encoding="utf-8")
    calls = []

    def compute(folder: Path) -> dict:
        calls.append(data.read_text(encoding="utf-8"))
        return {"lines": len(calls)}

    assert cached_stage(tmp_path / "stage", {"data": file_identity(data)}, compute)["lines"] == 1
    assert cached_stage(tmp_path / "stage", {"data": file_identity(data)}, compute)["lines"] == 1  # reused
    data.write_text("별로예요\n", encoding="utf-8")  # same path, same size class, other content
    assert cached_stage(tmp_path / "stage", {"data": file_identity(data)}, compute)["lines"] == 2
    record = json.loads((tmp_path / "stage" / "stage.json").read_text())
    assert record["result"]["cpu_seconds"] >= 0 and record["settings"]["data"]["sha256"]
