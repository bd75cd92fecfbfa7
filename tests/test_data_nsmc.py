"""NSMC builder: exact parsing (double quoting, empties, bad rows), splits, card, load_dataset, Hub versions."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from distilkobert.data import nsmc
from distilkobert.data.cli import nsmc_main
from distilkobert.data.nsmc import (
    NsmcFormatError,
    QuotingError,
    build_nsmc,
    carve_validation,
    parse_nsmc_file,
    unquote_document,
)
from distilkobert.data.nsmc_builder import NsmcBuilder
from distilkobert.data.publish import publish_dataset


def official_quote(review: str) -> str:
    """Quote a review as the official files do: CSV-quoted by the crawl, then again by the split script."""
    def quote(text: str) -> str:
        buf = io.StringIO()
        csv.writer(buf, delimiter="\t", lineterminator="\n").writerow([text])
        return buf.getvalue()[:-1]
    return quote(quote(review))


# (id, review as the user wrote it, label); written in the official format by `write_nsmc`.
TRAIN_ROWS = [
    ("1001", "아 더빙.. 진짜 짜증나네요 목소리", 0),
    ("1002", "흠...포스터보고 초딩영화줄....오버연기조차 가볍지 않구나", 1),
    ("1003", '"결혼은 현실이에요 징징징" 성현아 ... 못 하냐.', 0),
    ("1004", '"최고의 영화"', 1),  # the review itself begins and ends with a quote
    ("1005", "", 0),  # empty review, kept
    ("1006", "교도소 이야기구먼 ..솔직히 재미는 없다..평점 조정", 0),
    ("1007", "사이몬페그의 익살스런 연기가 돋보였던 영화!", 1),
    ("1008", "막 걸음마 뗀 3세부터 초등학교 1학년생인 8살용영화.ㅋㅋㅋ...별반개도 아까움.", 0),
    ("1009", "원작의 긴장감을 제대로 살려내지못했다.", 0),
    ("1010", "별 반개도 아깝다 욕나온다 이응경 길용우 연기생활이몇년인지..", 0),
    ("1011", "액션이 없는데도 재미 있는 몇안되는 영화", 1),
    ("1012", "왜케 평점이 낮은건데? 꽤 볼만한데.. 헐리우드식 화려함에만 너무 길들여져 있나?", 1),
]
TEST_ROWS = [
    ("2001", "굳 ㅋ", 1),
    ("2002", "", 0),
    ("2003", 'GDNTOPCLASSINTHECLUB "뭐야" 이 평점들은', 0),
    ("2004", "지루하지는 않은데 완전 막장임... 돈주고 보기에는....", 0),
    ("2005", "3D만 아니었어도 별 다섯 개 줬을텐데.. 왜 3D로 나와서 제 심기를 불편하게 하죠??", 1),
]
# Raw bad lines (bytes as in the file), with the reason keyword the report must contain.
BAD_LINES = [
    (b"1020\t\xeb\x91\x90 \xed\x95\x84\xeb\x93\x9c\xeb\xa7\x8c", "expected 3 tab-separated fields, found 2"),
    ("1021\t좋아요\tpos".encode(), "is not an integer"),
    ("1022\t좋아요\t2".encode(), "out of range"),
    ("1001\t같은 아이디의 다른 리뷰\t1".encode(), "duplicate id 1001"),
    ('1023\t"따옴표가 하나"만 있음\t0'.encode(), "invalid quoting at level 1"),
    ('1024\t"한 번만 인용됨"\t1'.encode(), "invalid quoting at level 2"),
    (b"1025\t\xff\xfe bad bytes\t0", "invalid UTF-8"),
]


def row_line(row_id: str, review: str, label: int) -> bytes:
    return f"{row_id}\t{official_quote(review) if review else ''}\t{label}".encode()


def write_nsmc(path: Path, rows, bad_after: dict[int, list[bytes]] | None = None, gz: bool = False) -> Path:
    lines = [b"id\tdocument\tlabel"]
    for index, row in enumerate(rows):
        lines.append(row_line(*row))
        lines.extend((bad_after or {}).get(index, []))
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture
def clean_files(tmp_path: Path) -> tuple[Path, Path]:
    return (write_nsmc(tmp_path / "ratings_train.txt", TRAIN_ROWS),
            write_nsmc(tmp_path / "ratings_test.txt.gz", TEST_ROWS, gz=True))


@pytest.fixture
def dirty_train(tmp_path: Path) -> Path:
    # Bad lines interleaved after rows 2, 5 and 9 of the good rows.
    bad = [line for line, _ in BAD_LINES]
    return write_nsmc(tmp_path / "ratings_train_dirty.txt.gz", TRAIN_ROWS,
                      bad_after={2: bad[:3], 5: bad[3:5], 9: bad[5:]}, gz=True)


def dirty_line_numbers() -> list[int]:
    """The file line numbers of the BAD_LINES in `dirty_train` (line 1 is the header)."""
    numbers, line = [], 1
    layout = {2: 3, 5: 2, 9: 2}
    for index in range(len(TRAIN_ROWS)):
        line += 1
        for _ in range(layout.get(index, 0)):
            line += 1
            numbers.append(line)
    return numbers


# ------------------------------------------------------------------------------------------------ unquoting

@pytest.mark.parametrize("raw, expected, quoted", [
    ("아 더빙.. 진짜 짜증나네요", "아 더빙.. 진짜 짜증나네요", False),
    ("", "", False),
    ('"""""""결혼은 현실이에요 징징징"""" 성현아 ... 못 하냐."""',
     '"결혼은 현실이에요 징징징" 성현아 ... 못 하냐.', True),
    ('"""""""최고의 영화"""""""', '"최고의 영화"', True),
    ('"""제목을 """"노숙인의 탄생"""" 이렇게"""', '제목을 "노숙인의 탄생" 이렇게', True),
    ('""""""""""', '"', True),
])
def test_unquote_document_official_examples(raw: str, expected: str, quoted: bool) -> None:
    assert unquote_document(raw) == (expected, quoted)


