"""`distilkobert corpus tokenize` (distilkobert.distill.prepare): numbered parquet shards of token ids,
deterministic, counted, resumable after an error or a kill -9, refusing changed inputs or settings."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from distilkobert.distill.prepare import PrepareError, prepare_shards, sha256_file

from helpers.tiny_bert import build_wordpiece_tokenizer, write_corpus_dataset

CORPUS = Path(__file__).parent / "data" / "distill_corpus.txt"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards-tok")
    build_wordpiece_tokenizer([x for x in CORPUS.read_text("utf-8").splitlines() if x], root / "tok", vocab_size=400)
    return root / "tok"


def _write_inputs(folder: Path, n_files: int = 3, lines_per_file: int = 400, seed: int = 0) -> list[str]:
    """Text files of documents; file 0 has 3 empty lines and one line that is not UTF-8."""
    sentences = [x for x in CORPUS.read_text("utf-8").splitlines() if x]
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n_files):
        docs = [" ".join(rng.sample(sentences, rng.randint(1, 3))).encode() for _ in range(lines_per_file)]
        if k == 0:
            docs[5] = docs[50] = docs[51] = b""
            docs[7] = b"\xff\xfe broken \xc3"
        path = folder / f"part{k}.txt"
        path.write_bytes(b"\n".join(docs) + b"\n")
        paths.append(str(path))
    return paths


def _shas(manifest: dict) -> list[str]:
    return [e["sha256"] for e in manifest["shards"]["train"]]


def test_shards_are_counted_checksummed_and_equal_the_tokenizer(tok_dir, tmp_path):
    from transformers import AutoTokenizer

    inputs = _write_inputs(tmp_path / "in")
    out = tmp_path / "out"
    m = prepare_shards(inputs, str(tok_dir), out, max_seq_length=64, min_seq_length=4, packing=False,
                       docs_per_shard=250, log=lambda _m: None)
    assert m["complete"] and [e["index"] for e in m["shards"]["train"]] == [0, 1, 2, 3, 4]
    total = m["totals"]["train"]
    assert total["documents"] == 1200 and total["invalid_utf8"] == 1 and total["empty_texts"] == 4
    rows = []
    for entry in m["shards"]["train"]:
        path = out / entry["file"]
        assert sha256_file(path) == entry["sha256"] and entry["first_document"] == entry["index"] * 250
        table = pq.read_table(path)
        assert table.num_rows == entry["sequences"] and sum(table.column("length").to_pylist()) == entry["tokens"]
        rows.extend(table.column("input_ids").to_pylist())
    # without packing: one [CLS] doc [SEP] row per document, in input order (long ones cut, short ones counted)
    tok = AutoTokenizer.from_pretrained(str(tok_dir))
    docs = []
    for p in inputs:
        for raw in Path(p).read_bytes().split(b"\n")[:-1]:
            try:
                docs.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                docs.append("")
    expected = []
    for ids in tok(docs, add_special_tokens=False)["input_ids"]:
        for i in range(0, len(ids), 62):
            seq = [tok.cls_token_id, *ids[i: i + 62], tok.sep_token_id]
            if len(seq) >= 4:
                expected.append(seq)
    assert rows == expected
    assert total["sequences"] == len(expected) and total["dropped_short"] + total["sequences"] == sum(
        len(range(0, len(ids), 62)) for ids in tok(docs, add_special_tokens=False)["input_ids"])
    counts = __import__("numpy").load(out / "token_counts.npy")
    assert counts.sum() == total["tokens"]


def test_a_dataset_folder_gives_one_stream_per_split(tok_dir, tmp_path):
    sentences = [x for x in CORPUS.read_text("utf-8").splitlines() if x]
    corpus = write_corpus_dataset(sentences, tmp_path / "corpus")
    m = prepare_shards([str(corpus)], str(tok_dir), tmp_path / "out", max_seq_length=48, min_seq_length=8,
                       docs_per_shard=100, log=lambda _m: None)
    assert set(m["shards"]) == {"train", "validation"}
    assert m["totals"]["train"]["documents"] + m["totals"]["validation"]["documents"] == len(sentences)
    assert (tmp_path / "out" / "data" / "validation-00000.parquet").is_file()


def test_an_input_that_disappears_stops_the_run_and_the_rerun_resumes(tok_dir, tmp_path):
    inputs = _write_inputs(tmp_path / "in")
    reference = prepare_shards(inputs, str(tok_dir), tmp_path / "ref", max_seq_length=48, min_seq_length=8,
                               docs_per_shard=150, log=lambda _m: None)
    hidden = tmp_path / "part2.txt.moved"

    def vanish(split, index):
        if index == 0:
            os.replace(inputs[2], hidden)

    out = tmp_path / "out"
    with pytest.raises(PrepareError, match=r"part2\.txt disappeared during the run"):
        prepare_shards(inputs, str(tok_dir), out, max_seq_length=48, min_seq_length=8, docs_per_shard=150,
                       log=lambda _m: None, on_shard=vanish)
    partial = json.loads((out / "manifest.json").read_text("utf-8"))
    assert not partial["complete"] and 0 < len(partial["shards"]["train"]) < len(reference["shards"]["train"])

    # with the file gone, a rerun refuses instead of writing shards of a shorter corpus
    with pytest.raises(PrepareError, match="no such file"):
        prepare_shards(inputs, str(tok_dir), out, max_seq_length=48, min_seq_length=8, docs_per_shard=150,
                       log=lambda _m: None)
    os.replace(hidden, inputs[2])
    logs: list[str] = []
    done = prepare_shards(inputs, str(tok_dir), out, max_seq_length=48, min_seq_length=8, docs_per_shard=150,
                          log=logs.append)
    assert any(f"resume: {len(partial['shards']['train'])} finished shard(s) verified" in x for x in logs)
    assert _shas(done) == _shas(reference) and done["totals"] == reference["totals"]


def test_changed_settings_or_inputs_are_refused(tok_dir, tmp_path):
    inputs = _write_inputs(tmp_path / "in", n_files=1, lines_per_file=100)
    out = tmp_path / "out"
    prepare_shards(inputs, str(tok_dir), out, max_seq_length=48, docs_per_shard=50, log=lambda _m: None)
    with pytest.raises(PrepareError, match="differs in docs_per_shard"):
        prepare_shards(inputs, str(tok_dir), out, max_seq_length=48, docs_per_shard=40, log=lambda _m: None)
    Path(inputs[0]).write_text("다른 내용\n", "utf-8")
    with pytest.raises(PrepareError, match="differs in inputs"):
        prepare_shards(inputs, str(tok_dir), out, max_seq_length=48, docs_per_shard=50, log=lambda _m: None)
    again = prepare_shards(inputs, str(tok_dir), out, max_seq_length=48, docs_per_shard=50, overwrite=True,
                           log=lambda _m: None)
    assert again["totals"]["train"]["documents"] == 1
    assert sorted(p.name for p in (out / "data").glob("*.parquet")) == ["train-00000.parquet"]


def test_cli_reports_bad_input_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "distilkobert.cli", "corpus", "tokenize", str(tmp_path / "nope.txt"),
                           "--tokenizer", "unused", "--output-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"distilkobert corpus tokenize: error: {tmp_path / 'nope.txt'}: no such file or folder"]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_shards(tok_dir, tmp_path):
    """kill -9 in the middle of a 2-process run; the rerun skips the finished shards and ends with the shards of an
    uninterrupted one-process run (same sha256, same counts)."""
    inputs = _write_inputs(tmp_path / "in", n_files=4, lines_per_file=6000)
    settings = dict(max_seq_length=128, min_seq_length=12, docs_per_shard=1000)
    reference = prepare_shards(inputs, str(tok_dir), tmp_path / "ref", log=lambda _m: None, **settings)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "distilkobert.cli", "corpus", "tokenize", *inputs, "--tokenizer", str(tok_dir),
           "--output-dir", str(out), "--max-seq-length", "128", "--docs-per-shard", "1000", "--num-proc", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    manifest = out / "manifest.json"
    try:
        deadline = time.time() + 480
        while True:
            assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()
            assert time.time() < deadline
            if manifest.is_file():
                try:
                    if json.loads(manifest.read_text("utf-8"))["shards"]["train"]:
                        break
                except json.JSONDecodeError:
                    pass
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes, mid-run
        proc.wait()
    partial = json.loads(manifest.read_text("utf-8"))
    assert not partial["complete"] and len(partial["shards"]["train"]) < 24
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resume:" in done.stdout
    final = json.loads(manifest.read_text("utf-8"))
    assert final["complete"] and _shas(final) == _shas(reference) and final["totals"] == reference["totals"]
    assert not list((out / "data").glob("*.tmp*"))


def test_output_folder_policy(tok_dir, tmp_path):
    inputs = _write_inputs(tmp_path / "in", n_files=1, lines_per_file=60)
    a_file = tmp_path / "a-file"
    a_file.write_text("x", "utf-8")
    with pytest.raises(PrepareError, match=f"--output-dir {a_file}: is a file, not a folder"):
        prepare_shards(inputs, str(tok_dir), a_file, log=lambda _m: None)
    with pytest.raises(PrepareError, match="exists and is not empty; pass --overwrite"):
        prepare_shards(inputs, str(tok_dir), tmp_path / "in", log=lambda _m: None)
    with pytest.raises(PrepareError, match="holds the input source .*part0.txt, which --overwrite would delete"):
        prepare_shards(inputs, str(tok_dir), tmp_path / "in", overwrite=True, log=lambda _m: None)
    assert Path(inputs[0]).is_file()
