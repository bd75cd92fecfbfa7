"""Bad input is caught before any work: one line naming the argument or file, exit code 2, nothing written or
deleted. And one output-folder policy for every command (a file is refused, a non-empty folder needs
--overwrite, --overwrite never deletes the command's own inputs).

Everything runs through the commands' real `main(argv)`, in-process, on tiny assets the tests write.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from test_eval_utils import fast_args, make_model, standard_splits, write_dataset

CORPUS = Path(__file__).parent / "data" / "distill_corpus.txt"
DEMO_REVIEWS = Path(__file__).resolve().parent.parent / "demo_data" / "reviews.tsv"
TEACHER_MAX_POSITIONS = 64
TEACHER_LAYERS = 4


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A tokenizer, a corpus dataset, two 4-layer teachers (one with the tokenizer's vocabulary, one without),
    an NSMC-format dataset and a tiny encoder to evaluate."""
    from helpers.tiny_bert import build_wordpiece_tokenizer, tiny_bert_teacher, write_corpus_dataset

    root = tmp_path_factory.mktemp("bad-inputs")
    lines = [x for x in CORPUS.read_text("utf-8").splitlines() if x]
    tok = build_wordpiece_tokenizer(lines, root / "tok", vocab_size=300)
    write_corpus_dataset(lines, root / "corpus")
    tiny_bert_teacher(len(tok), root / "teacher", n_layers=TEACHER_LAYERS, max_len=TEACHER_MAX_POSITIONS)
    tiny_bert_teacher(len(tok) - 5, root / "teacher-other-vocab", n_layers=TEACHER_LAYERS,
                      max_len=TEACHER_MAX_POSITIONS)
    write_dataset(root / "nsmc", standard_splits())
    make_model(root / "encoder", "bert")  # 128 positions
    (root / "texts.txt").write_text("\n".join(lines[:200]) + "\n", encoding="utf-8")
    reviews = DEMO_REVIEWS.read_text(encoding="utf-8").splitlines(keepends=True)
    (root / "train.tsv").write_text("".join(reviews[:120]), encoding="utf-8")
    (root / "test.tsv").write_text(reviews[0] + "".join(reviews[120:160]), encoding="utf-8")
    return root