@pytest.mark.parametrize("raw, level", [
    ('"따옴표가 하나"만', 1),       # not enclosed
    ('"안에 " 홀로"', 1),           # lone quote inside
    ('"', 1),
    ('"한 번만 인용"', 2),          # valid once, content has no enclosing quotes
    ('""', 2),
    ('"""a"" b"""', 2),            # level 1 gives '"a" b"', not a valid quoted field
])
def test_unquote_document_rejects_invalid_quoting(raw: str, level: int) -> None:
    with pytest.raises(QuotingError, match=f"level {level}"):
        unquote_document(raw)


def test_unquote_inverts_official_quoting_on_random_reviews() -> None:
    rng = random.Random(0)
    alphabet = ['"', '"', " ", "가", "나", "ㅋ", ".", "!", "a"]
    for _ in range(2000):
        review = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        raw = official_quote(review)
        assert unquote_document(raw) == (review, '"' in raw)


# -------------------------------------------------------------------------------------------------- parsing

def test_parse_counts_every_row(clean_files) -> None:
    train, test = clean_files
    seen: dict[str, str] = {}
    rows, stats = parse_nsmc_file(train, seen_ids=seen)
    assert rows == [(i, d, lab) for i, d, lab in TRAIN_ROWS]
    assert (stats.rows_read, stats.rows_kept, stats.empties, stats.unquoted) == (12, 12, 1, 2)
    assert stats.labels == {"negative": 7, "positive": 5}
    assert stats.skipped == []
    rows, stats = parse_nsmc_file(test, seen_ids=seen)  # gzipped
    assert rows == TEST_ROWS
    assert (stats.rows_read, stats.rows_kept, stats.empties, stats.unquoted) == (5, 5, 1, 1)
    assert len(seen) == 17


def test_first_bad_row_is_an_error_naming_file_and_line(dirty_train: Path) -> None:
    with pytest.raises(NsmcFormatError) as info:
        parse_nsmc_file(dirty_train)
    assert info.value.file == str(dirty_train)
    assert info.value.line == dirty_line_numbers()[0] == 5
    assert f"{dirty_train}:5: expected 3 tab-separated fields, found 2" in str(info.value)


def test_skip_reports_each_bad_row_by_line_and_reason(dirty_train: Path) -> None:
    rows, stats = parse_nsmc_file(dirty_train, on_bad_rows="skip")
    assert rows == [(i, d, lab) for i, d, lab in TRAIN_ROWS]
    assert stats.rows_read == 12 + len(BAD_LINES)
    assert stats.rows_kept == 12
    assert [b.line for b in stats.skipped] == dirty_line_numbers()
    for bad, (_, reason) in zip(stats.skipped, BAD_LINES):
        assert reason in bad.reason
        assert bad.file == str(dirty_train)


def test_duplicate_id_across_train_and_test_is_caught(tmp_path: Path) -> None:
    train = write_nsmc(tmp_path / "train.txt", TRAIN_ROWS)
    test = write_nsmc(tmp_path / "test.txt", [("1007", "다시 나온 아이디", 1)] + TEST_ROWS)
    with pytest.raises(NsmcFormatError, match=r"test.txt:2: duplicate id 1007 \(first seen at .*train.txt:8\)"):
        nsmc.load_nsmc_splits(train, test, validation_size=2)


