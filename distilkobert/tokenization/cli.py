"""``distilkobert tokenizer build`` and ``distilkobert tokenizer train``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from distilkobert.common.output_dir import OutputDirError, staged_output

from .errors import TokenizerFileError
from .folder import build_tokenizer_folder
from .quantize import describe, read_record
from .train import train_vocabulary


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-dir", required=True,
                        help="folder to write (created if needed; a non-empty one is refused unless --overwrite)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the contents of a non-empty --output-dir (never one that holds an input)")
    parser.add_argument("--do-lower-case", action="store_true", help="lowercase before SentencePiece (default off)")
    parser.add_argument("--keep-space", dest="remove_space", action="store_false",
                        help="do not collapse/strip whitespace first (KoBERT default: collapse)")
    parser.add_argument("--keep-accents", action="store_true",
                        help="skip NFKD + combining-mark removal (KoBERT default: remove accents)")


def _options(args: argparse.Namespace) -> dict:
    return {"do_lower_case": args.do_lower_case, "remove_space": args.remove_space, "keep_accents": args.keep_accents}


def _print_quantization_note(folder) -> None:
    """Say when the folder's scores are quantised (slow and fast then agree exactly)."""
    record = read_record(folder)
    if record is not None:
        print(f"note: {describe(record)}")


def build_main(argv: Sequence[str] | None = None) -> int:
    """Build one folder (slow remote-code class + exact fast tokenizer.json) from a .model and vocab.txt."""
    parser = argparse.ArgumentParser(
        prog="distilkobert tokenizer build",
        description="Build a KoBERT tokenizer folder: plain AutoTokenizer loads the fast tokenizer.json, "
                    "trust_remote_code=True the slow KoBertTokenizer; same ids.")
    parser.add_argument("--sp-model", required=True, help="SentencePiece Unigram .model file")
    parser.add_argument("--vocab", required=True, help="vocab.txt: [UNK] [PAD] [CLS] [SEP] [MASK], then the pieces")
    _add_options(parser)
    args = parser.parse_args(argv)
    try:
        # built in a sibling folder that replaces --output-dir only once complete
        with staged_output(args.output_dir, args.overwrite,
                           inputs={"--sp-model": args.sp_model, "--vocab": args.vocab}) as staging:
            build_tokenizer_folder(args.sp_model, args.vocab, staging, **_options(args))
    except (TokenizerFileError, OutputDirError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output_dir)
    _print_quantization_note(out)
    print(f"tokenizer folder written to {out}")
    return 0


def train_main(argv: Sequence[str] | None = None) -> int:
    """Train a KoBERT-format vocabulary on text files, then build the tokenizer folder."""
    parser = argparse.ArgumentParser(
        prog="distilkobert tokenizer train",
        description="Train a Unigram SentencePiece with KoBERT's settings (nmt_nfkc, character coverage 0.9995, "
                    "<unk>=0 <s>=1 </s>=2) and write vocab.txt in KoBERT's order plus the tokenizer folder.")
    parser.add_argument("--input", nargs="+", required=True, help="UTF-8 text files, one sentence a line (.gz ok)")
    parser.add_argument("--vocab-size", type=int, default=8000,
                        help="SentencePiece pieces incl. <unk>,<s>,</s> (vocab.txt gets N+2 lines); KoBERT: 8000")
    parser.add_argument("--soft-vocab-limit", action="store_true",
                        help="allow fewer pieces than --vocab-size on a small corpus")
    parser.add_argument("--input-sentence-size", type=int, default=0, help="sample at most this many lines (0: all)")
    parser.add_argument("--num-threads", type=int, default=2)
    _add_options(parser)
    args = parser.parse_args(argv)
    try:
        with staged_output(args.output_dir, args.overwrite, inputs=[("--input", p) for p in args.input]) as staging:
            train_vocabulary(args.input, args.vocab_size, staging, num_threads=args.num_threads,
                             input_sentence_size=args.input_sentence_size,
                             hard_vocab_limit=not args.soft_vocab_limit, **_options(args))
    except (TokenizerFileError, OutputDirError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output_dir)
    _print_quantization_note(out)
    unused = out / "unused_pieces.txt"
    if unused.is_file():
        n = len(unused.read_text(encoding="utf-8").split())
        print(f"note: {n} digit+comma pieces (listed in {unused}) were marked unused, as in KoBERT's vocabulary")
    print(f"vocabulary trained; {sum(1 for _ in (out / 'vocab.txt').open(encoding='utf-8'))} tokens in vocab.txt; "
          f"tokenizer folder written to {out}")
    return 0
