"""Tokenizer throughput: the exact fast KoBERT tokenizer (tokenizer.json) vs the slow KoBertTokenizer.

Measures texts/s on NSMC reviews (from ../shared when present, else the bundled Korean sentences) for
* the normal batched call ``tokenizer(texts)`` and one text at a time ``[tokenizer(t) for t in texts]``,
* the raw engines underneath: ``backend_tokenizer.encode_batch`` (Rust) and ``sp_model.encode`` (C++),
so the time of transformers' Python layer is ``tokenizer(texts) - encode_batch``. A cProfile of the batched fast
call shows where that layer spends it. Prints a table; writes benchmarks/results/tokenizer.json.

Inside the Rust part (cachegrind instruction counts, 4,000 NSMC reviews, KoBERT, one thread): ~2/3 is the
Unigram lattice, the Metaspace pre-tokenizer, the post-processor and building the Encodings with offsets; ~1/3 the
normalizer, where NFKD + dropping combining marks is ~21% of the whole (NFKD explodes every Hangul syllable into
jamo that NFKC recomposes; it is what makes accent stripping exact, see converter.py), NFKC + the quote regex
~11%, and the whitespace/charsmap tail ~2% (it was ~14% with the Precompiled charsmap and non-ASCII regex
classes before converter._folded_tail).

    python benchmarks/tokenizer.py [--n 20000] [--n-single 3000] [--repeats 5] [--quick] [--output PATH]
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    REPO_ROOT,
    library_versions,
    machine_info,
    print_table,
    ratio,
    summarize,
    write_json,
)

SHARED = Path(os.environ.get("DISTILKOBERT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
FALLBACK_TEXT = REPO_ROOT / "tests" / "data" / "korean_sentences.txt"


def load_texts(n: int) -> tuple[list[str], str]:
    nsmc = SHARED / "nsmc" / "train.tsv.gz"
    if nsmc.is_file():
        docs = []
        with gzip.open(nsmc, "rt", encoding="utf-8") as f:
            f.readline()
            for line in f:
                parts = line.rstrip("\n").split("\t")
                docs.append(parts[1] if len(parts) > 1 else "")
                if len(docs) >= n:
                    break
        return docs, str(nsmc)
    lines = FALLBACK_TEXT.read_text(encoding="utf-8").splitlines()
    return [lines[i % len(lines)] for i in range(n)], str(FALLBACK_TEXT)


def build_folder(tmp: Path) -> tuple[Path, str]:
    from distilkobert.tokenization import build_tokenizer_folder, train_vocabulary

    model, vocab = SHARED / "kobert" / "tokenizer_78b3253a26.model", SHARED / "kobert" / "vocab.txt"
    if model.is_file() and vocab.is_file():
        return build_tokenizer_folder(model, vocab, tmp / "kobert"), "KoBERT tokenizer_78b3253a26 (8002)"
    folder = train_vocabulary([FALLBACK_TEXT], 400, tmp / "trained", hard_vocab_limit=False)
    return folder, "vocabulary trained on the bundled sentences (fallback)"


def profile_top(fn, limit: int = 12) -> list[dict]:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    for (filename, line, name), (_cc, nc, tt, ct, _) in stats.stats.items():
        rows.append({"function": f"{Path(filename).name}:{line}({name})", "calls": nc, "tottime_s": tt,
                     "cumtime_s": ct})
    rows.sort(key=lambda r: r["tottime_s"], reverse=True)
    return rows[:limit]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000, help="texts for the batched measurements")
    parser.add_argument("--n-single", type=int, default=3000, help="texts for the one-by-one measurements")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smoke run: 500 texts, 200 one by one, 2 repeats")
    parser.add_argument("--output", default=None, help="JSON path (default benchmarks/results/tokenizer.json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.n_single, args.repeats = 500, 200, 2
    return args


def timed_cases(fast, slow, texts: list[str], single: list[str]) -> dict[str, tuple[int, Callable[[], Any]]]:
    """{measurement: (texts per call, call)}; the fast and Rust calls start with the Unigram word cache cleared."""
    backend = fast.backend_tokenizer
    prep = [slow.preprocess_text(t) for t in texts]

    cases = {
        "fast tokenizer(texts)": (len(texts), lambda: fast(texts)),
        "slow tokenizer(texts)": (len(texts), lambda: slow(texts)),
        "fast one by one": (len(single), lambda: [fast(t) for t in single]),
        "slow one by one": (len(single), lambda: [slow(t) for t in single]),
        "rust encode_batch": (len(texts), lambda: backend.encode_batch(texts)),
        "rust encode_batch_fast (no offsets)": (len(texts), lambda: backend.encode_batch_fast(texts)),
        "rust encode one by one": (len(single), lambda: [backend.encode(t) for t in single]),
        "sentencepiece encode (C++, preprocessed)": (len(texts), lambda: slow.sp_model.encode(prep)),
    }
    def cold(fn):
        # the Unigram model caches words; clear it so every timed call does the full work on unseen input
        def run():
            backend.model._clear_cache()
            return fn()
        return run

    return {name: (count, cold(fn) if not name.startswith(("slow", "sentencepiece")) else fn)
            for name, (count, fn) in cases.items()}


def measure(timed: dict[str, tuple[int, Callable[[], Any]]], repeats: int) -> dict[str, dict]:
    """Per measurement: texts, times, their summary and texts/s (at the median)."""
    for _, fn in timed.values():  # warm-up: imports, allocations, first-call costs
        fn()
    # Interleaved rounds: on a shared, busy machine the load drifts; interleaving spreads it over all cases
    # instead of biasing the ratios.
    times: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(repeats):
        for name, (_, fn) in timed.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    raw: dict[str, dict] = {}
    for name, (count, _) in timed.items():
        stats = summarize(times[name])
        raw[name] = {"texts": count, "times_s": times[name], **stats, "texts_per_s": count / stats["median"]}
    return raw


def ratios_of(tps: dict[str, float]) -> dict[str, float | None]:
    return {
        "fast/slow batched": ratio(tps["fast tokenizer(texts)"], tps["slow tokenizer(texts)"]),
        "fast/slow one by one": ratio(tps["fast one by one"], tps["slow one by one"]),
        "rust encode_batch / slow batched": ratio(tps["rust encode_batch"], tps["slow tokenizer(texts)"]),
        "rust encode_batch / sentencepiece C++": ratio(tps["rust encode_batch"],
                                                       tps["sentencepiece encode (C++, preprocessed)"]),
    }


def time_split(raw: dict[str, dict]) -> dict[str, float]:
    """The batched fast call's time: the Rust backend's part and transformers' Python layer's."""
    fast_batch = raw["fast tokenizer(texts)"]["median"]
    rust_batch = raw["rust encode_batch"]["median"]
    return {
        "fast batched total_s": fast_batch,
        "rust backend_s": rust_batch,
        "transformers python layer_s": fast_batch - rust_batch,
        "python layer share": (fast_batch - rust_batch) / fast_batch,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    import transformers
    from transformers import AutoTokenizer

    transformers.logging.set_verbosity_error()
    texts, source = load_texts(args.n)
    single = texts[: args.n_single]
    with tempfile.TemporaryDirectory() as tmp:
        folder, vocab_name = build_folder(Path(tmp))
        fast = AutoTokenizer.from_pretrained(folder)
        slow = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    raw = measure(timed_cases(fast, slow, texts, single), args.repeats)
    tps = {k: v["texts_per_s"] for k, v in raw.items()}
    ratios = ratios_of(tps)
    split = time_split(raw)
    fast.backend_tokenizer.model._clear_cache()
    profile = profile_top(lambda: fast(texts))

    rows = [{"measurement": k, "texts": v["texts"], "median_s": v["median"], "texts/s": v["texts_per_s"]}
            for k, v in raw.items()]
    print_table(rows, title=f"Tokenizer throughput ({source}; {vocab_name})")
    print_table([{"ratio": k, "value": v} for k, v in ratios.items()], title="Ratios")
    print_table([{"part": k, "value": v} for k, v in split.items()], title="fast tokenizer(texts): where the time goes")
    print_table(profile[:8], title="cProfile of fast tokenizer(texts), by own time")

    payload = {
        "benchmark": "tokenizer",
        "machine": machine_info(),
        "versions": library_versions(),
        "settings": {"n": len(texts), "n_single": len(single), "repeats": args.repeats, "source": source,
                     "vocabulary": vocab_name, "TOKENIZERS_PARALLELISM": os.environ.get("TOKENIZERS_PARALLELISM"),
                     "RAYON_NUM_THREADS": os.environ.get("RAYON_NUM_THREADS"),
                     "timing": "interleaved rounds, median; Unigram word cache cleared before each fast/rust call"},
        "raw": raw,
        "texts_per_s": tps,
        "ratios": ratios,
        "time_split": split,
        "profile_fast_batched": profile,
    }
    path = write_json("tokenizer", payload, args.output)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
