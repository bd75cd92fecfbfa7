"""What the Space app (``distilkobert space``, ``space/app.py``) does, without any Gradio: loading the
classifiers and the answers of its three tabs as plain Python values.

- :func:`parse_model_spec` / :func:`load_model`: ``ORG/NAME[@VERSION]``, a folder or an export folder ->
  a :class:`SpaceModel` (ONNX int8 when the folder or repo holds an ONNX export, else PyTorch);
- :func:`classify_text`, :func:`classify_file`: the Sentiment tab (the file is read by ``distilkobert
  predict``'s reader and written by its writer: one JSON line per input row);
- :func:`tokenize_text` and :class:`DeclaredTokenizer`: the Tokenizer tab (exact pieces, ids and character
  offsets, next to what plain ``AutoTokenizer`` on the original ``monologg/kobert`` declaration gives);
- :func:`compare_text`: the Compare tab (teacher vs student, answers and latencies).

Bad input (empty or too long text, a binary or unsupported file) is an :class:`InputProblem` whose message is
shown in the page as it is.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from transformers import AutoTokenizer

from distilkobert.data.sources import SourceError, open_binary
from distilkobert.hub.endpoint import current_endpoint, endpoint_reachable

from .classifier import TorchClassifier, resolve_model_dir, softmax
from .errors import ServingError
from .inputs import read_records
from .model_spec import is_folder, parse_model_spec
from .predict import format_summary, run_predict

BACKENDS = ("auto", "onnx", "pytorch")
ONNX_FILES = ("model.int8.onnx", "model.onnx")  # the int8 copy first: the default when the export has it
ONNX_SUBFOLDERS = ("", "onnx")  # the export at the top of the folder / repo, or in its onnx/ subfolder
DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.bin", "*.txt", "*.model", "*.onnx", "*.onnx.data", "onnx/*"]
MAX_TEXT_CHARS = 2000  # one review in the page; longer texts go through the file upload
FILE_SUFFIXES = (".txt", ".tsv", ".jsonl", ".txt.gz", ".tsv.gz", ".jsonl.gz")
BINARY_PROBE_BYTES = 8192
LATENCY_RUNS = 3
DECLARED_REPO = "monologg/kobert"
# Korean reviews written for the project: clearly positive and clearly negative ones, and a tokenizer example.
EXAMPLES = (
    "이 영화 정말 재미있었어요. 배우들의 연기가 훌륭했다.",
    "시간 낭비였다. 스토리가 너무 뻔하고 지루했음",
    "음악이 좋아서 끝까지 봤습니다. 다음 편도 기대됩니다!",
    "최악의 결말... 다시는 안 본다ㅠㅠ",
)
TOKENIZER_EXAMPLES = ("한국어 모델을 공유합니다.", "ㅋㅋㅋ 진짜 웃기닼ㅋ 👍")


class InputProblem(ValueError):
    """Input the page cannot use (empty, too long, binary, unsupported file); the message is shown as it is."""


@dataclass
class SpaceModel:
    """A loaded classifier and how to name it in the page."""

    name: str
    version: str | None
    commit: str | None
    backend: str
    classifier: Any  # TorchClassifier or OnnxClassifier: predict(texts), logits(texts), tokenizer, id2label
    layers: int | None = None

    def describe(self) -> str:
        """``ORG/NAME @ v1 (commit 0123456789) · backend ONNX int8 (model.int8.onnx) · 3 layers``."""
        where = self.name + (f" @ {self.version}" if self.version else "")
        if self.commit:
            where += f" (commit {self.commit[:10]})"
        layers = f" · {self.layers} layers" if self.layers else ""
        return f"{where} · backend {self.backend}{layers}"


def _layers(config: dict[str, Any]) -> int | None:
    value = config.get("n_layers", config.get("num_hidden_layers"))
    return value if isinstance(value, int) else None


def find_onnx(folder: Path) -> tuple[Path, str] | None:
    """(folder holding the export, graph file name): the int8 graph when there is one, else the fp32 one."""
    for sub in ONNX_SUBFOLDERS:
        for name in ONNX_FILES:
            if (folder / sub / name).is_file():
                return folder / sub, name
    return None


def _snapshot_commit(folder: Path, name: str) -> str | None:
    """The commit of a Hub snapshot (huggingface_hub's cache: .../snapshots/<commit>), None for a folder."""
    if is_folder(name):
        return None
    return folder.name if folder.parent.name == "snapshots" else None


def _load_onnx(onnx_dir: Path, file: str):
    try:  # the onnx extra is optional
        from .onnx import OnnxClassifier
    except ImportError as exc:
        raise ServingError(f"--backend onnx: {exc.name or 'onnxruntime'} is not installed: pip install "
                           "'distilkobert[onnx]'") from None
    return OnnxClassifier.from_pretrained(onnx_dir, file=file)


def load_model(spec: str, backend: str = "auto", *, what: str = "--model") -> SpaceModel:
    """Load a published classifier: ``backend`` auto = ONNX (int8 first) when the folder or repo has an export,
    else PyTorch; onnx / pytorch insist. Every failure is one ServingError line naming ``what``."""
    if backend not in BACKENDS:
        raise ServingError(f"--backend {backend}: expected one of {', '.join(BACKENDS)}")
    name, version = parse_model_spec(spec, what)
    folder = resolve_model_dir(name, version, what=what, allow_patterns=DOWNLOAD_PATTERNS)
    onnx = find_onnx(folder)
    if backend == "onnx" and onnx is None:
        raise ServingError(f"{what} {spec}: no ONNX export (model.int8.onnx or model.onnx) in {folder}: run "
                           f"distilkobert export --model {name} --output-dir DIR --quantize int8, or use "
                           "--backend pytorch")
    if onnx is not None and backend != "pytorch":
        onnx_dir, file = onnx
        classifier = _load_onnx(onnx_dir, file)
        label = f"ONNX {'int8' if file == ONNX_FILES[0] else 'fp32'} ({(onnx_dir / file).relative_to(folder)})"
    else:
        classifier = TorchClassifier.from_pretrained(folder)
        label = "PyTorch fp32"
    model = SpaceModel(name=name, version=version, commit=_snapshot_commit(folder, name), backend=label,
                       classifier=classifier, layers=_layers(classifier.config))
    classifier.predict([EXAMPLES[0]])  # warm-up: the first call pays one-off costs, not the first user
    return model


def check_text(text: str | None) -> str:
    """The text when the page can classify it; InputProblem (empty, too long) otherwise."""
    if text is None or not text.strip():
        raise InputProblem("The text is empty: type or paste a review (Korean), or pick an example.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputProblem(f"The text has {len(text):,} characters; this box takes at most {MAX_TEXT_CHARS:,}. "
                           "Shorten it, or upload a file of reviews below.")
    return text


def _scores(model: SpaceModel, text: str) -> tuple[dict[str, float], float]:
    """(label -> probability for every label, latency in ms: the median of LATENCY_RUNS calls)."""
    classifier = model.classifier
    times = []
    for _ in range(LATENCY_RUNS):
        start = time.perf_counter()
        logits = classifier.logits([text])
        times.append(1000 * (time.perf_counter() - start))
    probs = softmax(np.asarray(logits, dtype=np.float64))[0]
    labels = classifier.id2label
    return {labels.get(i, f"LABEL_{i}"): float(p) for i, p in enumerate(probs)}, statistics.median(times)


def _truncation_note(model: SpaceModel, text: str) -> str:
    tokens = len(model.classifier.tokenizer(text)["input_ids"])
    limit = model.classifier.max_length
    return f" The text has {tokens} tokens: the model read the first {limit}." if tokens > limit else ""


def classify_text(model: SpaceModel, text: str | None) -> tuple[dict[str, float], str]:
    """(label -> probability, a one-line answer naming the label, score, model, version, backend, latency)."""
    text = check_text(text)
    scores, ms = _scores(model, text)
    label = max(scores, key=scores.get)
    answer = (f"**{label}** (score {scores[label]:.3f}) · {model.describe()} · {ms:.1f} ms."
              + _truncation_note(model, text))
    return scores, answer


def check_upload(path: str | Path | None) -> Path:
    """The uploaded file when ``predict``'s reader can read it: a .txt / .tsv / .jsonl (or .gz) text file."""
    if path is None:
        raise InputProblem("No file: upload a .txt (one review per line), an NSMC .tsv or a .jsonl file.")
    path = Path(path)
    if not path.name.lower().endswith(FILE_SUFFIXES):
        raise InputProblem(f"{path.name}: unsupported file type; upload a .txt (one review per line), an NSMC "
                           ".tsv (id, document, label) or a .jsonl file (a \"text\" field), optionally .gz.")
    try:
        with open_binary(path) as handle:
            head = handle.read(BINARY_PROBE_BYTES)
    except (SourceError, OSError, EOFError) as exc:
        raise InputProblem(f"{path.name}: cannot be read ({exc}).") from None
    nul = head.find(b"\x00")
    if nul >= 0:
        raise InputProblem(f"{path.name}: binary content (a NUL byte at byte {nul}), not a text file of reviews.")
    return path


def classify_file(model: SpaceModel, path: str | Path | None, out_dir: str | Path | None = None
                  ) -> tuple[Path, str]:
    """Classify every row of an uploaded file as ``distilkobert predict`` does; returns (the jsonl, written into
    a new folder under ``out_dir`` (default: the system temporary folder), the summary line)."""
    path = check_upload(path)
    folder = Path(tempfile.mkdtemp(prefix="distilkobert-space-", dir=out_dir))
    out = folder / f"{path.name.split('.')[0] or 'reviews'}.predictions.jsonl"
    try:
        summary = run_predict(model.classifier, read_records(path), out, progress=False, source=path.name)
    except ServingError as exc:
        raise InputProblem(str(exc).replace("--input ", "")) from None
    return out, f"{format_summary(summary, out.name)} · {model.describe()}"


def _pieces(tokenizer, text: str) -> list[dict[str, Any]]:
    enc = tokenizer(text, return_offsets_mapping=True)
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"])
    return [{"piece": t, "id": int(i), "start": int(s), "end": int(e), "text": text[s:e]}
            for t, i, (s, e) in zip(tokens, enc["input_ids"], enc["offset_mapping"])]


def highlights(text: str, pieces: list[dict[str, Any]], unk_token: str | None) -> list[tuple[str, str | None]]:
    """The text cut into (span, piece) pairs for gr.HighlightedText: each piece over its characters, the
    characters no piece covers (spaces) unlabelled; [UNK] pieces are labelled "[UNK]"."""
    spans: list[tuple[str, str | None]] = []
    cursor = 0
    for p in sorted(pieces, key=lambda p: p["start"]):
        start, end = max(p["start"], cursor), p["end"]
        if end <= start:
            continue  # the special tokens, and a piece whose characters the previous one already covers
        if start > cursor:
            spans.append((text[cursor:start], None))
        spans.append((text[start:end], "[UNK]" if p["piece"] == unk_token else p["piece"]))
        cursor = end
    if cursor < len(text):
        spans.append((text[cursor:], None))
    return spans


def unk_summary(name: str, tokenizer, pieces: list[dict[str, Any]]) -> str:
    """``name (Class): N tokens, K [UNK] (P%)`` over the text's tokens ([CLS] / [SEP] not counted)."""
    special = set(tokenizer.all_special_ids)
    body = [p for p in pieces if p["id"] not in special or p["id"] == tokenizer.unk_token_id]
    unks = sum(p["id"] == tokenizer.unk_token_id for p in body)
    share = 100 * unks / len(body) if body else 0.0
    return f"{name} ({type(tokenizer).__name__}): {len(body)} tokens, {unks} [UNK] ({share:.0f}%)"


class DeclaredTokenizer:
    """What plain ``AutoTokenizer.from_pretrained(repo)`` gives on the original KoBERT declaration (its
    ``tokenizer_config.json`` says BertTokenizer); loaded once, on the Hub the clients use (HF_ENDPOINT)."""

    def __init__(self, repo: str = DECLARED_REPO) -> None:
        self.repo = repo
        self.tokenizer = None
        self.problem: str | None = None
        endpoint = current_endpoint()
        if not endpoint_reachable(endpoint):
            self.problem = f"{repo} is not reachable: the Hub endpoint {endpoint} does not answer."
            return
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(repo)
        except Exception as exc:  # repo absent, no network, gated: the page says so instead
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            self.problem = f"{repo} is not reachable on {endpoint} ({type(exc).__name__}: {first})."


@dataclass
class Tokenized:
    """The Tokenizer tab's answer: the model's pieces (rows and highlights) and the declared tokenizer's."""

    highlights: list[tuple[str, str | None]]
    rows: list[list[Any]]
    summary: str
    declared_highlights: list[tuple[str, str | None]]
    declared_rows: list[list[Any]]
    declared_summary: str


def _rows(pieces: list[dict[str, Any]]) -> list[list[Any]]:
    return [[n, p["piece"], p["id"], p["start"], p["end"], p["text"]] for n, p in enumerate(pieces)]


def tokenize_text(model: SpaceModel, declared: DeclaredTokenizer, text: str | None) -> Tokenized:
    """The exact pieces, ids and offsets of the model's tokenizer, and those of the declared AutoTokenizer."""
    text = check_text(text)
    tokenizer = model.classifier.tokenizer
    pieces = _pieces(tokenizer, text)
    summary = unk_summary(f"this model's tokenizer ({model.name})", tokenizer, pieces)
    if declared.tokenizer is None:
        return Tokenized(highlights(text, pieces, tokenizer.unk_token), _rows(pieces), summary, [], [],
                         f"Plain AutoTokenizer on {declared.repo}: not shown. {declared.problem}")
    other = _pieces(declared.tokenizer, text)
    return Tokenized(highlights(text, pieces, tokenizer.unk_token), _rows(pieces), summary,
                     highlights(text, other, declared.tokenizer.unk_token), _rows(other),
                     unk_summary(f"plain AutoTokenizer.from_pretrained({declared.repo!r})", declared.tokenizer,
                                 other))


def compare_text(student: SpaceModel, teacher: SpaceModel | None, text: str | None
                 ) -> tuple[dict[str, float], str, dict[str, float] | None, str]:
    """(student scores, student line, teacher scores or None, teacher line) with the latencies in ms."""
    text = check_text(text)
    scores, ms = _scores(student, text)
    line = f"**{max(scores, key=scores.get)}** · {ms:.1f} ms · {student.describe()}"
    if teacher is None:
        return scores, line, None, "No teacher was given: start the app with --teacher ORG/NAME[@VERSION]."
    t_scores, t_ms = _scores(teacher, text)
    t_line = (f"**{max(t_scores, key=t_scores.get)}** · {t_ms:.1f} ms ({t_ms / ms:.1f}x the student's time) · "
              f"{teacher.describe()}")
    return scores, line, t_scores, t_line
