"""Dataset cards (README.md) of the NSMC and corpus datasets: Hub metadata + a body from a shipped template.

The bodies are `string.Template` files in `distilkobert/resources/dataset_cards/`; this module computes the
values (tables, counts, rules) from a build result. It does not import the builders: they call it, passing
what the card states about their format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from distilkobert._version import __version__
from distilkobert.common.front_matter import render_card
from distilkobert.common.tables import markdown_table
from distilkobert.data.build_results import CorpusBuildResult, NsmcBuildResult, SourceStats
from distilkobert.resources import read_resource, render_template

__all__ = ["size_category", "render_nsmc_card", "render_corpus_card"]


def size_category(rows: int) -> str:
    """The Hub's `size_categories` bucket of a dataset with `rows` rows."""
    for limit, name in ((1000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "1M<n<10M"


def data_files_config(splits: Sequence[str]) -> list[dict[str, Any]]:
    return [{"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}]


def _template(name: str, values: dict[str, Any]) -> str:
    return render_template(read_resource("dataset_cards", name), values, name=f"dataset card template {name}")


def render_nsmc_card(result: NsmcBuildResult, num_bytes: dict[str, int], command: str, version: str | None,
                     on_bad_rows: str, *, label_names: Sequence[str], citation: str) -> str:
    """README.md of an NSMC build: metadata (splits, features, licence) and the parsing rules it applied."""
    metadata: dict[str, Any] = {
        "pretty_name": "NSMC (Naver Sentiment Movie Corpus)",
        "language": ["ko"],
        "license": "cc0-1.0",
        "task_categories": ["text-classification"],
        "task_ids": ["sentiment-classification"],
        "size_categories": [size_category(result.rows_read)],
        "configs": data_files_config(list(result.splits)),
        "dataset_info": {
            "features": [
                {"name": "id", "dtype": "string"},
                {"name": "document", "dtype": "string"},
                {"name": "label", "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(label_names)}}}},
            ],
            "splits": [{"name": s, "num_bytes": num_bytes[s], "num_examples": n} for s, n in result.splits.items()],
            "dataset_size": sum(num_bytes.values()),
        },
    }
    split_rows = [[s, n, result.split_labels[s]["negative"], result.split_labels[s]["positive"]]
                  for s, n in result.splits.items()]
    file_rows = [[f"`{f.file}`", f.sha256 or "(URL)", f.rows_read, f.rows_kept, f.empties, f.unquoted,
                  len(f.skipped)] for f in result.files]
    skipped = result.skipped
    skipped_text = "None." if not skipped else "\n".join(f"- `{b}`" for b in skipped[:200]) + (
        f"\n- ... and {len(skipped) - 200} more" if len(skipped) > 200 else "")
    body = _template("nsmc.md", {
        "package_version": __version__,
        "split_table": markdown_table(["split", "rows", "negative", "positive"], split_rows),
        "validation_rows": f"{result.splits.get('validation', 0):,}",
        "seed": result.seed,
        "test_sentence": "`test` is the official test file, untouched." if "test" in result.splits
        else "**No test split:** no test file was given to this build.",
        "on_bad_rows": on_bad_rows,
        "file_table": markdown_table(["file", "sha256", "rows read", "rows kept", "empty documents",
                                      "unquoted documents", "skipped"], file_rows),
        "skipped_text": skipped_text,
        "command": command,
        "version": version or "(not tagged)",
        "validation_size": f"{result.validation_size:,}",
        "citation": citation,
    })
    return render_card(metadata, body)


def _card_licence(sources: Sequence[SourceStats]) -> str:
    """One Hub licence id when every source declares the same one, else "other"."""
    licences = {s.licence for s in sources}
    if len(licences) == 1:
        only = next(iter(licences))
        if re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", only):
            return only
    return "other"


def render_corpus_card(result: CorpusBuildResult, num_bytes: dict[str, int], num_files: dict[str, int],
                       command: str, version: str | None, description: str | None, *,
                       drop_reasons: Sequence[str]) -> str:
    """README.md of a corpus build: sources and licences, splits, cleaning rules and every drop, per source."""
    metadata: dict[str, Any] = {
        "pretty_name": "DistilKoBERT pretraining corpus",
        "language": ["ko"],
        "license": _card_licence(result.sources),
        "task_categories": ["fill-mask"],
        "size_categories": [size_category(sum(result.splits.values()))],
        "configs": data_files_config(list(result.splits)),
        "dataset_info": {
            "features": [{"name": "text", "dtype": "string"}],
            "splits": [{"name": s, "num_bytes": num_bytes[s], "num_examples": n} for s, n in result.splits.items()],
            "dataset_size": sum(num_bytes.values()),
        },
    }
    source_rows = [[f"`{s.name}`", s.kind, s.licence, s.note or "", s.documents_read, s.documents_written,
                    s.characters_written, s.train, s.validation] for s in result.sources]
    drop_rows = [[f"`{s.name}`"] + [s.dropped[r] for r in drop_reasons] + [s.long_documents_split, s.chunks_from_split]
                 for s in result.sources]
    alter_rows = [[f"`{s.name}`", s.altered["nfc"], s.altered["control_chars"], s.altered["whitespace"]]
                  for s in result.sources]
    reported = [line for s in result.sources for line in s.reported]
    split_rows = [[s, n, result.characters[s], num_files[s]] for s, n in result.splits.items()]
    opts = result.options
    if opts["validation_size"] is not None:
        split_rule = (f"`validation` holds the {opts['validation_size']:,} documents with the smallest keyed hash "
                      "(exact count)")
    else:
        split_rule = (f"a document is in `validation` iff its keyed hash is below {opts['validation_fraction']} x "
                      "2^64 (a fixed fraction, stable when the corpus grows)")
    split_long_rule = (f"documents longer than {opts['split_long']:,} characters cut at sentence ends into chunks "
                       "of at most that length (a longer single sentence stays whole); " if opts["split_long"] else "")
    body = _template("corpus.md", {
        "description": description or ("Korean text for masked-language-model pretraining and distillation, one "
                                       "document per row."),
        "package_version": __version__,
        "source_table": markdown_table(["source", "kind", "licence", "note", "documents read", "rows written",
                                        "characters", "train", "validation"], source_rows),
        "split_table": markdown_table(["split", "rows", "characters", "parquet files"], split_rows),
        "seed": result.seed,
        "split_rule": split_rule,
        "split_long_rule": split_long_rule,
        "min_chars": opts["min_chars"],
        "input_format": "blank-line-separated paragraphs" if opts["paragraphs"] else "one document per line",
        "text_field": opts["text_field"],
        "drop_table": markdown_table(["source", *drop_reasons, "long documents cut", "chunks from cuts"], drop_rows),
        "alter_table": markdown_table(["source", "NFC changed", "control characters removed", "whitespace collapsed"],
                                      alter_rows),
        "reported_text": "None." if not reported else "\n".join(f"- `{line}`" for line in reported),
        "command": command,
        "version": version or "(not tagged)",
        "options_json": json.dumps(opts),
    })
    return render_card(metadata, body)
