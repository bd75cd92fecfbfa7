"""`distilkobert study` refuses every bad setting and file before any work, in one line naming it (exit code 2)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distilkobert.data.nsmc import build_nsmc
from distilkobert.study.run import main

from helpers.tiny_e5 import build_tiny_e5_teacher

REPO = Path(__file__).resolve().parent.parent
REVIEWS = REPO / "demo_data" / "reviews.tsv"
HEADER = "id\tdocument\tlabel\n"

RECIPE = """mode: quick
teacher: {teacher}
output_dir: {out}
seeds: [1]
train_size: 100
validation_size: 20
test_size: 20
unlabelled_size: 10
teacher_finetune: {{learning_rate: 1.0e-3, epochs: 1, batch_size: 16, max_seq_length: 48}}
"""


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    texts = [line.split("\t")[1] for line in REVIEWS.read_text(encoding="utf-8").splitlines()[1:]]
    return build_tiny_e5_teacher(texts, tmp_path_factory.mktemp("t") / "teacher", vocab_size=700, layers=12)


def _files(tmp_path: Path) -> dict[str, Path]:
    unlabelled = tmp_path / "unlabelled.txt"
    unlabelled.write_text("좋은 영화\n별로\n", encoding="utf-8")
    lines = REVIEWS.read_text(encoding="utf-8").splitlines(keepends=True)
    files = {"unlabelled": unlabelled, "jsonl": tmp_path / "test.jsonl", "empty": tmp_path / "empty.tsv",
             "binary": tmp_path / "binary.tsv", "header_only": tmp_path / "header.tsv",
             "overlap": tmp_path / "overlap.tsv", "truncated": tmp_path / "truncated.tsv.gz",
             "empty_unlabelled": tmp_path / "nothing.txt", "a_file": tmp_path / "a-file"}
    files["jsonl"].write_text('{"id": "1", "document": "좋아", "label": 1}\n', encoding="utf-8")
    files["empty"].write_bytes(b"")
    files["binary"].write_bytes(bytes(range(256)) * 4)
    files["header_only"].write_text(HEADER, encoding="utf-8")
    files["overlap"].write_text(HEADER + lines[5], encoding="utf-8")  # an id of the training file
    files["truncated"].write_bytes(gzip.compress("".join(lines).encode())[:600])
    files["empty_unlabelled"].write_text("\n\n", encoding="utf-8")
    files["a_file"].write_text("x", encoding="utf-8")
    files["missing"] = tmp_path / "data" / "ratings_train.txt"
    files["test_reviews"] = REPO / "demo_data" / "reviews_test.tsv"
    files["dataset_with_test"] = tmp_path / "nsmc-dataset"
    build_nsmc(files["dataset_with_test"], REVIEWS, files["test_reviews"], validation_size=50)
    files["bad_dataset"] = tmp_path / "bad-dataset"
    (files["bad_dataset"] / "data").mkdir(parents=True)
    pq.write_table(pa.table({"id": ["1", "2"], "document": ["좋다", "별로"], "label": [1, 3]}),
                   files["bad_dataset"] / "data" / "train-00000-of-00001.parquet")
    return files


CASES = [
    # (name, recipe additions, flags (with {placeholders}), message fragment)
    ("test file is jsonl", "", ["--test-file", "{jsonl}"], "test.jsonl:1: expected the header"),
    ("test file is empty", "", ["--test-file", "{empty}"], "empty.tsv:1: the file is empty"),
    ("test file is binary", "", ["--test-file", "{binary}"], "binary.tsv:1: expected the header"),
    ("test file has only its header", "", ["--test-file", "{header_only}"], "no rows under its header"),
    ("test ids are training ids", "", ["--test-file", "{overlap}"], "overlap.tsv:2: duplicate id"),
    ("truncated gzip", "", ["--nsmc", "{truncated}"], "truncated.tsv.gz:1: truncated or corrupt gzip data"),
    ("output folder is a file", "", ["--output-dir", "{a_file}"], "is a file, not a folder"),
    ("output folder holds other files", "", ["--output-dir", "{foreign}"], "exists and is not empty"),
    ("negative seed", "", ["--seeds", "-5"], "--seeds: [-5] must be >= 0"),
    ("negative threads", "", ["--threads", "-1"], "--threads: must be >= 1"),
    ("size of the wrong type", "train_size: many\n", [], "train_size: must be int or null, got 'many'"),
    ("YAML reads 1e-4 as a string", "student_finetune: {learning_rate: 1e-4}\n", [],
     "student_finetune.learning_rate: must be float, got '1e-4'"),
    ("a quoted boolean", "trim_vocabulary: 'false'\n", [], "trim_vocabulary: must be bool, got 'false'"),
    ("float seeds", "seeds: [1.5]\n", [], "seeds: must be list[int], got [1.5]"),
    ("student layer past the teacher", "student_layers: [0, 4, 20]\n", [], "student_layers: [20] out of range"),
    ("sequences longer than the teacher's positions", "task_distill: {max_seq_length: 4096}\n", [],
     "task_distill.max_seq_length: 4096 exceeds the teacher's"),
    ("layer map outside the student", "general_distill: {mse_layer_map: '1:4,5:8'}\n", [],
     "general_distill.mse_layer_map: 5:8 out of range"),
    ("empty unlabelled file", "", ["--unlabelled-file", "{empty_unlabelled}"], "has no non-empty line"),
    ("unknown labelling backend", "labelling: {backend: tensorrt}\n", [], "labelling.backend: 'tensorrt'"),
    ("no data given", "", ["--nsmc", None], "nsmc: not given"),
    ("NSMC is no file, folder or repo id", "", ["--nsmc", "{missing}"], "ratings_train.txt (nor a Hub dataset repo"),
    ("a dataset with a test split and --test-file", "", ["--nsmc", "{dataset_with_test}", "--test-file",
                                                         "{test_reviews}"], "has its own test split"),
    ("a dataset with a bad label", "", ["--nsmc", "{bad_dataset}"],
     "split 'train' row 1 (id '2'): label 3 is not 0 (negative) or 1 (positive)"),
]


@pytest.mark.parametrize("name, extra, flags, message", CASES, ids=[c[0] for c in CASES])
def test_bad_settings_and_files_are_one_line_before_work(name, extra, flags, message, teacher, tmp_path, capsys):
    files = {k: str(v) for k, v in _files(tmp_path).items()}
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    files["foreign"] = str(foreign)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(teacher=teacher, out=tmp_path / "out") + extra, encoding="utf-8")
    argv = [str(recipe), "--nsmc", str(REVIEWS), "--unlabelled-file", files["unlabelled"]]
    for flag, value in zip(flags[::2], flags[1::2]):
        if flag in argv:
            at = argv.index(flag)
            del argv[at:at + 2]
        if value is not None:
            argv += [flag, value.format(**files)]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2
    assert message in err[-1], err
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "out").exists()  # nothing was started
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_wordpiece_teacher_is_refused_before_trimming(tmp_path, capsys):
    from helpers.tiny_bert import build_wordpiece_tokenizer, tiny_bert_teacher

    texts = [line.split("\t")[1] for line in REVIEWS.read_text(encoding="utf-8").splitlines()[1:]]
    teacher = tmp_path / "wp-teacher"
    tokenizer = build_wordpiece_tokenizer(texts, teacher)
    tiny_bert_teacher(len(tokenizer), teacher)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(teacher=teacher, out=tmp_path / "out"), encoding="utf-8")
    unlabelled = tmp_path / "u.txt"
    unlabelled.write_text("좋아\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main([str(recipe), "--nsmc", str(REVIEWS), "--unlabelled-file", str(unlabelled)])
    assert exc.value.code == 2 and "only a SentencePiece Unigram vocabulary can be trimmed" in capsys.readouterr().err
    # with trimming off the same teacher passes the checks (the estimate runs them and prints)
    recipe.write_text(RECIPE.format(teacher=teacher, out=tmp_path / "out") + "trim_vocabulary: false\n")
    assert main([str(recipe), "--nsmc", str(REVIEWS), "--unlabelled-file", str(unlabelled), "--estimate"]) == 0
    assert json.loads((Path(teacher) / "config.json").read_text())["num_hidden_layers"] >= 3
