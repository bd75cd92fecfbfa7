"""The model card: rendered from the run's JSON files, valid Hub metadata, NSMC results applied to any card."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from distilkobert.model_card import (
    NSMC_END,
    NSMC_START,
    ModelCardError,
    apply_eval_results,
    render_model_card,
    results_table,
    validate_model_card,
    write_model_card,
)
from distilkobert.resources import read_resource

TRAINING_INFO = {
    "teacher": {"name_or_path": "test-org/kobert-teacher", "revision": "v3", "n_layers": 12, "has_mlm_head": True},
    "student": {"model_type": "distilbert", "n_layers": 3, "dim": 768, "n_heads": 12, "hidden_dim": 3072,
                "vocab_size": 8002, "n_params": 27803138},
    "student_layers": [0, 4, 8],
    "losses": {"alpha_ce": 0.33, "alpha_mlm": 0.33, "alpha_cos": 0.33, "alpha_mse": 0.0, "temperature": 2.0,
               "ce_positions": "all"},
    "corpus": {"name_or_path": "test-org/ko-corpus", "revision": "v1", "n_train_sequences": 4321,
               "n_train_tokens": 987654},
    "training": {"global_step": 777, "epochs": 2, "per_device_batch": 16, "grad_accum": 4, "effective_batch": 64,
                 "learning_rate": 0.0005, "max_seq_length": 128, "seed": 42},
    "hardware": {"device": "cuda", "device_name": "NVIDIA H100", "n_devices": 1, "dtype": "bfloat16"},
    "versions": {"torch": "2.13.0", "transformers": "5.24.0"},
    "time_s": 1234.0,
    "held_out": {"mlm_loss": 2.3456, "mlm_accuracy": 0.5123, "n_masked": 9999},
    "version": "v1",
    "recipe": "recipes/distilkobert-3l.yaml",
}

# the layout eval_nsmc.py writes (distilkobert/common/nsmc_results.py, schema_version 1), trimmed
NSMC_FULL = {
    "model": {"name_or_path": "test-org/distilkobert", "label": "distilkobert", "revision": "v1",
              "resolved_revision": "a" * 40, "is_local": False, "parameters": {"total": 27803138},
              "checkpoint_weights_mb": 106.2},
    "dataset": {"name": "test-org/nsmc", "revision": "v2", "resolved_revision": "b" * 40},
    "per_seed": [{"seed": s, "test": {"accuracy": 0.88, "f1_macro": 0.87},
                  "throughput": {"sentences_per_second": 321.5, "batch_size": 128, "device": "cpu"}}
                 for s in (42, 43, 44)],
    "aggregate": {"test_accuracy": {"mean": 0.8841, "std": 0.0021, "n": 3},
                  "test_f1_macro": {"mean": 0.8790, "std": 0.0030, "n": 3},
                  "throughput_sentences_per_second": {"mean": 321.5, "std": 1.0, "n": 3}},
}

# a second result of the same layout (another model, other numbers)
NSMC_OTHER = {
    "schema_version": 1,
    "model": {"name_or_path": "test-org/distilkobert", "label": "distilkobert", "revision": "v1", "is_local": False,
              "parameters": {"total": 1000}, "checkpoint_weights_mb": 1.5},
    "dataset": {"name": "test-org/nsmc", "revision": "v2"},
    "per_seed": [{"seed": 1, "throughput": {"sentences_per_second": 50.0, "batch_size": 8, "device": "cpu"}},
                 {"seed": 2}],
    "aggregate": {"test_accuracy": {"mean": 0.75, "std": 0.01, "n": 2}, "test_f1_macro": {"mean": 0.74, "std": 0.02},
                  "throughput_sentences_per_second": {"mean": 50.0}},
}


def _meta(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_full_card_metadata_and_body_come_from_the_run():
    text = render_model_card(repo_id="test-org/distilkobert", training_info=TRAINING_INFO, eval_results=NSMC_FULL)
    meta = _meta(text)
    assert meta["language"] == ["ko"] and meta["license"] == "apache-2.0"
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "fill-mask"
    assert meta["base_model"] == "test-org/kobert-teacher"
    assert {"test-org/ko-corpus", "test-org/nsmc"} <= set(meta["datasets"])
    assert meta["widget"] and all(w["text"].count("[MASK]") == 1 for w in meta["widget"])
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in w["text"]) for w in meta["widget"])  # Korean

    card = validate_model_card(text)
    results = {r.metric_type: r for r in card.data.eval_results}
    assert results["accuracy"].metric_value == pytest.approx(0.8841)
    assert results["f1"].metric_value == pytest.approx(0.8790)
    assert results["accuracy"].task_type == "text-classification"
    assert results["accuracy"].dataset_type == "test-org/nsmc"
    assert results["accuracy"].dataset_revision == "b" * 40
    assert card.data.model_name == "distilkobert"

    body = card.text
    for expected in ("`test-org/kobert-teacher` at revision `v3` (12 layers, with MLM head)", "0, 4, 8",
                     "27,803,138", "alpha_ce 0.33", "T = 2.0", "4,321 training sequences", "987,654 tokens",
                     "777 optimiser steps", "16 per device x 4 accumulation x 1 devices = 64", "NVIDIA H100",
                     "bfloat16", "20.6 min", "MLM loss 2.3456", "51.23%", "88.41 ± 0.21", "87.90 ± 0.30",
                     "106.2", "321.5 (batch 128, cpu)", "recipes/distilkobert-3l.yaml"):
        assert expected in body, expected
    # every distillation row has a value: nothing "unknown" when the run recorded everything
    table = body.split("## How it was distilled")[1].split("## NSMC results")[0]
    assert "unknown" not in table
    # usage snippets for every entry point, pointing at the repo
    for snippet in ('AutoModel.from_pretrained("test-org/distilkobert")', "trust_remote_code=True",
                    'pipeline("fill-mask"', "from distilkobert import get_distilkobert_model, get_tokenizer"):
        assert snippet in body
    assert "padding id is 1" in body and "ㅠ" in body and "@article{sanh2019distilbert" in body
    assert body.count(NSMC_START) == 1 and body.count(NSMC_END) == 1


def test_card_without_any_run_information_says_unknown():
    text = render_model_card(repo_id=None, training_info=None, eval_results=None)
    meta = _meta(text)
    assert "model-index" not in meta and "base_model" not in meta
    card = validate_model_card(text)
    assert not card.data.eval_results
    table = card.text.split("## How it was distilled")[1].split("## NSMC results")[0]
    assert table.count("unknown") >= 10
    assert "No NSMC evaluation has been recorded" in card.text
    assert 'from_pretrained("path/to/model")' in card.text


def test_teacher_that_is_not_a_hub_repo_is_not_the_base_model(tmp_path):
    info = copy.deepcopy(TRAINING_INFO)
    info["teacher"]["name_or_path"] = str(tmp_path)  # a local folder
    info["corpus"]["name_or_path"] = str(tmp_path / "corpus")
    meta = _meta(render_model_card(repo_id="test-org/x", training_info=info, eval_results=None))
    assert "base_model" not in meta
    assert str(tmp_path) not in meta.get("datasets", [])

    for teacher in ({"name_or_path": "none"}, None):  # MLM-only run (the demo's teacher), as train_distill writes it
        info["teacher"] = teacher
        info["student_layers"] = None
        text = render_model_card(repo_id="test-org/x", training_info=info, eval_results=None)
        assert "base_model" not in _meta(text)
        assert "trained with the masked-language-model loss alone" in text
        assert "A 3-layer Korean BERT trained with the masked-language-model objective alone" in text
        assert "random initialisation (no teacher)" in text


def test_teacher_held_out_row_and_recipe_dict():
    info = copy.deepcopy(TRAINING_INFO)
    info["teacher_held_out"] = {"mlm_loss": 1.5, "mlm_accuracy": 0.6, "n_masked": 9999}
    info["recipe"] = {"path": "recipes/demo.yaml", "content": "a: 1"}
    text = render_model_card(repo_id="test-org/x", training_info=info, eval_results=None)
    assert "| Teacher held-out MLM (same masks) | MLM loss 1.5000, accuracy 60.00% on 9,999 masked tokens |" in text
    assert "| Recipe | recipes/demo.yaml |" in text
    assert "a demonstration model" in text  # 987,654 training tokens


def test_missing_or_odd_result_keys_omit_rows_and_never_crash():
    partial = {"model": {"label": "m"}, "aggregate": {"test_accuracy": {"mean": 0.5}}}
    table = results_table(partial)
    assert "50.00" in table and "Macro-F1" not in table and "Throughput" not in table and "Size" not in table
    # odd values: strings, None, lists where dicts are expected
    odd = {"model": None, "aggregate": {"test_accuracy": "high", "test_f1_macro": None}, "per_seed": "x",
           "throughput": [1, 2], "size": 3, "dataset": "nsmc"}
    text = render_model_card(repo_id="test-org/x", training_info={"teacher": "weird", "student": [1]},
                             eval_results=odd)
    assert "model-index" not in _meta(text)  # no numeric metric, so nothing claimed
    with pytest.raises(ModelCardError):
        render_model_card(repo_id="test-org/x", training_info=None, eval_results="not a dict")
    with pytest.raises(ModelCardError, match="repo id"):
        render_model_card(repo_id="not a repo id!", training_info=None, eval_results=None)


def test_results_of_another_schema_version_are_refused():
    with pytest.raises(ModelCardError, match="schema_version 2"):
        results_table(dict(NSMC_FULL, schema_version=2))


def test_a_local_model_is_named_by_its_hub_repo_or_label_never_its_path():
    local = copy.deepcopy(NSMC_FULL)
    local["model"].update(name_or_path="/tmp/run/student", is_local=True, hub_repo_id=None)
    assert "`distilkobert`" in results_table(local) and "/tmp/run" not in results_table(local)
    local["model"]["hub_repo_id"] = "test-org/student"
    assert "`test-org/student`" in results_table(local)


def test_several_results_get_one_column_each():
    table = results_table([NSMC_FULL, NSMC_OTHER])
    header = table.splitlines()[0]
    assert header.count("|") == 4  # label column + two result columns
    assert "88.41 ± 0.21" in table and "75.00 ± 1.00" in table


def test_apply_eval_results_to_a_foreign_card_keeps_everything_else():
    foreign = (
        "---\nlicense: mit\ntags:\n- custom\nmodel-index:\n- name: someone-model\n  results:\n"
        "  - task:\n      type: token-classification\n    dataset:\n      type: klue\n      name: KLUE NER\n"
        "    metrics:\n    - type: f1\n      value: 0.81\n---\n\n# Someone's model\n\nTheir text.\n"
    )
    once = apply_eval_results(foreign, NSMC_OTHER)
    meta = _meta(once)
    assert meta["license"] == "mit" and meta["tags"] == ["custom"]
    results = meta["model-index"][0]["results"]
    assert meta["model-index"][0]["name"] == "someone-model"
    tasks = sorted(r["task"]["type"] for r in results)
    assert tasks == ["text-classification", "token-classification"]
    assert "# Someone's model\n\nTheir text." in once
    assert once.count(NSMC_START) == 1 and "75.00 ± 1.00" in once

    # applying newer results replaces the NSMC entry and table, not duplicates them
    newer = copy.deepcopy(NSMC_OTHER)
    newer["aggregate"]["test_accuracy"]["mean"] = 0.8
    twice = apply_eval_results(once, newer, repo_id="test-org/renamed")
    meta2 = _meta(twice)
    nsmc = [r for r in meta2["model-index"][0]["results"] if r["task"]["type"] == "text-classification"]
    assert len(nsmc) == 1
    assert {m["type"]: m["value"] for m in nsmc[0]["metrics"]}["accuracy"] == pytest.approx(0.8)
    assert meta2["model-index"][0]["name"] == "renamed"
    assert twice.count(NSMC_START) == 1 and "80.00 ± 1.00" in twice and "75.00" not in twice
    assert "Their text." in twice


def test_apply_eval_results_on_empty_and_rendered_cards():
    text = apply_eval_results("", NSMC_FULL)
    assert _meta(text)["model-index"][0]["results"][0]["dataset"]["name"] == "NSMC"
    assert NSMC_START in text

    rendered = render_model_card(repo_id="test-org/distilkobert", training_info=TRAINING_INFO, eval_results=None)
    updated = apply_eval_results(rendered, NSMC_FULL, repo_id="test-org/distilkobert")
    assert updated.count(NSMC_START) == 1 and "No NSMC evaluation" not in updated
    assert updated.index(NSMC_START) < updated.index("## How to use")  # updated in place, not appended
    card = validate_model_card(updated)  # still a complete, valid card
    assert {r.metric_type for r in card.data.eval_results} == {"accuracy", "f1"}


@pytest.mark.parametrize("bad, message", [
    ("# no metadata\n", "no YAML metadata"),
    ("---\nlanguage: ko\nlicense: apache-2.0\nlibrary_name: transformers\npipeline_tag: fill-mask\n"
     "widget:\n- text: no mask here\n---\nbody\n", "exactly one \\[MASK\\]"),
    ("---\nlanguage: ko\nlicense: apache-2.0\nlibrary_name: transformers\npipeline_tag: fill-masks\n---\n",
     "pipeline_tag"),
    ("---\nlanguage: ko\nlicense: apache-2.0\nlibrary_name: transformers\npipeline_tag: fill-mask\n"
     "model-index:\n- name: x\n  results:\n  - task: {}\n---\n", "model"),
    ("---\nlanguage: [ko\n---\n", "not valid YAML"),
])
def test_validation_rejects_broken_cards(bad, message):
    with pytest.raises(ModelCardError, match=message):
        validate_model_card(bad)


def test_write_model_card_reads_the_run_files(tmp_path):
    (tmp_path / "distillation_info.json").write_text(json.dumps(TRAINING_INFO), encoding="utf-8")
    (tmp_path / "nsmc_results.json").write_text(json.dumps(NSMC_FULL), encoding="utf-8")
    path = write_model_card(tmp_path, repo_id="test-org/distilkobert")
    assert path == tmp_path / "README.md"
    text = path.read_text(encoding="utf-8")
    assert "777 optimiser steps" in text and "88.41 ± 0.21" in text
    assert _meta(text)["model-index"]

    (tmp_path / "nsmc_results.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(ModelCardError, match="nsmc_results.json"):
        write_model_card(tmp_path)
    with pytest.raises(ModelCardError, match="does not exist"):
        write_model_card(tmp_path / "missing")


def test_the_template_is_package_data_and_a_project_can_bring_its_own(tmp_path, monkeypatch):
    assert "$results_section" in read_resource("model_card", "template.md")
    (tmp_path / "metadata.yaml").write_text(read_resource("model_card", "metadata.yaml"), encoding="utf-8")
    (tmp_path / "template.md").write_text("# Our own $title\n\n$results_section\n", encoding="utf-8")
    monkeypatch.setenv("DISTILKOBERT_MODEL_CARD_DIR", str(tmp_path))
    text = render_model_card(repo_id="test-org/own", training_info=None, eval_results=NSMC_FULL)
    assert "# Our own own" in text and "88.41 ± 0.21" in text and "## How to use" not in text
    (tmp_path / "template.md").write_text("# $title $no_such_value\n", encoding="utf-8")
    with pytest.raises(ModelCardError, match="no_such_value"):
        render_model_card(repo_id="test-org/own", training_info=None, eval_results=None)
    monkeypatch.setenv("DISTILKOBERT_MODEL_CARD_DIR", str(tmp_path / "missing"))
    with pytest.raises(ModelCardError, match="DISTILKOBERT_MODEL_CARD_DIR"):
        render_model_card(repo_id="test-org/own", training_info=None, eval_results=None)
