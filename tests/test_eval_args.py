"""eval_nsmc arguments: recipes are typed defaults that flags override; the fine-tuning settings are
TrainingArguments with this protocol's defaults; each seed's Trainer gets its own copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from distilkobert.evaluation.arguments import REPORTED, NsmcTrainingArguments, parse_args

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def test_defaults_are_the_protocol(tmp_path):
    model, data, train = parse_args(["--model_name_or_path", "m", "--output_dir", str(tmp_path)])
    assert isinstance(train, NsmcTrainingArguments)
    assert train.seeds == [42, 43, 44] and train.data_seed == 42
    assert (train.learning_rate, train.per_device_train_batch_size, train.per_device_eval_batch_size) == (5e-5, 32, 128)
    assert (train.num_train_epochs, train.weight_decay, train.warmup_steps, train.logging_steps) == (3.0, 0.01, 0.1, 50)
    assert str(train.eval_strategy.value) == str(train.save_strategy.value) == "epoch"
    assert train.load_best_model_at_end and train.metric_for_best_model == "accuracy" and train.greater_is_better
    assert train.save_total_limit == 1 and train.save_only_model and train.report_to in ([], ["none"], "none")
    assert data.max_seq_length == 128 and data.dataset_name == "distilkobert/nsmc"
    assert model.model_name_or_path == "m"


def test_eval_steps_switch_to_step_selection(tmp_path):
    _, _, train = parse_args(["--model_name_or_path", "m", "--output_dir", str(tmp_path), "--eval_steps", "4"])
    assert str(train.eval_strategy.value) == "steps" and train.eval_steps == 4 and train.save_steps == 4
    assert train.reported()["eval_steps"] == 4


def test_each_seed_gets_its_own_trainer_arguments(tmp_path):
    _, _, train = parse_args(["--model_name_or_path", "m", "--output_dir", str(tmp_path), "--seeds", "7", "8",
                              "--update_model_card", "--push_to_hub", "--device", "cpu"])
    seed_args = train.for_seed(8, tmp_path / "seed-8" / "checkpoints")
    assert (seed_args.seed, seed_args.data_seed) == (8, 8)
    assert seed_args.output_dir == str(tmp_path / "seed-8" / "checkpoints")
    assert seed_args.push_to_hub is False and seed_args.use_cpu  # only the card is pushed, never a checkpoint
    assert train.push_to_hub is True and train.output_dir == str(tmp_path) and train.data_seed == 42  # unchanged


def test_reported_hyperparameters_keep_their_names(tmp_path):
    _, _, train = parse_args(["--model_name_or_path", "m", "--output_dir", str(tmp_path), "--device", "cpu"])
    reported = train.reported()
    assert tuple(reported) == REPORTED
    assert reported["device"] == "cpu" and reported["eval_steps"] == 0 and reported["logging_steps"] == 50
    assert isinstance(reported["logging_steps"], int)


def test_recipe_then_flags(tmp_path):
    recipe = tmp_path / "eval.yaml"
    recipe.write_text("model_name_or_path: some/model\nseeds: [1, 2, 3]\nlearning_rate: 1e-4\nmax_seq_length: 64\n"
                      f"output_dir: {tmp_path / 'out'}\nupdate_model_card: true\n", encoding="utf-8")
    model, data, train = parse_args([str(recipe), "--seeds", "5", "--max_seq_length", "32"])
    assert model.model_name_or_path == "some/model" and train.learning_rate == 1e-4  # "1e-4" is a float here
    assert train.seeds == [5] and data.max_seq_length == 32 and train.update_model_card is True


@pytest.mark.parametrize("name", ["eval-demo.yaml", "eval-nsmc.yaml"])
def test_shipped_eval_recipes_parse(name, tmp_path):
    model, data, train = parse_args([str(RECIPES / name), "--model_name_or_path", "m", "--output_dir", str(tmp_path)])
    assert train.seeds == [42, 43, 44] and train.update_model_card
    if name == "eval-demo.yaml":  # the demo's settings for its tiny models
        assert (train.learning_rate, data.max_seq_length) == (5e-4, 64)
    else:
        assert (train.learning_rate, data.max_seq_length, train.per_device_train_batch_size) == (5e-5, 128, 32)
        assert data.dataset_name == "distilkobert/nsmc"
