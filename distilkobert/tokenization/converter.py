"""Build the fast ``tokenizers`` tokenizer (``tokenizer.json``) for a KoBERT-format SentencePiece model + vocab.txt.

The pipeline reproduces the slow class step by step, with alignment-tracking normalizers so that
``offset_mapping`` points into the original text:

* ``remove_space``: every run of Python ``str.split()`` whitespace -> one space, then strip;
* ``` `` ``` / ``''`` -> ``"``; ``keep_accents=False``: NFKD, then drop every character with a non-zero canonical
  combining class (exactly ``unicodedata.combining``, not the narrower ``StripAccents``); ``do_lower_case``;
* SentencePiece's own normalizer: NFKC first (``Precompiled`` maps grapheme by grapheme and does not recompose the
  conjoining jamo left by NFKD, nor "ㅋㅠ" -> "큐" under keep_accents, which SentencePiece's longest-match does), the
  model's precompiled charsmap, then its ``remove_extra_whitespaces``;
* the charsmap as ``Replace`` steps (``_folded_tail``): where the charsmap runs (after NFKC, and after NFKD +
  dropping combining marks by default) only a few of its keys can still match (KoBERT: six characters, all to
  " "), so it and the ``remove_space`` whitespace work move to the end as literal-alternation regexes + Strip,
  which onig scans ~4x faster than non-ASCII character classes and the grapheme-by-grapheme ``Precompiled`` they
  replace (~12% of ``encode_batch``). It is also closer to SentencePiece: ``Precompiled`` replaces a whole
  grapheme under 6 bytes by its first character's value ("▁" + U+034F -> " "), SentencePiece maps character by
  character ("▁" + U+034F -> " " + U+034F, which the slow class keeps as [UNK]). Where ``Precompiled`` must stay
  (newer sentencepiece charsmaps: ~200 single characters, some sequences), its keys that become " " are replaced
  just before it (``_spaces_before_precompiled``) for the same reason. ``fold_charsmap=False`` keeps the previous
  chain for the tests. Why NFKD stays although it explodes every Hangul syllable into jamo that NFKC then
  recomposes (~19% of ``encode_batch``): the only other way to drop the combining marks of a precomposed
  character is a ``Precompiled`` map c -> NFC(strip(NFKD(c))), which would lose a following ZWJ / variation
  selector / spacing mark through the same whole-grapheme lookup ("é" + U+FE0F -> "e");
* ``Metaspace`` (dummy prefix; one Unigram lattice per text, the same as one per word because no piece contains
  ``▁`` after its first character, see ``_words_are_independent``), the Unigram model in vocab.txt order (ids are
  vocab.txt line numbers); the five specials are added tokens matched on the raw text and kept out of the lattice
  (``_special_policy``); where their text (e.g. "［MASK］" after NFKC) holds characters the model does not know,
  ``_special_guards`` swaps one of those unknown characters for another unknown one (a private-use character no
  piece contains) unless SentencePiece would fuse exactly that text into one unknown piece (which vocab.txt maps
  to the special). Ids, offsets and decode are unaffected; only ``tokenize()``'s text of such an unknown span
  shows the private-use character;
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
``parity.unexplained`` checks that every remaining difference is such an exact tie. That is the state for the real
KoBERT model (391 of 150,000 NSMC reviews). Vocabularies trained by ``train_vocabulary`` avoid it by construction:
their scores are rounded to multiples of ``2**-k`` (quantize.py), which makes SentencePiece's float32 sums exact
too, so both libraries see the same ties and break them the same way (zero mismatches).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from .spm_proto import NORMAL, SpmModel, charsmap_entries

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


def _collapse_whitespace() -> str:
    """Regex for the ``remove_space`` runs: every whitespace run except a lone " " (already what it becomes).

    Same result and alignments as ``[ws]+`` -> " " (a run of 2+ is matched whole, greedily, from its first
    character), but ``tokenizers`` rebuilds the alignments for every match, and a plain space between two words is
    by far the most common match: skipping those saves ~5% of ``encode_batch``.
    """
    return _char_class(PY_WHITESPACE) + "{2,}|" + _char_class(PY_WHITESPACE.replace(" ", ""))


def _literal(c: str) -> str:
    return f"\\x{{{ord(c):X}}}"


_MAX_FOLDED_VALUES = 4  # one Replace step per distinct value: beyond a few, Precompiled's single pass is cheaper


@lru_cache(maxsize=8)
def _live_keys(charsmap: bytes, remove_space: bool, keep_accents: bool) -> tuple[dict, list[str]]:
    """The charsmap's keys that can still match where it runs: ({single character: value}, [longer keys]).

    The charsmap sees NFKC text (without combining marks unless ``keep_accents``), so a key can match only if it
    is NFKC-stable (and holds no combining mark); with ``remove_space`` no whitespace reaches it either (the slow
    class turned it into " " first)."""
    nfkc = normalizers.NFKC()

    def can_occur(text: str) -> bool:  # a key prefix that can match after (NFKD, dropping combining marks,) NFKC
        return (keep_accents or not unicodedata.combining(text[-1])) and nfkc.normalize_str(text) == text

    live = {k.decode("utf-8"): v.decode("utf-8") for k, v in charsmap_entries(charsmap, can_occur).items()}
    if remove_space:
        live = {k: v for k, v in live.items() if not k.isspace()}
    return {k: v for k, v in live.items() if len(k) == 1}, [k for k in live if len(k) > 1]


def _replaceable_first(singles: dict[str, str], longer: list[str]) -> dict[str, str]:
    """The single keys that separate ``Replace`` steps may map before (or instead of) ``Precompiled`` and still
    give SentencePiece's one longest-match pass: no longer key holds the character, and no value holds a key's
    character (a later step would map it again) or whitespace other than " "."""
    key_chars = set(singles) | {c for k in longer for c in k}
    in_longer = {c for k in longer for c in k}
    return {k: v for k, v in singles.items()
            if k not in in_longer and not any(c in key_chars or (c.isspace() and c != " ") for c in v)}


def _folded_tail(charsmap: bytes, remove_space: bool = True, keep_accents: bool = False) -> tuple | None:
    """Steps doing ``remove_space``, the charsmap and ``remove_extra_whitespaces`` at the end of the chain, or None
    when the charsmap is not a few single-character replacements (see ``_live_keys``, ``_replaceable_first``).

    KoBERT's nmt_nfkc has six live keys, all -> " " (zero-width space, BOM, LRM/RLM, "▁", U+FFFD): one
    literal-alternation ``Replace`` (onig scans those ~4x faster than a non-ASCII character class or the
    grapheme-by-grapheme ``Precompiled``; ~12% of ``encode_batch`` on NSMC with the whitespace regexes it also
    replaces). It is also closer to SentencePiece, which maps character by character by longest match:
    ``Precompiled`` looks a grapheme shorter than 6 bytes up whole and replaces all of it by its first character's
    value, so "▁" + U+034F lost the U+034F that the slow class keeps (as [UNK]).
    """
    if not charsmap:
        return None
    singles, longer = _live_keys(charsmap, remove_space, keep_accents)
    if longer or _replaceable_first(singles, longer) != singles:
        return None
    by_value: dict[str, list[str]] = {}
    for key, value in sorted(singles.items()):
        by_value.setdefault(value, []).append(key)
    if len(by_value) > _MAX_FOLDED_VALUES:
        return None
    if remove_space:  # the whitespace NFKD/NFKC leave as it is (the rest, e.g. U+3000, they turn into " ")
        nfkc = normalizers.NFKC()
        by_value.setdefault(" ", []).extend(c for c in PY_WHITESPACE if c != " " and nfkc.normalize_str(c) == c)
    steps = [normalizers.Replace(Regex("|".join(map(_literal, ks))), value) for value, ks in by_value.items()]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    # SentencePiece trims " " only; with remove_space every other whitespace is " " by now, so Strip is the same
    steps.append(normalizers.Strip() if remove_space else normalizers.Replace(Regex(r"\A +| +\z"), ""))
    return tuple(steps)


def _spaces_before_precompiled(charsmap: bytes, remove_space: bool, keep_accents: bool) -> list:
    """Where ``Precompiled`` stays: replace its single-character keys whose value is " " (e.g. "▁", U+FFFD) first,
    so that its whole-grapheme lookup cannot swallow a following grapheme extender with them (see
    ``_folded_tail``); controls, the other frequent single keys, are graphemes of their own."""
    spaces = [k for k, v in sorted(_replaceable_first(*_live_keys(charsmap, remove_space, keep_accents)).items())
              if v == " "]
    return [normalizers.Replace(Regex("|".join(map(_literal, spaces))), " ")] if spaces else []


def _words_are_independent(scores: dict[str, float]) -> bool:
    """True when splitting the text at "▁" before the Unigram model cannot change its result, so it can be skipped.

    Every path through the lattice then has a node boundary at each "▁": no piece holds "▁" after its first
    character, and "▁" alone is a piece, so it is never an unknown character that ``fuse_unk`` would merge with an
    unknown neighbour across the boundary. Viterbi's float64 path sums of float32 scores are exact, so ties are
    decided the same whether a word's sum starts at 0 or at the score of the text before it. One lattice per text
    instead of one per word avoids a split (a string copy with its alignments) and a cache lookup per word:
    ~7% of ``encode_batch`` on NSMC.
    """
    return SPIECE_UNDERLINE in scores and not any(SPIECE_UNDERLINE in p[1:] for p in scores)


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
    ``tokenizers`` takes over the whole vocab, specials included) cannot change a decision between segmentations
    into pieces. The specials then get a score below any segmentation of their text into known pieces, so they are
    never chosen over known pieces; where their text has unknown characters, ``_special_guards`` decides.
    Otherwise the specials get the lowest normal score (the unknown score stays SentencePiece's) and a neutral cut
    after "[" keeps them out of the lattice.
    """
    min_score = min(scores.values())
    if _closed_under_characters(scores):
        longest = max(len(t) for t in SPECIAL_TOKENS)
        return (longest + 1) * min_score - 1.0, False
    return min_score, not _cut_crosses_a_piece(scores)


