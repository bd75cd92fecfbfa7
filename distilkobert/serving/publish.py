"""Publish a fine-tuned Korean sentiment classifier as a versioned text-classification model repo.

:func:`publish_classifier` stages a copy of the model folder (the folder itself is only read): the weights,
``config.json`` with ``id2label`` {0: negative, 1: positive} / ``label2id``, the fast tokenizer (and any other
tokenizer files), the results JSON when given, and a model card with ``pipeline_tag: text-classification``,
Korean widget examples and, when results are given, the model-index and results table written by
:func:`distilkobert.model_card.apply_eval_results`. The card is validated before anything is uploaded; the
upload is :func:`distilkobert.hub.publish.publish_folder` (tag ``version``, refused when it exists).

Call :func:`distilkobert.hub.endpoint.configure_hub_environment` before importing Hugging Face libraries, as
for every publishing command.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from distilkobert.common.front_matter import with_front_matter
from distilkobert.common.nsmc_results import SCHEMA_VERSION
from distilkobert.data.nsmc import ID2LABEL, LABEL2ID
from distilkobert.hub.publish import PublishResult, publish_folder
from distilkobert.model_card import NSMC_END, NSMC_START, apply_eval_results, validate_model_card

from .classifier import check_classifier_folder
from .errors import ServingError

# Korean reviews for the Hub's inference widget (written for the project): clearly positive and negative ones.
WIDGET_TEXTS = (
    "이 영화 정말 재미있었어요. 배우들의 연기가 훌륭했다.",
    "시간 낭비였다. 스토리가 너무 뻔하고 지루했음",
    "음악이 좋아서 끝까지 봤습니다. 다음 편도 기대됩니다!",
    "최악의 결말... 다시는 안 본다ㅠㅠ",
    "가족과 함께 보기 좋은 따뜻한 영화 👍",
)
WEIGHT_SUFFIXES = (".safetensors", ".bin")
SKIPPED_FILES = {"training_args.bin", "README.md", "optimizer.pt", "scheduler.pt", "rng_state.pth",
                 "trainer_state.json"}
RESULTS_FILE = "nsmc_results.json"

CARD_BODY = """
# {title}

A Korean sentiment classifier ({architecture}, {n_layers} layers) fine-tuned on NSMC (Naver movie reviews):
each text gets the label `negative` or `positive` and the softmax probability of that label.
Published with the distilkobert project tooling.

- **Labels:** `0` = `negative`, `1` = `positive` (`config.json`: `id2label` / `label2id`)
- **Language:** Korean (`ko`)
- **Base model:** {base_model}
- **Tokenizer:** the exact fast KoBERT-format tokenizer (`tokenizer.json`, no remote code)

## Results

{results_start}
{results_text}
{results_end}

## How to use

```python
from transformers import pipeline

classifier = pipeline("sentiment-analysis", model="{repo_id}"{revision_arg})
classifier(["이 영화 정말 재미있었어요.", "시간 낭비였다"])
# [{{'label': 'positive', 'score': ...}}, {{'label': 'negative', 'score': ...}}]
```

A file of texts (one per line, NSMC `.tsv` or `.jsonl`; streamed, batched), and a faster CPU copy with ONNX
Runtime (optionally int8), with the `distilkobert` package:

```bash
distilkobert predict --model {repo_id}{revision_flag} --input reviews.txt --output predictions.jsonl
distilkobert export --model {repo_id}{revision_flag} --output-dir onnx --quantize int8
distilkobert predict --model onnx --backend onnx --onnx-file model.int8.onnx --input reviews.txt --output p.jsonl
```

## Limitations

