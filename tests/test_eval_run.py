"""eval_nsmc end to end on a tiny NSMC-format dataset with tiny encoders (CPU, a few seconds per run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_eval_utils import fast_args, make_model, standard_splits, write_dataset

from distilkobert.evaluation.run import main


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval-assets")
    return {"dataset": write_dataset(root / "nsmc-tiny", standard_splits()),
            "bert": make_model(root / "tiny-bert", "bert"),
            "distilbert": make_model(root / "tiny-distilbert", "distilbert"),
            "root": root}


def _run(args: list[str]) -> dict:
    assert main(args) == 0
    out = Path(args[args.index("--output_dir") + 1])
    return json.loads((out / "nsmc_results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def base_run(assets):
    out = assets["root"] / "run-base"
    return _run(fast_args(assets["bert"], assets["dataset"], out)), out


def test_results_json_is_complete(base_run, capsys):
    results, out = base_run
    for key in ("schema_version", "created_at", "model", "tokenizer", "dataset", "hyperparameters", "per_seed",
                "aggregate", "selection", "timings", "versions", "machine", "command"):
        assert key in results, key
    m = results["model"]
    assert m["model_type"] == "bert" and m["architectures"] == ["BertForSequenceClassification"]
    assert m["parameters"]["total"] > m["parameters"]["encoder"] > 0
    assert m["checkpoint_weights_mb"] > 0 and m["checkpoint_weight_files"] == ["model.safetensors"]
    assert m["evaluated_model_mb"] > 0
    hp = results["hyperparameters"]
    for key in ("learning_rate", "per_device_train_batch_size", "num_train_epochs", "max_seq_length", "seeds",
                "warmup_ratio", "weight_decay", "eval_steps", "data_seed", "validation_fraction"):
        assert key in hp, key
    assert hp["max_seq_length"] == 32 and hp["seeds"] == [42] and hp["learning_rate"] == 3e-3
    (seed,) = results["per_seed"]
    assert seed["seed"] == 42
    assert 0.0 <= seed["test"]["accuracy"] <= 1.0 and 0.0 <= seed["test"]["f1_macro"] <= 1.0
    assert seed["test"]["rows"] == 40
    assert seed["selection"]["split"] == "validation" and seed["selection"]["best_step"] > 0
    assert len(seed["selection"]["evaluations"]) == 5  # one per epoch
    assert seed["selection"]["best_validation_accuracy"] == max(e["accuracy"] for e in seed["selection"]["evaluations"])
    assert seed["validation"]["accuracy"] == pytest.approx(seed["selection"]["best_validation_accuracy"])
    tp = seed["throughput"]
    assert tp["sentences"] == 40 and tp["sentences_per_second"] > 0 and tp["batch_size"] == 32
    assert tp["device"] == "cpu" and tp["includes_tokenization"] is False
    agg = results["aggregate"]
    assert agg["test_accuracy"]["mean"] == seed["test"]["accuracy"] and agg["test_accuracy"]["n"] == 1
    assert agg["test_accuracy"]["std"] == 0.0
    for lib in ("torch", "transformers", "datasets", "evaluate", "tokenizers", "huggingface_hub", "python"):
        assert results["versions"][lib]
    assert results["machine"]["cpu_count"] >= 1
    assert results["dataset"]["fingerprint_sha256"] and results["dataset"]["used_splits"] == {
        "train": 120, "validation": 40, "test": 40}
    assert not (out / "seed-42" / "checkpoints").exists()  # checkpoints removed after selection by default
    assert (out / "nsmc_results.json").is_file()


def test_empty_documents_are_kept_and_long_documents_counted(base_run):
    results, _ = base_run
    stats = results["dataset"]["token_stats"]
    for split in ("train", "validation", "test"):
        assert stats[split]["empty_documents"] == 2  # make_rows puts 2 empty documents in every split
        assert stats[split]["truncated_documents"] == 2  # ... and 2 documents far longer than 32 tokens
        assert stats[split]["max_tokens"] > 32
    assert results["per_seed"][0]["test"]["rows"] == 40  # empty ones were evaluated, not dropped


def test_model_learns_the_tiny_task(base_run):
    results, _ = base_run
    assert results["per_seed"][0]["validation"]["accuracy"] >= 0.8
    assert results["per_seed"][0]["test"]["accuracy"] >= 0.8


def test_selection_never_reads_test(assets, base_run):
    results, _ = base_run
    events = results["selection"]["split_accesses"]
    assert results["selection"]["test_read_during_training"] is False
    assert results["selection"]["test_evaluations"] == 1
    end = max(i for i, e in enumerate(events) if e["purpose"] == "fine-tuning and selection end")
    test_idx = [i for i, e in enumerate(events) if e["split"] == "test"]
    assert test_idx and all(i > end for i in test_idx)
    trainer_evals = [e for e in events if e["purpose"].startswith("Trainer.evaluate")]
    assert len(trainer_evals) == 6 and {e["split"] for e in trainer_evals} == {"validation"}

    # the same run with every test label flipped selects exactly the same checkpoint
    root = assets["root"] / "flipped"
    splits = standard_splits()
    for row in splits["test"]:
        row["label"] = 1 - row["label"]
    flipped = _run(fast_args(assets["bert"], write_dataset(root / "ds", splits), root / "out"))
    a, b = results["per_seed"][0], flipped["per_seed"][0]
    assert b["selection"] == a["selection"]
    assert b["validation"] == a["validation"]
    assert b["test"]["accuracy"] == pytest.approx(1 - a["test"]["accuracy"])  # only the test score moved


def test_sealed_test_split_refuses_during_training():
    from distilkobert.evaluation.data import AccessLog, SealedTestSplit, TestSplitAccessError

    log = AccessLog()
    sealed = SealedTestSplit(["row"], log)
    log.start_training(1)
    with pytest.raises(TestSplitAccessError, match="validation split only"):
        sealed.open("peek", 1)
    log.end_training(1)
    assert sealed.open("final", 1) == ["row"]
    assert [e["split"] for e in log.events] == ["train", "train", "test"]


def test_same_seed_same_metrics_and_distilbert_works(assets, base_run):
    results, _ = base_run
    again = _run(fast_args(assets["bert"], assets["dataset"], assets["root"] / "run-again"))
    a, b = results["per_seed"][0], again["per_seed"][0]
    for key in ("selection", "validation", "test"):
        assert a[key] == b[key], key
    assert a["training"]["loss_log"] == b["training"]["loss_log"]

    distil = _run(fast_args(assets["distilbert"], assets["dataset"], assets["root"] / "run-distil", "--seeds",
                            "42", "43", "--num_train_epochs", "2"))
    assert distil["model"]["model_type"] == "distilbert"
    assert [r["seed"] for r in distil["per_seed"]] == [42, 43]
    assert distil["aggregate"]["test_accuracy"]["n"] == 2
    values = distil["aggregate"]["test_accuracy"]["values"]
    assert distil["aggregate"]["test_accuracy"]["mean"] == pytest.approx(sum(values) / 2)
    # a different seed is a different run (head init, data order): the loss curves differ
    assert distil["per_seed"][0]["training"]["loss_log"] != distil["per_seed"][1]["training"]["loss_log"]
    assert distil["selection"]["test_evaluations"] == 2


def test_dataset_without_validation_is_carved(assets, caplog):
    splits = standard_splits()
    del splits["validation"]
    splits["train"][5]["document"] = None  # a null document: kept as "" and counted
    ds = write_dataset(assets["root"] / "no-val", splits)
    results = _run(fast_args(assets["bert"], ds, assets["root"] / "run-no-val", "--num_train_epochs", "2",
                             "--eval_steps", "4"))
    selection = results["per_seed"][0]["selection"]
    assert selection["strategy"] == "steps"
    # 2 epochs of ceil(108 / 16) = 7 steps: every 4 steps, and Trainer also evaluates the last step
    assert [e["step"] for e in selection["evaluations"]] == [4, 8, 12, 14]
    d = results["dataset"]
    assert d["validation_carved_from_train"] is True
    assert d["validation_carving"] == {"fraction": 0.1, "seed": 42, "stratified_by": "label", "train_rows": 108,
                                       "validation_rows": 12}
    assert d["used_splits"] == {"train": 108, "validation": 12, "test": 40}
    assert d["label_counts"]["validation"] == {"negative": 6, "positive": 6}  # stratified
    assert "carved" in d["note"]
    assert d["null_documents_replaced_by_empty"]["train"] == 1
    assert d["token_stats"]["train"]["empty_documents"] + d["token_stats"]["validation"]["empty_documents"] == 3
    assert any("no validation split" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("class_label", [True, False])
def test_labels_outside_0_1_are_a_clear_error(assets, capsys, class_label):
    splits = standard_splits()
    splits["validation"][7]["label"] = 5
    ds = write_dataset(assets["root"] / f"bad-labels-{class_label}", splits, class_label=class_label)
    assert main(fast_args(assets["bert"], ds, assets["root"] / "run-bad")) == 2
    err = capsys.readouterr().err
    assert "split 'validation' row 7 (id '10007'): label 5 is not 0 (negative) or 1 (positive)" in err
    assert "Traceback" not in err


def test_missing_model_is_a_clear_error(assets, capsys):
    args = fast_args(assets["root"] / "missing-folder", assets["dataset"], assets["root"] / "run-missing")
    assert main(args) == 2
    assert "missing-folder" in capsys.readouterr().err
    args[args.index("--model_name_or_path") + 1] = "test-org/no-such-model-anywhere"
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "test-org/no-such-model-anywhere" in err and "Traceback" not in err


def test_compare_prints_readme_table(assets, base_run, tmp_path, capsys):
    results, _ = base_run
    teacher = json.loads(json.dumps(results))
    teacher["model"]["label"] = "KoBERT"
    teacher["model"]["checkpoint_weights_mb"] = 351.0
    teacher["aggregate"]["test_accuracy"].update(mean=0.8963, std=0.001, n=3)
    teacher["aggregate"]["throughput_sentences_per_second"]["mean"] = 100.0
    student = json.loads(json.dumps(results))
    student["model"]["label"] = "DistilKoBERT"
    student["model"]["checkpoint_weights_mb"] = 108.0
    student["aggregate"]["test_accuracy"].update(mean=0.8841, std=0.0, n=1)
    student["aggregate"]["throughput_sentences_per_second"]["mean"] = 300.0
    (tmp_path / "t.json").write_text(json.dumps(teacher))
    (tmp_path / "s.json").write_text(json.dumps(student))
    capsys.readouterr()
    assert main(["--compare", str(tmp_path / "t.json"), str(tmp_path / "s.json"),
                 "--compare_output", str(tmp_path / "cmp.md")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("| Model") and "| Size (MB) | NSMC acc (%) | Retained (%) | Relative speed |" in lines[0]
    assert [c.strip() for c in lines[2].split("|")[1:-1]] == ["KoBERT", "351", "89.63 ± 0.10", "100.0", "1.00x"]
    assert [c.strip() for c in lines[3].split("|")[1:-1]] == ["DistilKoBERT", "108", "88.41", "98.6", "3.00x"]
    assert (tmp_path / "cmp.md").read_text().startswith(lines[0])
    assert "Throughput measured on cpu" in out and "WARNING" not in out
    student["per_seed"][0]["throughput"]["device"] = "cuda"
    (tmp_path / "s.json").write_text(json.dumps(student))
    assert main(["--compare", str(tmp_path / "t.json"), str(tmp_path / "s.json")]) == 0
    assert "WARNING: throughput was measured under different conditions" in capsys.readouterr().out
    assert main(["--compare", str(tmp_path / "t.json"), str(tmp_path / "s.json"),
                 "--compare_output", str(tmp_path / "cmp.json")]) == 0
    rows = json.loads((tmp_path / "cmp.json").read_text())["rows"]
    assert rows[1]["retained_pct"] == pytest.approx(100 * 0.8841 / 0.8963)
    assert rows[1]["relative_speed"] == pytest.approx(3.0)
    # not a results file -> clear error
    (tmp_path / "bad.json").write_text("{}")
    assert main(["--compare", str(tmp_path / "bad.json")]) == 2
    assert "not an nsmc_results.json" in capsys.readouterr().err


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for flag in ("--model_name_or_path", "--revision", "--tokenizer_name_or_path", "--dataset_name",
                 "--dataset_revision", "--seeds", "--max_seq_length", "--max_train_samples", "--eval_steps",
                 "--update_model_card", "--push_to_hub", "--card_branch", "--compare", "--compare_output"):
        assert flag in out, flag
