"""`distilkobert predict`: every input row gives one output row in order, readers stream, bad input is one line."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import pytest

from distilkobert.serving.errors import ServingError
from distilkobert.serving.inputs import Record, detect_format, read_records

from helpers.tiny_classifier import build_classifier, build_tiny_tokenizer

TEXTS = ["이 영화 정말 재미있었어요", "시간 낭비였다", "음악이 좋아서 끝까지 봤습니다", "별로였어요", "추천합니다"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("predict")
    tok = build_tiny_tokenizer(root / "tok")
    return build_classifier(root / "model", tok, kind="distilbert", seed=1)


@pytest.fixture(scope="module")
def classifier(model_dir):
    from distilkobert.serving.classifier import TorchClassifier

    return TorchClassifier.from_pretrained(model_dir)


def _predict(args: list[str], capsys) -> tuple[int, str]:
    from distilkobert.serving.cli import predict_main

    code = predict_main([*args, "--no-progress"])
    return code, capsys.readouterr().err


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_torch_classifier_matches_the_transformers_pipeline(model_dir, classifier):
    from transformers import pipeline

    reference = pipeline("sentiment-analysis", model=str(model_dir))(TEXTS)
    ours = classifier.predict(TEXTS)
    assert [p["label"] for p in ours] == [p["label"] for p in reference]
    for a, b in zip(ours, reference):
        assert a["score"] == pytest.approx(b["score"], abs=1e-6)
    assert {p["label"] for p in ours} <= {"negative", "positive"}


def test_text_file_keeps_empty_and_undecodable_lines_in_place(model_dir, classifier, tmp_path, capsys):
    lines = [t.encode() for t in TEXTS[:2]] + [b"", b"   ", b"\xff\xfebroken " + "리뷰".encode(), TEXTS[2].encode()]
    src = tmp_path / "reviews.txt"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    code, err = _predict(["--model", str(model_dir), "--input", str(src), "--output", str(out),
                          "--batch-size", "2"], capsys)
    assert code == 0, err
    rows = _rows(out)
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["label"] is None for r in rows] == [False, False, True, True, True, False]
    assert rows[2]["error"] == rows[3]["error"] == "empty text"
    assert rows[4]["error"] == "invalid UTF-8 at byte 0" and rows[4]["score"] is None
    expected = classifier.predict([TEXTS[0], TEXTS[1], TEXTS[2]])
    assert [rows[i]["label"] for i in (0, 1, 5)] == [p["label"] for p in expected]
    assert rows[5]["score"] == pytest.approx(expected[2]["score"], abs=1e-6)
    assert f"{src}:5: invalid UTF-8 at byte 0" in err
    assert "6 rows" in err and "3 classified" in err and "2 empty" in err and "1 unreadable" in err
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_nsmc_tsv_uses_the_nsmc_quoting_rules_and_reports_accuracy(model_dir, classifier, tmp_path, capsys):
    src = tmp_path / "ratings_test.txt"  # the official name: a .txt whose header makes it tsv
    src.write_text("id\tdocument\tlabel\n"
                   "101\t좋은 영화\t1\n"
                   '102\t"""""""최고""""의 영화"""\t1\n'  # NSMC's double CSV quoting of: "최고"의 영화
                   "103\t\t0\n"
                   '104\t"깨진 "인용\t0\n'  # invalid quoting: reported, kept
                   "105\t지루했다\t0\n", encoding="utf-8")
    assert detect_format(src) == "tsv"
    records = list(read_records(src))
    assert records[1].text == '"최고"의 영화' and records[1].id == "102" and records[1].gold == 1
    out = tmp_path / "out.jsonl"
    code, err = _predict(["--model", str(model_dir), "--input", str(src), "--output", str(out)], capsys)
    assert code == 0, err
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["101", "102", "103", "104", "105"]
    assert [r["line"] for r in rows] == [2, 3, 4, 5, 6]
    assert [r["gold"] for r in rows] == ["positive", "positive", "negative", "negative", "negative"]
    assert rows[2]["error"] == "empty text" and "invalid quoting" in rows[3]["error"]
    predicted = classifier.predict(["좋은 영화", '"최고"의 영화', "지루했다"])
    assert [rows[i]["label"] for i in (0, 1, 4)] == [p["label"] for p in predicted]
    correct = sum(p["label"] == g for p, g in zip(predicted, ["positive", "positive", "negative"]))
    assert f"accuracy against the input's labels {100 * correct / 3:.2f}% ({correct}/3)" in err
    assert f"{src}:5: invalid quoting" in err


