"""The `distilkobert` console script: one entry point, one subcommand per job.

Each subcommand forwards its remaining arguments to the `main(argv)` of the module that owns the job,
so `distilkobert <command> --help` shows that module's own, complete help. Modules are imported lazily:
`distilkobert --help` stays instant and the Hub endpoint is configured before any Hugging Face import.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from distilkobert.hub.endpoint import configure_hub_environment

# (words, "module:function", one-line help)
COMMANDS: list[tuple[tuple[str, ...], str, str]] = [
    (("hub", "serve"), "distilkobert.hub.server:serve_main",
     "run the local Hub-compatible server that the real Hugging Face clients talk to (HF_ENDPOINT)"),
    (("tokenizer", "build"), "distilkobert.tokenization.cli:build_main",
     "build one tokenizer folder (slow remote-code class + exact fast tokenizer.json) from a .model and vocab.txt"),
    (("tokenizer", "train"), "distilkobert.tokenization.cli:train_main",
     "train a KoBERT-format SentencePiece vocabulary on a Korean corpus, then build the tokenizer folder"),
    (("dataset", "nsmc"), "distilkobert.data.cli:nsmc_main",
     "build (and publish) the NSMC dataset: train / validation / test parquet + dataset card"),
    (("dataset", "corpus"), "distilkobert.data.cli:corpus_main",
     "build (and publish) the cleaned, deduplicated pretraining corpus dataset"),
    (("corpus", "tokenize"), "distilkobert.distill.prepare:main",
     "tokenise a corpus of any size into numbered, resumable parquet shards of token ids (+ manifest)"),
    (("train",), "distilkobert.distill.run:main",
     "distil a student from a teacher (or train MLM alone); same as `python train_distill.py`"),
    (("eval",), "distilkobert.evaluation.run:main",
     "fine-tune and evaluate on NSMC honestly; same as `python eval_nsmc.py`"),
    (("predict",), "distilkobert.serving.cli:predict_main",
     "classify texts (.txt / NSMC .tsv / .jsonl, streamed, batched) with a fine-tuned classifier; jsonl out"),
    (("export",), "distilkobert.serving.cli:export_main",
     "export a fine-tuned classifier to ONNX (fp32, --quantize int8) with its tokenizer and config"),
    (("space",), "distilkobert.serving.space_cli:space_main",
     "open the Space app (Gradio) on 127.0.0.1: sentiment, the exact tokenizer's pieces, teacher vs student"),
    (("convert",), "distilkobert.checkpoints.cli:main",
     "write an upgraded copy of a KoBERT-family checkpoint: safetensors, exact fast tokenizer, same weights"),
    (("vocab", "trim"), "distilkobert.vocab_trim:main",
     "trim a SentencePiece-Unigram model's vocabulary to the pieces a corpus uses (tokenizer + embedding rows)"),
    (("study",), "distilkobert.study.run:main",
     "the real-data study: teacher, trimmed vocabulary, truncated / distilled 3-layer students, FastText, table"),
    (("demo",), "distilkobert.demo.run:main",
     "the main job, offline: data -> tokenizer -> teacher -> student -> eval -> Hub -> results table"),
]


# commands that are themselves the Hub (or start their own): no endpoint to configure
NO_ENDPOINT = {"distilkobert.hub.server:serve_main", "distilkobert.demo.run:main"}


def _load(target: str) -> Callable[[Sequence[str]], int | None]:
    module_name, func_name = target.split(":")
    return getattr(importlib.import_module(module_name), func_name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="distilkobert",
        description="DistilKoBERT: a small Korean BERT, its exact KoBERT tokenizer, datasets and Hub tooling.",
        epilog="Run `distilkobert <command> --help` for the options of each command.",
    )
    parser.add_argument("--local-hub", action="store_true",
                        help="use the local Hub (started in-process, data in $DISTILKOBERT_HUB_DIR, default "
                             "~/.cache/distilkobert/hub) instead of huggingface.co; same as DISTILKOBERT_LOCAL_HUB=1. "
                             "HF_ENDPOINT, when set, still wins")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    groups: dict[str, argparse._SubParsersAction] = {}
    for words, target, help_text in COMMANDS:
        if len(words) == 1:
            p = sub.add_parser(words[0], help=help_text, add_help=False)
            p.set_defaults(_target=target)
            continue
        group, name = words
        if group not in groups:
            gp = sub.add_parser(group, help=f"{group} commands: " + ", ".join(
                w[1] for w, _, _ in COMMANDS if len(w) == 2 and w[0] == group))
            groups[group] = gp.add_subparsers(dest="subcommand", metavar="<subcommand>")
            gp.set_defaults(_group_parser=gp)
        p = groups[group].add_parser(name, help=help_text, add_help=False)
        p.set_defaults(_target=target)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    target = getattr(args, "_target", None)
    if target is None:
        group_parser = getattr(args, "_group_parser", None)
        (group_parser or parser).print_help()
        return 0 if not argv or argv[-1] in ("-h", "--help") else 2
    if args.local_hub:  # read by distilkobert.hub.endpoint.configure_hub_environment
        os.environ["DISTILKOBERT_LOCAL_HUB"] = "1"
    if target not in NO_ENDPOINT:
        # once, before the command's module is imported: the Hugging Face libraries read HF_ENDPOINT at import
        configure_hub_environment()
    result = _load(target)(rest)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
