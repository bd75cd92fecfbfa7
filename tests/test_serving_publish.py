"""The published sentiment classifier: a versioned text-classification repo that `pipeline` and the widget use.

A tiny DistilBertForSequenceClassification with a KoBERT-format vocabulary trained on the project's demo corpus
is published to the local Hub at a version tag; `pipeline("sentiment-analysis", model=repo, revision=tag)`
must give negative / positive labels with the same scores as the local folder, and the card must pass both our
validation and the Hub's /api/validate-yaml.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distilkobert.serving.errors import ServingError

from helpers.tiny_classifier import build_classifier

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "demo_data"
VERSION = "v1"
TEXTS = ["이 영화 정말 재미있었어요.", "시간 낭비였다ㅠㅠ", "음악이 좋아서 끝까지 봤습니다 👍", "별로"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from distilkobert.tokenization import train_vocabulary

    root = tmp_path_factory.mktemp("publish")
    tok_dir = train_vocabulary([DEMO / "corpus" / "reviews_style.txt"], 600, root / "tokenizer")
    return build_classifier(root / "model", Path(tok_dir or root / "tokenizer"), kind="distilbert", seed=3)


@pytest.fixture(scope="module")
def published(model_dir, local_hub):
    import uuid

    from distilkobert.serving.publish import classifier_results, publish_classifier

    before = sorted(p.name for p in model_dir.iterdir())
    repo_id = f"test-org/distilkobert-nsmc-{uuid.uuid4().hex[:8]}"
    results = classifier_results(0.8765, 0.8712, dataset="test-org/nsmc", dataset_revision="v1", model=repo_id,
                                 test_rows=1000, selection={"seed": 43})
    result = publish_classifier(model_dir, repo_id, VERSION, results, base_model="test-org/distilkobert")
    assert sorted(p.name for p in model_dir.iterdir()) == before  # the model folder is only read
    assert result.tag == VERSION and result.repo_id == repo_id
    return repo_id


def test_pipeline_from_the_hub_gives_sentiment_labels_and_scores(published, model_dir):
    from transformers import pipeline

    from distilkobert.serving.classifier import TorchClassifier

    classifier = pipeline("sentiment-analysis", model=published, revision=VERSION)
    assert classifier.tokenizer.is_fast and classifier.tokenizer.pad_token_id == 1
    assert classifier.model.config.id2label == {0: "negative", 1: "positive"}
    assert classifier.model.config.label2id == {"negative": 0, "positive": 1}
    hub = classifier(TEXTS)
    local = TorchClassifier.from_pretrained(model_dir).predict(TEXTS)
    assert [p["label"] for p in hub] == [p["label"] for p in local]
    for h, loc in zip(hub, local):
        assert h["label"] in ("negative", "positive") and 0.5 <= h["score"] <= 1.0
        assert h["score"] == pytest.approx(loc["score"], abs=1e-6)


def test_card_widget_and_model_index_validate(published, hub_api):
    from huggingface_hub import ModelCard, hf_hub_download

    from distilkobert.model_card import validate_model_card
    from distilkobert.serving.publish import WIDGET_TEXTS

    card = ModelCard(Path(hf_hub_download(published, "README.md", revision=VERSION)).read_text(encoding="utf-8"))
    card.validate()  # the Hub's own /api/validate-yaml
    validate_model_card(str(card))
    data = card.data
    assert data.pipeline_tag == "text-classification" and data.language == ["ko"]
    assert data.library_name == "transformers" and data.base_model == "test-org/distilkobert"
    assert [w["text"] for w in data.widget] == list(WIDGET_TEXTS)
    assert all("[MASK]" not in w["text"] and any("가" <= c <= "힣" for c in w["text"]) for w in data.widget)
    assert "test-org/nsmc" in data.datasets
    metrics = {r.metric_type: r.metric_value for r in data.eval_results}
    assert metrics == {"accuracy": pytest.approx(0.8765), "f1": pytest.approx(0.8712)}
    assert all(r.task_type == "text-classification" and r.dataset_split == "test" for r in data.eval_results)
    assert f'revision="{VERSION}"' in card.text and "87.65" in card.text
    files = {f.rfilename for f in hub_api.model_info(published, revision=VERSION).siblings}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "nsmc_results.json"} <= files
    results = json.loads(Path(hf_hub_download(published, "nsmc_results.json", revision=VERSION)).read_text())
    assert results["aggregate"]["test_accuracy"]["mean"] == 0.8765 and results["selection"] == {"seed": 43}


def test_existing_version_is_refused(published, model_dir):
    from distilkobert.hub.publish import VersionExistsError
    from distilkobert.serving.publish import publish_classifier

    with pytest.raises(VersionExistsError, match=VERSION):
        publish_classifier(model_dir, published, VERSION)


def test_folder_without_fast_tokenizer_or_head_is_refused(model_dir, tmp_path):
    import shutil

    from distilkobert.serving.publish import publish_classifier

    no_fast = tmp_path / "no-fast"
    shutil.copytree(model_dir, no_fast)
    (no_fast / "tokenizer.json").unlink()
    with pytest.raises(ServingError, match=r"no-fast: no tokenizer.json"):
        publish_classifier(no_fast, "test-org/never-created", VERSION)
    no_head = tmp_path / "no-head"
    shutil.copytree(model_dir, no_head)
    config = json.loads((no_head / "config.json").read_text())
    config["architectures"] = ["DistilBertForMaskedLM"]
    (no_head / "config.json").write_text(json.dumps(config))
    with pytest.raises(ServingError, match=r"no-head/config.json: .* no sequence-classification head"):
        publish_classifier(no_head, "test-org/never-created", VERSION)


def test_evaluation_publishes_the_seed_selected_on_validation(model_dir, tmp_path, local_hub, hub_api):
    import shutil
    import uuid

    from huggingface_hub import ModelCard, hf_hub_download

    from distilkobert.serving.publish import publish_evaluated_classifier

    out = tmp_path / "eval"
    for seed in (42, 43):
        shutil.copytree(model_dir, out / f"seed-{seed}" / "model")
    (out / "seed-43" / "model" / "marker.json").write_text("{}")  # tells the two seeds' folders apart
    results = {"schema_version": 1,
               "model": {"name_or_path": "test-org/distilkobert", "is_local": False, "hub_repo_id": None},
               "dataset": {"name": "test-org/nsmc", "revision": "v1"},
               "per_seed": [{"seed": 42, "validation": {"accuracy": 0.81}, "test": {"accuracy": 0.95, "f1_macro": 0.9,
                                                                                   "rows": 1000}},
                            {"seed": 43, "validation": {"accuracy": 0.86}, "test": {"accuracy": 0.84,
                                                                                   "f1_macro": 0.83, "rows": 1000}}]}
    repo_id = f"test-org/nsmc-selected-{uuid.uuid4().hex[:8]}"
    publish_evaluated_classifier(results, out, repo_id, "v2")
    files = {f.rfilename for f in hub_api.model_info(repo_id, revision="v2").siblings}
    assert "marker.json" in files  # seed 43: best on validation, although seed 42 is better on test
    card = ModelCard(Path(hf_hub_download(repo_id, "README.md", revision="v2")).read_text(encoding="utf-8"))
    assert {r.metric_type: r.metric_value for r in card.data.eval_results} == {"accuracy": 0.84, "f1": 0.83}
    assert card.data.base_model == "test-org/distilkobert"
    published = json.loads(Path(hf_hub_download(repo_id, "nsmc_results.json", revision="v2")).read_text())
    assert published["selection"]["seed"] == 43 and published["dataset"]["test_rows"] == 1000

    shutil.rmtree(out / "seed-43")
    with pytest.raises(ServingError, match=r"seed-43/model: the selected seed's model was not kept"):
        publish_evaluated_classifier(results, out, repo_id, "v3")


def test_predict_from_the_hub_at_the_version_tag(published, model_dir, tmp_path):
    from distilkobert.serving.classifier import TorchClassifier
    from distilkobert.serving.cli import predict_main

    src = tmp_path / "reviews.txt"
    src.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert predict_main(["--model", published, "--revision", VERSION, "--input", str(src), "--output", str(out),
                         "--no-progress"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    local = TorchClassifier.from_pretrained(model_dir).predict(TEXTS)
    assert [r["label"] for r in rows] == [p["label"] for p in local]
    assert predict_main(["--model", published, "--revision", "v9", "--input", str(src), "--output",
                         str(out)]) == 2


@pytest.mark.slow
def test_eval_nsmc_publishes_its_selected_classifier(tmp_path, hub_api, capsys):
    """eval_nsmc.py --publish_classifier REPO --classifier_version TAG: the validation-selected seed's model is
    published and serves `pipeline("sentiment-analysis")`; a second run with the same tag stops before training."""
    import uuid

    from huggingface_hub import hf_hub_download
    from test_eval_utils import fast_args, make_model, standard_splits, write_dataset
    from transformers import pipeline

    from distilkobert.evaluation.run import main

    dataset = write_dataset(tmp_path / "nsmc-tiny", standard_splits())
    encoder = make_model(tmp_path / "tiny-bert", "bert")
    repo_id = f"test-org/tiny-nsmc-{uuid.uuid4().hex[:8]}"
    publish = ["--publish_classifier", repo_id, "--classifier_version", "v1"]
    out = tmp_path / "eval"
    assert main(fast_args(encoder, dataset, out, "--seeds", "42", "43", *publish)) == 0
    results = json.loads((out / "nsmc_results.json").read_text(encoding="utf-8"))
    best = max(results["per_seed"], key=lambda r: r["validation"]["accuracy"])
    assert "classifier published: " in capsys.readouterr().out
    published = json.loads(Path(hf_hub_download(repo_id, "nsmc_results.json", revision="v1")).read_text())
    assert published["selection"]["seed"] == best["seed"]
    assert published["aggregate"]["test_accuracy"]["mean"] == best["test"]["accuracy"]
    predictions = pipeline("sentiment-analysis", model=repo_id, revision="v1")(["좋은 영화", "별로"])
    assert {p["label"] for p in predictions} <= {"negative", "positive"}

    assert main(fast_args(encoder, dataset, tmp_path / "again", *publish)) == 2
    err = capsys.readouterr().err
    assert f"{repo_id} already has version 'v1'" in err and not (tmp_path / "again" / "nsmc_results.json").exists()
    assert main(fast_args(encoder, dataset, tmp_path / "third", "--publish_classifier", repo_id)) == 2
    assert "--publish_classifier and --classifier_version go together" in capsys.readouterr().err

