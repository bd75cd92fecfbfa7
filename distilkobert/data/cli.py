"""The dataset commands: `distilkobert dataset nsmc` and `distilkobert dataset corpus` (also `dataset_scripts/`).

Each `*_main(argv)` parses its arguments, refuses an existing version before the build when publishing, runs the
build, prints the summary and publishes when asked. The entry point (`distilkobert.cli.main`, `dataset_scripts/`)
configures the Hub endpoint first; this module imports no Hugging Face library at import time (they read
HF_ENDPOINT when imported), which is why the corpus builder is imported inside `corpus_main`.
Exit codes: 0 on success, 1 on a data or Hub error (one line naming the file, row or argument), 2 on a usage
error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from distilkobert.common.output_dir import OutputDirError
from distilkobert.data.build_results import CorpusBuildResult, NsmcBuildResult
from distilkobert.data.nsmc import (
    OFFICIAL_BASE_URL,
    ON_BAD_ROWS,
    NsmcFormatError,
    build_nsmc,
    same_source,
)
from distilkobert.data.publish import command_line, refuse_existing_version, report_and_publish
from distilkobert.data.sources import SourceError

__all__ = ["nsmc_main", "corpus_main", "nsmc_arg_parser", "corpus_arg_parser", "nsmc_summary", "corpus_summary",
           "add_output_arguments", "check_publish_arguments"]


# ---------------------------------------------------------------------------------------------------- shared

def add_output_arguments(p: argparse.ArgumentParser) -> None:
    """The options every dataset command shares: where to write, whether to replace, publishing, summary JSON."""
    p.add_argument("--output-dir", required=True, help="folder to write (parquet under data/ + README.md)")
    p.add_argument("--overwrite", action="store_true", help="replace --output-dir if it exists and is not empty")
    p.add_argument("--push-to-hub", metavar="REPO_ID", help="publish the folder as this dataset repo on the "
                   "configured Hub (HF_ENDPOINT, default: huggingface.co); needs --version")
    p.add_argument("--version", help="version tag for the published commit (e.g. v1.0); an existing tag is refused")
    p.add_argument("--summary-json", metavar="PATH", help="also write the build summary as JSON to PATH")


def check_publish_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error (exit 2) for publishing without a version."""
    if args.push_to_hub and not args.version:
        parser.error("--push-to-hub needs --version TAG")


# ------------------------------------------------------------------------------------------------------ NSMC

def nsmc_summary(result: NsmcBuildResult) -> str:
    """What the NSMC build read, kept and skipped, per file and per split (printed at the end of the command)."""
    lines = ["NSMC build summary"]
    for f in result.files:
        lines.append(f"  {f.file}: rows read {f.rows_read:,}, kept {f.rows_kept:,}, empty documents "
                     f"{f.empties:,}, unquoted {f.unquoted:,}, skipped {len(f.skipped):,}; labels "
                     + ", ".join(f"{k} {v:,}" for k, v in f.labels.items()))
    lines.append(f"  rows read: {result.rows_read:,}   empty documents: {result.empties:,}   "
                 f"unquoted: {result.unquoted:,}   skipped: {len(result.skipped):,}")
    for split, n in result.splits.items():
        labels = ", ".join(f"{k} {v:,}" for k, v in result.split_labels[split].items())
        lines.append(f"  {split}: {n:,} rows ({labels})")
    for bad in result.skipped[:50]:
        lines.append(f"  skipped {bad}")
    if len(result.skipped) > 50:
        lines.append(f"  ... {len(result.skipped) - 50} more skipped rows (all listed in the dataset card)")
    lines.append(f"  written to {result.output_dir}")
    return "\n".join(lines)


def nsmc_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="distilkobert dataset nsmc",
        description="Build the NSMC dataset (train / validation / test parquet + dataset card) from the official "
                    "files, parsed exactly (double CSV unquoting), and optionally publish it with a version tag.",
        epilog="With neither --train-file nor --test-file the official files are downloaded from "
               f"{OFFICIAL_BASE_URL}. With --train-file but no --test-file there is NO test split (a warning is "
               "printed). Output loads with datasets.load_dataset(OUTPUT_DIR).",
    )
    p.add_argument("--train-file", help="ratings_train.txt: local path (plain or .gz) or URL "
                                        "(default: the official URL)")
    p.add_argument("--test-file", help="ratings_test.txt: local path (plain or .gz) or URL (default: the official "
                                       "URL when --train-file is not given either)")
    p.add_argument("--validation-size", type=int, default=5000,
                   help="rows carved from train into validation, stratified by label; 0 = no validation split "
                        "(default: 5000)")
    p.add_argument("--seed", type=int, default=42, help="seed of the deterministic validation carve (default: 42)")
    p.add_argument("--on-bad-rows", choices=ON_BAD_ROWS, default="error",
                   help="error: stop at the first bad row, naming file and line (default); skip: leave bad rows "
                        "out and report each by line and reason")
    add_output_arguments(p)
    return p


