"""The folded normalizer tail (converter._folded_tail): the same as the slow class on the strings where it could
differ, and the same as the ``Precompiled`` chain it replaces everywhere except ``Precompiled``'s grapheme corner.

``build_fast_tokenizer(fold_charsmap=False)`` keeps the previous chain: whitespace regex + Strip first, the
model's ``Precompiled`` charsmap and both space regexes last. ``Precompiled`` replaces a whole grapheme under 6
bytes by its first character's value ("▁" + U+034F -> " "), which SentencePiece (character by character) does
not do; the folded tail fixes that. The full sweep (every code point in 16 contexts, a million random strings, all
NSMC reviews; the differences from the previous chain all checked against the slow class) was run when the tail
was written; this is its fast subset.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest

from distilkobert.tokenization import train_vocabulary
from distilkobert.tokenization.converter import PY_WHITESPACE, build_fast_tokenizer
from distilkobert.tokenization.folder import read_vocab
from distilkobert.tokenization.parity import CHARSMAP_SINGLE_KEYS, precompiled_grapheme_corner
from distilkobert.tokenization.spm_proto import read_model

LIVE = CHARSMAP_SINGLE_KEYS
EXTENDERS_2B = "\u034f\u0488\u0489" + "".join(chr(c) for c in range(0x7A6, 0x7B1))  # 2-byte, combining class 0
PREPEND = "\u0600\u0605\u06dd\u070f\u0890\u08e2\u0d4e\U000110bd\U00011a3a\U00011a84"
DATA = Path(__file__).parent / "data" / "korean_sentences.txt"
OTHER = "가a é1.가ㅋㅠ\u0301\u0323\u200d\ufe0f\u0903\u093e\u0941\uff9e😀🏻[MASK]``''\r\n"


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory) -> Path:
    return train_vocabulary([DATA], 400, tmp_path_factory.mktemp("trained"), hard_vocab_limit=False)


def _strings() -> list[str]:
    out = []
    specials = LIVE + PY_WHITESPACE
    for c in specials:
        out += [c, f"가{c}a", f"a {c} b", f" {c} ", f"{c}{c}", f"a{c}\u0301b", f"{c}\u034f", f"{c}\u034fx"]
    for x in map(chr, range(0x80, 0x800)):  # every 2-byte character after each 3-byte live key
        for key in ("\u2581", "\ufffd"):
            out += [f"a{key}{x}b", f"a {key}{x}\u0301b", f"{key}{x}\u034f"]
    # what may follow "▁" + extender in the same grapheme, and what may join the grapheme before it
    for y in map(chr, list(range(0x300, 0x2000)) + list(range(0xFE00, 0xFE10)) + [0x1F3FB, 0xE0100, 0x1ACF]):
        out += [f"a\u2581\u034f{y}b", f"a\ufffd\u07a6{y}"]
    for p in PREPEND:
        out += [f"a{p}\u2581\u034fb", f"{p}\ufffd\u0489"]
    rng = random.Random(7)
    pool = list(LIVE + EXTENDERS_2B + PREPEND + OTHER) + list(PY_WHITESPACE) \
        + [chr(c) for c in range(0x300, 0x370)] + [chr(rng.randrange(0x80, 0x30000)) for _ in range(300)]
    out += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(20000)]
    return [s for s in out if not any(0xD800 <= ord(c) < 0xE000 for c in s)]


def _differences(a, b, strings) -> list[tuple]:
    diffs = []
    for chunk in range(0, len(strings), 20000):
        part = strings[chunk:chunk + 20000]
        for s, x, y in zip(part, a.encode_batch(part), b.encode_batch(part)):
            if (x.ids, x.offsets, x.tokens) != (y.ids, y.offsets, y.tokens):
                diffs.append((s, x.tokens, y.tokens, x.offsets, y.offsets))
    return diffs


def _pair(model, vocab, **kw):
    spm, tokens = read_model(model), read_vocab(vocab)
    return (build_fast_tokenizer(spm, tokens, **kw), build_fast_tokenizer(spm, tokens, fold_charsmap=False, **kw))


def _normalizer_types(tokenizer) -> list[str]:
    import json

    return [step["type"] for step in json.loads(tokenizer.to_str())["normalizer"]["normalizers"]]


@pytest.mark.parametrize("options", [{}, {"do_lower_case": True}])
def test_folded_tail_equals_the_slow_class_and_differs_from_precompiled_only_at_its_corner(
        kobert_files, tmp_path, options):
    from transformers import AutoTokenizer

    from distilkobert.tokenization import build_tokenizer_folder
    from distilkobert.tokenization.parity import compare, piece_scores, unexplained

    folded, reference = _pair(*kobert_files, **options)
    assert "Precompiled" not in _normalizer_types(folded)  # the fast path is really taken for nmt_nfkc
    assert "Precompiled" in _normalizer_types(reference)
    strings = _strings()
    diffs = _differences(folded, reference, strings)
    assert diffs and all(precompiled_grapheme_corner(d[0]) for d in diffs), diffs[:3]

    folder = build_tokenizer_folder(*kobert_files, tmp_path / "kobert", **options)
    fast = AutoTokenizer.from_pretrained(folder)
    slow = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    assert _normalizer_types(fast.backend_tokenizer) == _normalizer_types(folded)
    mismatches = compare(slow, fast, strings)
    # KoBERT's float32 ties (see converter.py) are the only differences allowed; the corner cases are not ties
    assert unexplained(slow, fast, mismatches, piece_scores(str(kobert_files[0]))) == []
    corner = [d[0] for d in diffs]
    assert not {m.text for m in mismatches} & set(corner)


def test_keep_accents_differs_from_the_slow_class_less_than_before(kobert_files, tmp_path):
    """keep_accents=True has gaps of its own (SentencePiece then maps the raw, not NFKC, text by longest match);
    the folded chain may only remove some of them, never add one."""
    from transformers import AutoTokenizer

    from distilkobert.tokenization import build_tokenizer_folder

    folded, reference = _pair(*kobert_files, keep_accents=True)
    assert "Precompiled" not in _normalizer_types(folded)
    slow = AutoTokenizer.from_pretrained(build_tokenizer_folder(*kobert_files, tmp_path, keep_accents=True),
                                         trust_remote_code=True)
    strings = _strings()
    expected = slow(strings)["input_ids"]
    new = {s for s, e, x in zip(strings, expected, folded.encode_batch(strings)) if e != x.ids}
    old = {s for s, e, x in zip(strings, expected, reference.encode_batch(strings)) if e != x.ids}
    assert new < old, sorted(new - old)[:5]


def test_trained_vocabulary_keeps_precompiled_after_its_space_keys(trained_folder):
    """sentencepiece 0.2's nmt_nfkc also deletes controls and maps ~200 single characters and some sequences of
    scripts newer than ``tokenizers``' NFKC tables: too many values to fold, so ``Precompiled`` stays, with only its
    keys that become " " replaced first; only the grapheme corner differs from the previous chain."""
    folded, reference = _pair(trained_folder / "spiece.model", trained_folder / "vocab.txt")
    types = _normalizer_types(folded)
    assert types[types.index("Precompiled") - 1] == "Replace"
    strings = _strings() + ["a\x01b", "\x7f", "가\x00나", "\U00016d67\U00016d67", "\U00016d63\U00016d67\U00016d67"]
    diffs = _differences(folded, reference, strings)
    assert diffs and all(precompiled_grapheme_corner(d[0]) for d in diffs), diffs[:3]


@pytest.mark.parametrize("options", [{"keep_accents": True}, {"keep_accents": True, "remove_space": False},
                                     {"remove_space": False}])
def test_other_options_agree_with_the_slow_class_at_the_corner(trained_folder, tmp_path, options):
    from transformers import AutoTokenizer

    from distilkobert.tokenization import build_tokenizer_folder

    out = build_tokenizer_folder(trained_folder / "spiece.model", trained_folder / "vocab.txt", tmp_path, **options)
    fast, slow = AutoTokenizer.from_pretrained(out), AutoTokenizer.from_pretrained(out, trust_remote_code=True)
    for text in ["\u2581\u034f", "a\u2581\u034fb", "\ufffd\u07a6 영화", " \u200b\u0488x "]:
        assert fast(text)["input_ids"] == slow(text)["input_ids"], text
    folded, reference = _pair(trained_folder / "spiece.model", trained_folder / "vocab.txt", **options)
    # tokens (the offsets of a space may also move where "\r\n", one grapheme, now maps as two characters)
    diffs = [d for d in _differences(folded, reference, _strings()) if d[1] != d[2]]
    assert diffs and all(precompiled_grapheme_corner(d[0]) for d in diffs), diffs[:3]


def test_grapheme_corner_follows_sentencepiece(kobert_files):
    """SentencePiece maps character by character: "▁" + U+034F is a space + U+034F (which becomes [UNK])."""
    folded, reference = _pair(*kobert_files)
    assert folded.normalizer.normalize_str("a\u2581\u034fb") == "a \u034fb"
    assert reference.normalizer.normalize_str("a\u2581\u034fb") == "a b"  # Precompiled's grapheme lookup
    assert unicodedata.combining("\u034f") == 0  # so it is not dropped with the accents either
