"""Corpus builder: sources (plain, gzip, JSON lines, paragraphs, Hub), cleaning, dedup, splits, counts, card."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distilkobert.data.cleaning import clean_text, pack_sentences, split_sentences
from distilkobert.data.cli import corpus_main
from distilkobert.data.corpus import DROP_REASONS, SourceStats, _hash_key, build_corpus
from distilkobert.data.corpus_builder import CorpusBuilder
from distilkobert.data.dedup import HashSet64
from distilkobert.data.parquet import SplitWriter, arrow_schema

# ------------------------------------------------------------------------------------------------ inputs

A_LINES = [
    "오늘은 날씨가 정말 좋네요.".encode(),                       # 1 kept
    b"",                                                          # 2 empty
    b"   \t  ",                                                   # 3 empty (whitespace only)
    "오늘은 날씨가 정말 좋네요.".encode(),                       # 4 duplicate
    "네".encode(),                                                # 5 too short
    unicodedata.normalize("NFD", "한국어 문장을 정규화합니다").encode(),  # 6 kept, NFC changes it
    "제어\x07문자가   들어 있는\t문장".encode(),                  # 7 kept, control + whitespace
    b"\xed\x95\x9c\xff\xfe broken",                               # 8 invalid UTF-8 at byte 3
    "  앞뒤 공백이 있는 문장  ".encode(),                         # 9 kept, whitespace
    "\ufeff보이지 않는 문자\u200b가 있는 문장".encode(),          # 10 kept, invisible characters removed
]
A_KEPT = ["오늘은 날씨가 정말 좋네요.", "한국어 문장을 정규화합니다", "제어문자가 들어 있는 문장",
          "앞뒤 공백이 있는 문장", "보이지 않는 문자가 있는 문장"]
LONG_DOC = "첫째 문장입니다. 둘째 문장은 조금 더 깁니다! 셋째 문장일까요? 넷째."
B_LINES = [
    "오늘은 날씨가 정말 좋네요.".encode(),  # 1 duplicate of a.txt line 1 (across sources)
    LONG_DOC.encode(),                        # 2 cut (--split-long 30) into two chunks
    b"\xc3\x28 bad",                          # 3 invalid UTF-8 at byte 0
    "두 번째 파일의 고유한 문장".encode(),     # 4 kept
]
B_KEPT = ["첫째 문장입니다. 둘째 문장은 조금 더 깁니다!", "셋째 문장일까요? 넷째.", "두 번째 파일의 고유한 문장"]
C_LINES = [
    json.dumps({"text": "제이슨 줄의 첫 번째 문서", "id": 1}, ensure_ascii=False),  # 1 kept
    '{"text": "깨진 json',                                                        # 2 invalid JSON
    json.dumps({"body": "필드가 없음"}, ensure_ascii=False),                      # 3 missing field
    json.dumps({"text": "두 번째 파일의 고유한 문장"}, ensure_ascii=False),        # 4 duplicate of b.txt.gz
    "",                                                                           # 5 empty
    json.dumps({"text": None}),                                                   # 6 missing field (null)
    json.dumps({"text": "제이슨 줄의  두 번째\n문서"}, ensure_ascii=False),        # 7 kept, whitespace
]
C_KEPT = ["제이슨 줄의 첫 번째 문서", "제이슨 줄의 두 번째 문서"]
ALL_KEPT = A_KEPT + B_KEPT + C_KEPT


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "src"
    src.mkdir()
    a, b, c = src / "a.txt", src / "b.txt.gz", src / "c.jsonl"
    a.write_bytes(b"\n".join(A_LINES) + b"\n")
    b.write_bytes(gzip.compress(b"\n".join(B_LINES) + b"\n"))
    c.write_text("\n".join(C_LINES) + "\n", encoding="utf-8")
    return {"a": a, "b": b, "c": c}


def keyed_hash(text: str, seed: int = 42) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8, key=_hash_key(seed)).digest(), "big")


def load_texts(path: Path) -> dict[str, list[str]]:
    ds = datasets.load_dataset(str(path))
    assert all(ds[s].features == datasets.Features({"text": datasets.Value("string")}) for s in ds)
    return {s: list(ds[s]["text"]) for s in ds}


# ------------------------------------------------------------------------------------------------ cleaning

def test_clean_text_reports_each_step() -> None:
    r = clean_text(unicodedata.normalize("NFD", "한국어") + "\x07 \t 텍스트\u200b ")
    assert (r.text, r.nfc_changed, r.control_removed, r.whitespace_changed) == ("한국어 텍스트", True, True, True)
    assert clean_text("그대로 둡니다") == type(r)("그대로 둡니다", False, False, False)
    assert clean_text("이모지 👩\u200d💻 유지").text == "이모지 👩\u200d💻 유지"  # ZWJ sequences survive


def test_sentence_split_and_packing_reconstruct_the_text() -> None:
    text = '첫 문장입니다. 두 번째 문장이죠! "인용문이다." 마지막 문장'
    assert split_sentences(text) == ["첫 문장입니다.", "두 번째 문장이죠!", '"인용문이다."', "마지막 문장"]
    chunks = pack_sentences(text, 20)
    assert chunks == ["첫 문장입니다. 두 번째 문장이죠!", '"인용문이다." 마지막 문장']
    assert " ".join(chunks) == text and all(len(c) <= 20 for c in chunks)
    assert pack_sentences(LONG_DOC, 30) == B_KEPT[:2]
    assert pack_sentences("아주 긴 한 문장은 자르지 않는다", 5) == ["아주 긴 한 문장은 자르지 않는다"]
    assert pack_sentences("짧다.", 30) == ["짧다."]


# --------------------------------------------------------------------------------------------------- build

def check_invariant(stats) -> None:
    assert (stats.documents_read + stats.chunks_from_split - stats.long_documents_split
            == stats.documents_written + sum(stats.dropped.values()))
    assert stats.train + stats.validation == stats.documents_written


def test_build_counts_every_document(sources, tmp_path: Path, capsys) -> None:
    out = tmp_path / "corpus"
    code = corpus_main([str(sources["a"]), str(tmp_path / "src" / "b*.gz"), str(sources["c"]), "--output-dir", str(out),
                 "--split-long", "30", "--validation-size", "3", "--summary-json", str(tmp_path / "s.json"),
                 "--source-licence", "a.txt=CC0-1.0", "--source-licence", "*.gz=CC BY 4.0",
                 "--source-note", "c.jsonl=test records"])
    assert code == 0
    err = capsys.readouterr().err
    assert f"{sources['a']}:8: invalid UTF-8 at byte 3; dropped" in err
    assert f"{sources['b']}:3: invalid UTF-8 at byte 0; dropped" in err
    assert f"{sources['c']}:2: invalid JSON" in err and f"{sources['c']}:3: no string field 'text'" in err

    summary = json.loads((tmp_path / "s.json").read_text())
    by_name = {s["name"]: s for s in summary["sources"]}
    a, b, c = (by_name[str(sources[k])] for k in "abc")
    assert (a["documents_read"], a["documents_written"]) == (10, 5)
    assert a["dropped"] == {**dict.fromkeys(DROP_REASONS, 0), "empty": 2, "duplicate": 1, "too_short": 1,
                            "invalid_utf8": 1}
    assert a["altered"] == {"nfc": 1, "control_chars": 2, "whitespace": 3}
    assert a["characters_written"] == sum(map(len, A_KEPT))
    assert (b["documents_read"], b["documents_written"]) == (4, 3)
    assert b["dropped"] == {**dict.fromkeys(DROP_REASONS, 0), "duplicate": 1, "invalid_utf8": 1}
    assert (b["long_documents_split"], b["chunks_from_split"]) == (1, 2)
    assert (c["documents_read"], c["documents_written"]) == (7, 2)
    assert c["dropped"] == {**dict.fromkeys(DROP_REASONS, 0), "invalid_json": 1, "missing_field": 2,
                            "duplicate": 1, "empty": 1}
    assert (a["licence"], b["licence"], c["licence"], c["note"]) == ("CC0-1.0", "CC BY 4.0", "unknown", "test records")
    assert summary["dropped"] == {"invalid_utf8": 2, "invalid_json": 1, "missing_field": 2, "empty": 3,
                                  "too_short": 1, "duplicate": 3}
    assert summary["documents_read"] == 21
    assert summary["splits"] == {"train": 7, "validation": 3}
    assert summary["characters"]["train"] + summary["characters"]["validation"] == sum(map(len, ALL_KEPT))
    for s in summary["sources"]:
        check_invariant(SourceStats(**s))

    texts = load_texts(out)
    assert sorted(texts["train"] + texts["validation"]) == sorted(ALL_KEPT)
    # validation = the 3 smallest keyed hashes, in hash order
    assert texts["validation"] == sorted(ALL_KEPT, key=keyed_hash)[:3]

    card = (out / "README.md").read_text(encoding="utf-8")
    assert "license: other" in card and "| CC BY 4.0 |" in card and "test records" in card
    assert f"{sources['a']}:8: invalid UTF-8 at byte 3; dropped" in card
    assert "--split-long 30" in card and "exact count" in card

    # Deterministic: the same build again gives the same files' content.
    out2 = tmp_path / "corpus2"
    assert corpus_main([str(sources["a"]), str(sources["b"]), str(sources["c"]), "--output-dir", str(out2),
                 "--split-long", "30", "--validation-size", "3"]) == 0
    assert load_texts(out2) == texts


def test_fraction_split_is_by_hash_and_stable_when_sources_are_added(sources, tmp_path: Path) -> None:
    r1 = build_corpus([str(sources["a"])], tmp_path / "one", validation_fraction=0.5, seed=5, log=lambda m: None)
    r2 = build_corpus([str(sources["a"]), str(sources["c"])], tmp_path / "two", validation_fraction=0.5, seed=5,
                      log=lambda m: None)
    one, two = load_texts(tmp_path / "one"), load_texts(tmp_path / "two")
    for texts in (one, two):
        assert all(keyed_hash(t, 5) < 2**63 for t in texts["validation"])
        assert all(keyed_hash(t, 5) >= 2**63 for t in texts["train"])
    assert set(one["validation"]) <= set(two["validation"]) and set(one["train"]) <= set(two["train"])
    # c.jsonl line 4 is new without b
    assert r1.splits["train"] + r1.splits["validation"] == 5 and sum(r2.splits.values()) == 8


def test_paragraph_mode_and_bad_line_drops_its_paragraph(tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes("첫 문단의 첫 줄\n첫 문단의 둘째 줄\n\n\n둘째 문단\n".encode() + b"\xff bad\n"
                     + "둘째 문단 계속\n  \n셋째 문단 한 줄".encode())
    out = tmp_path / "out"
    result = build_corpus([str(path)], out, paragraphs=True, validation_fraction=0)
    assert "p.txt:6: invalid UTF-8 at byte 0 (the whole paragraph from line 5 is dropped); dropped" \
        in capsys.readouterr().err
    stats = result.sources[0]
    assert (stats.documents_read, stats.documents_written, stats.dropped["invalid_utf8"]) == (3, 2, 1)
    assert load_texts(out) == {"train": ["첫 문단의 첫 줄 첫 문단의 둘째 줄", "셋째 문단 한 줄"]}


def test_errors_are_clear(sources, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "o")
    assert corpus_main([str(tmp_path / "nope.txt"), "--output-dir", out]) == 1
    assert "nope.txt': no such file" in capsys.readouterr().err
    assert corpus_main([str(tmp_path / "*.none"), "--output-dir", out]) == 1
    assert "the glob matches no file" in capsys.readouterr().err
    assert corpus_main([str(sources["a"]), "--output-dir", out, "--source-licence", "zzz*=MIT"]) == 1
    assert "pattern 'zzz*' matches no source" in capsys.readouterr().err
    assert corpus_main([str(sources["a"]), "--output-dir", out, "--validation-size", "5"]) == 1
    assert "no document left for the train split" in capsys.readouterr().err
    assert not Path(out).exists()  # nothing half-written
    bad_gz = tmp_path / "bad.gz"
    bad_gz.write_bytes(gzip.compress("한 줄\n".encode() * 1000)[:-30])
    assert corpus_main([str(bad_gz), "--output-dir", out]) == 1
    assert f"{bad_gz}:1: truncated or corrupt gzip data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        corpus_main([str(sources["a"]), "--output-dir", out, "--validation-size", "1", "--validation-fraction", "0.1"])


def test_shards_and_row_groups_are_written_incrementally(tmp_path: Path) -> None:
    schema = arrow_schema({"text": {"dtype": "string", "_type": "Value"}}, {"text": pa.string()})
    writer = SplitWriter(tmp_path / "data", "train", schema, max_shard_bytes=100, row_group_rows=4)
    texts = [f"문서 번호 {i}" for i in range(30)]
    for t in texts:
        writer.write((t,), len(t.encode()))
    files = writer.close()
    assert len(files) > 1 and [f.name for f in files] == [f"train-{i:05d}-of-{len(files):05d}.parquet"
                                                            for i in range(len(files))]
    assert all(pq.ParquetFile(f).metadata.num_row_groups >= 1 for f in files)
    assert [t for f in files for t in pq.read_table(f)["text"].to_pylist()] == texts
    assert list((tmp_path / "data").iterdir()) != [] and not list((tmp_path / "data").glob(".*"))


def test_generator_based_builder_gives_the_same_rows(sources, tmp_path: Path) -> None:

    builder = CorpusBuilder(cache_dir=str(tmp_path / "cache"), sources=[str(p) for p in sources.values()],
                            split_long=30, validation_size=3)
    assert isinstance(builder, datasets.GeneratorBasedBuilder)
    builder.download_and_prepare()
    ds = builder.as_dataset()
    assert sorted(list(ds["train"]["text"]) + list(ds["validation"]["text"])) == sorted(ALL_KEPT)
    assert list(ds["validation"]["text"]) == sorted(ALL_KEPT, key=keyed_hash)[:3]


def test_publish_version_then_read_it_back_as_a_hub_source(sources, tmp_path: Path, unique_repo_id, capsys) -> None:
    repo = unique_repo_id("corpus")
    base = [str(p) for p in sources.values()] + ["--output-dir", str(tmp_path / "c1"), "--validation-size", "2",
                                                 "--push-to-hub", repo]
    assert corpus_main(base + ["--version", "v1"]) == 0
    assert "tagged v1" in capsys.readouterr().out
    ds = datasets.load_dataset(repo, revision="v1")
    assert ds["validation"].num_rows == 2 and ds["train"].num_rows == 7  # no --split-long: 9 documents
    assert corpus_main(base + ["--overwrite", "--version", "v1"]) == 1
    assert f"version 'v1' of dataset {repo} already exists" in capsys.readouterr().err

    # The published corpus as a Hub source (name:config:split:column), combined with a local file.
    out = tmp_path / "c2"
    assert corpus_main([f"{repo}:default:train:text", str(sources["a"]), "--output-dir", str(out),
                 "--validation-fraction", "0", "--summary-json", str(tmp_path / "s.json")]) == 0
    summary = json.loads((tmp_path / "s.json").read_text())
    hub, local = summary["sources"]
    assert (hub["kind"], hub["documents_read"], hub["documents_written"]) == ("hub", 7, 7)
    assert local["dropped"]["duplicate"] == 1 + sum(t in set(ds["train"]["text"]) for t in A_KEPT)
    assert sorted(load_texts(out)["train"]) == sorted(set(ds["train"]["text"]) | set(A_KEPT))

    assert corpus_main([f"{repo}:train:nocolumn", "--output-dir", str(tmp_path / "c3")]) == 1
    assert "no column 'nocolumn'" in capsys.readouterr().err


def test_script_help_runs(repo_root: Path) -> None:
    result = subprocess.run([sys.executable, str(repo_root / "dataset_scripts" / "corpus.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--source-licence" in result.stdout and "--split-long" in result.stdout


@pytest.mark.slow
@pytest.mark.real_data
def test_real_corpus_builds(tmp_path: Path) -> None:
    from conftest import shared_path

    folder = shared_path("corpus")
    result = build_corpus([str(folder / "*.gz")], tmp_path / "corpus", validation_size=5000, log=lambda m: None)
    assert len(result.sources) == 5
    assert sum(s.documents_read for s in result.sources) == 678_572
    for s in result.sources:
        check_invariant(s)
    assert result.splits["validation"] == 5000
    assert sum(result.splits.values()) == sum(s.documents_written for s in result.sources)


def test_hash_set_matches_a_python_set() -> None:
    rng = random.Random(0)
    values = [rng.getrandbits(64) for _ in range(50_000)] + [rng.getrandbits(20) for _ in range(5_000)]
    values += values[::7]  # repeats
    table, reference = HashSet64(capacity=8), set()  # grows many times
    for v in values:
        assert table.add(v) is (v not in reference)
        reference.add(v)
    assert len(table) == len(reference)
    assert all(v in table for v in values[:1000]) and rng.getrandbits(64) not in table
    assert table.nbytes <= 32 * len(table) + 64