def test_jsonl_text_field_gzip_and_bad_json_rows(model_dir, tmp_path, capsys):
    src = tmp_path / "reviews.jsonl.gz"
    with gzip.open(src, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"review": TEXTS[0], "id": 7}, ensure_ascii=False) + "\n")
        f.write("{not json\n")
        f.write(json.dumps({"review": None, "id": 8}) + "\n")
        f.write(json.dumps({"review": TEXTS[1], "id": "x"}, ensure_ascii=False) + "\n")
    out = tmp_path / "out.jsonl"
    code, err = _predict(["--model", str(model_dir), "--input", str(src), "--output", str(out),
                          "--text-field", "review"], capsys)
    assert code == 0, err
    rows = _rows(out)
    assert [r.get("id") for r in rows] == ["7", None, "8", "x"]
    assert rows[1]["label"] is None and rows[1]["error"].startswith("invalid JSON")
    assert rows[2]["label"] is None and "NoneType" in rows[2]["error"]
    assert rows[0]["label"] in ("negative", "positive") and rows[3]["label"] in ("negative", "positive")
    assert "2 unreadable (label null; lines 2, 3)" in err

    code, err = _predict(["--model", str(model_dir), "--input", str(src), "--output", str(out)], capsys)
    assert code == 2
    assert err.strip().splitlines() == [f"distilkobert predict: error: {src}:1: no field 'text' (fields: review, id); "
                                        "choose the text field with --text-field"]


def test_reading_and_predicting_stream(classifier):
    """An endless generator of records: outputs come out batch by batch, the reader is never drained."""
    pulled = []

    def endless():
        for i in itertools.count(1):
            pulled.append(i)
            yield Record(line=i, text=TEXTS[i % len(TEXTS)])

    from distilkobert.serving.predict import PredictSummary, predict_records

    summary = PredictSummary()
    rows = predict_records(classifier, endless(), batch_size=4, summary=summary)
    first = list(itertools.islice(rows, 10))
    assert [r["line"] for r in first] == list(range(1, 11))
    assert len(pulled) == 12  # three batches of 4, nothing read ahead
    assert summary.rows == 10 and summary.predicted == 10


def test_text_reader_is_lazy(tmp_path):
    src = tmp_path / "many.txt"
    src.write_text("".join(f"리뷰 {i}\n" for i in range(10_000)), encoding="utf-8")
    records = read_records(src)
    assert not isinstance(records, list)
    assert [r.text for r in itertools.islice(records, 3)] == ["리뷰 0", "리뷰 1", "리뷰 2"]


def test_bad_input_is_one_clear_line(model_dir, tmp_path, capsys):
    from transformers import DistilBertConfig, DistilBertForMaskedLM

    out = tmp_path / "out.jsonl"
    base = ["--model", str(model_dir), "--output", str(out)]
    cases = []
    (tmp_path / "reviews.csv").write_text("a,b\n", encoding="utf-8")
    cases.append((["--input", str(tmp_path / "reviews.csv")], "unknown input format '.csv'"))
    (tmp_path / "empty.txt").write_bytes(b"")
    cases.append((["--input", str(tmp_path / "empty.txt")], f"--input {tmp_path / 'empty.txt'}: empty input"))
    (tmp_path / "header.tsv").write_text("id\tdocument\tlabel\n", encoding="utf-8")
    cases.append((["--input", str(tmp_path / "header.tsv")], "empty input"))
    (tmp_path / "nodoc.tsv").write_text("id\ttext\n1\t좋다\n", encoding="utf-8")
    cases.append((["--input", str(tmp_path / "nodoc.tsv")], f"{tmp_path / 'nodoc.tsv'}:1: expected a tab-separated "
                                                            "header with a 'document' column"))
    cases.append((["--input", str(tmp_path / "missing.txt")], "missing.txt: no such file"))
    for extra, message in cases:
        code, err = _predict([*base, *extra], capsys)
        assert code == 2, extra
        assert len(err.strip().splitlines()) == 1 and message in err, (extra, err)
        assert not out.exists() and not Path(str(out) + ".partial").exists()

    src = tmp_path / "ok.txt"
    src.write_text("좋다\n", encoding="utf-8")
    no_tok = tmp_path / "no-tokenizer"
    no_tok.mkdir()
    for f in model_dir.iterdir():
        if not f.name.startswith("tokenizer"):
            (no_tok / f.name).write_bytes(f.read_bytes())
    code, err = _predict(["--model", str(no_tok), "--input", str(src), "--output", str(out)], capsys)
    assert code == 2 and f"{no_tok}: tokenizer missing" in err and len(err.strip().splitlines()) == 1

    mlm = tmp_path / "mlm"
    DistilBertForMaskedLM(DistilBertConfig(vocab_size=300, dim=16, hidden_dim=32, n_layers=1, n_heads=2)
                          ).save_pretrained(mlm)
    code, err = _predict(["--model", str(mlm), "--input", str(src), "--output", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{mlm / 'config.json'}: architectures ['DistilBertForMaskedLM'] has no sequence-classification head" in err

    code, err = _predict(["--model", str(model_dir), "--input", str(src), "--output", str(out), "--backend", "onnx"],
                         capsys)
    assert code == 2 and f"{model_dir}: no model.onnx (export the classifier first" in err


def test_read_records_rejects_an_unknown_requested_format(tmp_path):
    with pytest.raises(ServingError, match="--input-format xml"):
        read_records(tmp_path / "a.txt", "xml")
