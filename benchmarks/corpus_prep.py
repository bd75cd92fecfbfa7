"""Corpus preparation at growing sizes: `distilkobert corpus tokenize` must keep its memory flat and its time linear.

Korean text of 4 sizes (default 5 / 10 / 20 / 40 MB; `--sizes-mb 25 50 100 200` for the larger set) is
generated from the real corpus in ``$DISTILKOBERT_SHARED_DATA/corpus/*.gz`` (default ``../shared/data``; else
from ``demo_data/corpus``) by repetition with variation: every copy of a line gets a few words swapped between
neighbouring positions and a number appended, so no two documents are exact repeats. Each size is tokenised by
``distilkobert.distill.prepare.prepare_shards`` (one process, 50,000 documents per shard, max length 512) in a
fresh process, whose peak RSS is its own. Time is reported as wall seconds and as the process's CPU seconds
(user + system), which stay comparable when other jobs share the machine. The tokenizer is the exact KoBERT
tokenizer built from ``shared/data/kobert`` when present, else a WordPiece vocabulary of the same size trained
on the demo corpus.

    python benchmarks/corpus_prep.py                      # ~2 min on 2 quiet cores
    python benchmarks/corpus_prep.py --sizes-mb 1 2 --output /tmp/cp.json   # quick
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "corpus_prep"


def shared_data() -> Path:
    return Path(os.environ.get("DISTILKOBERT_SHARED_DATA", C.REPO_ROOT.parent / "shared" / "data"))


def source_lines() -> tuple[list[str], str]:
    corpus = shared_data() / "corpus"
    files = sorted(corpus.glob("*.gz"))
    if files:
        lines = []
        for f in files:
            with gzip.open(f, "rt", encoding="utf-8", errors="replace") as fh:
                lines.extend(x.strip() for x in fh if x.strip())
        return lines, f"{corpus}/*.gz"
    demo = C.REPO_ROOT / "demo_data" / "corpus"
    lines = [x.strip() for f in sorted(demo.glob("*.txt")) for x in f.read_text("utf-8").splitlines() if x.strip()]
    return lines, str(demo)


def generate(lines: list[str], path: Path, size_bytes: int, seed: int = 0) -> dict:
    """Write about `size_bytes` of documents (one per line) to `path`; repeated lines are varied."""
    rng = random.Random(seed)
    written = docs = 0
    copy = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < size_bytes:
            order = list(range(len(lines)))
            rng.shuffle(order)
            for i in order:
                words = lines[i].split(" ")
                if copy and len(words) > 3:
                    for _ in range(2):  # variation: swap two neighbouring words
                        j = rng.randrange(len(words) - 1)
                        words[j], words[j + 1] = words[j + 1], words[j]
                text = " ".join(words) + (f" {rng.randrange(10**6)}" if copy else "") + "\n"
                out.write(text)
                written += len(text.encode("utf-8"))
                docs += 1
                if written >= size_bytes:
                    break
            copy += 1
    return {"bytes": written, "documents": docs, "copies": copy}


def build_tokenizer(folder: Path) -> str:
    kobert = shared_data() / "kobert"
    if (kobert / "vocab.txt").is_file():
        subprocess.run([sys.executable, "-m", "distilkobert.cli", "tokenizer", "build", "--sp-model",
                        str(next(kobert.glob("*.model"))), "--vocab", str(kobert / "vocab.txt"), "--output-dir",
                        str(folder)], check=True, capture_output=True)
        return "KoBERT (exact fast tokenizer built from shared/data/kobert)"
    lines, _ = source_lines()
    C.load_test_helper("tiny_bert").build_wordpiece_tokenizer(lines, folder, vocab_size=8002)
    return "WordPiece, vocabulary 8,002, trained on demo_data/corpus"


def worker(spec: dict) -> None:
    from distilkobert.distill.prepare import _tokenizer, prepare_shards

    _tokenizer(spec["tokenizer"])  # imports and tokenizer loading are a fixed cost, not part of the scaling
    start, cpu_start = time.perf_counter(), time.process_time()
    manifest = prepare_shards([spec["input"]], spec["tokenizer"], spec["output"], max_seq_length=512,
                              min_seq_length=12, docs_per_shard=spec["docs_per_shard"], log=lambda _m: None)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    C.emit_worker_result({"seconds": seconds, "cpu_seconds": cpu_seconds, "totals": manifest["totals"]["train"]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[5, 10, 20, 40])
    parser.add_argument("--docs-per-shard", type=int, default=50_000)
    parser.add_argument("--output", default=None, help="JSON path (default benchmarks/results/corpus_prep.json)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._worker:
        worker(json.loads(args._worker))
        return 0
    t0 = time.perf_counter()
    lines, source = source_lines()
    rows, raw = [], []
    with tempfile.TemporaryDirectory(prefix="corpus-prep-") as tmp:
        tmp_path = Path(tmp)
        tokenizer_name = build_tokenizer(tmp_path / "tok")
        for size in args.sizes_mb:
            data = tmp_path / f"corpus-{size}.txt"
            gen = generate(lines, data, int(size * 1e6))
            result = C.run_worker(__file__, {"input": str(data), "tokenizer": str(tmp_path / "tok"),
                                             "output": str(tmp_path / f"out-{size}"),
                                             "docs_per_shard": args.docs_per_shard}, env={"OMP_NUM_THREADS": "1"})
            data.unlink()
            t = result["totals"]
            raw.append({"size_mb": size, "generated": gen, **result})
            rows.append({"input MB": round(gen["bytes"] / 1e6, 1), "documents": t["documents"],
                         "tokens": t["tokens"], "sequences": t["sequences"], "shards": t["shards"],
                         "dropped (empty / short seq)": f"{t['empty_texts']} / {t['dropped_short']}",
                         "wall s": round(result["seconds"], 1), "CPU s": round(result["cpu_seconds"], 1),
                         "MB per CPU s": round(gen["bytes"] / 1e6 / result["cpu_seconds"], 2),
                         "CPU s per 100 MB": round(result["cpu_seconds"] / (gen["bytes"] / 1e8), 1),
                         "peak RSS MB": round(result["peak_rss_mb"], 0)})
    first, last = raw[0], raw[-1]
    summary = {"size_ratio": round(last["generated"]["bytes"] / first["generated"]["bytes"], 2),
               "wall_time_ratio": round(last["seconds"] / first["seconds"], 2),
               "cpu_time_ratio": round(last["cpu_seconds"] / first["cpu_seconds"], 2),
               "peak_rss_ratio": round(last["peak_rss_mb"] / first["peak_rss_mb"], 3)}
    C.print_table(rows, title=f"corpus tokenize, one process ({tokenizer_name}; source {source})",
                  markdown=args.markdown)
    print(f"\nlargest / smallest: input x{summary['size_ratio']}, CPU time x{summary['cpu_time_ratio']} "
          f"(wall x{summary['wall_time_ratio']}), "
          f"peak RSS x{summary['peak_rss_ratio']}")
    path = C.write_json(NAME, {
        "benchmark": NAME, "command": ["python", "benchmarks/corpus_prep.py", *(argv or sys.argv[1:])],
        "machine": C.machine_info(), "versions": C.library_versions(),
        "settings": {**{k: v for k, v in vars(args).items() if k != "_worker"}, "max_seq_length": 512,
                     "min_seq_length": 12, "packing": True, "num_proc": 1},
        "tokenizer": tokenizer_name, "source": source, "rows": rows, "raw": raw, "summary": summary,
        "load_average_end": C.load_average(), "wall_s": round(time.perf_counter() - t0, 1)}, args.output)
    print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
