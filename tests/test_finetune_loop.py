"""The one fine-tune-and-select loop's parts (soft-label loss, checkpoint steps), the one recipe reader as the study
words its problems, and the evaluation entry point importing no Hugging Face library before the endpoint is set."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from distilkobert.common.recipe import RecipeError, read_recipe
from distilkobert.data.nsmc import ID2LABEL, LABEL2ID, LABEL_NAMES
from distilkobert.evaluation.finetune import SoftLabelCollator, SoftLabelLoss, checkpoint_step
from distilkobert.study.config import StudyConfigError, load_recipe


def test_one_label_map():
    assert LABEL_NAMES == ("negative", "positive")
    assert ID2LABEL == {0: "negative", 1: "positive"} and LABEL2ID == {"negative": 0, "positive": 1}


def test_soft_label_loss_is_ce_on_labelled_rows_plus_scaled_kl():
    torch.manual_seed(0)
    logits, teacher = torch.randn(5, 2), torch.randn(5, 2)
    labels = torch.tensor([0, 1, -100, 1, -100])
    labelled = labels.ne(-100)
    ce = F.cross_entropy(logits[labelled], labels[labelled])
    assert torch.equal(SoftLabelLoss(alpha_kl=0.0, alpha_ce=1.0, temperature=2.0)(logits, labels, teacher), ce)
    kl = F.kl_div(F.log_softmax(logits / 2, -1), F.log_softmax(teacher / 2, -1), reduction="batchmean",
                  log_target=True)
    both = SoftLabelLoss(alpha_kl=0.5, alpha_ce=1.0, temperature=2.0)(logits, labels, teacher)
    assert torch.allclose(both, ce + 0.5 * 4 * kl)
    # no gold label in the batch and no teacher: nothing to learn from, a zero loss
    assert SoftLabelLoss(1.0, 1.0, 2.0)(logits, torch.full((5,), -100), None).item() == 0.0


def test_soft_label_collator_pads_and_stacks_teacher_logits():
    batch = SoftLabelCollator(pad_token_id=1)([{"input_ids": [5, 6, 7], "labels": 1, "teacher_logits": [0.5, -0.5]},
                                              {"input_ids": [5], "labels": -100, "teacher_logits": [1.0, 2.0]}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, -100] and batch["teacher_logits"].shape == (2, 2)


def test_checkpoint_step():
    assert checkpoint_step("/x/checkpoints/checkpoint-12") == 12
    assert checkpoint_step(None) is None and checkpoint_step("/x/model") is None


def test_the_study_reads_its_recipe_with_the_shared_reader_in_its_own_words(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("mode: quick\nseeds: [1, 2]\n", encoding="utf-8")
    assert load_recipe(recipe) == read_recipe(recipe) == {"mode": "quick", "seeds": [1, 2]}
    recipe.write_text("", encoding="utf-8")
    assert read_recipe(recipe) == {}
    with pytest.raises(StudyConfigError, match="expected a mapping of settings, got NoneType"):
        load_recipe(recipe)
    with pytest.raises(StudyConfigError, match="No such file or directory"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(StudyConfigError, match="Is a directory"):
        load_recipe(tmp_path)
    recipe.write_text("seeds: [1, 2\n", encoding="utf-8")
    with pytest.raises(RecipeError, match=r"not a YAML file \(line") as caught:
        read_recipe(recipe)
    assert caught.value.problem == "not_yaml"
    with pytest.raises(StudyConfigError, match=r"recipe .*recipe.yaml: not valid YAML \("):
        load_recipe(recipe)


def test_the_evaluation_entry_point_imports_no_hugging_face_library():
    code = ("import json, sys\nimport distilkobert.evaluation.run\n"
            "print(json.dumps(sorted(m for m in ('transformers', 'datasets', 'huggingface_hub') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
