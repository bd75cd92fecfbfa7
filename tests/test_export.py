"""`distilkobert export`: the ONNX graph reproduces PyTorch, int8 is smaller, the folder serves on its own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed (pip install -e '.[onnx]')")

from helpers.tiny_classifier import build_classifier, build_tiny_tokenizer  # noqa: E402

TEXTS = ["이 영화 정말 재미있었어요", "시간 낭비였다", "음악이 좋아서 끝까지 봤습니다. 다음 편도 기대됩니다!", "별로",
         "최악의 결말 " * 80, "추천합니다 👍", "CG가 꽤 탄탄했음"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path, dict]:
    from distilkobert.serving.cli import export_main

    root = tmp_path_factory.mktemp("export")
    tok = build_tiny_tokenizer(root / "tok")
    model_dir = build_classifier(root / "model", tok, kind="distilbert", layers=2, hidden=64, heads=2, ffn=128,
                                 seed=2)
    out = root / "onnx"
    assert export_main(["--model", str(model_dir), "--output-dir", str(out), "--quantize", "int8"]) == 0
    return model_dir, out, json.loads((out / "export_info.json").read_text(encoding="utf-8"))


def test_fp32_logits_match_pytorch(exported):
    from distilkobert.serving.classifier import TorchClassifier
    from distilkobert.serving.onnx import OnnxClassifier

    model_dir, out, info = exported
    torch_model = TorchClassifier.from_pretrained(model_dir)
    onnx_model = OnnxClassifier.from_pretrained(out)
    diffs = []
    for batch in (TEXTS, TEXTS[:1], TEXTS[3:5], TEXTS[::-1]):  # padding, batch 1, a text cut at max_length
        reference, logits = torch_model.logits(batch), onnx_model.logits(batch)
        assert logits.shape == reference.shape == (len(batch), 2) and logits.dtype == np.float32
        diffs.append(float(np.abs(reference - logits).max()))
    print(f"max |ONNX fp32 - PyTorch| logit difference: {max(diffs):.3g}")
    assert max(diffs) < 1e-4
    assert onnx_model.truncated == torch_model.truncated == 3  # the long text is in three of the batches
    assert [p["label"] for p in onnx_model.predict(TEXTS)] == [p["label"] for p in torch_model.predict(TEXTS)]
    assert info["files"]["model.onnx"]["max_abs_logit_diff_vs_torch"] < 1e-4


def test_int8_copy_is_smaller_and_close(exported):
    from distilkobert.serving.classifier import TorchClassifier
    from distilkobert.serving.onnx import OnnxClassifier

    model_dir, out, info = exported
    fp32_bytes, int8_bytes = (out / "model.onnx").stat().st_size, (out / "model.int8.onnx").stat().st_size
    assert int8_bytes < 0.8 * fp32_bytes
    assert info["files"]["model.int8.onnx"]["bytes"] == int8_bytes
    int8 = OnnxClassifier.from_pretrained(out, file="model.int8.onnx")
    reference = TorchClassifier.from_pretrained(model_dir).logits(TEXTS)
    diff = float(np.abs(int8.logits(TEXTS) - reference).max())
    scale = float(np.abs(reference).max())
    print(f"max |ONNX int8 - PyTorch| logit difference: {diff:.3g} (largest |logit| {scale:.3g}); "
          f"sizes fp32 {fp32_bytes} B, int8 {int8_bytes} B")
    # a quantised graph really ran (not a copy of fp32); how close int8 stays is a benchmark question
    # (benchmarks/serving.py, real weights): on a tiny random model the margins are within int8's error
    assert 0 < diff < np.inf


def test_export_folder_is_self_contained(exported, tmp_path):
    from distilkobert.serving.onnx import OnnxClassifier

    _, out, info = exported
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    config = json.loads((moved / "config.json").read_text(encoding="utf-8"))
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert (moved / "tokenizer.json").is_file() and not list(moved.glob("*.safetensors"))
    predictions = OnnxClassifier.from_pretrained(moved).predict(TEXTS[:3])
    assert {p["label"] for p in predictions} <= {"negative", "positive"}
    assert info["inputs"] == ["input_ids", "attention_mask"] and info["exporter"].startswith("torch.onnx")


def test_predict_gives_the_same_labels_with_both_backends(exported, tmp_path, capsys):
    from distilkobert.serving.cli import predict_main

    model_dir, out, _ = exported
    src = tmp_path / "reviews.txt"
    src.write_text("\n".join(TEXTS[:3] + [""] + TEXTS[3:]) + "\n", encoding="utf-8")
    rows = {}
    for name, extra in {"torch": ["--model", str(model_dir)],
                        "onnx": ["--model", str(out), "--backend", "onnx"],
                        "int8": ["--model", str(out), "--backend", "onnx", "--onnx-file", "model.int8.onnx"]}.items():
        target = tmp_path / f"{name}.jsonl"
        assert predict_main([*extra, "--input", str(src), "--output", str(target), "--batch-size", "3",
                             "--no-progress"]) == 0, capsys.readouterr().err
        rows[name] = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(rows["torch"]) == len(TEXTS) + 1 and rows["torch"][3]["label"] is None
    assert [r["label"] for r in rows["onnx"]] == [r["label"] for r in rows["torch"]]
    for a, b in zip(rows["onnx"], rows["torch"]):
        assert (a["score"] is None and b["score"] is None) or a["score"] == pytest.approx(b["score"], abs=1e-5)
    assert [r["line"] for r in rows["int8"]] == [r["line"] for r in rows["torch"]]


def test_a_non_empty_output_folder_needs_overwrite(exported, capsys):
    from distilkobert.serving.cli import export_main

    model_dir, out, _ = exported
    before = sorted(p.name for p in out.iterdir())
    assert export_main(["--model", str(model_dir), "--output-dir", str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"distilkobert export: error: --output-dir {out}: exists and is not empty; pass --overwrite to replace its "
        "contents"]
    assert sorted(p.name for p in out.iterdir()) == before
    assert export_main(["--model", str(model_dir), "--output-dir", str(model_dir), "--overwrite"]) == 2
    assert "must differ from the model folder" in capsys.readouterr().err


def test_export_without_classification_head_is_a_clear_error(tmp_path, capsys):
    from transformers import BertConfig, BertModel

    from distilkobert.serving.cli import export_main

    encoder = tmp_path / "encoder"
    BertModel(BertConfig(vocab_size=300, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(encoder)
    build_tiny_tokenizer(encoder)
    out = tmp_path / "out"
    assert export_main(["--model", str(encoder), "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"distilkobert export: error: {encoder / 'config.json'}: architectures ['BertModel'] has no "
                   "sequence-classification head (expected *ForSequenceClassification); fine-tune the encoder "
                   "first, e.g. eval_nsmc.py --save_models"]
    assert not out.exists()
