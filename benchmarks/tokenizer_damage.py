"""The damage the original KoBERT repos' tokenizer configuration does, and what get_tokenizer() gives instead.

monologg/kobert, kobert-lm and distilkobert ship KoBERT's SentencePiece model and vocab.txt with a
tokenizer_config.json declaring BertTokenizer, so plain ``AutoTokenizer.from_pretrained(repo)`` builds a WordPiece
tokenizer over the SentencePiece vocabulary. This script writes a folder in exactly that layout from the real
KoBERT files, tokenizes NSMC reviews (read with the project's NSMC reader) with

* ``declared``: what plain ``AutoTokenizer.from_pretrained(folder)`` returns for it;
* ``get_tokenizer``: ``distilkobert.get_tokenizer(folder)``, the exact fast tokenizer built from the same files;
* ``slow``: the original slow ``KoBertTokenizer`` (the reference ids), unless ``--no-slow``;

and prints, per tokenizer, the share of reviews whose ids differ from the slow class's, the share of [UNK]
among the review tokens ([CLS] / [SEP] not counted) and the share of reviews with at least one [UNK]. Writes
benchmarks/results/tokenizer_damage.json.

    python benchmarks/tokenizer_damage.py [--nsmc ../shared/data/nsmc/train.tsv.gz] [--kobert-dir DIR]
        [--sample N] [--quick] [--output PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import REPO_ROOT, library_versions, machine_info, print_table, write_json  # noqa: E402

SHARED = Path(os.environ.get("DISTILKOBERT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
SP_NAME = "tokenizer_78b3253a26.model"
QUICK_SAMPLE = 2000


def original_layout(folder: Path, sp_model: Path, vocab: Path) -> Path:
    """The tokenizer files as monologg/kobert has them: the .model under its original name, vocab.txt, and a
    tokenizer_config.json declaring BertTokenizer."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sp_model, folder / SP_NAME)
    shutil.copyfile(vocab, folder / "vocab.txt")
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer",
                                                              "do_lower_case": False, "model_max_length": 512}))
    return folder


def hash_sample(rows: list[tuple[str, str, int]], n: int) -> list[tuple[str, str, int]]:
    """The ``n`` rows with the smallest sha256 of their id: a fixed subset, the same on every machine."""
    if n <= 0 or n >= len(rows):
        return rows
    return sorted(rows, key=lambda r: hashlib.sha256(r[0].encode()).digest())[:n]


