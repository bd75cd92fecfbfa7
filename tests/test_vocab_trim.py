"""Vocabulary trimming: ids of counted texts map exactly, hidden states are unchanged, bad inputs are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from distilkobert.vocab_trim import VocabTrimError, main, trim_folder

from helpers.tiny_e5 import build_tiny_e5_teacher

REPO = Path(__file__).resolve().parent.parent


def _reviews(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[1] for line in lines]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    texts = _reviews(REPO / "demo_data" / "reviews.tsv")
    return build_tiny_e5_teacher(texts, tmp_path_factory.mktemp("teacher"), vocab_size=600, padding_rows=3)


def test_counted_texts_keep_their_ids_and_hidden_states(teacher, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    counted = _reviews(REPO / "demo_data" / "reviews.tsv")[:400]
    heldout = _reviews(REPO / "demo_data" / "reviews_test.tsv")
    report = trim_folder(teacher, counted, tmp_path / "trimmed", heldout=heldout)
    assert report["padding_rows_dropped"] == 3
    assert report["pieces_kept"] < report["pieces_before"]
    assert report["parameters_after"] < report["parameters_before"]
    assert 0.5 < report["heldout_unchanged_share"] < 1.0  # some held-out texts need pieces that were dropped

    old_tok, new_tok = AutoTokenizer.from_pretrained(teacher), AutoTokenizer.from_pretrained(tmp_path / "trimmed")
    new_vocab = {p: i for i, (p, _) in enumerate(json.loads(
        (tmp_path / "trimmed" / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"])}
    old_pieces = [p for p, _ in json.loads((teacher / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]]
    for text in counted:
        old_ids = old_tok(text)["input_ids"]
        mapped = [new_vocab[old_pieces[i]] if i < len(old_pieces) else None for i in old_ids]
        assert new_tok(text)["input_ids"] == mapped, text
    assert new_tok.pad_token_id == 1 and new_tok.convert_ids_to_tokens(0) == "<s>"
    assert new_tok.mask_token_id == len(new_tok) - 1

    old_model, new_model = AutoModel.from_pretrained(teacher).eval(), AutoModel.from_pretrained(tmp_path / "trimmed")
    batch_old = old_tok(counted[:16], padding=True, return_tensors="pt")
    batch_new = new_tok(counted[:16], padding=True, return_tensors="pt")
    with torch.no_grad():
        h_old = old_model(**batch_old).last_hidden_state
        h_new = new_model.eval()(**batch_new).last_hidden_state
    mask = batch_old["attention_mask"].bool()
    assert torch.allclose(h_old[mask], h_new[mask], atol=1e-5)
    assert new_model.config.vocab_size == report["pieces_kept"]


def test_min_count_drops_rare_pieces_and_reports_changed_segmentations(teacher, tmp_path):
    counted = _reviews(REPO / "demo_data" / "reviews.tsv")[:400]
    all_kept = trim_folder(teacher, counted, tmp_path / "a", heldout=counted)
    fewer = trim_folder(teacher, counted, tmp_path / "b", min_count=5, heldout=counted)
    assert all_kept["heldout_unchanged_share"] == 1.0  # every counted text stays exactly as it was
    assert fewer["pieces_kept"] < all_kept["pieces_kept"]
    assert fewer["heldout_unchanged_share"] < 1.0


def test_bad_inputs_are_one_line_errors(teacher, tmp_path, capsys):
    # fewer embedding rows than tokenizer pieces: the tokenizer belongs to another model
    small = tmp_path / "small"
    small.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (small / name).write_bytes((teacher / name).read_bytes())
    config = json.loads((teacher / "config.json").read_text())
    config["vocab_size"] = 10
    (small / "config.json").write_text(json.dumps(config))
    with pytest.raises(VocabTrimError, match="only 10 embedding rows"):
        trim_folder(small, ["안녕하세요"], tmp_path / "out")

    texts = tmp_path / "texts.txt"
    texts.write_text("영화 좋아요\n", encoding="utf-8")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["--model", str(teacher), "--texts", str(texts), "--output-dir", str(tmp_path / "full")])
    assert exc.value.code == 2
    assert "is not empty" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--model", str(teacher), "--texts", str(tmp_path / "missing.txt"), "--output-dir", str(tmp_path / "o")])
    assert "no such file" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    assert main(["--model", str(teacher), "--texts", str(empty), "--output-dir", str(tmp_path / "o2")]) == 2
    assert "no texts" in capsys.readouterr().err
    assert not (tmp_path / "o2" / "model.safetensors").exists()


def test_wordpiece_tokenizer_is_refused(tmp_path):
    from helpers.tiny_bert import build_wordpiece_tokenizer, tiny_bert_teacher

    tok = build_wordpiece_tokenizer(["영화 좋아요", "별로예요"] * 20, tmp_path, vocab_size=60)
    tiny_bert_teacher(len(tok), tmp_path)
    with pytest.raises(VocabTrimError, match="only SentencePiece Unigram"):
        trim_folder(tmp_path, ["영화 좋아요"], tmp_path / "out")