def _closed_under_characters(scores: dict[str, float]) -> bool:
    singles = {p for p in scores if len(p) == 1}
    return all(c in singles for p in scores if len(p) > 1 for c in p)


def _special_guards(scores: dict[str, float], dummy_prefix: bool = True) -> list:
    """Normalizers that keep a special's text out of the lattice wherever SentencePiece does not give its id.

    Only for a vocab closed under characters (``_special_policy``). A special's entry (score ``s``) beats any run of
    unknown characters (``tokenizers`` puts the unknown score at ``s - 10``), so wherever its text (after NFKC,
    e.g. "［MASK］") holds an unknown character the fast tokenizer would emit the special. SentencePiece instead
    gives the pieces and unknown runs it sees, and the slow class gives the special's id only when one fused
    unknown run is exactly its text (vocab.txt maps that string). So: when every character of the text is unknown
    and neither neighbour is (the run cannot extend), the entry may win, as in the slow class; otherwise one of its
    unknown characters becomes another character that no piece contains. Unknown stays unknown and fuses the
    same, so nothing else in the lattice changes, but the special's entry no longer matches there.
    """
    singles = {p for p in scores if len(p) == 1}
    used = {c for p in scores for c in p}
    placeholder = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in used)
    known = set(singles)
    if SPIECE_UNDERLINE in singles:
        known.add(" ")  # spaces become "▁" in the pre-tokenizer, after these normalizers
    not_known = "[^" + _char_class("".join(known))[1:]
    out = []
    for token in SPECIAL_TOKENS:
        unknown = [i for i, c in enumerate(token) if c not in singles]
        if not unknown:
            continue
        if len(unknown) == len(token):
            first, rest = re.escape(token[0]), re.escape(token[1:])
            glued = [f"(?<={not_known}){first}(?={rest})", f"{first}(?={rest}{not_known})"]
            if dummy_prefix and SPIECE_UNDERLINE not in singles:
                glued.append(f"\\A{first}(?={rest})")  # the dummy prefix "▁" is unknown too
            pattern = "|".join(glued)
        else:
            i = unknown[0]
            before = f"(?<={re.escape(token[:i])})" if i else ""
            pattern = f"{before}{re.escape(token[i])}(?={re.escape(token[i + 1:])})"
        out.append(normalizers.Replace(Regex(pattern), placeholder))
    return out