- Trained on movie reviews: other domains (products, news, dialogue) may be classified less well.
- Two labels only: neutral or mixed texts still get `negative` or `positive`.
{padding_note}- Texts longer than the model's maximum length ({max_length} tokens) are cut.
"""


def _model_type_tags(config: Mapping[str, Any]) -> list[str]:
    model_type = str(config.get("model_type") or "")
    return [model_type] if model_type else []


def render_classifier_card(config: Mapping[str, Any], *, repo_id: str, version: str | None,
                           results: Mapping[str, Any] | None = None, base_model: str | None = None,
                           datasets: list[str] | None = None) -> str:
    """The README.md of a published classifier, validated (raises ``ModelCardError`` when invalid)."""
    meta: dict[str, Any] = {
        "language": ["ko"],
        "license": "apache-2.0",
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["korean", "sentiment-analysis", "text-classification", "nsmc", *_model_type_tags(config)],
    }
    if datasets:
        meta["datasets"] = list(datasets)
    if base_model:
        meta["base_model"] = base_model
    meta["widget"] = [{"text": text} for text in WIDGET_TEXTS]
    n_layers = config.get("n_layers") or config.get("num_hidden_layers") or "?"
    architecture = (config.get("architectures") or ["?"])[0]
    body = CARD_BODY.format(
        title=repo_id.split("/")[-1], architecture=architecture, n_layers=n_layers,
        base_model=f"`{base_model}`" if base_model else "not recorded", repo_id=repo_id,
        revision_arg=f', revision="{version}"' if version else "",
        revision_flag=f" --revision {version}" if version else "",
        max_length=config.get("max_position_embeddings", "?"),
        results_start=NSMC_START, results_end=NSMC_END,
        results_text="No evaluation results were recorded with this version.",
        padding_note="- **The padding id is 1, not 0**: build attention masks with the tokenizer, never from "
                     "`input_ids == 0`.\n" if config.get("pad_token_id") == 1 else "")
    text = with_front_matter(meta, body)
    if results:
        text = apply_eval_results(text, dict(results), repo_id=repo_id)
    validate_model_card(text)
    return text


def classifier_results(accuracy: float, f1_macro: float | None = None, *, dataset: str,
                       dataset_revision: str | None = None, model: str | None = None, test_rows: int | None = None,
                       **extra: Any) -> dict[str, Any]:
    """The test result of one classifier as an ``nsmc_results.json`` (schema 1) that the model card reads.

    ``accuracy`` and ``f1_macro`` are fractions on the test split of ``dataset`` (a Hub repo id or a name);
    ``extra`` keys (e.g. ``selection``) are stored as they are.
    """
    def metric(value: float | None) -> dict[str, Any]:
        return {"mean": value, "std": None, "n": None, "values": [] if value is None else [value]}

    return {
        "schema_version": SCHEMA_VERSION,
        "model": {"name_or_path": model, "label": (model or "classifier").split("/")[-1], "is_local": False},
        "dataset": {"name": dataset, "revision": dataset_revision, "split": "test", "test_rows": test_rows},
        "aggregate": {"test_accuracy": metric(accuracy), "test_f1_macro": metric(f1_macro)},
        **extra,
    }


def _dataset_ids(results: Mapping[str, Any] | None) -> list[str]:
    """The Hub dataset repo of the results (``dataset.name`` or ``dataset_name``), when it is a repo id."""
    if not results:
        return []
    dataset = results.get("dataset")
    name = dataset.get("name") if isinstance(dataset, Mapping) else dataset or results.get("dataset_name")
    if isinstance(name, str) and name.count("/") == 1 and not Path(name).expanduser().exists():
        return [name]
    return []


def stage_classifier(model_dir: str | os.PathLike, staging: Path) -> dict[str, Any]:
    """Copy the publishable files of ``model_dir`` into ``staging`` with the label names set; returns the config."""
    folder = Path(model_dir)
    config = check_classifier_folder(folder)
    if not (folder / "tokenizer.json").is_file():
        raise ServingError(f"{folder}: no tokenizer.json: the published classifier needs the fast tokenizer "
                           "(build it with `distilkobert tokenizer build` and copy it into the folder)")
    n_labels = len(config.get("id2label") or {}) or config.get("num_labels") or 2
    if n_labels != 2:
        raise ServingError(f"{folder / 'config.json'}: {n_labels} labels; a sentiment classifier has 2 "
                           "(negative, positive)")
    files = [f for f in sorted(folder.iterdir()) if f.is_file() and f.name not in SKIPPED_FILES]
    weights = [f for f in files if f.suffix in WEIGHT_SUFFIXES]
    if not weights:
        raise ServingError(f"{folder}: no weights (*.safetensors or *.bin)")
    if any(f.suffix == ".safetensors" for f in weights):  # the same weights twice: publish safetensors only
        files = [f for f in files if f.suffix != ".bin"]
    for f in files:
        shutil.copy2(f, staging / f.name)
    config = dict(config, id2label={str(k): v for k, v in ID2LABEL.items()}, label2id=dict(LABEL2ID))
    (staging / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return config


def publish_classifier(model_dir: str | os.PathLike, repo_id: str, version: str,
                       results: Mapping[str, Any] | None = None, *, base_model: str | None = None,
                       token: str | None = None, endpoint: str | None = None,
                       onnx_dir: str | os.PathLike | None = None, card_section: str | None = None) -> PublishResult:
    """Publish the fine-tuned 2-label classifier in ``model_dir`` to ``repo_id``, tagged ``version``.

    ``results`` (optional) is the NSMC test result of this model as an ``nsmc_results.json`` dict (schema 1):
    build it with :func:`classifier_results` (accuracy, macro-F1, dataset); it fills the card's model-index
    and results table and is uploaded as ``nsmc_results.json``. ``base_model``: the encoder's Hub repo id.
    Raises :class:`ServingError` for a folder that is not a 2-label classifier with its fast tokenizer,
    ``VersionExistsError`` when the tag exists. ``onnx_dir``: a ``distilkobert export`` folder published as the
    repo's ``onnx/`` folder; ``card_section``: markdown appended to the card (e.g. a results table).
    """
    with tempfile.TemporaryDirectory(prefix="distilkobert-classifier-") as tmp:
        staging = Path(tmp)
        config = stage_classifier(model_dir, staging)
        if onnx_dir is not None:
            shutil.copytree(onnx_dir, staging / "onnx")
        card = render_classifier_card(config, repo_id=repo_id, version=version, results=results,
                                      base_model=base_model, datasets=_dataset_ids(results))
        if card_section:
            card = card.rstrip() + "\n\n" + card_section.strip() + "\n"
        (staging / "README.md").write_text(card, encoding="utf-8")
        if results:
            (staging / RESULTS_FILE).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
        return publish_folder(staging, repo_id, version=version, token=token, endpoint=endpoint,
                              commit_message=f"Publish {version}: Korean sentiment classifier")


def selected_seed(results: Mapping[str, Any]) -> Mapping[str, Any]:
    """The per-seed result of ``nsmc_results.json`` with the best validation accuracy (the first on a tie):
    the model to publish is chosen on validation, like every checkpoint, never on test."""
    per_seed = results.get("per_seed") or []
    if not per_seed:
        raise ServingError("the evaluation results have no per-seed results to select a model from")
    return max(per_seed, key=lambda r: r["validation"]["accuracy"])  # max keeps the first of equal values


def publish_evaluated_classifier(results: Mapping[str, Any], output_dir: str | os.PathLike, repo_id: str,
                                 version: str, *, token: str | None = None,
                                 endpoint: str | None = None) -> PublishResult:
    """Publish the fine-tuned model that ``eval_nsmc.py`` selected (best validation accuracy over the seeds,
    kept in ``OUTPUT_DIR/seed-N/model`` by ``--save_models``) with its own test accuracy and macro-F1 in the card."""
    best = selected_seed(results)
    model_dir = Path(output_dir) / f"seed-{best['seed']}" / "model"
    if not model_dir.is_dir():
        raise ServingError(f"{model_dir}: the selected seed's model was not kept (run the evaluation with "
                           "--save_models)")
    model, dataset = results.get("model") or {}, results.get("dataset") or {}
    encoder = model.get("hub_repo_id") or (None if model.get("is_local") else model.get("name_or_path"))
    card_results = classifier_results(
        best["test"]["accuracy"], best["test"].get("f1_macro"), dataset=dataset.get("name"),
        dataset_revision=dataset.get("resolved_revision") or dataset.get("revision"), model=repo_id,
        test_rows=best["test"].get("rows"),
        selection={"seed": best["seed"], "validation_accuracy": best["validation"]["accuracy"],
                   "rule": "the seed with the best validation accuracy",
                   "seeds": {str(r["seed"]): {"validation_accuracy": r["validation"]["accuracy"],
                                              "test_accuracy": r["test"]["accuracy"]}
                             for r in results.get("per_seed") or []}},
        encoder={"name_or_path": model.get("name_or_path"), "revision": model.get("resolved_revision")
                 or model.get("revision")})
    return publish_classifier(model_dir, repo_id, version, card_results, base_model=encoder, token=token,
                              endpoint=endpoint)