def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folders`, with size and modification time: equal means untouched."""
    state = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            if path.exists():
                st = path.stat()
                state[str(path)] = (st.st_size if path.is_file() else -1, st.st_mtime_ns)
    return state


def files_in(*folders: Path) -> dict[str, tuple[int, int] | str]:
    """Every file (size, modification time) and folder under `folders`: equal means nothing was written, deleted
    or left behind (a temporary file written aside and removed again may change a folder's time, not this)."""
    return {k: ("folder" if v[0] == -1 else v) for k, v in snapshot(*folders).items()}


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def train_args(assets: Path, out: Path, *extra: str) -> list[str]:
    return ["--teacher_name_or_path", str(assets / "teacher"), "--tokenizer_name_or_path", str(assets / "tok"),
            "--dataset_name_or_path", str(assets / "corpus"), "--cache_dir", str(out.parent / "cache"),
            "--output_dir", str(out), "--student_layers", "0,2", "--max_seq_length", "32", "--use_cpu", "true",
            "--max_steps", "2", "--per_device_train_batch_size", "8", "--max_eval_sequences", "8",
            "--save_strategy", "no", "--disable_tqdm", "true", *extra]


NO_TEACHER = ["--teacher_name_or_path", "none", "--student_model_type", "bert", "--alpha_ce", "0", "--alpha_cos", "0",
              "--alpha_mlm", "1"]
SMALL_BERT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}

# (id, extra flags (ASSETS / TMP are replaced by the folders), recipe text or None, expected message)
TRAIN_CASES = [
    ("zero-loss-weights", ["--alpha_ce", "0", "--alpha_mlm", "0", "--alpha_cos", "0"], None,
     "--alpha_ce, --alpha_mlm, --alpha_cos and --alpha_mse are all 0"),
    ("negative-loss-weight", ["--alpha_mlm", "-0.5"], None, "--alpha_mlm must be >= 0"),
    ("seq-length-above-teacher", ["--max_seq_length", "512"], None,
     f"--max_seq_length 512: above the teacher's max_position_embeddings ({TEACHER_MAX_POSITIONS})"),
    ("seq-length-above-student", [*NO_TEACHER, "--student_config",
                                  json.dumps({**SMALL_BERT, "max_position_embeddings": 16})], None,
     "--max_seq_length 32: above the student's max_position_embeddings (16"),
    ("layer-out-of-range", ["--student_layers", "0", "7"], None,
     f"--student_layers [7]: out of range, the teacher has {TEACHER_LAYERS} layers"),
    ("layer-negative", ["--student_layers", "0,-1"], None, "--student_layers: layer indices start at 0"),
    ("layer-repeated", ["--student_layers", "0,2,2"], None, "--student_layers: teacher layer(s) [2] listed more"),
    ("layer-not-a-number", ["--student_layers", "0,x"], None, "--student_layers"),
    ("vocab-fewer-rows-than-tokens", ["--teacher_name_or_path", "ASSETS/teacher-other-vocab"], None,
     "tokens but the teacher's vocab_size is"),
    ("teacher-missing-folder", ["--teacher_name_or_path", "TMP/no-such-teacher"], None,
     "no-such-teacher: no such folder, and not a Hub id"),
    ("teacher-not-a-hub-id", ["--teacher_name_or_path", "models/kobert/teacher"], None,
     "--teacher_name_or_path models/kobert/teacher: no such folder, and not a Hub id"),
    ("student-config-not-json", [*NO_TEACHER, "--student_config", "{hidden_size: 3"], None,
     "--student_config: not valid JSON"),
    ("flag-bad-type", ["--max_steps", "many"], None, "argument --max_steps"),
    ("global-batch-not-divisible", ["--global_batch_size", "100", "--per_device_train_batch_size", "32"], None,
     "--global_batch_size 100 is not a multiple of --per_device_train_batch_size 32"),
    ("gradient-accumulation-zero", ["--gradient_accumulation_steps", "0"], None,
     "--gradient_accumulation_steps must be >= 1 (got 0)"),
    ("gradient-accumulation-negative", ["--gradient_accumulation_steps", "-2"], None,
     "--gradient_accumulation_steps must be >= 1 (got -2)"),
    ("batch-size-zero", ["--per_device_train_batch_size", "0"], None, "--per_device_train_batch_size must be >= 1"),
    ("max-steps-zero", ["--max_steps", "0"], None, "--max_steps must be > 0, or -1"),
    ("epochs-zero", ["--max_steps", "-1", "--num_train_epochs", "0"], None, "--num_train_epochs must be > 0 (got 0"),
    ("recipe-not-yaml", [], "alpha_ce: [1, 2\nalpha_mlm: 1\n", "not a YAML file (line"),
    ("recipe-not-a-mapping", [], "- alpha_ce\n- 1\n", "a recipe is a YAML mapping of option names to values"),
    ("recipe-unknown-key", [], "alpha_kl: 1.0\n", "unknown key 'alpha_kl'"),
    ("recipe-bad-value", [], "max_steps: 2.5\n", "max_steps: 2.5 is not a valid int"),
    ("recipe-list-for-one-value", [], "learning_rate: [0.1, 0.2]\n", "learning_rate: takes one value, not a list"),
    ("recipe-missing", [], "MISSING", "no such file"),
]


def _fill(args: list[str], assets: Path, tmp: Path) -> list[str]:
    return [a.replace("ASSETS", str(assets)).replace("TMP", str(tmp)) for a in args]


def _recipe(tmp: Path, text: str | None) -> list[str]:
    if text is None:
        return []
    path = tmp / "recipe.yaml"
    if text != "MISSING":
        path.write_text(text, encoding="utf-8")
    return [str(path)]


@pytest.mark.parametrize("extra,recipe,message", [c[1:] for c in TRAIN_CASES], ids=[c[0] for c in TRAIN_CASES])
def test_train_refuses_before_any_work(assets, tmp_path, capsys, extra, recipe, message):
    from distilkobert.distill.run import main

    argv = _recipe(tmp_path, recipe) + train_args(assets, tmp_path / "out", *_fill(extra, assets, tmp_path))
    before = snapshot(assets, tmp_path)
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert err.startswith("train_distill: error: ") and message in err, err
    assert snapshot(assets, tmp_path) == before  # nothing written (no output folder, no cache) nor deleted


EVAL_CASES = [
    ("duplicate-seeds", ["--seeds", "42", "42"], None, "--seeds: [42] listed more than once"),
    ("seq-length-above-model", ["--max_seq_length", "512"], None,
     "--max_seq_length 512: above the model's max_position_embeddings (128)"),
    ("model-missing-folder", ["--model_name_or_path", "./no-such-model"], None,
     "--model_name_or_path ./no-such-model: no such folder, and not a Hub id"),
    ("dataset-not-a-hub-id", ["--dataset_name", "a/b/c"], None, "--dataset_name a/b/c: no such folder"),
    ("warmup-out-of-range", ["--warmup_ratio", "1.5"], None, "--warmup_ratio must be in [0, 1)"),
    ("push-without-card", ["--push_to_hub"], None, "--push_to_hub pushes the model card"),
    ("protocol-metric", ["--metric_for_best_model", "loss"], None, "--metric_for_best_model loss"),
    ("epochs-negative", ["--num_train_epochs", "-1"], None, "--num_train_epochs must be > 0 (got -1"),
    ("epochs-zero", ["--num_train_epochs", "0"], None, "--num_train_epochs must be > 0 (got 0"),
    ("epochs-nan", ["--num_train_epochs", "nan"], None, "--num_train_epochs must be > 0 (got nan"),
    ("max-steps-zero", ["--max_steps", "0"], None, "--max_steps must be > 0, or -1"),
    ("learning-rate-zero", ["--learning_rate", "0"], None, "--learning_rate must be > 0"),
    ("accumulation-zero", ["--gradient_accumulation_steps", "0"], None, "--gradient_accumulation_steps must be >= 1"),
    ("recipe-not-yaml", [], "seeds: [42, 43\n", "not a YAML file (line"),
    ("recipe-unknown-key", [], "seed_list: [1, 2]\n", "unknown key 'seed_list'"),
]


@pytest.mark.parametrize("extra,recipe,message", [c[1:] for c in EVAL_CASES], ids=[c[0] for c in EVAL_CASES])
def test_eval_refuses_before_any_work(assets, tmp_path, capsys, extra, recipe, message):
    from distilkobert.evaluation.run import main

    argv = _recipe(tmp_path, recipe) + fast_args(assets / "encoder", assets / "nsmc", tmp_path / "out", *extra)
    before = snapshot(assets, tmp_path)
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert err.startswith("eval_nsmc.py: error: ") and message in err, err
    assert snapshot(assets, tmp_path) == before


def test_eval_device_cuda_without_cuda(assets, tmp_path, capsys):
    import torch

    from distilkobert.evaluation.run import main

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(fast_args(assets / "encoder", assets / "nsmc", tmp_path / "out") + ["--device", "cuda"]) == 2
    assert "--device cuda: no CUDA device is available" in one_line_error(capsys)
    assert not (tmp_path / "out").exists()


# -- one output-folder policy for every command ------------------------------------------------------------------

def _tokenizer_build(a: Path, out: Path, inside: bool) -> list[str]:
    src = out if inside else a
    for name in ("spiece.model", "vocab.txt"):  # refused before they are read: any content will do
        (src / name).write_text("not read\n", encoding="utf-8")
    return ["--sp-model", str(src / "spiece.model"), "--vocab", str(src / "vocab.txt"), "--output-dir", str(out)]


def _tokenizer_train(a: Path, out: Path, inside: bool) -> list[str]:
    text = a / "texts.txt"
    if inside:
        text = Path(shutil.copy(text, out / "texts.txt"))
    return ["--input", str(text), "--vocab-size", "100", "--output-dir", str(out)]


def _dataset_nsmc(a: Path, out: Path, inside: bool) -> list[str]:
    files = [a / "train.tsv", a / "test.tsv"]
    if inside:
        files = [Path(shutil.copy(f, out / f.name)) for f in files]
    return ["--train-file", str(files[0]), "--test-file", str(files[1]), "--validation-size", "10",
            "--output-dir", str(out)]


def _dataset_corpus(a: Path, out: Path, inside: bool) -> list[str]:
    text = Path(shutil.copy(a / "texts.txt", out / "texts.txt")) if inside else a / "texts.txt"
    return [str(text), "--output-dir", str(out), "--validation-fraction", "0.1"]


def _train(a: Path, out: Path, inside: bool) -> list[str]:
    args = train_args(a, out)
    if inside:
        shutil.copytree(a / "teacher", out / "teacher")
        args[args.index("--teacher_name_or_path") + 1] = str(out / "teacher")
    return args


def _eval(a: Path, out: Path, inside: bool) -> list[str]:
    model = Path(shutil.copytree(a / "encoder", out / "encoder")) if inside else a / "encoder"
    return fast_args(model, a / "nsmc", out)


def _hub_serve(a: Path, out: Path, inside: bool) -> list[str]:
    return ["--data-dir", str(out), "--port", "0"]


def _main(target: str):
    import importlib

    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


# command -> (main, argv builder, output flag, exit code of a refused output folder, overwrite flag or None)
COMMANDS = {
    "tokenizer build": ("distilkobert.tokenization.cli:build_main", _tokenizer_build, "--output-dir", 2, "--overwrite"),
    "tokenizer train": ("distilkobert.tokenization.cli:train_main", _tokenizer_train, "--output-dir", 2, "--overwrite"),
    "dataset nsmc": ("distilkobert.data.cli:nsmc_main", _dataset_nsmc, "--output-dir", 1, "--overwrite"),
    "dataset corpus": ("distilkobert.data.cli:corpus_main", _dataset_corpus, "--output-dir", 1, "--overwrite"),
    "train": ("distilkobert.distill.run:main", _train, "--output_dir", 2, "--overwrite"),
    "eval": ("distilkobert.evaluation.run:main", _eval, "--output_dir", 2, "--overwrite"),
    # the local Hub's data folder is meant to be reused: only a file is refused
    "hub serve": ("distilkobert.hub.server:serve_main", _hub_serve, "--data-dir", 2, None),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_output_folder_policy(command, assets, tmp_path, capsys):
    target, build_argv, flag, code, overwrite = COMMANDS[command]
    main = _main(target)
    out = tmp_path / "out"

    # a file given as the output folder: refused, the file untouched
    out.write_text("a file, not a folder\n", encoding="utf-8")
    argv = build_argv(assets, out, False)
    before = snapshot(assets, tmp_path)
    assert main(argv) == code
    err = one_line_error(capsys)
    assert f"{flag} {out}: is a file, not a folder" in err, err
    assert snapshot(assets, tmp_path) == before
    out.unlink()
    if overwrite is None:
        return

    # a non-empty folder without --overwrite: refused, its contents untouched
    out.mkdir()
    (out / "keep.txt").write_text("내 파일\n", encoding="utf-8")
    before = snapshot(assets, tmp_path)
    assert main(argv) == code
    err = one_line_error(capsys)
    assert f"{flag} {out}: exists and is not empty; pass {overwrite}" in err, err
    assert snapshot(assets, tmp_path) == before

    # --overwrite when an input of the command sits inside the folder: refused, the input kept
    argv = build_argv(assets, out, True) + [overwrite]
    before = snapshot(assets, tmp_path)
    assert main(argv) == code
    err = one_line_error(capsys)
    assert f"{flag} {out}: holds the input " in err and f"which {overwrite} would delete" in err, err
    assert snapshot(assets, tmp_path) == before


@pytest.mark.parametrize("command", ["train", "dataset corpus"])
def test_overwrite_replaces_the_previous_contents(command, assets, tmp_path):
    target, build_argv, _, _, overwrite = COMMANDS[command]
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run\n", encoding="utf-8")
    assert _main(target)(build_argv(assets, out, False) + [overwrite]) == 0
    assert not (out / "stale.txt").exists()
    produced = "distillation_info.json" if command == "train" else "README.md"
    assert (out / produced).is_file()
    assert (assets / "teacher" / "config.json").is_file() and (assets / "texts.txt").is_file()


# -- the newer commands: nothing lost ------------------------------------------------------------------------------

REVIEWS = ["이 영화 정말 재미있었어요", "시간 낭비였다", "음악이 좋아서 끝까지 봤습니다", "별로였어요", "추천합니다"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny fine-tuned-looking classifier, an e5-shaped Unigram teacher (with padding rows), a WordPiece model,
    a tokenizer-only folder and a few review files."""
    from helpers.tiny_bert import build_wordpiece_tokenizer, tiny_bert_teacher
    from helpers.tiny_classifier import SAMPLE_TEXTS, build_classifier, build_tiny_tokenizer
    from helpers.tiny_e5 import build_tiny_e5_teacher, build_unigram_tokenizer

    root = tmp_path_factory.mktemp("commands")
    lines = [x for x in CORPUS.read_text("utf-8").splitlines() if x]
    build_classifier(root / "classifier", build_tiny_tokenizer(root / "classifier-tok"), max_len=64)
    build_tiny_e5_teacher(lines, root / "e5", layers=2, vocab_size=1000, padding_rows=3)
    tok = build_wordpiece_tokenizer(lines, root / "wordpiece", vocab_size=200)
    tiny_bert_teacher(len(tok), root / "wordpiece", n_layers=2)
    build_unigram_tokenizer(lines, root / "tokenizer-only", vocab_size=1000)
    (root / "texts.txt").write_text("\n".join(lines[:200]) + "\n", encoding="utf-8")
    (root / "reviews.txt").write_text("\n".join([*SAMPLE_TEXTS, *REVIEWS]) + "\n", encoding="utf-8")
    return root


def _cli(argv: list[str]) -> int:
    from distilkobert.cli import main

    return main(argv)


def _same_file_outputs(folder: Path) -> list[tuple[str, Path]]:
    """The input file, and other names of it: a path through '..', a symlink and a hard link."""
    src = folder / "reviews.txt"
    (folder / "sub").mkdir()
    (folder / "link.txt").symlink_to(src)
    (folder / "hard.txt").hardlink_to(src)
    return [("same path", src), ("through ..", folder / "sub" / ".." / "reviews.txt"),
            ("symlink", folder / "link.txt"), ("hard link", folder / "hard.txt")]


def test_predict_never_writes_over_its_input(tiny, tmp_path, capsys):
    src = tmp_path / "reviews.txt"
    shutil.copy(tiny / "reviews.txt", src)
    text = src.read_text(encoding="utf-8")
    for how, output in _same_file_outputs(tmp_path):
        code = _cli(["predict", "--model", str(tiny / "classifier"), "--input", str(src), "--output", str(output),
                     "--no-progress"])
        assert code == 2, how
        err = one_line_error(capsys)
        assert f"--output {output}: is the --input file" in err, (how, err)
        assert src.read_text(encoding="utf-8") == text, how
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.txt", "link.txt", "reviews.txt", "sub"]


def test_predict_failing_keeps_the_previous_output(tiny, tmp_path, capsys):
    out = tmp_path / "predictions.jsonl"
    model = str(tiny / "classifier")
    assert _cli(["predict", "--model", model, "--input", str(tiny / "reviews.txt"), "--output", str(out),
                 "--no-progress"]) == 0
    before = files_in(tmp_path)
    _truncated_gz(tmp_path / "big.txt.gz")  # fails after some rows were classified and written aside
    assert _cli(["predict", "--model", model, "--input", str(tmp_path / "big.txt.gz"), "--output", str(out),
                 "--no-progress"]) == 2
    assert "truncated or corrupt gzip data" in capsys.readouterr().err.strip().splitlines()[-1]
    assert {k: v for k, v in files_in(tmp_path).items() if "big.txt.gz" not in k} == before


def _trim(model: Path, texts: Path, out: Path, *extra: str) -> list[str]:
    return ["vocab", "trim", "--model", str(model), "--texts", str(texts), "--output-dir", str(out), *extra]


@pytest.mark.parametrize("bad_model", ["wordpiece", "tokenizer-only"])
def test_vocab_trim_overwrite_keeps_the_previous_output_when_the_new_run_fails(tiny, tmp_path, capsys, bad_model):
    out = tmp_path / "trimmed"
    assert _cli(_trim(tiny / "e5", tiny / "texts.txt", out)) == 0
    capsys.readouterr()
    before = snapshot(out)
    assert (out / "model.safetensors").is_file()
    assert _cli(_trim(tiny / bad_model, tiny / "texts.txt", out, "--overwrite")) == 2
    err = one_line_error(capsys)
    assert f"{tiny / bad_model}: " in err
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["trimmed"]  # no staging folder left behind


def test_vocab_trim_failing_late_keeps_the_previous_output(tiny, tmp_path, capsys):
    out = tmp_path / "trimmed"
    assert _cli(_trim(tiny / "e5", tiny / "texts.txt", out)) == 0
    before = snapshot(out)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n \n", encoding="utf-8")  # found only while counting: after the staging folder exists
    capsys.readouterr()
    assert _cli(_trim(tiny / "e5", blank, out, "--overwrite")) == 2
    assert "no texts" in one_line_error(capsys)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.txt", "trimmed"]


def test_convert_leaves_no_half_written_folder(tokenizer_files, tmp_path, capsys):
    import torch

    from helpers.kobert_standins import write_original_repo

    sp_model, vocab, _ = tokenizer_files
    folder = write_original_repo(tmp_path / "orig", "BertForMaskedLM", sp_model, vocab)
    weights = torch.load(folder / "pytorch_model.bin", weights_only=True)
    # a tensor no BERT holds: refused only once the tokenizer was already written
    torch.save({**weights, "bert.extra.weight": torch.zeros(2)}, folder / "pytorch_model.bin")
    out = tmp_path / "converted"
    assert _cli(["convert", str(folder), "--output-dir", str(out)]) == 1
    err = capsys.readouterr().err  # after transformers' own loading report
    assert "Traceback" not in err and "does not hold exactly these weights" in err.strip().splitlines()[-1], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orig"]  # nothing half-written
    torch.save(weights, folder / "pytorch_model.bin")
    assert _cli(["convert", str(folder), "--output-dir", str(out)]) == 0  # the rerun is not refused
    assert (out / "model.safetensors").is_file() and (out / "conversion.json").is_file()


# -- the newer commands: right numbers ------------------------------------------------------------------------------

def test_predict_accuracy_reads_every_spelling_of_the_labels(tiny, tmp_path, capsys):
    model = str(tiny / "classifier")
    golds = [0, 1, 1, 0, 1, 0]
    spellings = {"int": golds, "string": [str(g) for g in golds], "float": [float(g) for g in golds],
                 "bool": [bool(g) for g in golds], "bool-string": ["true" if g else "false" for g in golds],
                 "name": ["Positive" if g else "negative" for g in golds]}
    results = {}
    for how, labels in spellings.items():
        src = tmp_path / f"{how}.jsonl"
        src.write_text("".join(json.dumps({"text": t, "label": g}, ensure_ascii=False) + "\n"
                               for t, g in zip(REVIEWS + REVIEWS[:1], labels)), encoding="utf-8")
        out = tmp_path / f"{how}.out.jsonl"
        assert _cli(["predict", "--model", model, "--input", str(src), "--output", str(out), "--no-progress"]) == 0
        err = capsys.readouterr().err
        rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        assert [r["gold"] for r in rows] == ["positive" if g else "negative" for g in golds], how
        results[how] = err.split("accuracy against the input's labels ")[1].strip()
        correct = sum(r["gold"] == r["label"] for r in rows)
        assert results[how].endswith(f"({correct}/6)"), (how, results[how])
    assert len(set(results.values())) == 1, results


def test_train_accepts_a_teacher_with_padding_rows(tiny, tmp_path, capsys):
    """multilingual-e5 has 35 embedding rows no token id reaches: the student keeps the teacher's shape."""
    from transformers import AutoConfig, AutoTokenizer

    from distilkobert.distill.run import main

    out = tmp_path / "student"
    argv = ["--teacher_name_or_path", str(tiny / "e5"), "--dataset_name_or_path", str(tiny / "texts.txt"),
            "--cache_dir", str(tmp_path / "cache"), "--output_dir", str(out), "--student_layers", "0,1",
            "--max_seq_length", "32", "--use_cpu", "true", "--max_steps", "2", "--per_device_train_batch_size", "4",
            "--max_eval_sequences", "4", "--save_strategy", "no", "--disable_tqdm", "true", "--alpha_ce", "0",
            "--alpha_cos", "1", "--alpha_mlm", "1"]
    assert main(argv) == 0, capsys.readouterr().err
    teacher_rows = AutoConfig.from_pretrained(tiny / "e5").vocab_size
    assert teacher_rows == len(AutoTokenizer.from_pretrained(tiny / "e5")) + 3
    assert AutoConfig.from_pretrained(out).vocab_size == teacher_rows


# -- the newer commands: one line, exit code 2, nothing left behind ---------------------------------------------

def _truncated_gz(path: Path) -> None:
    """60 long review lines (about 120 kB), gzip, with the end of the stream cut off (a download that stopped):
    the first lines read fine, the reading fails part-way."""
    lines = "".join(f"{i} {' '.join(REVIEWS * 25)} {i * 7919 % 10007}\n" for i in range(60))
    data = gzip.compress(lines.encode("utf-8"))
    path.write_bytes(data[: len(data) - 20])


def _nsmc_tsv(path: Path) -> None:
    rows = [f"{i}\t{REVIEWS[i % len(REVIEWS)]}\t{i % 2}" for i in range(100)]
    path.write_text("id\tdocument\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")


def _bad_label(path: Path) -> None:
    path.write_text(json.dumps({"text": REVIEWS[0], "label": 1}, ensure_ascii=False) + "\n"
                    + json.dumps({"text": REVIEWS[1], "label": "maybe"}, ensure_ascii=False) + "\n", encoding="utf-8")


def _not_a_tokenizer(path: Path) -> None:
    path.mkdir()
    (path / "notes.txt").write_text("not a tokenizer\n", encoding="utf-8")


FILES = {"big.txt.gz": _truncated_gz, "reviews.tsv": _nsmc_tsv, "labels.jsonl": _bad_label,
         "notatok": _not_a_tokenizer, "file.txt": lambda p: p.write_text("a file\n", encoding="utf-8"),
         "link.tsv": lambda p: p.symlink_to(p.parent / "reviews.tsv")}
PREDICT = ["predict", "--model", "TINY/classifier", "--no-progress"]
TRIM = ["vocab", "trim", "--output-dir", "TMP/out"]
TOKENIZE = ["corpus", "tokenize", "--output-dir", "TMP/out", "--max-seq-length", "32", "--min-seq-length", "2"]

# (id, argv of `distilkobert` (TINY / TMP are replaced by the folders), expected message fragment, whether the
# failure comes before any output is written (else only the inputs are checked untouched))
COMMAND_CASES = [
    ("predict-output-is-a-folder", [*PREDICT, "--input", "TINY/reviews.txt", "--output", "TMP"],
     "--output TMP: is a folder", True),
    ("predict-output-folder-missing", [*PREDICT, "--input", "TINY/reviews.txt", "--output", "TMP/no/out.jsonl"],
     "--output TMP/no/out.jsonl: the folder TMP/no does not exist", True),
    ("predict-max-length-above-positions", [*PREDICT, "--input", "TINY/reviews.txt", "--output", "TMP/out.jsonl",
                                            "--max-length", "100000"],
     "--max-length 100000: above the model's max_position_embeddings (64)", True),
    ("predict-truncated-gz", [*PREDICT, "--input", "TMP/big.txt.gz", "--output", "TMP/out.jsonl"],
     "TMP/big.txt.gz:", True),
    ("predict-jsonl-format-on-a-tsv", [*PREDICT, "--input", "TMP/reviews.tsv", "--input-format", "jsonl",
                                       "--output", "TMP/out.jsonl"], "TMP/reviews.tsv:1: not JSON lines", True),
    ("predict-unknown-label", [*PREDICT, "--input", "TMP/labels.jsonl", "--output", "TMP/out.jsonl"],
     "TMP/labels.jsonl:2: label 'maybe' is not one of the model's labels", True),
    ("vocab-trim-wordpiece", [*TRIM, "--model", "TINY/wordpiece", "--texts", "TINY/texts.txt"],
     "TINY/wordpiece: tokenizer model is 'WordPiece'; only SentencePiece Unigram", True),
    ("vocab-trim-tokenizer-only", [*TRIM, "--model", "TINY/tokenizer-only", "--texts", "TINY/texts.txt"],
     "TINY/tokenizer-only: a tokenizer-only folder (no config.json, no weights)", True),
    ("vocab-trim-truncated-gz", [*TRIM, "--model", "TINY/e5", "--texts", "TMP/big.txt.gz"], "TMP/big.txt.gz:", True),
    ("corpus-tokenize-folder-not-a-tokenizer", [*TOKENIZE, "TINY/texts.txt", "--tokenizer", "TMP/notatok"],
     "--tokenizer TMP/notatok: not a tokenizer", True),
    ("corpus-tokenize-file-not-a-tokenizer", [*TOKENIZE, "TINY/texts.txt", "--tokenizer", "TMP/file.txt"],
     "--tokenizer TMP/file.txt: is a file", True),
    ("corpus-tokenize-truncated-gz", [*TOKENIZE, "TMP/big.txt.gz", "--tokenizer", "TINY/wordpiece"],
     "TMP/big.txt.gz:", False),  # resumable: its manifest stays, the shards done so far are reused
    ("tokenizer-train-truncated-gz", ["tokenizer", "train", "--input", "TMP/big.txt.gz", "--vocab-size", "100",
                                      "--output-dir", "TMP/out"], "TMP/big.txt.gz:", True),
    ("dataset-nsmc-test-file-is-the-train-file",
     ["dataset", "nsmc", "--train-file", "TMP/reviews.tsv", "--test-file", "TMP/reviews.tsv", "--validation-size",
      "10", "--on-bad-rows", "skip", "--output-dir", "TMP/out"], "--test-file TMP/reviews.tsv: is the --train-file",
     True),
    ("dataset-nsmc-test-file-links-to-the-train-file",
     ["dataset", "nsmc", "--train-file", "TMP/reviews.tsv", "--test-file", "TMP/link.tsv", "--validation-size",
      "10", "--on-bad-rows", "skip", "--output-dir", "TMP/out"], "--test-file TMP/link.tsv: is the --train-file",
     True),
    ("demo-output-dir-is-a-file", ["demo", "--output-dir", "TMP/file.txt"], "--output-dir TMP/file.txt: is a file",
     True),
]


@pytest.mark.parametrize("argv,message,nothing_written", [c[1:] for c in COMMAND_CASES],
                         ids=[c[0] for c in COMMAND_CASES])
def test_command_refuses_in_one_line(tiny, tmp_path, capsys, argv, message, nothing_written):
    for name, write in FILES.items():
        write(tmp_path / name)

    def fill(text: str) -> str:
        return text.replace("TINY", str(tiny)).replace("TMP", str(tmp_path))

    before = files_in(tiny, tmp_path)
    assert _cli([fill(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert fill(message) in err, err
    after = files_in(tiny, tmp_path)
    if not nothing_written:
        after = {k: v for k, v in after.items() if not k.startswith(str(tmp_path / "out"))}
    assert after == before


def test_convert_offline_names_the_repo_and_the_endpoint(tmp_path, capsys, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert _cli(["convert", "test-org/not-in-the-cache", "--output-dir", str(tmp_path / "out")]) == 1
    err = one_line_error(capsys)
    assert "REPO_OR_FOLDER test-org/not-in-the-cache: needs the Hub repo 'test-org/not-in-the-cache' from " \
           f"{constants.ENDPOINT}, but offline mode is on (HF_HUB_OFFLINE=1)" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_convert_refuses_a_file_as_output_folder_before_the_hub(tmp_path, capsys):
    out = tmp_path / "out"
    out.write_text("mine\n", encoding="utf-8")
    assert _cli(["convert", "test-org/anything", "--output-dir", str(out)]) == 2
    assert f"--output-dir {out}: is a file, not a folder" in one_line_error(capsys)
    assert out.read_text(encoding="utf-8") == "mine\n"


# -- the newer commands: minor -------------------------------------------------------------------------------------

def test_dataset_nsmc_refuses_an_empty_test_split(tmp_path, capsys):
    from distilkobert.data.cli import nsmc_main

    _nsmc_tsv(tmp_path / "train.tsv")
    test = tmp_path / "test.tsv"
    test.write_text("id\tdocument\tlabel\n1\t중복된 id\t1\n", encoding="utf-8")  # id 1 is in train: skipped
    argv = ["--train-file", str(tmp_path / "train.tsv"), "--test-file", str(test), "--validation-size", "10",
            "--on-bad-rows", "skip", "--output-dir", str(tmp_path / "out")]
    assert nsmc_main(argv) == 1
    assert f"--test-file {test}: no test row left (1 read, 1 skipped)" in one_line_error(capsys)
    assert not (tmp_path / "out").exists()


CR_LINES = [REVIEWS[i % len(REVIEWS)] + f" {i}" for i in range(7)]


def _cr_file(path: Path, header: str | None = None) -> Path:
    rows = ([header] if header else []) + [f"{i}\t{t}\t{i % 2}" if header else t for i, t in enumerate(CR_LINES)]
    path.write_bytes("\r".join(rows).encode("utf-8") + b"\r")
    return path


def _read_predict(path: Path) -> int:
    from distilkobert.serving.inputs import read_records

    return sum(1 for r in read_records(path) if r.ok)


def _read_trim(path: Path) -> int:
    from distilkobert.vocab_trim import iter_text_lines

    return len(list(iter_text_lines([path])))


def _read_tokenize(path: Path) -> int:
    from collections import Counter

    from distilkobert.distill.prepare import discover_inputs, read_documents

    files = [f for split in discover_inputs([str(path)]).values() for f in split]
    return sum(1 for d in read_documents(files, "text", Counter()) if d)


def _read_corpus(path: Path) -> int:
    from distilkobert.data.corpus import iter_text_lines, resolve_sources

    return sum(1 for item in iter_text_lines(resolve_sources([str(path)])[0]) if item[1])


def _read_nsmc(path: Path) -> int:
    from distilkobert.data.nsmc import parse_nsmc_file

    return len(parse_nsmc_file(path)[0])


def _read_tokenizer_train(path: Path) -> int:
    from distilkobert.tokenization.train import _lines

    return len(list(_lines([path])))


NSMC_HEADER = "id\tdocument\tlabel"
CR_READERS = {"predict text": (_read_predict, None, "txt"), "predict tsv": (_read_predict, NSMC_HEADER, "tsv"),
              "vocab trim": (_read_trim, None, "txt"), "corpus tokenize": (_read_tokenize, None, "txt"),
              "dataset corpus": (_read_corpus, None, "txt"), "dataset nsmc": (_read_nsmc, NSMC_HEADER, "tsv"),
              "tokenizer train": (_read_tokenizer_train, None, "txt")}


@pytest.mark.parametrize("reader", list(CR_READERS))
def test_cr_only_line_endings_are_separate_rows(reader, tmp_path):
    read, header, suffix = CR_READERS[reader]
    plain = _cr_file(tmp_path / f"cr.{suffix}", header)
    packed = tmp_path / f"cr.{suffix}.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read(plain) == read(packed) == len(CR_LINES)


def test_vocab_trim_skips_and_reports_binary_lines(tiny, tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    good = (tiny / "texts.txt").read_bytes()
    texts.write_bytes(good + b"\x00\x01\x02PK\x03\x04 binary\n" + b"\xff\xfe\xfd not utf-8\n" + "끝 문장\n".encode())
    n_good = len([x for x in good.decode("utf-8").splitlines() if x.strip()]) + 1
    assert _cli(_trim(tiny / "e5", texts, tmp_path / "out")) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["texts_counted"] == n_good and report["binary_lines_skipped"] == 2
    assert f"2 binary lines (not UTF-8 text, or with control characters) skipped, the first at {texts}:" in captured.err
    assert json.loads((tmp_path / "out" / "vocab_trim.json").read_text())["binary_lines_skipped"] == 2