def build_fast_tokenizer(
    spm: SpmModel,
    vocab: list[str],
    *,
    do_lower_case: bool = False,
    remove_space: bool = True,
    keep_accents: bool = False,
    fold_charsmap: bool = True,
) -> Tokenizer:
    """Return the fast tokenizer for a parsed model and a validated vocab.txt token list (specials first).

    ``fold_charsmap=False`` keeps the previous chain (whitespace regex first, ``Precompiled`` charsmap alone at
    the end) that ``_folded_tail`` / ``_spaces_before_precompiled`` replace: a little slower, and different only
    where ``Precompiled``'s whole-grapheme lookup differs from SentencePiece; the tests compare the two."""
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

    tail = None
    if fold_charsmap and spm.remove_extra_whitespaces:
        tail = _folded_tail(spm.precompiled_charsmap, remove_space, keep_accents)
    steps = []
    if remove_space and tail is None:
        steps += [normalizers.Replace(Regex(_collapse_whitespace()), " "), normalizers.Strip()]
    # One scan instead of two: a "``" match and a "''" match never overlap and neither creates the other.
    steps.append(normalizers.Replace(Regex("``|''"), '"'))
    if not keep_accents:
        steps += [normalizers.NFKD(), normalizers.Replace(Regex(_combining_class()), "")]
    if do_lower_case:
        steps.append(normalizers.Lowercase())
    # SentencePiece maps by longest match over the raw text (so "ㅋㅠ" -> "큐", conjoining jamo recompose) while
    # `Precompiled` maps grapheme by grapheme: NFKC first gives it already-composed input (NFKC == NFC after the
    # NFKD step, and nmt_nfkc is NFKC plus a few rules, so this is idempotent for the charsmap).
    steps.append(normalizers.NFKC())
    if tail is not None:
        steps += list(tail)
    else:
        if spm.precompiled_charsmap:
            if fold_charsmap:
                steps += _spaces_before_precompiled(spm.precompiled_charsmap, remove_space, keep_accents)
            steps.append(normalizers.Precompiled(spm.precompiled_charsmap))
        if spm.remove_extra_whitespaces:
            steps += [normalizers.Replace(Regex(" {2,}"), " "), normalizers.Replace(Regex(r"\A +| +\z"), "")]
    if not cut and _closed_under_characters(scores):
        steps += _special_guards(scores, spm.add_dummy_prefix)
    tokenizer.normalizer = normalizers.Sequence(steps)
    scheme = "always" if spm.add_dummy_prefix else "never"
    steps_pre = [pre_tokenizers.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=scheme,
                                          split=not _words_are_independent(scores))]
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