def measure(name: str, tokenizer, texts: list[str],
            reference: list[list[int]] | None) -> tuple[dict, list[list[int]]]:
    """Encode the texts in one batched call; count [UNK]s and (when given) differences from ``reference``."""
    start = time.perf_counter()
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    seconds = time.perf_counter() - start
    unk = tokenizer.unk_token_id
    tokens = sum(len(x) for x in ids)
    unks = sum(x.count(unk) for x in ids)
    row = {"tokenizer": name, "class": type(tokenizer).__name__, "reviews": len(texts), "tokens": tokens,
           "unk_tokens": unks, "unk_token_share": unks / tokens if tokens else 0.0,
           "reviews_with_unk_share": sum(unk in x for x in ids) / len(ids),
           "reviews_all_unk_share": sum(bool(x) and set(x) == {unk} for x in ids) / len(ids),
           "seconds": seconds}
    if reference is not None:
        differ = sum(a != b for a, b in zip(ids, reference, strict=True))
        row.update(reviews_differing=differ, reviews_differing_share=differ / len(ids))
    return row, ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nsmc", type=Path, default=SHARED / "nsmc" / "train.tsv.gz",
                        help="NSMC-format file (id<TAB>document<TAB>label, plain or .gz)")
    parser.add_argument("--kobert-dir", type=Path, default=SHARED / "kobert",
                        help=f"folder with {SP_NAME} (or spiece.model) and vocab.txt")
    parser.add_argument("--sample", type=int, default=0, help="only this many hash-chosen reviews (0 = all)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SAMPLE} hash-chosen reviews (smoke test)")
    parser.add_argument("--no-slow", action="store_true", help="skip the slow reference class")
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)

    sp_model = next((args.kobert_dir / n for n in (SP_NAME, "spiece.model") if (args.kobert_dir / n).is_file()),
                    None)
    vocab = args.kobert_dir / "vocab.txt"
    for path, what in ((args.nsmc, "--nsmc"), (sp_model, "--kobert-dir"), (vocab, "--kobert-dir")):
        if path is None or not path.is_file():
            parser.error(f"{what}: {path or args.kobert_dir / SP_NAME} not found")

    from transformers import AutoTokenizer

    from distilkobert import get_tokenizer
    from distilkobert.data.nsmc import parse_nsmc_file
    from distilkobert.tokenization.parity import Mismatch, piece_scores, unexplained

    rows, stats = parse_nsmc_file(args.nsmc)
    sample = QUICK_SAMPLE if args.quick and not args.sample else args.sample
    rows = hash_sample(rows, sample)
    texts = [doc for _, doc, _ in rows]
    print(f"{len(texts):,} reviews from {args.nsmc} ({stats.rows_kept:,} in the file"
          f"{'; hash-chosen subset' if len(texts) < stats.rows_kept else ''})")

    with tempfile.TemporaryDirectory() as tmp:
        folder = original_layout(Path(tmp) / "original", sp_model, vocab)
        declared = AutoTokenizer.from_pretrained(str(folder))
        fixed = get_tokenizer(str(folder))
        slow = None if args.no_slow else get_tokenizer(str(folder), slow=True)
        reference = None
        results = []
        if slow is not None:
            row, reference = measure("slow KoBertTokenizer (reference)", slow, texts, None)
            results.append(row)
        for name, tok in (("get_tokenizer()", fixed), ("AutoTokenizer (declared BertTokenizer)", declared)):
            row, ids = measure(name, tok, texts, reference)
            results.append(row)
            if tok is fixed and reference is not None:
                # every difference must be one of SentencePiece's float32 equal-score ties (see converter.py)
                differ = [Mismatch(i, texts[i], reference[i], ids[i], "input_ids")
                          for i in range(len(texts)) if ids[i] != reference[i]]
                row["differing_not_ties"] = len(unexplained(slow, fixed, differ, piece_scores(str(sp_model))))
        example = "한국어 모델을 공유합니다."
        examples = {name: tok.tokenize(example) for name, tok in (("declared", declared), ("get_tokenizer", fixed))}

    table = [{"tokenizer": r["tokenizer"], "class": r["class"],
              "ids differ from slow (%)": 100 * r["reviews_differing_share"] if "reviews_differing_share" in r
              else None,
              "not ties": r.get("differing_not_ties"),
              "[UNK] of tokens (%)": 100 * r["unk_token_share"],
              "reviews with [UNK] (%)": 100 * r["reviews_with_unk_share"],
              "tokens / review": r["tokens"] / max(1, r["reviews"])} for r in results]
    print_table(table, title=f"Tokenizer damage on {len(texts):,} NSMC reviews")
    for name, pieces in examples.items():
        print(f"{name:>14}: {example} -> {pieces}")
    path = write_json("tokenizer_damage", {
        "machine": machine_info(), "versions": library_versions(["transformers", "tokenizers", "sentencepiece"]),
        "settings": {"nsmc": str(args.nsmc), "nsmc_sha256": stats.sha256, "kobert_dir": str(args.kobert_dir),
                     "reviews_in_file": stats.rows_kept, "reviews": len(texts), "sample": sample,
                     "sample_rule": "smallest sha256(id)" if len(texts) < stats.rows_kept else None,
                     "quick": args.quick, "slow_reference": slow is not None},
        "results": results, "example": {"text": example, **examples},
    }, args.output)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