@pytest.mark.parametrize("content, line, message", [
    (b"", 1, "empty"),
    (b"id,document,label\n1,a,0\n", 1, "expected the header"),
    (b"id\tdocument\tlabel\n\n", 2, "found 1"),  # a blank line is a malformed row too
])
def test_header_and_blank_lines(tmp_path: Path, content: bytes, line: int, message: str) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(NsmcFormatError, match=message) as info:
        parse_nsmc_file(path)
    assert info.value.line == line


def test_crlf_line_endings_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"id\tdocument\tlabel\r\n" + b"\r\n".join(row_line(*r) for r in TEST_ROWS) + b"\r\n")
    assert parse_nsmc_file(path)[0] == TEST_ROWS


# ----------------------------------------------------------------------------------------------- validation

def synthetic_rows(n: int) -> list[tuple[str, str, int]]:
    return [(str(100000 + i), f"리뷰 {i}", int(i % 10 < 3)) for i in range(n)]


def test_validation_is_stratified_deterministic_and_order_independent() -> None:
    rows = synthetic_rows(1000)  # 300 positive, 700 negative
    train, validation = carve_validation(rows, 101, seed=7)
    assert len(validation) == 101 and len(train) == 899
    assert sum(r[2] for r in validation) == 30  # 30.3 -> 30 positive, 70.7 -> 71 negative
    assert set(train) | set(validation) == set(rows) and not set(train) & set(validation)
    assert carve_validation(rows, 101, seed=7) == (train, validation)
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    assert set(carve_validation(shuffled, 101, seed=7)[1]) == set(validation)
    assert set(carve_validation(rows, 101, seed=8)[1]) != set(validation)
    assert [r for r in rows if r in set(validation)] == validation  # file order kept
    with pytest.raises(ValueError, match="smaller than"):
        carve_validation(rows, 1000, seed=7)


# ---------------------------------------------------------------------------------------------------- build

