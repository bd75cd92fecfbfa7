"""Student construction: exact copy of teacher weights into DistilBERT / BERT students."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from distilkobert.distill.student import BERT_TO_DISTILBERT_LAYER, build_student, load_teacher, select_rows

from helpers.tiny_bert import build_wordpiece_tokenizer, tiny_bert_teacher

CORPUS = Path(__file__).parent / "data" / "distill_corpus.txt"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    return build_wordpiece_tokenizer(lines, tmp_path_factory.mktemp("tok"), vocab_size=400)


@pytest.fixture(scope="module")
def teacher_dir(tokenizer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("teacher")
    model = tiny_bert_teacher(len(tokenizer), folder, seed=3, dropout=0.1)
    # make every tensor distinct from its initialisation (LayerNorms start at 1/0, biases at 0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(str(folder))
    return folder


def test_distilbert_student_copies_teacher_tensors_exactly(tokenizer, teacher_dir):
    teacher = load_teacher(str(teacher_dir))
    assert teacher.has_mlm_head
    student = build_student(tokenizer, teacher=teacher, layers=[0, 4, 8])
    t, s = teacher.model, student
    cfg = s.config
    assert (cfg.n_layers, cfg.dim, cfg.n_heads, cfg.hidden_dim) == (3, 32, 2, 64)
    assert cfg.vocab_size == len(tokenizer) and cfg.pad_token_id == 1
    te, se = t.bert.embeddings, s.distilbert.embeddings
    assert torch.equal(se.word_embeddings.weight, te.word_embeddings.weight)
    assert torch.equal(se.position_embeddings.weight, te.position_embeddings.weight)
    assert torch.equal(se.LayerNorm.weight, te.LayerNorm.weight) and torch.equal(se.LayerNorm.bias, te.LayerNorm.bias)
    n_checked = 0
    for j, i in enumerate([0, 4, 8]):
        for t_name, s_name in BERT_TO_DISTILBERT_LAYER.items():
            tm = t.bert.encoder.layer[i].get_submodule(t_name)
            sm = s.distilbert.transformer.layer[j].get_submodule(s_name)
            assert torch.equal(sm.weight, tm.weight), (j, s_name)
            assert torch.equal(sm.bias, tm.bias), (j, s_name)
            n_checked += 2
    assert n_checked == 3 * 8 * 2
    # the copy is of layer i, not of its neighbours
    assert not torch.equal(s.distilbert.transformer.layer[1].attention.q_lin.weight,
                           t.bert.encoder.layer[1].attention.self.query.weight)
    pred = t.cls.predictions
    assert torch.equal(s.vocab_transform.weight, pred.transform.dense.weight)
    assert torch.equal(s.vocab_transform.bias, pred.transform.dense.bias)
    assert torch.equal(s.vocab_layer_norm.weight, pred.transform.LayerNorm.weight)
    assert torch.equal(s.vocab_layer_norm.bias, pred.transform.LayerNorm.bias)
    assert torch.equal(s.vocab_projector.weight, pred.decoder.weight)
    assert torch.equal(s.vocab_projector.bias, pred.bias)


def test_one_layer_student_reproduces_teacher_prefix(tokenizer, teacher_dir):
    """Functional check of the mapping: a student of teacher layer [0] equals the teacher's first layer output
    (up to token-type embedding 0, which DistilBERT drops and we zero here)."""
    teacher = load_teacher(str(teacher_dir))
    with torch.no_grad():
        teacher.model.bert.embeddings.token_type_embeddings.weight.zero_()
    teacher.model.eval()
    student = build_student(tokenizer, teacher=teacher, layers=[0]).eval()
    enc = tokenizer(["오늘 아침에는 비가 많이 내려서 우산을 챙겨 나갔다.", "한국어 모델을 공유합니다."],
                    padding=True, return_tensors="pt")
    with torch.no_grad():
        t_h = teacher.model.bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                 output_hidden_states=True).hidden_states[1]
        s_h = student.distilbert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    m = enc["attention_mask"].bool()
    torch.testing.assert_close(s_h[m], t_h[m], atol=1e-5, rtol=1e-5)


def test_bert_student_copies_teacher_layers(tokenizer, teacher_dir):
    teacher = load_teacher(str(teacher_dir))
    student = build_student(tokenizer, model_type="bert", teacher=teacher, layers=[1, 11])
    assert student.config.num_hidden_layers == 2
    t_sd, s_sd = teacher.model.state_dict(), student.state_dict()
    mapping = {"0": "1", "1": "11"}
    for key, value in s_sd.items():
        t_key = re.sub(r"encoder\.layer\.(\d+)\.", lambda m: f"encoder.layer.{mapping[m.group(1)]}.", key)
        assert torch.equal(value, t_sd[t_key]), key


def test_encoder_only_teacher_has_no_head(tokenizer, tmp_path):
    from transformers import BertConfig, BertModel

    from helpers.tiny_bert import tiny_bert_config

    BertModel(BertConfig(**tiny_bert_config(len(tokenizer), n_layers=4)), add_pooling_layer=False).save_pretrained(
        str(tmp_path))
    teacher = load_teacher(str(tmp_path))
    assert not teacher.has_mlm_head
    student = build_student(tokenizer, teacher=teacher, layers=[0, 2])
    assert torch.equal(student.distilbert.transformer.layer[1].ffn.lin1.weight,
                       teacher.model.encoder.layer[2].intermediate.dense.weight)


def test_student_without_teacher_from_config(tokenizer):
    student = build_student(tokenizer, model_type="bert", config_overrides={
        "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32})
    assert student.config.vocab_size == len(tokenizer) and student.config.pad_token_id == 1
    assert type(student).__name__ == "BertForMaskedLM"


def test_bad_layers_are_refused(tokenizer, teacher_dir):
    teacher = load_teacher(str(teacher_dir))
    with pytest.raises(ValueError, match="out of range"):
        build_student(tokenizer, teacher=teacher, layers=[0, 12])


@pytest.mark.parametrize("all_rows", [True, False])
def test_select_rows_equals_boolean_indexing(all_rows):
    x = torch.randn(3, 4, 5, requires_grad=True)
    rows = torch.ones(3, 4, dtype=torch.bool)
    if not all_rows:
        rows[1, 2:] = False
    got = select_rows(x, rows)
    torch.testing.assert_close(got, x[rows], rtol=0, atol=0)
    assert (got.data_ptr() == x.data_ptr()) == all_rows  # a view only when nothing is left out
    got.sum().backward()
    torch.testing.assert_close(x.grad, rows.unsqueeze(-1).expand_as(x).float())
