"""Build the fast ``tokenizers`` tokenizer (``tokenizer.json``) for a KoBERT-format SentencePiece model + vocab.txt.

The pipeline reproduces the slow class step by step, with alignment-tracking normalizers so that
``offset_mapping`` points into the original text:

* ``remove_space``: every run of Python ``str.split()`` whitespace -> one space, then strip;
* ``` `` ``` / ``''`` -> ``"``; ``keep_accents=False``: NFKD, then drop every character with a non-zero canonical
  combining class (exactly ``unicodedata.combining``, not the narrower ``StripAccents``); ``do_lower_case``;
* SentencePiece's own normalizer: NFKC first (``Precompiled`` maps grapheme by grapheme and does not recompose the
  conjoining jamo left by NFKD, nor "ㅋㅠ" -> "큐" under keep_accents, which SentencePiece's longest-match does), the
  model's precompiled charsmap, then its ``remove_extra_whitespaces``;
* ``Metaspace`` (dummy prefix, split at ``▁``: no piece contains ``▁`` after its first character, so words are
  independent), the Unigram model in vocab.txt order (ids are vocab.txt line numbers); the five specials are
  added tokens matched on the raw text and kept out of the lattice (``_special_policy``);
* digit + comma pieces (``▁1,``), which the slow class re-splits, are penalised by 100 as in ALBERT's converter;
  that is exact only when the model has none (KoBERT; ``train_vocabulary`` marks them unused).

Tie-breaking (the one known, irreducible difference): SentencePiece >= 0.1.95 (``EncodeOptimized``) and
``tokenizers`` run the same forward Viterbi (for each end position, candidates in order of start, first strictly
greater score wins, i.e. on a tie the earliest start / longest last piece). But SentencePiece accumulates the path
score in float32 from the start of the text, ``tokenizers`` in float64, where sums of these float32 scores are exact.
Equal-score segmentations (``.``+``...`` vs ``...``+``.``, ``ᄏ``+``ᄏᄏ`` vs ``ᄏᄏ``+``ᄏ``) are thus always decided
"earliest start" here, but by the rounding of the accumulated prefix score in SentencePiece: ``"지루하다....."`` ends
``. ... .`` alone and ``. . ...`` after ``"영화 "``. Per-piece score changes cannot move a permutation tie (the
multiset, hence the sum, is the same) and no pre-tokenizer can compute float32 rounding of the prefix, so no static
tokenizer.json reproduces it; "earliest start" is already SentencePiece's choice for ~95% of NSMC dot runs.
``parity.unexplained`` checks that every remaining difference is such an exact tie.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from .spm_proto import NORMAL, SpmModel

SPECIAL_TOKENS = ("[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]")
SPIECE_UNDERLINE = "\u2581"
# Exactly the characters Python's str.split() splits on (str.isspace), which the slow class uses.
PY_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
# The specials must sit in the Unigram vocab (that is how `tokenizers` keeps their ids) but must never be chosen
# where SentencePiece, which does not know them, segments their text (e.g. "［MASK］" after NFKC). See _special_policy.
_SPECIAL_CUT = r"\[(?=(?:UNK|PAD|CLS|SEP|MASK)\])"


def _char_class(chars: str) -> str:
    cps = sorted({ord(c) for c in chars})
    spans: list[list[int]] = []
    for cp in cps:
        if spans and spans[-1][1] == cp - 1:
            spans[-1][1] = cp
        else:
            spans.append([cp, cp])
    return "[" + "".join(
        f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in spans
    ) + "]"


@lru_cache(maxsize=1)
def _combining_class() -> str:
    return _char_class("".join(chr(c) for c in range(0x110000) if unicodedata.combining(chr(c))))


def digit_comma_piece(piece: str) -> bool:
    """Pieces the slow class re-splits (``▁1,`` -> ``▁1`` + ``,``)."""
    return len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()


def _cut_crosses_a_piece(scores: dict[str, float]) -> bool:
    """The cut after "[" is neutral only if no normal piece continues past a "[" into a special's text."""
    rests = [t[1:] for t in SPECIAL_TOKENS]
    for piece in scores:
        for i, ch in enumerate(piece[:-1]):
            if ch == "[" and any(r.startswith(piece[i + 1:]) or piece[i + 1:].startswith(r) for r in rests):
                return True
    return False


