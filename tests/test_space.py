"""The Space app (`distilkobert space`): every endpoint over HTTP with gradio_client, bad input as a message in
the page, the command's argument checks, and a real headless Chromium typing a review and reading the label.

The classifiers are the tiny ones the serving tests make, with the exact KoBERT tokenizer of the local Hub's
`monologg/kobert` stand-in (whose declared BertTokenizer the Tokenizer tab compares against).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the space extra is not installed (pip install -e '.[space]')")
pytest.importorskip("onnxruntime", reason="the onnx extra is not installed (pip install -e '.[onnx]')")

from gradio_client import Client, handle_file  # noqa: E402

from helpers.tiny_classifier import build_classifier  # noqa: E402

REVIEW = "이 영화 정말 재미있었어요. 배우들의 연기가 훌륭했다."
TEXTS = ["이 영화 정말 재미있었어요", "시간 낭비였다", "음악이 좋아서 끝까지 봤습니다", "별로였어요", "추천합니다"]
TOKENIZER_TEXT = "한국어 모델을 공유합니다."
ENDPOINTS = {"/classify", "/classify_file", "/tokenize", "/compare"}
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# Written by the browser test when set (the README's screenshot is made this way: docs/space.png).
SCREENSHOT_ENV = "DISTILKOBERT_SPACE_SCREENSHOT"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory, standins) -> dict[str, Path]:
    """A 2-layer DistilBERT student and a 2-layer BERT teacher with the exact KoBERT tokenizer, the student's
    ONNX export (fp32 + int8)."""
    from distilkobert import get_tokenizer
    from distilkobert.serving.cli import export_main

    root = tmp_path_factory.mktemp("space")
    get_tokenizer("monologg/kobert").save_pretrained(str(root / "tok"))
    student = build_classifier(root / "student", root / "tok", kind="distilbert", seed=1)
    teacher = build_classifier(root / "teacher", root / "tok", kind="bert", seed=3)
    assert export_main(["--model", str(student), "--output-dir", str(root / "onnx"), "--quantize", "int8"]) == 0
    return {"root": root, "student": student, "teacher": teacher, "onnx": root / "onnx"}


@pytest.fixture(scope="module")
def space(built):
    """The app over the export folder (ONNX int8 by default) with the teacher, served on 127.0.0.1."""
    from distilkobert.serving.space import DeclaredTokenizer, load_model
    from distilkobert.serving.space_ui import build_app, launch

    student, teacher = load_model(str(built["onnx"])), load_model(str(built["teacher"]))
    app = build_app(student, teacher, DeclaredTokenizer("monologg/kobert"))
    url = launch(app, port=free_port())
    yield {"url": url, "student": student, "teacher": teacher}
    app.close()


@pytest.fixture(scope="module")
def client(space, tmp_path_factory) -> Client:
    return Client(space["url"], verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def _rows(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def _label(value: dict) -> tuple[str, dict[str, float]]:
    """gr.Label's value over the API -> (label, {label: confidence})."""
    return value["label"], {c["label"]: c["confidence"] for c in value["confidences"]}


