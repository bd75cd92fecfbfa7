"""eval_nsmc against the local Hub: model and dataset at tagged revisions, the card committed to a branch."""

from __future__ import annotations

import json

from test_eval_utils import fast_args, make_model, standard_splits, write_dataset

from distilkobert.evaluation.run import main

FOREIGN_CARD = """---
license: apache-2.0
language: ko
---
# 작은 테스트 모델

Text written by a person, which the evaluation must keep.
"""


def _sha(api, repo_id: str, name: str, repo_type: str = "model") -> str:
    refs = api.list_repo_refs(repo_id, repo_type=repo_type)
    return {r.name: r.target_commit for r in [*refs.branches, *refs.tags]}[name]


def test_card_round_trips_through_the_local_hub(tmp_path, hub_api, unique_repo_id):
    from huggingface_hub import ModelCard

    from distilkobert.hub.publish import publish_folder

    model_dir = make_model(tmp_path / "model", "bert")
    (model_dir / "README.md").write_text(FOREIGN_CARD, encoding="utf-8")
    model_repo, ds_repo = unique_repo_id("eval-model"), unique_repo_id("eval-nsmc")
    model_pub = publish_folder(model_dir, model_repo, version="v1")
    ds_pub = publish_folder(write_dataset(tmp_path / "ds", standard_splits()), ds_repo, repo_type="dataset",
                            version="v1")

    # 1) --revision is a tag: the tag never moves, the card goes to main
    out = tmp_path / "out-tag"
    args = fast_args(model_repo, ds_repo, out, "--num_train_epochs", "1")
    args += ["--revision", "v1", "--dataset_revision", "v1", "--update_model_card", "--push_to_hub"]
    assert main(args) == 0
    results = json.loads((out / "nsmc_results.json").read_text(encoding="utf-8"))
    assert results["model"]["resolved_revision"] == model_pub.commit_sha
    assert results["dataset"]["resolved_revision"] == ds_pub.commit_sha
    assert results["dataset"]["is_local"] is False and results["model"]["is_local"] is False
    pushed = results["model_card"]["pushed"]
    assert pushed["branch"] == "main" and "tag" in pushed["reason"]
    assert _sha(hub_api, model_repo, "v1") == model_pub.commit_sha  # tag untouched
    assert _sha(hub_api, model_repo, "main") != model_pub.commit_sha

    card = ModelCard.load(model_repo)
    meta = card.data.to_dict()
    assert meta["license"] == "apache-2.0"  # the existing metadata survives
    (entry,) = meta["model-index"]
    (res,) = entry["results"]
    assert res["task"]["type"] == "text-classification"
    assert res["dataset"]["type"] == ds_repo and res["dataset"]["revision"] == ds_pub.commit_sha
    metrics = {m["type"]: m["value"] for m in res["metrics"]}
    assert metrics["accuracy"] == round(results["aggregate"]["test_accuracy"]["mean"], 6)
    assert metrics["f1"] == round(results["aggregate"]["test_f1_macro"]["mean"], 6)
    assert "Text written by a person" in card.text and "<!-- nsmc-results:start -->" in card.text
    assert (out / "README.md").read_text(encoding="utf-8") == str(card)

    # 2) --revision is a branch: the card is committed to that branch, main stays where it is
    hub_api.create_branch(model_repo, branch="dev", revision="v1")
    main_before = _sha(hub_api, model_repo, "main")
    out = tmp_path / "out-branch"
    args = fast_args(model_repo, ds_repo, out, "--num_train_epochs", "1")
    args += ["--revision", "dev", "--dataset_revision", "v1", "--update_model_card", "--push_to_hub"]
    assert main(args) == 0
    results = json.loads((out / "nsmc_results.json").read_text(encoding="utf-8"))
    assert results["model_card"]["pushed"]["branch"] == "dev"
    assert _sha(hub_api, model_repo, "main") == main_before
    assert _sha(hub_api, model_repo, "v1") == model_pub.commit_sha
    from huggingface_hub import hf_hub_download

    dev_card = ModelCard.load(hf_hub_download(model_repo, "README.md", revision="dev"))
    dev_acc = {m["type"]: m["value"] for m in dev_card.data.to_dict()["model-index"][0]["results"][0]["metrics"]}
    assert dev_acc["accuracy"] == round(results["aggregate"]["test_accuracy"]["mean"], 6)


def test_local_folder_card_is_updated_without_push(tmp_path):
    from huggingface_hub import ModelCard

    model_dir = make_model(tmp_path / "model", "distilbert")
    (model_dir / "README.md").write_text(FOREIGN_CARD, encoding="utf-8")
    ds = write_dataset(tmp_path / "ds", standard_splits())
    out = tmp_path / "out"
    assert main(fast_args(model_dir, ds, out, "--num_train_epochs", "1", "--update_model_card",
                          "--max_train_samples", "50", "--max_test_samples", "30")) == 0
    card = ModelCard.load(model_dir / "README.md")
    assert "Text written by a person" in card.text
    metrics = card.data.to_dict()["model-index"][0]["results"][0]["metrics"]
    results = json.loads((out / "nsmc_results.json").read_text(encoding="utf-8"))
    assert {m["type"]: m["value"] for m in metrics}["accuracy"] == round(
        results["aggregate"]["test_accuracy"]["mean"], 6)
    assert results["model_card"]["pushed"] is None
    assert results["dataset"]["used_splits"] == {"train": 50, "validation": 40, "test": 30}
    assert results["dataset"]["subsets"] == {"train": {"rows": 50, "seed": 42}, "test": {"rows": 30, "seed": 42}}
    assert results["per_seed"][0]["test"]["rows"] == 30
    assert (out / "README.md").read_text(encoding="utf-8") == (model_dir / "README.md").read_text(encoding="utf-8")
