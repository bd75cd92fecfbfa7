"""The Space app's page: a Gradio Blocks with three tabs over :mod:`distilkobert.serving.space`.

Needs the optional extra ``pip install 'distilkobert[space]'`` (gradio). Everything stays on the machine: no
analytics, no version check, no share link, no server-side rendering (node), the theme's fonts are local.
Every handler turns bad input, and any failure, into a message in the page; the app keeps serving.

API endpoints (``gradio_client``): ``/classify`` (text), ``/classify_file`` (file), ``/tokenize`` (text),
``/compare`` (text).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from typing import Any

import gradio as gr

from .errors import ServingError
from .space import (
    EXAMPLES,
    MAX_TEXT_CHARS,
    TOKENIZER_EXAMPLES,
    DeclaredTokenizer,
    InputProblem,
    SpaceModel,
    classify_file,
    classify_text,
    compare_text,
    tokenize_text,
)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read by gradio when the page is built
logger = logging.getLogger(__name__)
PIECE_HEADERS = ["#", "piece", "id", "start", "end", "text"]
UNK_COLORS = {"[UNK]": "#ef4444"}
MAX_FILE_SIZE = "50mb"


def _safe(handler: Callable[..., tuple], n_outputs: int, message_at: int) -> Callable[..., tuple]:
    """``handler`` whose bad input (InputProblem, ServingError) and unexpected failures become a message in
    output ``message_at`` (the others cleared) instead of an error; unexpected ones are logged with the trace."""

    def run(*args: Any) -> tuple:
        try:
            return handler(*args)
        except (InputProblem, ServingError) as exc:
            message = f"⚠️ {exc}"
        except Exception as exc:  # the page shows one line; the server log keeps the trace
            logger.exception("space handler failed")
            message = f"⚠️ Something went wrong ({type(exc).__name__}: {str(exc)[:200]}); try another input."
        outputs: list[Any] = [None] * n_outputs
        outputs[message_at] = message
        return tuple(outputs)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def _header(student: SpaceModel, teacher: SpaceModel | None) -> str:
    lines = ["# DistilKoBERT: Korean sentiment and the exact KoBERT tokenizer",
             f"**Model:** {student.describe()}"]
    if teacher is not None:
        lines.append(f"**Teacher:** {teacher.describe()}")
    return "\n\n".join(lines)


def _sentiment_tab(student: SpaceModel, results_dir: str) -> None:
    with gr.Tab("Sentiment", id="sentiment"):
        text = gr.Textbox(label=f"Review (Korean, up to {MAX_TEXT_CHARS:,} characters)", lines=3,
                          elem_id="review")
        button = gr.Button("Classify", variant="primary", elem_id="classify")
        label = gr.Label(label="Label", num_top_classes=2, elem_id="label")
        answer = gr.Markdown(elem_id="answer")
        gr.Examples([[e] for e in EXAMPLES], inputs=[text], label="Examples")

        def classify(review: str) -> tuple:
            return classify_text(student, review)

        button.click(_safe(classify, 2, 1), inputs=[text], outputs=[label, answer], api_name="classify")
        gr.Markdown("### A file of reviews\n.txt (one review per line), NSMC .tsv (id, document, label) or .jsonl "
                    "(a `text` field), optionally .gz; the answer is one JSON line per input row, as "
                    "`distilkobert predict` writes it.")
        upload = gr.File(label="Reviews file", elem_id="upload")
        file_button = gr.Button("Classify the file", elem_id="classify-file")
        result = gr.File(label="Predictions (jsonl)", elem_id="result")
        file_answer = gr.Markdown(elem_id="file-answer")

        def classify_upload(path: str | None) -> tuple:
            out, summary = classify_file(student, path, results_dir)
            return str(out), summary

        file_button.click(_safe(classify_upload, 2, 1), inputs=[upload], outputs=[result, file_answer],
                          api_name="classify_file")


def _tokenizer_tab(student: SpaceModel, declared: DeclaredTokenizer) -> None:
    with gr.Tab("Tokenizer", id="tokenizer"):
        gr.Markdown(f"The exact pieces, ids and character offsets of the model's tokenizer, next to what plain "
                    f"`AutoTokenizer.from_pretrained(\"{declared.repo}\")` gives: that repo's "
                    "`tokenizer_config.json` declares `BertTokenizer`, which turns most Korean into `[UNK]`.")
        text = gr.Textbox(label="Text", lines=2, elem_id="tok-text")
        button = gr.Button("Tokenize", variant="primary", elem_id="tokenize")
        gr.Examples([[e] for e in TOKENIZER_EXAMPLES], inputs=[text], label="Examples")
        with gr.Row():
            with gr.Column():
                summary = gr.Markdown(elem_id="tok-summary")
                pieces = gr.HighlightedText(label="This model's tokenizer", color_map=UNK_COLORS,
                                            elem_id="tok-pieces")
                rows = gr.Dataframe(headers=PIECE_HEADERS, label="Pieces, ids, offsets", interactive=False)
            with gr.Column():
                declared_summary = gr.Markdown(elem_id="declared-summary")
                declared_pieces = gr.HighlightedText(label=f"Plain AutoTokenizer on {declared.repo}",
                                                     color_map=UNK_COLORS, elem_id="declared-pieces")
                declared_rows = gr.Dataframe(headers=PIECE_HEADERS, label="Pieces, ids, offsets",
                                             interactive=False)

        def tokenize(value: str) -> tuple:
            t = tokenize_text(student, declared, value)
            return (t.summary, t.highlights, t.rows, t.declared_summary, t.declared_highlights or None,
                    t.declared_rows or None)

        button.click(_safe(tokenize, 6, 0), inputs=[text],
                     outputs=[summary, pieces, rows, declared_summary, declared_pieces, declared_rows],
                     api_name="tokenize")


def _compare_tab(student: SpaceModel, teacher: SpaceModel | None) -> None:
    with gr.Tab("Compare", id="compare"):
        gr.Markdown("The teacher and the 3-layer student on the same text: both answers, both latencies (the "
                    "median of 3 calls)." if teacher is not None else
                    "No teacher was given: start the app with `--teacher ORG/NAME[@VERSION]` to compare it with "
                    "the student. The student's answer is shown alone.")
        text = gr.Textbox(label="Review", lines=2, elem_id="cmp-text")
        button = gr.Button("Compare", variant="primary", elem_id="compare")
        gr.Examples([[e] for e in EXAMPLES], inputs=[text], label="Examples")
        with gr.Row():
            with gr.Column():
                s_label = gr.Label(label="Student", num_top_classes=2)
                s_line = gr.Markdown(elem_id="cmp-student")
            with gr.Column():
                t_label = gr.Label(label="Teacher", num_top_classes=2)
                t_line = gr.Markdown(elem_id="cmp-teacher")

        def compare(value: str) -> tuple:
            return compare_text(student, teacher, value)

        button.click(_safe(compare, 4, 1), inputs=[text], outputs=[s_label, s_line, t_label, t_line],
                     api_name="compare")


def build_app(student: SpaceModel, teacher: SpaceModel | None = None,
              declared: DeclaredTokenizer | None = None) -> gr.Blocks:
    """The page over loaded models; ``declared`` defaults to plain AutoTokenizer on monologg/kobert."""
    declared = declared if declared is not None else DeclaredTokenizer()
    results = tempfile.TemporaryDirectory(prefix="distilkobert-space-")  # removed with the app (or at exit)
    with gr.Blocks(title="DistilKoBERT Space", analytics_enabled=False) as app:
        gr.Markdown(_header(student, teacher), elem_id="header")
        _sentiment_tab(student, results.name)
        _tokenizer_tab(student, declared)
        _compare_tab(student, teacher)
    app.results_dir = results  # kept alive as long as the app
    return app


def launch(app: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860) -> str:
    """Start serving ``app`` on ``host:port`` (never shared) and return the page's URL at once; the server runs
    in a thread: ``app.block_thread()`` waits for Ctrl+C, ``app.close()`` stops it."""
    app.queue(default_concurrency_limit=1)  # one model call at a time: the CPU is shared by every visitor
    app.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
               show_error=False, ssr_mode=False, max_file_size=MAX_FILE_SIZE, enable_monitoring=False,
               inbrowser=False, theme=gr.themes.Default())
    return app.local_url or f"http://{host}:{port}/"
