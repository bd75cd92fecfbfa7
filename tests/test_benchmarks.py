"""Smoke tests of the benchmark scripts (--quick, tiny shapes) and unit tests of their shared helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))
import _common as C  # noqa: E402


def _run_script(name: str, out: Path, *extra: str, timeout: int = 300) -> dict:
    proc = subprocess.run([sys.executable, str(BENCH / name), "--quick", "--output", str(out), *extra],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert out.is_file(), f"{name} wrote no JSON to {out}"
    return json.loads(out.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------- _common
def test_percentile_and_summary_match_hand_values():
    assert C.percentile([4, 1, 3, 2], 50) == 2.5
    assert C.percentile(list(range(1, 21)), 95) == pytest.approx(19.05)
    assert C.percentile([7.0], 95) == 7.0
    s = C.summarize([3.0, 1.0, 2.0, 10.0])
    assert s["median"] == s["p50"] == 2.5
    assert (s["min"], s["max"], s["n"]) == (1.0, 10.0, 4)
    assert s["p95"] == pytest.approx(3.0 + (10.0 - 3.0) * 0.85)  # rank 2.85 between 3 and 10
    with pytest.raises(ValueError):
        C.percentile([], 50)


def test_time_call_warmup_repeats_and_cap():
    calls = []
    times = C.time_call(lambda: calls.append(1), warmup=2, repeats=4)
    assert len(calls) == 6 and len(times) == 4 and all(t >= 0 for t in times)
    import time

    capped = C.time_call(lambda: time.sleep(0.02), warmup=0, repeats=50, max_seconds=0.05, min_repeats=3)
    assert 3 <= len(capped) < 50


def test_worker_peak_rss_sees_a_large_allocation(tmp_path):
    """run_worker's fresh process reports its own peak RSS: 300 MB touched shows up, 0 MB does not."""
    script = tmp_path / "alloc.py"
    script.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(BENCH)!r})\n"
        "import _common as C\n"
        "spec = json.loads(sys.argv[2])\n"
        "buf = bytearray(spec['mb'] * 1024 * 1024)\n"
        "buf[::4096] = b'x' * len(buf[::4096])\n"
        "C.emit_worker_result({'mb': spec['mb']})\n")
    small = C.run_worker(script, {"mb": 0})
    big = C.run_worker(script, {"mb": 300})
    assert big["mb"] == 300
    assert big["peak_rss_mb"] - small["peak_rss_mb"] > 250