def nsmc_main(argv: Sequence[str] | None = None) -> int:
    """`distilkobert dataset nsmc ...`: returns 0 on success, 1 on a data/Hub error, 2 on a usage error."""
    parser = nsmc_arg_parser()
    args = parser.parse_args(argv)
    check_publish_arguments(parser, args)
    if args.validation_size < 0:
        parser.error("--validation-size must be >= 0")
    if same_source(args.train_file, args.test_file):
        print(f"error: --test-file {args.test_file}: is the --train-file; the test split must be other reviews",
              file=sys.stderr)
        return 2
    if args.push_to_hub and refuse_existing_version(args.push_to_hub, args.version):
        return 1
    if args.train_file is not None and args.test_file is None:
        print("warning: --train-file given without --test-file: the dataset will have NO test split "
              "(train and validation only). Pass --test-file ratings_test.txt for the official test split.",
              file=sys.stderr)
    try:
        result = build_nsmc(args.output_dir, args.train_file, args.test_file,
                            validation_size=args.validation_size, seed=args.seed, on_bad_rows=args.on_bad_rows,
                            overwrite=args.overwrite, version=args.version,
                            command=command_line("distilkobert dataset nsmc", argv))
    except (NsmcFormatError, SourceError, OutputDirError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return report_and_publish(nsmc_summary(result), result.to_dict(), output_dir=args.output_dir,
                              summary_json=args.summary_json, repo_id=args.push_to_hub, version=args.version)


# ---------------------------------------------------------------------------------------------------- corpus

def corpus_summary(result: CorpusBuildResult) -> str:
    """Per source: read, written, dropped (by reason) and cut; per split: rows and characters."""
    lines = [f"Corpus build summary ({result.seconds:.1f} s)"]
    for s in result.sources:
        drops = ", ".join(f"{r} {n:,}" for r, n in s.dropped.items() if n) or "none"
        lines.append(f"  {s.name} [{s.kind}, licence {s.licence}]: documents read {s.documents_read:,}, written "
                     f"{s.documents_written:,} ({s.characters_written:,} characters; train {s.train:,}, validation "
                     f"{s.validation:,}); dropped: {drops}"
                     + (f"; long documents cut {s.long_documents_split:,} into {s.chunks_from_split:,} chunks"
                        if s.long_documents_split else ""))
    total = result.dropped
    lines.append(f"  total: documents read {sum(s.documents_read for s in result.sources):,}; dropped "
                 + (", ".join(f"{r} {n:,}" for r, n in total.items() if n) or "none"))
    for split, n in result.splits.items():
        lines.append(f"  {split}: {n:,} documents, {result.characters[split]:,} characters")
    lines.append(f"  written to {result.output_dir}")
    return "\n".join(lines)


def corpus_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="distilkobert dataset corpus",
        description="Build the cleaned, deduplicated pretraining corpus (parquet train / validation + dataset card) "
                    "from local files and Hub datasets in one streaming pass, and optionally publish it.",
        epilog="Examples: SOURCE = corpus/*.gz | wiki.txt | docs.jsonl.gz | "
               "wikimedia/wikipedia:20231101.ko:train:text. "
               "Licences: --source-licence 'boddari_*=CC BY 4.0' --source-licence 'nsmc_*=CC0-1.0' (a bare value "
               "applies to every source). A Hub source is read from HF_ENDPOINT (default: huggingface.co).",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="text file or glob (plain or .gz), JSON lines file (.jsonl/.ndjson/.json[.gz]), or Hub "
                        "dataset name[:config]:split:column")
    add_output_arguments(p)
    p.add_argument("--paragraphs", action="store_true",
                   help="text files hold blank-line-separated paragraphs (default: one document per line)")
    p.add_argument("--text-field", default="text", help="field of JSON lines records holding the text (default: text)")
    p.add_argument("--min-chars", type=int, default=5,
                   help="drop texts shorter than this many characters after cleaning (default: 5)")
    p.add_argument("--split-long", type=int, default=0, metavar="N",
                   help="cut documents longer than N characters at sentence ends into chunks of <= N "
                        "(default: 0 = off)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--validation-fraction", type=float,
                       help="fraction of documents (by keyed hash) in validation (default: 0.01; 0 = no validation)")
    group.add_argument("--validation-size", type=int, help="exact number of validation documents (by keyed hash)")
    p.add_argument("--seed", type=int, default=42, help="key of the hash that splits and deduplicates (default: 42)")
    p.add_argument("--source-licence", "--source-license", action="append", default=[], metavar="[PATTERN=]LICENCE",
                   help="licence of the sources matching PATTERN (fnmatch on path, file name or spec); repeatable; "
                        "default: unknown")
    p.add_argument("--source-note", action="append", default=[], metavar="[PATTERN=]TEXT",
                   help="a note (origin, URL, description) for the matching sources in the card; repeatable")
    p.add_argument("--description", help="first paragraph of the dataset card")
    p.add_argument("--max-shard-mb", type=int, default=256, help="start a new parquet file after this many MB of text")
    return p


def corpus_main(argv: Sequence[str] | None = None) -> int:
    """`distilkobert dataset corpus ...`: 0 on success, 1 on a data/Hub error, 2 on a usage error."""
    parser = corpus_arg_parser()
    args = parser.parse_args(argv)
    check_publish_arguments(parser, args)
    if args.max_shard_mb < 1:
        parser.error("--max-shard-mb must be >= 1")
    if args.push_to_hub and refuse_existing_version(args.push_to_hub, args.version):
        return 1
    # imported here, after the entry point configured the Hub endpoint: the corpus builder imports `datasets`,
    # which reads HF_ENDPOINT at import (and `import distilkobert.data.cli` stays free of it)
    from distilkobert.data.corpus import CorpusError, build_corpus

    try:
        result = build_corpus(
            args.sources, args.output_dir, paragraphs=args.paragraphs, text_field=args.text_field,
            min_chars=args.min_chars, split_long=args.split_long, validation_fraction=args.validation_fraction,
            validation_size=args.validation_size, seed=args.seed, licences=args.source_licence,
            notes=args.source_note, overwrite=args.overwrite, version=args.version,
            command=command_line("distilkobert dataset corpus", argv), description=args.description,
            max_shard_bytes=args.max_shard_mb << 20)
    except (CorpusError, SourceError, OutputDirError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return report_and_publish(corpus_summary(result), result.to_dict(), output_dir=args.output_dir,
                              summary_json=args.summary_json, repo_id=args.push_to_hub, version=args.version)