def test_build_writes_loadable_dataset_with_card(clean_files, tmp_path: Path, capsys) -> None:
    train, test = clean_files
    out = tmp_path / "nsmc"
    code = nsmc_main(["--train-file", str(train), "--test-file", str(test), "--validation-size", "4", "--seed", "3",
                 "--output-dir", str(out), "--summary-json", str(tmp_path / "summary.json")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "rows read: 17   empty documents: 2   unquoted: 3   skipped: 0" in printed
    assert "train: 8 rows (negative 5, positive 3)" in printed
    assert "validation: 4 rows (negative 2, positive 2)" in printed
    assert "test: 5 rows (negative 3, positive 2)" in printed
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "test-00000-of-00001.parquet", "train-00000-of-00001.parquet", "validation-00000-of-00001.parquet"]

    ds = datasets.load_dataset(str(out))
    assert {s: ds[s].num_rows for s in ds} == {"train": 8, "validation": 4, "test": 5}
    assert ds["train"].features["label"] == datasets.ClassLabel(names=["negative", "positive"])
    assert ds["test"].features["id"] == datasets.Value("string")
    loaded = {(r["id"], r["document"], r["label"]) for s in ("train", "validation") for r in ds[s]}
    assert loaded == set(TRAIN_ROWS)
    assert [(r["id"], r["document"], r["label"]) for r in ds["test"]] == TEST_ROWS
    assert ds["train"].filter(lambda r: r["id"] == "1005")[0]["document"] == ""  # empty, not None

    card = (out / "README.md").read_text(encoding="utf-8")
    for needed in ("license: cc0-1.0", "class_label", "CC0", "Format and parsing rules", "--validation-size 4",
                   "seed: 3", "@misc{park2016nsmc", "| validation | 4 | 2 | 2 |", "unquoted"):
        assert needed in card
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rows_read"] == 17 and summary["splits"] == {"train": 8, "validation": 4, "test": 5}


def test_build_with_skip_and_no_test_file(dirty_train: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "nsmc"
    code = nsmc_main(["--train-file", str(dirty_train), "--validation-size", "2", "--on-bad-rows", "skip",
                 "--output-dir", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    assert "NO test split" in captured.err
    assert f"rows read: {12 + len(BAD_LINES)}   empty documents: 1   unquoted: 2   skipped: {len(BAD_LINES)}" \
        in captured.out
    for line in dirty_line_numbers():
        assert f"skipped {dirty_train}:{line}: " in captured.out
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "train-00000-of-00001.parquet", "validation-00000-of-00001.parquet"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "No test split" in card and f"{dirty_train}:{dirty_line_numbers()[-1]}: invalid UTF-8" in card


def test_cli_errors_are_clear(dirty_train: Path, clean_files, tmp_path: Path, capsys) -> None:
    assert nsmc_main(["--train-file", str(dirty_train), "--output-dir", str(tmp_path / "a"),
                 "--validation-size", "2"]) == 1
    err = capsys.readouterr().err
    assert f"{dirty_train}:5: expected 3 tab-separated fields" in err and "--on-bad-rows skip" in err
    assert not (tmp_path / "a").exists()

    # No network: a URL that cannot be fetched says which option takes a local file.
    assert nsmc_main(["--train-file", "http://127.0.0.1:9/ratings_train.txt", "--output-dir", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "could not download http://127.0.0.1:9/ratings_train.txt" in err and "--train-file PATH" in err

    train, test = clean_files
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("x")
    assert nsmc_main(["--train-file", str(train), "--test-file", str(test), "--validation-size", "2",
                 "--output-dir", str(tmp_path / "c")]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "c" / "keep.txt").exists()

    with pytest.raises(SystemExit) as info:
        nsmc_main(["--train-file", str(train), "--output-dir", str(tmp_path / "d"), "--push-to-hub", "x/y"])
    assert info.value.code == 2


def test_script_help_runs(repo_root: Path) -> None:
    result = subprocess.run([sys.executable, str(repo_root / "dataset_scripts" / "nsmc.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--on-bad-rows" in result.stdout and "--push-to-hub" in result.stdout


def test_generator_based_builder_gives_the_same_rows(dirty_train: Path, clean_files, tmp_path: Path) -> None:

    _, test = clean_files
    builder = NsmcBuilder(cache_dir=str(tmp_path / "cache"), train_file=str(dirty_train), test_file=str(test),
                          validation_size=4, seed=3, on_bad_rows="skip")
    assert isinstance(builder, datasets.GeneratorBasedBuilder)
    builder.download_and_prepare()
    ds = builder.as_dataset()
    assert ds["train"].features["label"].names == ["negative", "positive"]
    expected, _ = nsmc.load_nsmc_splits(dirty_train, test, validation_size=4, seed=3, on_bad_rows="skip")
    for split, rows in expected.items():
        assert [(r["id"], r["document"], r["label"]) for r in ds[split]] == rows


# ---------------------------------------------------------------------------------------------------- Hub

def test_publish_versions_and_load_from_local_hub(clean_files, tmp_path: Path, unique_repo_id, capsys) -> None:
    train, test = clean_files
    repo = unique_repo_id("nsmc")
    out = tmp_path / "nsmc"
    base = ["--train-file", str(train), "--test-file", str(test), "--validation-size", "4", "--output-dir", str(out),
            "--push-to-hub", repo]
    assert nsmc_main(base + ["--version", "v1.0"]) == 0
    assert "tagged v1.0" in capsys.readouterr().out
    ds = datasets.load_dataset(repo, revision="v1.0")
    assert {s: ds[s].num_rows for s in ds} == {"train": 8, "validation": 4, "test": 5}
    assert ds["validation"].features["label"].names == ["negative", "positive"]
    assert [r["document"] for r in ds["test"]] == [r[1] for r in TEST_ROWS]

    # Re-publishing an existing version is refused, with a clear message and exit code 1.
    assert nsmc_main(base + ["--overwrite", "--seed", "9", "--version", "v1.0"]) == 1
    err = capsys.readouterr().err
    assert f"version 'v1.0' of dataset {repo} already exists" in err and "Choose a new --version" in err
    assert "seed: 42;" in (out / "README.md").read_text(encoding="utf-8")  # refused before rebuilding (seed 9)
    # publish_folder's own refusal (the check just before uploading), reported the same way
    assert publish_dataset(out, repo, "v1.0") == 1
    assert f"version 'v1.0' of dataset {repo} already exists" in capsys.readouterr().err
    # the tag still points at the first build: same validation rows as before
    again = datasets.load_dataset(repo, revision="v1.0")
    assert sorted(again["validation"]["id"]) == sorted(ds["validation"]["id"])


# ------------------------------------------------------------------------------------------------ real data

@pytest.mark.real_data
def test_real_nsmc_train_file(tmp_path: Path) -> None:
    from conftest import shared_path

    path = shared_path("nsmc", "train.tsv.gz")
    result = build_nsmc(tmp_path / "nsmc", path, None, validation_size=5000, seed=42)
    assert result.rows_read == 150_000
    assert result.splits == {"train": 145_000, "validation": 5_000}
    labels = {name: result.split_labels["train"][name] + result.split_labels["validation"][name]
              for name in ("negative", "positive")}
    assert labels == {"negative": 75_173, "positive": 74_827}
    assert result.split_labels["validation"] == {"negative": 2_506, "positive": 2_494}  # stratified
    assert result.skipped == []
    assert result.unquoted == 617  # every document containing a quote, unquoted twice
    assert result.empties == 0