def _special_policy(scores: dict[str, float]) -> tuple[float, bool]:
    """Score for the special entries, and whether to cut "[" before a special's text.

    If every character of every multi-character piece is also a piece (SentencePiece's trainer guarantees it), every
    segmentation has its unknown-character nodes at the same places, so the unknown score (``min - 10``, which
    ``tokenizers`` takes over the whole vocab) cannot change a decision. The specials then get a score below any
    segmentation of their text into known pieces: never chosen, except over a run of unknown characters spelling
    exactly "[MASK]", where both tokenizers give id 4 (SentencePiece fuses the run and vocab.txt has it).
    Otherwise the specials get the lowest normal score (the unknown score stays SentencePiece's) and a neutral cut
    after "[" keeps them out of the lattice.
    """
    min_score = min(scores.values())
    singles = {p for p in scores if len(p) == 1}
    if all(c in singles for p in scores if len(p) > 1 for c in p):
        longest = max(len(t) for t in SPECIAL_TOKENS)
        return (longest + 1) * min_score - 1.0, False
    return min_score, not _cut_crosses_a_piece(scores)


def build_fast_tokenizer(
    spm: SpmModel,
    vocab: list[str],
    *,
    do_lower_case: bool = False,
    remove_space: bool = True,
    keep_accents: bool = False,
) -> Tokenizer:
    """Return the fast tokenizer for a parsed model and a validated vocab.txt token list (specials first)."""
    scores = {piece: score for piece, score, ptype in spm.pieces if ptype == NORMAL}
    special_score, cut = _special_policy(scores)
    entries: list[tuple[str, float]] = []
    for token in vocab:
        if token in SPECIAL_TOKENS:
            entries.append((token, special_score))
        elif digit_comma_piece(token):
            # The slow class never emits these pieces as such; ALBERT's converter penalises them the same way.
            entries.append((token, scores[token] - 100.0))
        else:
            entries.append((token, scores[token]))
    tokenizer = Tokenizer(models.Unigram(entries, unk_id=vocab.index("[UNK]"), byte_fallback=False))

    steps = []
    if remove_space:
        steps += [normalizers.Replace(Regex(_char_class(PY_WHITESPACE) + "+"), " "), normalizers.Strip()]
    steps += [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
    if not keep_accents:
        steps += [normalizers.NFKD(), normalizers.Replace(Regex(_combining_class()), "")]
    if do_lower_case:
        steps.append(normalizers.Lowercase())
    # SentencePiece maps by longest match over the raw text (so "ㅋㅠ" -> "큐", conjoining jamo recompose) while
    # `Precompiled` maps grapheme by grapheme: NFKC first gives it already-composed input (NFKC == NFC after the
    # NFKD step, and nmt_nfkc is NFKC plus a few rules, so this is idempotent for the charsmap).
    steps.append(normalizers.NFKC())
    if spm.precompiled_charsmap:
        steps.append(normalizers.Precompiled(spm.precompiled_charsmap))
    if spm.remove_extra_whitespaces:
        steps += [normalizers.Replace(Regex(" {2,}"), " "), normalizers.Replace(Regex(r"\A +| +\z"), "")]
    tokenizer.normalizer = normalizers.Sequence(steps)
    scheme = "always" if spm.add_dummy_prefix else "never"
    steps_pre = [pre_tokenizers.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=scheme, split=True)]
    if cut:
        steps_pre.append(pre_tokenizers.Split(Regex(_SPECIAL_CUT), behavior="merged_with_previous"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(steps_pre)
    tokenizer.decoder = decoders.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=scheme, split=True)
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    cls_id, sep_id = vocab.index("[CLS]"), vocab.index("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tokenizer
