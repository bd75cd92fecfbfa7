"""`distilkobert convert`: the upgraded copy of the original repos (stand-ins on the local Hub), same weights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from distilkobert.checkpoints.cli import main
from distilkobert.checkpoints.conversion import ConvertError, convert
from distilkobert.checkpoints.repo import NotKoBertError
from distilkobert.cli import main as cli_main

from helpers.kobert_standins import (
    DISTILKOBERT,
    KOBERT,
    SP_NAME,
    write_original_repo,
)

TEXTS = ["한국어 모델을 공유합니다.", "이 영화 정말 재밌다 ㅋㅋㅋ ㅠㅠ", "배우들의 연기가 [MASK] 좋았다"]


def _hidden(model, tokenizer):
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    base = getattr(model, model.base_model_prefix, model)
    with torch.no_grad():
        return base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]


def _hub_files(hub_api, repo: str, revision: str | None = None) -> set[str]:
    return set(hub_api.list_repo_files(repo, revision=revision))


def test_convert_distilkobert_keeps_the_weights_and_fixes_the_tokenizer(standins, hub_api, tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DistilBertForMaskedLM

    from distilkobert.checkpoints.api import get_tokenizer

    out = tmp_path / "converted"
    record = convert(DISTILKOBERT, out)
    sha = hub_api.model_info(DISTILKOBERT).sha
    assert record.commit == sha and record.architecture == "DistilBertForMaskedLM"
    assert record.weights_from == "pytorch_model.bin" and record.max_abs_diff == 0.0
    files = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "spiece.model",
            "tokenization_kobert.py", "config.json", "README.md", "conversion.json"} <= files
    assert "pytorch_model.bin" not in files
    assert json.loads((out / "config.json").read_text())["pad_token_id"] == 1

    # hidden states before (the original repo, .bin) and after (the converted folder, safetensors)
    fixed = get_tokenizer(DISTILKOBERT)
    original = DistilBertForMaskedLM.from_pretrained(DISTILKOBERT, revision=sha)
    converted = AutoModelForMaskedLM.from_pretrained(out)
    assert type(converted) is DistilBertForMaskedLM
    torch.testing.assert_close(_hidden(converted, fixed), _hidden(original, fixed), rtol=0, atol=0)
    for name, tensor in original.state_dict().items():
        assert torch.equal(converted.state_dict()[name], tensor), name

    # plain AutoTokenizer now gives the exact fast tokenizer, trust_remote_code the slow class, same ids
    fast = AutoTokenizer.from_pretrained(out)
    slow = AutoTokenizer.from_pretrained(out, trust_remote_code=True)
    assert fast.is_fast and type(slow).__name__ == "KoBertTokenizer"
    ids = fixed(TEXTS)["input_ids"]
    assert fast(TEXTS)["input_ids"] == slow(TEXTS)["input_ids"] == ids
    # while the original layout, read by plain AutoTokenizer, is the BertTokenizer that gives other ids
    declared = AutoTokenizer.from_pretrained(DISTILKOBERT)
    assert type(declared).__name__ == "BertTokenizer" and declared(TEXTS)["input_ids"] != ids

    card = (out / "README.md").read_text(encoding="utf-8")
    assert f"Hub repo `{DISTILKOBERT}` at revision `main` (commit `{sha}`)" in card
    assert "The weights are unchanged" in card and "`BertTokenizer`" in card
    assert "largest absolute difference\n0)" in card
    assert "base_model: monologg/distilkobert" in card
    conversion = json.loads((out / "conversion.json").read_text(encoding="utf-8"))
    assert conversion["commit"] == sha and conversion["source_files"] == sorted(_hub_files(hub_api, DISTILKOBERT))


def test_cli_converts_kobert_and_pushes_a_version(standins, hub_api, unique_repo_id, tmp_path, capsys):
    from transformers import AutoModel, AutoTokenizer, BertModel

    target = unique_repo_id("kobert-converted")
    out = tmp_path / "kobert"
    # through the console script's command table (in-process: a subprocess would cost its imports again)
    assert cli_main(["convert", KOBERT, "--output-dir", str(out), "--push-to-hub", target, "--version", "v1"]) == 0
    stdout = capsys.readouterr().out
    assert "hidden states identical" in stdout and f"published {target} version v1" in stdout
    assert {"model.safetensors", "tokenizer.json", "README.md"} <= _hub_files(hub_api, target, "v1")
    model = AutoModel.from_pretrained(target, revision="v1")
    tokenizer = AutoTokenizer.from_pretrained(target, revision="v1")
    assert type(model) is BertModel and tokenizer.is_fast
    original = BertModel.from_pretrained(KOBERT)
    torch.testing.assert_close(_hidden(model, tokenizer), _hidden(original, tokenizer), rtol=0, atol=0)
    assert f'from_pretrained("{target}")' in (out / "README.md").read_text(encoding="utf-8")
    # a published version is never overwritten, and that is known before converting anything
    capsys.readouterr()
    assert main([KOBERT, "--output-dir", str(tmp_path / "again"), "--push-to-hub", target, "--version", "v1"]) == 1
    err = capsys.readouterr().err.strip()
    assert "already has version 'v1'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "again").exists()


def _bad_repo(tmp_path, hub_api, unique_repo_id, tokenizer_files, name, edit) -> str:
    sp_model, vocab, _ = tokenizer_files
    folder = write_original_repo(tmp_path / name, "BertModel", sp_model, vocab)
    edit(folder)
    repo = unique_repo_id(name)
    hub_api.create_repo(repo)
    hub_api.upload_folder(folder_path=str(folder), repo_id=repo)
    return repo


def _edit_config(**changes):
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config.update(changes)
        (folder / "config.json").write_text(json.dumps(config))
    return edit


def _swap_vocab_line(folder: Path) -> None:
    lines = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    lines[100] = "▁없는조각"
    (folder / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


BAD = [
    ("pad0", _edit_config(pad_token_id=0), "pad_token_id is 0, but KoBERT's [PAD] is id 1"),
    ("vocab30522", _edit_config(vocab_size=30522), "vocab_size is 30522 but vocab.txt has"),
    ("no-spm", lambda f: (f / SP_NAME).unlink(), "no SentencePiece model"),
    ("vocab-mismatch", _swap_vocab_line, f"vocab.txt does not match {SP_NAME}"),
    ("gpt2", _edit_config(model_type="gpt2", architectures=["GPT2Model"]), "model_type is 'gpt2'"),
]


@pytest.mark.parametrize("name,edit,message", BAD, ids=[b[0] for b in BAD])
def test_bad_checkpoints_are_refused_in_one_line_before_the_weights(name, edit, message, tokenizer_files, hub_api,
                                                                     unique_repo_id, tmp_path, capsys):
    from huggingface_hub import constants

    repo = _bad_repo(tmp_path, hub_api, unique_repo_id, tokenizer_files, name, edit)
    capsys.readouterr()  # the upload's progress bars
    assert main([repo, "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and repo in err, err
    assert not (tmp_path / "out").exists()
    cached = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
    assert not list(cached.rglob("pytorch_model.bin"))  # refused before any weights were downloaded


def test_the_command_imports_no_hugging_face_library_before_configuring_the_hub():
    code = ("import sys, distilkobert.checkpoints.cli; "
            "print(sorted(m for m in ('transformers', 'huggingface_hub', 'datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_folder_source_and_argument_errors(tokenizer_files, tmp_path, capsys):
    sp_model, vocab, _ = tokenizer_files
    folder = write_original_repo(tmp_path / "orig", "BertForMaskedLM", sp_model, vocab)
    record = convert(str(folder), tmp_path / "out")
    assert record.commit is None and record.architecture == "BertForMaskedLM" and record.max_abs_diff == 0.0
    assert f"the folder `{folder}`" in (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    with pytest.raises(ConvertError, match="not an empty folder"):
        convert(str(folder), tmp_path / "out")
    again = convert(str(tmp_path / "out"), tmp_path / "again")  # this project's layout converts too, unchanged
    assert again.weights_from == "model.safetensors" and again.sp_model == "spiece.model"
    assert again.declared_tokenizer_class == "TokenizersBackend" and again.max_abs_diff == 0.0
    assert "WordPiece" not in (tmp_path / "again" / "README.md").read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        main([str(folder), "--output-dir", str(tmp_path / "x"), "--push-to-hub", "org/x"])
    assert "--push-to-hub needs --version" in capsys.readouterr().err
    assert main(["test-org/surely-absent-repo", "--output-dir", str(tmp_path / "y")]) == 1
    assert "no such model repo" in capsys.readouterr().err
    (folder / "pytorch_model.bin").unlink()
    with pytest.raises(ConvertError, match="no weights"):
        convert(str(folder), tmp_path / "z")
    (tmp_path / "notes").mkdir()
    with pytest.raises(NotKoBertError, match="no config.json"):
        convert(str(tmp_path / "notes"), tmp_path / "w")