def test_every_endpoint_is_tested_here(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == ENDPOINTS
    assert not api.get("unnamed_endpoints")


def test_classify_answers_like_the_int8_export(client, built, space):
    from distilkobert.serving.onnx import OnnxClassifier

    assert space["student"].backend == "ONNX int8 (model.int8.onnx)"
    reference = OnnxClassifier.from_pretrained(built["onnx"], file="model.int8.onnx")
    for text in TEXTS:
        value, answer = client.predict(text, api_name="/classify")
        label, confidences = _label(value)
        expected = reference.predict([text])[0]
        assert label == expected["label"], text
        assert confidences[label] == pytest.approx(expected["score"], abs=1e-6)
        assert sum(confidences.values()) == pytest.approx(1.0)
        assert f"**{label}** (score {expected['score']:.3f})" in answer
        assert str(built["onnx"]) in answer and "backend ONNX int8" in answer and " ms." in answer
    labels = {_label(client.predict(t, api_name="/classify")[0])[0] for t in TEXTS}
    assert labels == {"negative", "positive"}  # the tiny model is centred: a constant answer would fail this


@pytest.mark.parametrize("name,content", [
    ("reviews.txt", "이 영화 정말 재미있었어요\n\n시간 낭비였다\n음악이 좋아서 끝까지 봤습니다\n"),
    ("ratings_test.tsv", 'id\tdocument\tlabel\n1\t별로였어요\t0\n2\t"""""""최고""""의 영화"""\t1\n3\t추천합니다\t1\n'),
    ("reviews.jsonl", '{"id": "a", "text": "추천합니다"}\nnot json\n{"id": "b", "text": "시간 낭비였다"}\n'),
])
def test_classify_file_writes_what_predict_writes(client, built, tmp_path, capsys, name, content):
    from distilkobert.serving.cli import predict_main

    src = tmp_path / name
    src.write_text(content, encoding="utf-8")
    path, summary = client.predict(handle_file(str(src)), api_name="/classify_file")
    ours = _rows(path)
    assert Path(path).name == f"{name.split('.')[0]}.predictions.jsonl"
    assert predict_main(["--model", str(built["onnx"]), "--backend", "onnx", "--onnx-file", "model.int8.onnx",
                         "--input", str(src), "--output", str(tmp_path / "cli.jsonl"), "--no-progress"]) == 0
    capsys.readouterr()
    reference = _rows(tmp_path / "cli.jsonl")
    assert [{k: v for k, v in r.items() if k != "score"} for r in ours] == \
        [{k: v for k, v in r.items() if k != "score"} for r in reference]
    assert [r["score"] for r in ours] == pytest.approx([r["score"] for r in reference], abs=1e-6)
    assert f"{len(reference)} rows" in summary and "backend ONNX int8" in summary


def test_tokenizer_shows_exact_pieces_next_to_the_declared_damage(client, built):
    from transformers import AutoTokenizer

    from distilkobert import get_tokenizer

    summary, spans, table, declared_summary, declared_spans, declared_table = client.predict(
        TOKENIZER_TEXT, api_name="/tokenize")
    exact = get_tokenizer("monologg/kobert")
    enc = exact(TOKENIZER_TEXT, return_offsets_mapping=True)
    rows = table["data"]
    assert [r[2] for r in rows] == enc["input_ids"]
    assert [r[1] for r in rows] == exact.convert_ids_to_tokens(enc["input_ids"])
    assert [(r[3], r[4]) for r in rows] == [tuple(o) for o in enc["offset_mapping"]]
    assert all(r[5] == TOKENIZER_TEXT[r[3]:r[4]] for r in rows)
    assert exact.unk_token_id not in enc["input_ids"] and "0 [UNK]" in summary
    assert "".join(s["token"] for s in spans) == TOKENIZER_TEXT  # the pieces cover the text, in order
    # each piece over its own characters; a piece over characters an earlier one already covers (the tokenizer's
    # own "▁" before a word, with some vocabularies) adds no span
    covered, expected = 0, []
    for r in sorted(rows, key=lambda r: r[3]):
        if r[4] > max(r[3], covered):
            expected.append(r[1])
            covered = r[4]
    assert [s["class_or_confidence"] for s in spans if s["class_or_confidence"]] == expected
    assert len(expected) >= len(TOKENIZER_TEXT.replace(" ", "")) // 2  # the text is cut into pieces, not one span

    declared = AutoTokenizer.from_pretrained("monologg/kobert")  # plain, as a user would: BertTokenizer
    ids = declared(TOKENIZER_TEXT)["input_ids"]
    assert [r[2] for r in declared_table["data"]] == ids
    unks = ids.count(declared.unk_token_id)
    assert unks > 0 and f"{unks} [UNK]" in declared_summary and "AutoTokenizer" in declared_summary
    assert any(s["class_or_confidence"] == "[UNK]" for s in declared_spans)
    assert "".join(s["token"] for s in declared_spans) == TOKENIZER_TEXT


def test_compare_gives_both_answers_and_latencies(client, space):
    value, line, t_value, t_line = client.predict(REVIEW, api_name="/compare")
    student, teacher = space["student"].classifier, space["teacher"].classifier
    assert _label(value)[0] == student.predict([REVIEW])[0]["label"]
    assert _label(t_value)[0] == teacher.predict([REVIEW])[0]["label"]
    assert " ms · " in line and "ONNX int8" in line
    assert " ms (" in t_line and "PyTorch fp32" in t_line and "teacher" in t_line


def test_bad_input_is_a_message_and_the_app_keeps_serving(client, tmp_path):
    value, answer = client.predict("", api_name="/classify")
    assert not value and answer.startswith("⚠️ The text is empty")
    value, answer = client.predict("가" * 10_000, api_name="/classify")
    assert not value and "10,000 characters" in answer and "at most 2,000" in answer
    summary, *rest = client.predict("   ", api_name="/tokenize")
    assert summary.startswith("⚠️ The text is empty") and rest[0] is None and not rest[1]["data"]
    _, line, _, _ = client.predict("가" * 10_000, api_name="/compare")
    assert "10,000 characters" in line

    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    wrong = tmp_path / "reviews.pdf"
    wrong.write_bytes(b"%PDF-1.4 ...")
    no_column = tmp_path / "ratings.tsv"
    no_column.write_text("a\tb\n1\t2\n", encoding="utf-8")
    for path, message in ((binary, "photo.txt: binary content (a NUL byte at byte 8)"),
                          (wrong, "reviews.pdf: unsupported file type"),
                          (no_column, "ratings.tsv:1: expected a tab-separated header with a 'document' column")):
        result, summary = client.predict(handle_file(str(path)), api_name="/classify_file")
        assert result is None and summary.startswith("⚠️ ") and message in summary, summary
        assert "Traceback" not in summary
    value, _ = client.predict(REVIEW, api_name="/classify")  # still serving
    assert _label(value)[0] in {"negative", "positive"}


def test_backend_choice(built):
    from distilkobert.serving.errors import ServingError
    from distilkobert.serving.space import load_model

    assert load_model(str(built["student"])).backend == "PyTorch fp32"  # no export in the folder
    with pytest.raises(ServingError, match="onnx: cannot load the classifier"):  # an export has no torch weights
        load_model(str(built["onnx"]), "pytorch")
    with pytest.raises(ServingError, match=r"--model .*student: no ONNX export \(model.int8.onnx or model.onnx\)"):
        load_model(str(built["student"]), "onnx")
    with_subfolder = built["root"] / "with-onnx"
    shutil.copytree(built["student"], with_subfolder)
    shutil.copytree(built["onnx"], with_subfolder / "onnx")
    (with_subfolder / "onnx" / "model.int8.onnx").unlink()
    assert load_model(str(with_subfolder)).backend == "ONNX fp32 (onnx/model.onnx)"
    assert load_model(str(with_subfolder), "pytorch").backend == "PyTorch fp32"


def _space(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "distilkobert.cli", "space", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_arguments_are_checked_before_loading(built, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    port = busy.getsockname()[1]
    model = str(built["student"])
    cases = [
        (["--model", str(tmp_path / "missing")], f"--model {tmp_path / 'missing'}: no such folder"),
        (["--model", str(built["student"] / "config.json")], "is a file, expected a model folder"),
        (["--model", "org/name@"], "--model org/name@: neither an existing folder nor a Hub repo id"),
        (["--model", model, "--teacher", "a/b/c"], "--teacher a/b/c: no such folder"),
        (["--model", model, "--port", "70000"], "--port 70000: expected 1-65535"),
        (["--model", model, "--port", str(port)], f"--port {port}: 127.0.0.1:{port} is in use"),
    ]
    try:
        for args, message in cases:
            start = time.perf_counter()
            proc = _space(*args)
            assert proc.returncode == 2, (args, proc.stderr)
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("distilkobert space: error: ") and message in lines[0], \
                (args, proc.stderr)
            assert time.perf_counter() - start < 30  # nothing was loaded
    finally:
        busy.close()


def test_the_command_imports_no_hugging_face_library_before_the_endpoint():
    code = ("import sys, distilkobert.serving.space_cli\n"
            "print(sorted(m for m in ('transformers', 'datasets', 'huggingface_hub', 'gradio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_the_space_entry_point_needs_its_model_variable(repo_root):
    env = {k: v for k, v in os.environ.items() if k not in ("MODEL", "TEACHER", "BACKEND")}
    proc = subprocess.run([sys.executable, str(repo_root / "space" / "app.py")], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "space/app.py: error: set the MODEL variable to the classifier (ORG/NAME[@VERSION] or a folder)")
    proc = subprocess.run([sys.executable, str(repo_root / "space" / "app.py")], capture_output=True, text=True,
                          timeout=60, env=dict(env, MODEL="org/name@"))
    assert proc.returncode == 2 and proc.stderr.strip().startswith("space/app.py: error: --model org/name@: ")


@pytest.mark.slow
def test_the_command_serves_a_published_classifier_at_its_version(built, local_hub, unique_repo_id, tmp_path):
    """`distilkobert space --model ORG/NAME@VERSION` on the local Hub (HF_ENDPOINT), the teacher a folder, the
    declared-tokenizer repo absent: the page says so."""
    from distilkobert.serving.classifier import TorchClassifier
    from distilkobert.serving.publish import publish_classifier

    repo = unique_repo_id("space")
    commit = publish_classifier(built["student"], repo, "v1").commit_sha
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "distilkobert.cli", "space", "--model", f"{repo}@v1",
                             "--teacher", str(built["teacher"]), "--port", str(port),
                             "--kobert-repo", "test-org/absent-kobert"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"DistilKoBERT Space: http://127.0.0.1:{port}/ ({repo} @ v1 (commit {commit[:10]})"
                               " · backend PyTorch fp32 · 2 layers)"), line + proc.stderr.read() if not line else line
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path))
        value, answer = client.predict(REVIEW, api_name="/classify")
        expected = TorchClassifier.from_pretrained(built["student"]).predict([REVIEW])[0]
        assert _label(value)[0] == expected["label"] and f"{repo} @ v1" in answer
        declared_summary = client.predict(TOKENIZER_TEXT, api_name="/tokenize")[3]
        assert "test-org/absent-kobert is not reachable" in declared_summary
        _, _, t_value, t_line = client.predict(REVIEW, api_name="/compare")
        assert t_value and str(built["teacher"]) in t_line
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_compare_without_teacher_says_so(built):
    from distilkobert.serving.space import compare_text, load_model

    student = load_model(str(built["student"]))
    scores, line, t_scores, t_line = compare_text(student, None, REVIEW)
    assert set(scores) == {"negative", "positive"} and " ms · " in line
    assert t_scores is None and "No teacher was given" in t_line


@pytest.mark.browser
def test_a_real_browser_types_a_review_and_reads_the_label(space, tmp_path):
    """Debian's headless Chromium, driven by Selenium through chromedriver (both given by path: Selenium
    Manager never downloads a browser or driver), opens the page, types a review, presses the button."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.skip(f"{', '.join(missing)} absent: install Chromium (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the dev extra)")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,900", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        driver.get(space["url"])
        wait = WebDriverWait(driver, 60)
        box = wait.until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "#review textarea")))
        box.send_keys(REVIEW)
        driver.find_element(By.CSS_SELECTOR, "#classify").click()
        heading = wait.until(expected_conditions.visibility_of_element_located(
            (By.CSS_SELECTOR, "#label [data-testid='label-output-value']")))
        wait.until(lambda d: "score" in d.find_element(By.CSS_SELECTOR, "#answer").text)
        expected = space["student"].classifier.predict([REVIEW])[0]
        assert heading.text.strip() == expected["label"]
        assert f"score {expected['score']:.3f}" in driver.find_element(By.CSS_SELECTOR, "#answer").text
        assert "DistilKoBERT" in driver.find_element(By.CSS_SELECTOR, "#header").text
        # everything the page loaded came from the app itself: it renders offline (no CDN, fonts, analytics)
        loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        origin = space["url"].rstrip("/")
        assert loaded and [u for u in loaded if not u.startswith((origin, "data:", "blob:"))] == []
        shot = tmp_path / "space.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        if os.environ.get(SCREENSHOT_ENV):
            shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])
    finally:
        driver.quit()
