"""The demo data shipped in demo_data/: up to date with its generator, in NSMC format, learnable but not trivial."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "demo_data"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_committed_files_match_the_generator():
    proc = subprocess.run([sys.executable, str(DEMO / "make_demo_data.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_total_size_is_small():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 1.5 * 1024 * 1024


@pytest.fixture(scope="module")
def reviews():
    from distilkobert.data.nsmc import parse_nsmc_file

    seen: dict[str, str] = {}
    train, train_stats = parse_nsmc_file(DEMO / "reviews.tsv", seen_ids=seen)  # raises on any bad row
    test, test_stats = parse_nsmc_file(DEMO / "reviews_test.tsv", seen_ids=seen)  # ids must be disjoint
    return train, train_stats, test, test_stats


def test_reviews_are_official_nsmc_format(reviews):
    train, train_stats, test, test_stats = reviews
    assert len(train) == 3000 and len(test) == 1000
    for stats in (train_stats, test_stats):
        assert stats.rows_read == stats.rows_kept and not stats.skipped
        assert 1 <= stats.empties <= 2
        assert 5 <= stats.unquoted <= 0.05 * stats.rows_kept  # a handful of double-quoted documents
        counts = list(stats.labels.values())
        assert abs(counts[0] - counts[1]) <= 0.05 * sum(counts)
    docs = [d for _, d, _ in train + test]
    assert all('"' not in d or d.count('"') % 2 == 0 for d in docs)
    assert len(set(d for d in docs if d)) == sum(1 for d in docs if d)  # no duplicate reviews
    assert sum(1 for d in docs if HANGUL.search(d)) >= len(docs) - 4
    assert any("ㅋㅋ" in d for d in docs) and any("ㅠㅠ" in d for d in docs)
    assert all(not re.search(r"[{}]", d) for d in docs)
    # the raw fields of quoted documents are quoted twice, exactly like ratings_train.txt
    raw = (DEMO / "reviews.tsv").read_text(encoding="utf-8").splitlines()[1:]
    quoted = [line.split("\t")[1] for line in raw if '"' in line]
    assert quoted and all(q.startswith('"""') and q.endswith('"""') for q in quoted)


def _words(doc: str) -> set[str]:
    return set(doc.replace(".", " ").replace("!", " ").split())


def test_sentiment_is_learnable_but_not_trivial(reviews):
    """Naive Bayes on words: clearly better than chance, clearly below perfect (negation, mixed reviews, noise)."""
    train, _, test, _ = reviews
    counts = [Counter(), Counter()]
    n_docs = Counter()
    for _, doc, label in train:
        counts[label].update(_words(doc))
        n_docs[label] += 1
    vocab = set(counts[0]) | set(counts[1])

    def predict(doc: str) -> int:
        scores = []
        for label in (0, 1):
            total = sum(counts[label].values()) + len(vocab)
            scores.append(math.log(n_docs[label]) + sum(
                math.log((counts[label][w] + 1) / total) for w in _words(doc) if w in vocab))
        return int(scores[1] > scores[0])

    accuracy = sum(predict(doc) == label for _, doc, label in test) / len(test)
    print(f"naive Bayes accuracy on the demo test reviews: {accuracy:.3f}")
    assert 0.70 <= accuracy <= 0.96, accuracy


def test_corpus_is_varied_korean_text():
    lines = [line for p in sorted((DEMO / "corpus").glob("*.txt")) for line in
             p.read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= 5000
    assert all(line.strip() == line and line for line in lines)
    assert len(set(lines)) == len(lines)
    assert all(HANGUL.search(line) for line in lines)
    assert all(not re.search(r"[{}]", line) for line in lines)
    words = Counter(w for line in lines for w in line.split())
    assert len(words) >= 3000  # enough distinct words for a KoBERT-format vocabulary of ~2,000 pieces
