"""Recipe (YAML) + flag parsing: flags win; bad recipes give clear errors; shipped recipes parse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distilkobert.distill.arguments import parse_args

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def _write(tmp_path, text):
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_yaml_then_flags_flags_win(tmp_path):
    recipe = _write(tmp_path, """
teacher_name_or_path: some/teacher
dataset_name_or_path: corpus_dir
student_layers: [0, 4, 8]
alpha_ce: 0.5
learning_rate: 0.0005
bf16: false
output_dir: out
student_config:
  dropout: 0.2
""")
    m, d, t = parse_args([recipe, "--alpha_ce", "0.25", "--learning_rate", "0.001", "--max_seq_length", "64"])
    assert m.teacher_name_or_path == "some/teacher" and m.student_layers == [0, 4, 8]
    assert t.alpha_ce == 0.25 and t.learning_rate == 0.001 and d.max_seq_length == 64
    assert t.alpha_mlm == 0.33 and t.recipe == recipe
    assert m.student_config == {"dropout": 0.2}
    assert t.output_dir == "out"


def test_flags_alone(tmp_path):
    m, d, t = parse_args(["--teacher_name_or_path", "t", "--dataset_name_or_path", "c", "--output_dir",
                             str(tmp_path), "--student_layers", "1,2", "--ce_positions", "masked"])
    assert m.student_layers == [1, 2] and t.ce_positions == "masked" and t.recipe is None


def test_unknown_recipe_key_names_file_and_key(tmp_path):
    recipe = _write(tmp_path, "teacher_name_or_path: t\nalpha_kl: 1.0\n")
    with pytest.raises(ValueError, match=r"r\.yaml: unknown key 'alpha_kl'"):
        parse_args([recipe])


@pytest.mark.parametrize("flags,message", [
    (["--teacher_name_or_path", "none"], "needs --student_config"),
    (["--teacher_name_or_path", "none", "--student_config", "{}", "--tokenizer_name_or_path", "x"],
     "trains MLM alone"),
    (["--teacher_name_or_path", "t", "--alpha_ce", "-1"], "--alpha_ce must be >= 0"),
    (["--teacher_name_or_path", "t", "--student_layers", "0,a"], "--student_layers"),
    (["--teacher_name_or_path", "t", "--word_mask", "0.5"], "must sum to 1"),
])
def test_argument_errors(tmp_path, flags, message):
    with pytest.raises(ValueError, match=message):
        parse_args(["--dataset_name_or_path", "c", "--output_dir", str(tmp_path), *flags])


def test_main_reports_bad_arguments(tmp_path, capsys):
    from distilkobert.distill.run import main

    assert main(["--teacher_name_or_path", "none", "--dataset_name_or_path", "c", "--output_dir", str(tmp_path)]) == 2
    assert "needs --student_config" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["distilkobert-3l.yaml", "demo-teacher.yaml", "demo.yaml"])
def test_shipped_recipes_parse(name, tmp_path):
    import yaml

    raw = yaml.safe_load((RECIPES / name).read_text(encoding="utf-8"))
    # the GPU recipe asks for bf16 / tf32, which this CPU machine refuses: flags override them (flags win)
    cpu = ["--bf16", "false", "--tf32", "false"] if raw.get("bf16") else []
    m, d, t = parse_args([str(RECIPES / name), "--output_dir", str(tmp_path), *cpu])
    if name == "distilkobert-3l.yaml":
        assert raw["bf16"] is True and not t.bf16
        assert m.teacher_name_or_path == "monologg/kobert-lm" and m.student_layers == [0, 4, 8]
        assert (t.adam_beta1, t.adam_beta2, t.adam_epsilon) == (0.9, 0.98, 1e-6)
        assert (t.learning_rate, t.weight_decay, t.max_grad_norm, t.warmup_steps) == (5e-4, 0.0, 5.0, 0.05)
        assert 3500 <= t.per_device_train_batch_size * t.gradient_accumulation_steps <= 8500
        assert t.alpha_ce == t.alpha_mlm == t.alpha_cos == 0.33 and t.temperature == 2.0
    elif name == "demo-teacher.yaml":
        assert not m.has_teacher and m.student_model_type == "bert"
        assert m.student_config["num_hidden_layers"] == 12
    else:
        assert m.has_teacher and m.student_layers == [0, 4, 8] and t.alpha_ce > 0
    json.dumps(m.student_config)


def test_resume_last_skips_a_checkpoint_killed_while_saving(tmp_path, caplog):
    from distilkobert.distill.run import _resume_value

    for step, complete in [(5, True), (10, True), (20, False)]:
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"x")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    with caplog.at_level("WARNING", logger="distilkobert.distill"):
        assert _resume_value("true", tmp_path) == str(tmp_path / "checkpoint-10")
    assert "checkpoint-20 is incomplete" in caplog.text
    assert _resume_value("false", tmp_path) is None and _resume_value(None, tmp_path) is None
    assert _resume_value("some/path", tmp_path) == "some/path"
    (tmp_path / "checkpoint-5" / "trainer_state.json").unlink()
    (tmp_path / "checkpoint-10" / "trainer_state.json").unlink()
    with pytest.raises(ValueError, match="no complete checkpoint"):
        _resume_value("last", tmp_path)


def test_recipe_values_keep_their_yaml_types(tmp_path):
    recipe = _write(tmp_path, """
teacher_name_or_path: t
dataset_name_or_path: c
student_layers: [0, 6, 11]
mse_layer_map: {1: 0, 2: 6}
alpha_mse: 0.5
learning_rate: 1e-3
packing: false
max_train_texts: 100
""")
    m, d, t = parse_args([recipe, "--output_dir", str(tmp_path)])
    assert m.student_layers == [0, 6, 11] and t.mse_layer_map == "1:0,2:6"
    assert t.learning_rate == 1e-3 and d.packing is False and d.max_train_texts == 100  # YAML's "1e-3" string too
    m, d, t = parse_args([recipe, "--output_dir", str(tmp_path), "--packing", "--student_layers", "1", "2"])
    assert d.packing is True and m.student_layers == [1, 2]  # flags win


@pytest.mark.parametrize("text,message", [
    ("learning_rate: fast\n", "learning_rate: 'fast' is not a valid float"),
    ("ce_positions: some\n", "ce_positions: 'some' is not one of"),
    ("student_layers: {a: 1}\n", "student_layers: a mapping is not a valid value"),
    ("[1, 2\n", "not a YAML file (line"),
])
def test_bad_recipe_values_name_the_file_and_key(tmp_path, text, message):
    with pytest.raises(ValueError, match="r.yaml") as info:
        parse_args([_write(tmp_path, text), "--output_dir", str(tmp_path)])
    assert message in str(info.value)
