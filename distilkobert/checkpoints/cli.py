"""`distilkobert convert`: write an upgraded copy of a KoBERT-family checkpoint, with the same weights.

    distilkobert convert monologg/kobert --output-dir kobert-converted [--revision REV]
    distilkobert convert monologg/distilkobert --output-dir out --push-to-hub ORG/distilkobert --version v1

The Hub is HF_ENDPOINT when set, else huggingface.co (see distilkobert.hub.endpoint); the work is done by
:mod:`distilkobert.checkpoints.conversion`, imported after the entry point (the console script, or this module's
``__main__``) configured the endpoint (the Hugging Face libraries read it at import). Exit codes: 0 done, 1 a
refused checkpoint or a Hub error (one line), 2 a usage error or an unusable --output-dir.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from distilkobert.hub.endpoint import (
    HubUnreachableError,
    ModelReferenceError,
    configure_hub_environment,
    require_hub,
)


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="distilkobert convert",
        description="Write an upgraded copy of a KoBERT-family checkpoint (monologg/kobert, monologg/kobert-lm, "
                    "monologg/distilkobert, ...): safetensors weights, the exact fast tokenizer, checked config, "
                    "model card. The weights are unchanged. Hub: HF_ENDPOINT when set, else huggingface.co.")
    parser.add_argument("source", metavar="REPO_OR_FOLDER", help="Hub model repo id or local folder")
    parser.add_argument("--output-dir", required=True, type=Path, help="new (or empty) folder for the copy")
    parser.add_argument("--revision", default=None, help="branch, tag or commit of the source repo (default main)")
    parser.add_argument("--push-to-hub", metavar="REPO", default=None, help="publish the copy to this model repo")
    parser.add_argument("--version", metavar="TAG", default=None,
                        help="version tag of the published copy (required with --push-to-hub; never overwritten)")
    return parser


def _fail(message: str, code: int = 1) -> int:
    print(f"distilkobert convert: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_arg_parser()
    args = parser.parse_args(argv)
    if args.push_to_hub and not args.version:
        parser.error("--push-to-hub needs --version TAG (published versions are immutable)")
    if args.version and not args.push_to_hub:
        parser.error("--version is only used with --push-to-hub REPO")
    out = args.output_dir  # checked before the Hub is asked anything (the copy is written aside, then renamed)
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if out.exists() and not out.is_dir():
        return _fail(f"--output-dir {out}: is a file, not a folder", code=2)
    if out.is_dir() and any(out.iterdir()):
        return _fail(f"--output-dir {out}: exists and is not an empty folder; choose a new one", code=2)
    if blocking is not None:
        return _fail(f"--output-dir {out}: {blocking} is a file, not a folder", code=2)
    try:
        require_hub(args.source, "REPO_OR_FOLDER")
        require_hub(args.push_to_hub, "--push-to-hub")
    except (HubUnreachableError, ModelReferenceError) as exc:
        return _fail(str(exc))

    # imported here, after the entry point configured the Hub endpoint: the Hugging Face libraries read it at import
    from distilkobert.checkpoints.conversion import ConvertError, convert_command

    try:
        convert_command(args.source, args.output_dir, revision=args.revision, push_to_hub=args.push_to_hub,
                                version=args.version)
    except ConvertError as exc:
        return _fail(str(exc))
    return 0


if __name__ == "__main__":
    configure_hub_environment()  # once, before any Hugging Face import
    sys.exit(main())