def test_worker_failure_is_reported_with_stderr(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("raise SystemExit('kaboom: bad spec')\n")
    with pytest.raises(RuntimeError, match="kaboom"):
        C.run_worker(script, {})


def test_machine_info_versions_table_and_json(tmp_path):
    info = C.machine_info()
    assert info["cpu_count"] >= 1 and info["cpu_model"] and info["os"]
    versions = C.library_versions(["torch", "surely-not-installed-pkg"])
    assert versions["torch"] and versions["surely-not-installed-pkg"] is None
    table = C.format_table([{"a": 1, "b": 2.5}, {"a": 10, "b": None}])
    lines = table.splitlines()
    assert lines[0].split() == ["a", "b"] and lines[2].split() == ["1", "2.50"] and lines[3].split() == ["10", "-"]
    md = C.format_table([{"a": 1}], markdown=True).splitlines()
    assert md[0].startswith("| a") and md[1].startswith("| -")
    path = C.write_json("x", {"k": "값"}, tmp_path / "sub" / "x.json")
    assert json.loads(path.read_text(encoding="utf-8")) == {"k": "값"}
    assert C.results_path("inference") == BENCH / "results" / "inference.json"


# ------------------------------------------------------------------------------------------- scripts
def test_inference_quick_writes_complete_json(tmp_path):
    data = _run_script("inference.py", tmp_path / "inference.json")
    for key in ("machine", "versions", "settings", "threads", "results", "comparison", "memory", "notes"):
        assert key in data, key
    assert data["settings"]["quick"] is True and data["settings"]["shapes"] == ["tiny"]
    roles = {(r["shape_name"], r["role"]): r for r in data["results"]}
    teacher, student = roles[("tiny", "teacher")], roles[("tiny", "student")]
    assert (teacher["layers"], student["layers"]) == (12, 3)
    assert teacher["params"] > student["params"] > 0
    assert teacher["disk_mb_encoder"] > student["disk_mb_encoder"] > 0
    assert teacher["peak_rss_mb"] > 0 and teacher["threads"]["torch_num_threads"] >= 1
    for cfg in teacher["configs"]:
        assert len(cfg["times_s"]) == cfg["latency_s"]["n"] >= 1
        assert cfg["latency_s"]["p95"] >= cfg["latency_s"]["p50"] > 0
        assert cfg["sentences_per_s"] == pytest.approx(cfg["batch_size"] / cfg["latency_s"]["median"])
    assert len(data["comparison"]) == 4  # 2 batch sizes x 2 lengths
    for row in data["comparison"]:
        assert row["speedup"] > 0 and row["ideal_layers"] == 4.0
        assert 3.9 < row["ideal_flops"] <= 4.01  # encoder: attention and pooler barely move the layer ratio
    assert data["memory"][0]["params_ratio"] > 2


def test_train_step_quick_measures_the_real_trainer(tmp_path):
    data = _run_script("train_step.py", tmp_path / "train_step.json")
    for key in ("machine", "versions", "settings", "threads", "results", "end_to_end", "same_batch", "target"):
        assert key in data, key
    (r,) = data["results"]
    assert r["shape_name"] == "tiny" and r["student_layers"] == [0, 4, 8]
    assert r["teacher_params"] > r["student_params"] > 0
    e2e = r["end_to_end"]
    assert len(e2e["step_times_s"]) == e2e["step_s"]["n"] == data["settings"]["repeats"]
    assert e2e["tokens_per_s"] > 0 and 0 < e2e["teacher_share"] < 1
    sb = r["same_batch"]
    # packed sequences: every position is a real token; 15% of the non-special ones are masked
    assert sb["nonpad_tokens"] == r["batch_size"] * r["seq_len"]
    assert sb["masked_tokens"] == pytest.approx(0.15 * r["batch_size"] * (r["seq_len"] - 2), abs=1)
    assert set(sb["variants"]) == {"distill_all_gathered", "distill_all_full", "distill_masked_gathered",
                                   "distill_masked_full"}
    for name, v in sb["variants"].items():
        assert v["step_s"]["median"] > 0 and v["ratio_to_parts"] > 0, name
        assert 0 < v["teacher_share"] < 1, name  # the forward hooks saw the teacher inside the real step
    assert sb["parts_s"] == pytest.approx(sb["student_mlm_step_s"]["median"] + sb["teacher_forward_s"]["median"])
    for ce, diff in sb["gathered_vs_full_loss"].items():  # the cheaper path computes the same loss
        assert diff["abs_diff"] < 1e-4 * max(1.0, abs(diff["full_loss"])), ce
    assert set(data["target"]["ratios"]) == {"tiny"} and isinstance(data["target"]["met"], bool)
    assert len(data["same_batch"]) == 4 and data["end_to_end"][0]["s_per_step"] > 0


def test_tokenizer_damage_quick_shows_the_declared_tokenizer_breaks_ids(tmp_path):
    """The original repos' layout read by plain AutoTokenizer vs get_tokenizer(), on hash-chosen NSMC reviews (the
    real KoBERT files and NSMC from the shared data, else a vocabulary trained on the repo's Korean sentences and
    the demo reviews)."""
    from conftest import SHARED_DATA

    kobert, nsmc = SHARED_DATA / "kobert", SHARED_DATA / "nsmc" / "train.tsv.gz"
    if not ((kobert / "vocab.txt").is_file() and nsmc.is_file()):
        from distilkobert.tokenization import train_vocabulary

        kobert = train_vocabulary([REPO / "tests" / "data" / "korean_sentences.txt"], 400, tmp_path / "vocab",
                                  hard_vocab_limit=False)
        nsmc = REPO / "demo_data" / "reviews.tsv"
    data = _run_script("tokenizer_damage.py", tmp_path / "damage.json", "--nsmc", str(nsmc), "--kobert-dir",
                       str(kobert))
    assert data["settings"]["quick"] is True and data["settings"]["reviews"] == 2000
    slow, fixed, declared = data["results"]
    assert (slow["class"], fixed["class"], declared["class"]) == ("KoBertTokenizer", "TokenizersBackend",
                                                                  "BertTokenizer")
    assert fixed["reviews_differing_share"] < 0.01 and fixed["differing_not_ties"] == 0  # exact up to float32 ties
    assert fixed["unk_tokens"] == slow["unk_tokens"] or fixed["reviews_differing"] > 0
    assert declared["reviews_differing_share"] > 0.5
    assert declared["unk_token_share"] > 3 * max(fixed["unk_token_share"], 0.001)  # real KoBERT: 65.7% vs 0.88%
    assert data["example"]["declared"].count("[UNK]") > data["example"]["get_tokenizer"].count("[UNK]")


@pytest.mark.slow
def test_serving_quick_measures_every_variant(tmp_path):
    """Tiny random teacher and student classifiers: PyTorch fp32, ONNX Runtime fp32 and int8 side by side, the
    targets table, and fp32 ONNX logits equal to PyTorch's on the whole (demo) test split."""
    data = _run_script("serving.py", tmp_path / "serving.json", "--work-dir", str(tmp_path / "work"), timeout=600)
    for key in ("machine", "versions", "settings", "rows", "threads", "table", "targets", "results", "exports"):
        assert key in data, key
    # the first 96 demo test reviews include one empty document, which is left out of the scoring (and counted)
    assert data["settings"]["quick"] is True and data["rows"] == 95 and data["versions"]["onnxruntime"]
    variants = {(r["role"], r["backend"], r["precision"]): r for r in data["results"]}
    assert set(variants) == {(role, backend, precision) for role in ("teacher", "student")
                             for backend, precision in (("torch", "fp32"), ("onnxruntime", "fp32"),
                                                        ("onnxruntime", "int8"))}
    for (_, _, precision), r in variants.items():
        assert r["rows"] == 95 and 0 <= r["accuracy"] <= 1 and r["disk_mb"] > 0 and r["peak_rss_mb"] > 0
        assert r["latency_s"]["p95"] >= r["latency_s"]["p50"] > 0
        assert r["latency_s"]["n"] == len(r["latency_times_s"])
        assert r["batch_sentences_per_s"] > 0 and r["latency_tokens_mean"] > 2
        if precision == "fp32":
            assert r["max_abs_logit_diff_vs_torch_fp32"] < 1e-4 and r["label_agreement_vs_torch_fp32"] == 1.0
        else:
            assert r["max_abs_logit_diff_vs_torch_fp32"] > 0  # a quantised graph really ran
    student, int8 = variants[("student", "torch", "fp32")], variants[("student", "onnxruntime", "int8")]
    assert int8["disk_mb"] < variants[("student", "onnxruntime", "fp32")]["disk_mb"]
    goals = {t["target"]: t for t in data["targets"]}
    assert len(goals) == 4 and all(t["met?"] in ("yes", "no") for t in goals.values())
    size = goals["size on disk vs fp32 student (fraction)"]
    assert size["measured"] == pytest.approx(int8["disk_mb"] / student["disk_mb"])
    assert len(data["table"]) == 6
