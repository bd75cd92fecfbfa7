"""KoBertTokenizer (slow), the fast tokenizer.json, the folder builder, errors and the CLI."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from distilkobert.tokenization import (
    CorruptModelError,
    MissingFileError,
    MissingSpecialTokensError,
    VocabMismatchError,
    build_tokenizer_folder,
    train_vocabulary,
)
from distilkobert.tokenization.cli import build_main, train_main

DATA = Path(__file__).parent / "data" / "korean_sentences.txt"
REF_TEXT = "[CLS] 한국어 모델을 공유합니다. [SEP]"
REF_TOKENS = ["[CLS]", "▁한국", "어", "▁모델", "을", "▁공유", "합니다", ".", "[SEP]"]
REF_IDS = [2, 4958, 6855, 2046, 7088, 1050, 7843, 54, 3]


@pytest.fixture(scope="session")
def trained_folder(tmp_path_factory) -> Path:
    return train_vocabulary([DATA], 400, tmp_path_factory.mktemp("trained"), hard_vocab_limit=False)


@pytest.fixture(scope="session")
def kobert_folder(kobert_files, tmp_path_factory) -> Path:
    return build_tokenizer_folder(*kobert_files, tmp_path_factory.mktemp("kobert"))


def _both(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder), AutoTokenizer.from_pretrained(folder, trust_remote_code=True)


def test_reference_vector_from_folder(kobert_folder):
    fast, slow = _both(kobert_folder)
    assert fast.is_fast and type(fast).__name__ == "TokenizersBackend"
    assert not slow.is_fast and type(slow).__name__ == "KoBertTokenizer"
    for tok in (fast, slow):
        assert tok.tokenize(REF_TEXT) == REF_TOKENS
        assert tok.convert_tokens_to_ids(tok.tokenize(REF_TEXT)) == REF_IDS
        assert tok("한국어 모델을 공유합니다.")["input_ids"] == REF_IDS
        assert tok.model_max_length == 512 and tok.pad_token_id == 1 and len(tok) == 8002
        assert [tok.unk_token_id, tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id] == [0, 1, 2, 3, 4]  # noqa: E501 (wide Hangul / CJK characters count double)


def test_kobert_facts(kobert_folder):
    fast, slow = _both(kobert_folder)
    for tok in (fast, slow):
        assert tok.tokenize("셔") == ["▁", "셔"]
        assert tok.convert_tokens_to_ids(["ᄏ", "ᄒ"]) == [492, 493]
        assert tok("ㅠ", add_special_tokens=False)["input_ids"][-1] == 0  # ᅲ is not in the vocab


def test_folder_layout(kobert_folder):
    import json

    names = {p.name for p in kobert_folder.iterdir()}
    assert {"spiece.model", "vocab.txt", "tokenization_kobert.py", "tokenizer.json", "tokenizer_config.json"} <= names
    config = json.loads((kobert_folder / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "TokenizersBackend"
    assert config["auto_map"]["AutoTokenizer"][0] == "tokenization_kobert.KoBertTokenizer"
    assert config["model_max_length"] == 512


def test_pairs_token_types_mask_and_decode(trained_folder):
    fast, slow = _both(trained_folder)
    outs = [t("이 영화는 정말 재미있었다", "추천합니다!", return_special_tokens_mask=True) for t in (fast, slow)]
    assert dict(outs[0]) == dict(outs[1])
    enc = outs[0]
    n_sep = enc["input_ids"].index(3)
    assert enc["token_type_ids"] == [0] * (n_sep + 1) + [1] * (len(enc["input_ids"]) - n_sep - 1)
    assert enc["special_tokens_mask"][0] == 1 and enc["special_tokens_mask"][-1] == 1
    assert sum(enc["special_tokens_mask"]) == 3
    assert fast.decode(enc["input_ids"]) == slow.decode(enc["input_ids"])
    assert slow.decode(enc["input_ids"], skip_special_tokens=True) == "이 영화는 정말 재미있었다 추천합니다!"
    padded = [t(["가", "이 영화는 정말"], padding=True)["input_ids"] for t in (fast, slow)]
    assert padded[0] == padded[1] and padded[0][0][-1] == 1


def test_slow_pickle_and_save_roundtrip(trained_folder, tmp_path):
    from kobert_tokenizer import KoBertTokenizer

    slow = KoBertTokenizer(str(trained_folder / "spiece.model"), str(trained_folder / "vocab.txt"))
    text = "배경 음악이 정말 재미있었다 1,000원"
    clone = pickle.loads(pickle.dumps(slow))
    assert clone(text)["input_ids"] == slow(text)["input_ids"]
    slow.save_pretrained(tmp_path / "saved")
    again = KoBertTokenizer.from_pretrained(tmp_path / "saved")
    assert again(text)["input_ids"] == slow(text)["input_ids"] and again.model_max_length == 512
    assert (tmp_path / "saved" / "vocab.txt").read_text(encoding="utf-8").splitlines()[:5] == [
        "[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]


def test_crlf_vocab_accepted(trained_folder, tmp_path):
    from kobert_tokenizer import KoBertTokenizer

    crlf = tmp_path / "vocab.txt"
    crlf.write_bytes((trained_folder / "vocab.txt").read_bytes().replace(b"\n", b"\r\n"))
    slow = KoBertTokenizer(str(trained_folder / "spiece.model"), str(crlf))
    ref = KoBertTokenizer(str(trained_folder / "spiece.model"), str(trained_folder / "vocab.txt"))
    assert slow.get_vocab() == ref.get_vocab()
    out = build_tokenizer_folder(trained_folder / "spiece.model", crlf, tmp_path / "built")
    fast, _ = _both(out)
    assert fast("감독의 연출이")["input_ids"] == ref("감독의 연출이")["input_ids"]


@pytest.mark.parametrize("options", [
    {"do_lower_case": True}, {"keep_accents": True}, {"remove_space": False},
    {"do_lower_case": True, "keep_accents": True, "remove_space": False},
])
def test_options_honoured_by_both(trained_folder, tmp_path, options):
    from distilkobert.tokenization.parity import compare, edge_cases

    out = build_tokenizer_folder(trained_folder / "spiece.model", trained_folder / "vocab.txt", tmp_path, **options)
    fast, slow = _both(out)
    for name, value in options.items():
        assert getattr(slow, name) == value
    # a trained vocab has quantized scores: identical ids by construction, no tie allowance ("［MASK］" included,
    # which this vocab, lacking "[" and most Latin letters, sees as unknown characters)
    texts = edge_cases(1500, seed=3) + ["Café NAÏVE Ångström", "HELLO World", "x［MASK］", "［mask］ ［ＭＡＳＫ］"]
    mismatches = compare(slow, fast, texts)
    assert [(m.text, slow.tokenize(m.text), fast.tokenize(m.text), m.slow, m.fast) for m in mismatches] == []
    # the options really change the output (remove_space alone is undone by SentencePiece's own whitespace rule)
    if options.get("do_lower_case") or options.get("keep_accents"):
        default_fast, _ = _both(trained_folder)
        probe = "Café HELLO"
        assert fast(probe)["input_ids"] != default_fast(probe)["input_ids"]


def test_offsets_point_into_original_text(kobert_folder):
    import unicodedata

    fast, _ = _both(kobert_folder)
    texts = ["한국어 모델을 공유합니다.", "  Café   naïve\t\t한국어\n모델 ", "ＡＢＣ１２３ ｆｕｌｌ 한글", "ㅋㅋㅋ ㅠㅠ 영화 [MASK] 최고",  # noqa: E501 (wide Hangul / CJK characters count double)
             "``인용''이다", "1,000,000원"]
    for text in texts:
        enc = fast(text, return_offsets_mapping=True, add_special_tokens=False)
        tokens = fast.convert_ids_to_tokens(enc["input_ids"])
        last_end = 0
        for token, (start, end) in zip(tokens, enc["offset_mapping"]):
            assert start >= last_end - 1 and end > start, (text, token, start, end)
            piece = token.lstrip("▁")
            if not piece:
                continue
            surface = text[start:end]
            if token in ("[UNK]", "[MASK]") or '"' in token:
                assert surface.strip(), (text, token, surface)
                continue
            folded = surface.replace("``", '"').replace("''", '"')
            folded = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
            folded = unicodedata.normalize("NFKC", folded)
            assert folded.strip() == unicodedata.normalize("NFKC", piece), (text, token, surface)
            last_end = end


def test_errors_missing_corrupt_mismatch_specials(trained_folder, tmp_path):
    model, vocab = trained_folder / "spiece.model", trained_folder / "vocab.txt"
    with pytest.raises(MissingFileError, match="nope.model"):
        build_tokenizer_folder(tmp_path / "nope.model", vocab, tmp_path / "o")
    with pytest.raises(MissingFileError, match="nope.txt"):
        build_tokenizer_folder(model, tmp_path / "nope.txt", tmp_path / "o")
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"\xff\xff\xff garbage")
    with pytest.raises(CorruptModelError, match="bad.model"):
        build_tokenizer_folder(bad, vocab, tmp_path / "o")
    lines = vocab.read_text(encoding="utf-8").splitlines()
    short = tmp_path / "short.txt"
    short.write_text("\n".join(lines[:-7]) + "\n", encoding="utf-8")
    with pytest.raises(VocabMismatchError, match="7 of the model's"):
        build_tokenizer_folder(model, short, tmp_path / "o")
    nospecial = tmp_path / "nospecial.txt"
    nospecial.write_text("\n".join(lines[5:]) + "\n", encoding="utf-8")
    with pytest.raises(MissingSpecialTokensError, match="nospecial.txt"):
        build_tokenizer_folder(model, nospecial, tmp_path / "o")
    assert build_main(["--sp-model", str(bad), "--vocab", str(vocab), "--output-dir", str(tmp_path / "o")]) == 2


def test_cli_train_then_build(tmp_path, capsys):
    assert train_main(["--input", str(DATA), "--vocab-size", "300", "--output-dir", str(tmp_path / "t")]) == 0
    from distilkobert.tokenization.quantize import read_record

    record = read_record(tmp_path / "t")
    printed = capsys.readouterr().out
    assert f"piece scores quantized to multiples of 2^-{record['bits']}:" in printed
    assert f"{record['exact_up_to_normalized_chars']:,} normalized characters" in printed
    lines = (tmp_path / "t" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 302 and lines[:5] == ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]
    assert lines[5:] == sorted(lines[5:])
    from distilkobert.tokenization.spm_proto import read_model

    spec = read_model(tmp_path / "t" / "spiece.model")
    assert spec.normalizer_name == "nmt_nfkc" and spec.trainer_spec["character_coverage"] == pytest.approx(0.9995)
    assert (spec.trainer_spec["unk_id"], spec.trainer_spec["bos_id"], spec.trainer_spec["eos_id"]) == (0, 1, 2)
    shutil.rmtree(tmp_path / "t" / "tokenizer.json", ignore_errors=True)
    assert build_main(["--sp-model", str(tmp_path / "t" / "spiece.model"), "--vocab",
                       str(tmp_path / "t" / "vocab.txt"), "--output-dir", str(tmp_path / "b")]) == 0
    assert read_record(tmp_path / "b") == record  # a rebuilt folder records the quantization too
    assert f"2^-{record['bits']}:" in capsys.readouterr().out
    fast, slow = _both(tmp_path / "b")
    assert fast("고양이가 창가에서 졸고 있다.")["input_ids"] == slow("고양이가 창가에서 졸고 있다.")["input_ids"]
    assert train_main(["--input", str(tmp_path / "missing.txt"), "--vocab-size", "300",
                       "--output-dir", str(tmp_path / "x")]) == 2
    assert "missing.txt" in capsys.readouterr().err


def test_benchmark_quick(tmp_path, repo_root):
    import json
    import subprocess
    import sys

    out = tmp_path / "tokenizer.json"
    proc = subprocess.run([sys.executable, str(repo_root / "benchmarks" / "tokenizer.py"), "--quick", "--output",
                           str(out)], capture_output=True, text=True, timeout=300, cwd=repo_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["ratios"]["fast/slow batched"] > 0 and result["time_split"]["rust backend_s"] > 0
    assert {"machine", "versions", "settings", "raw", "profile_fast_batched"} <= set(result)
    assert "fast/slow batched" in proc.stdout


def test_digit_comma_rule(tmp_path):
    """A corpus full of "1, 2, 3," makes SentencePiece learn ▁1, / 19, pieces; train marks them unused (KoBERT's
    vocab has none) so both tokenizers split digits from the comma identically; the slow class's re-split rule
    itself is checked on the raw model."""
    import random

    from distilkobert.tokenization.parity import compare
    from distilkobert.tokenization.spm_proto import UNUSED, read_model
    from kobert_tokenizer import KoBertTokenizer

    rng = random.Random(0)
    lines = [f"점수는 {', '.join(str(rng.choice([1, 2, 3, 10, 12, 2019])) for _ in range(4))}, 그리고 "
             f"{rng.randint(1, 99)},000원" for _ in range(1500)]
    corpus = tmp_path / "numbers.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    folder = train_vocabulary([corpus], 120, tmp_path / "tok", hard_vocab_limit=False)
    unused = [p for p, _, t in read_model(folder / "spiece.model").pieces if t == UNUSED]
    assert unused and all(p[-1] == "," and p[-2].isdigit() for p in unused)
    assert (folder / "unused_pieces.txt").read_text(encoding="utf-8").split() == sorted(unused)
    fast, slow = _both(folder)
    texts = lines[:300] + ["1, 2, 3,", "12,000, 100,", "가1,나", "1,000,000"]
    assert compare(slow, fast, texts) == []
    for tok in (fast, slow):
        assert "," in tok.tokenize("점수는 1, 2,")
        assert not any(len(p) > 1 and p[-1] == "," and p[-2].isdigit() for p in tok.tokenize(lines[0]))
    # the rule on a raw piece: "▁12," -> "▁12" (or its pieces) + ","
    raw = KoBertTokenizer(str(folder / "spiece.model"), str(folder / "vocab.txt"))
    raw.sp_model.EncodeAsPieces = lambda text, _orig=raw.sp_model.EncodeAsPieces: (
        ["▁12,"] if text == "x" else _orig(text))
    pieces = raw._tokenize("x")
    assert pieces[-1] == "," and "".join(pieces[:-1]).replace("▁", "") == "12" and pieces[0].startswith("▁")
