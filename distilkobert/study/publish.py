"""`distilkobert study --push-to-hub ORG/NAME`: the study's models as versioned Hub repos.

- ORG/NAME: the general + task-distilled classifier selected on validation (text-classification widget), with
  its int8 ONNX export in `onnx/` and the study's table in the card;
- ORG/NAME-encoder: the general-distilled 3-layer encoder (`AutoModel`), the start of the classifier, for
  fine-tuning on other tasks, with the same numbers in its card.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from distilkobert.common.front_matter import render_card
from distilkobert.hub.publish import publish_folder
from distilkobert.serving.publish import classifier_results, publish_classifier
from distilkobert.study.cache import log
from distilkobert.study.config import StudyConfig
from distilkobert.study.report import markdown

ENCODER_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json")


def results_section(report: dict[str, Any]) -> str:
    """The study's table, targets and machine, as a card section."""
    seconds = report["compute_seconds"]["total"]["seconds"]
    lines = ["## Results on NSMC (distilkobert study)", "",
             f"Recipe `{report['mode']}`, teacher {report['teacher']}, {report['splits']['nsmc']['used']['test']} "
             f"test reviews (hash-chosen, never used for training or selection); {seconds / 3600:.2f} h of compute on "
             f"{report['machine'].get('cpu_model') or 'CPU'} ({report['machine'].get('cpu_count')} cores).", "",
             markdown(report["table"]), ""]
    lines += [f"- {t['target']}: {t['value']}" + (f" [95% CI {t['low']}, {t['high']}]" if "low" in t else "")
              + f" ({'met' if t['met'] else 'missed'})" for t in report["targets"]]
    return "\n".join(lines)


def encoder_card(repo_id: str, version: str, section: str, classifier_repo: str) -> str:
    metadata = {"language": ["ko"], "license": "mit", "library_name": "transformers",
                "pipeline_tag": "feature-extraction",
                "tags": ["korean", "bert", "knowledge-distillation", "feature-extraction", "nsmc"]}
    body = f"""# {repo_id.split('/')[-1]}

A 3-layer, 384-wide Korean encoder (BERT architecture, SentencePiece Unigram tokenizer with a trimmed Korean
vocabulary) general-distilled from a 12-layer multilingual-e5-small teacher on Korean movie reviews: hidden
states of its layers matched to teacher layers 4, 8 and 12, no masked-LM head. Fine-tune it on your task;
the sentiment classifier made from it is [`{classifier_repo}`]({classifier_repo}).

```python
from transformers import AutoModel, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{repo_id}", revision="{version}")
model = AutoModel.from_pretrained("{repo_id}", revision="{version}")
hidden = model(**tokenizer("이 영화 정말 재미있었어요", return_tensors="pt")).last_hidden_state
```

The padding id is 1 (XLM-R style `<s> ... </s>`): build attention masks with the tokenizer.

{section}
"""
    return render_card(metadata, body)


def publish_models(report: dict[str, Any], trained: dict[str, Any], repo_id: str, version: str,
                   cfg: StudyConfig) -> dict[str, Any]:
    """Publish the selected task-distilled classifier (+ onnx/) and the general-distilled encoder."""
    best = max(trained["task"], key=lambda r: r["best_validation_accuracy"])
    section = results_section(report)
    encoder_repo = f"{repo_id}-encoder"
    results = classifier_results(best["test_accuracy"], best["test_macro_f1"], dataset="nsmc")
    classifier = publish_classifier(best["model_dir"], repo_id, version, results, base_model=encoder_repo,
                                    onnx_dir=trained["export"]["export_dir"], card_section=section)
    with tempfile.TemporaryDirectory(prefix="distilkobert-encoder-") as tmp:
        staging = Path(tmp)
        for name in ENCODER_FILES:
            if (trained["general_dir"] / name).is_file():
                shutil.copy2(trained["general_dir"] / name, staging / name)
        (staging / "README.md").write_text(encoder_card(encoder_repo, version, section, repo_id), encoding="utf-8")
        encoder = publish_folder(staging, encoder_repo, version=version,
                                 commit_message=f"Publish {version}: general-distilled 3-layer Korean encoder")
    log(f"published {repo_id} (seed-{best['seed']} classifier, {100 * best['test_accuracy']:.2f}% on test, onnx/) "
        f"and {encoder_repo} at {version}")
    return {"classifier": {"repo_id": repo_id, "version": version, "seed": best["seed"],
                           "commit": str(classifier)},
            "encoder": {"repo_id": encoder_repo, "version": version, "commit": str(encoder)}}
