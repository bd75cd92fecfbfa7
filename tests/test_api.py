"""The original Python API: get_distilkobert_model / get_kobert_model / get_tokenizer, folders and the Hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from distilkobert.checkpoints.api import (
    DistilKoBERTNotFoundError,
    NotKoBertError,
    get_distilkobert_lm,
    get_distilkobert_model,
    get_kobert_lm,
    get_kobert_model,
    get_tokenizer,
)

from helpers.kobert_standins import (
    DISTILKOBERT,
    KOBERT,
    KOBERT_LM,
    REAL_SHAPE_BRANCH,
    publish_standins,
    write_original_repo,
)

REF_TEXT = "[CLS] 한국어 모델을 공유합니다. [SEP]"
REF_IDS = [2, 4958, 6855, 2046, 7088, 1050, 7843, 54, 3]
TEXTS = ["한국어 모델을 공유합니다.", "이 영화 정말 재밌다 ㅋㅋㅋ ㅠㅠ", "배우들의 연기가 [MASK] 좋았다"]


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory):
    """A tiny DistilBertForMaskedLM (the published student) and a tiny BertForMaskedLM (teacher), saved."""
    from transformers import BertConfig, BertForMaskedLM, DistilBertConfig, DistilBertForMaskedLM

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("api")
    student = DistilBertForMaskedLM(DistilBertConfig(vocab_size=64, dim=16, hidden_dim=32, n_layers=3, n_heads=2,
                                                     max_position_embeddings=32, pad_token_id=1))
    teacher = BertForMaskedLM(BertConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, max_position_embeddings=32, pad_token_id=1))
    student.save_pretrained(root / "student")
    teacher.save_pretrained(root / "teacher")
    return root, student.eval(), teacher.eval()


def _batch():
    input_ids = torch.tensor([[2, 10, 11, 12, 3], [2, 20, 3, 1, 1]])
    return input_ids, (input_ids != 1).long()


def test_distilkobert_model_returns_last_hidden_state_first(tiny_folders):
    root, student, _ = tiny_folders
    model = get_distilkobert_model(str(root / "student"))
    assert type(model).__name__ == "DistilBertModel" and not model.training
    input_ids, attention_mask = _batch()
    with torch.no_grad():
        out = model(input_ids, attention_mask)  # the original positional call
        expected = student.distilbert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    assert out[0].shape == (2, 5, 16)
    torch.testing.assert_close(out[0], expected)


def test_kobert_model_returns_last_hidden_state_first(tiny_folders):
    root, _, teacher = tiny_folders
    model = get_kobert_model(str(root / "teacher"))
    assert type(model).__name__ == "BertModel"
    input_ids, attention_mask = _batch()
    with torch.no_grad():
        out = model(input_ids, attention_mask)
        expected = teacher.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    torch.testing.assert_close(out[0], expected)


def test_defaults_come_from_the_environment(tiny_folders, monkeypatch):
    root, _, _ = tiny_folders
    monkeypatch.setenv("DISTILKOBERT_REPO", str(root / "student"))
    monkeypatch.setenv("DISTILKOBERT_TEACHER_REPO", str(root / "teacher"))
    assert type(get_distilkobert_model()).__name__ == "DistilBertModel"
    assert type(get_kobert_model()).__name__ == "BertModel"


def test_top_level_import_is_the_same_api():
    import distilkobert

    assert distilkobert.get_distilkobert_model is get_distilkobert_model
    assert distilkobert.get_tokenizer.__module__ == "distilkobert.checkpoints.api"


def test_missing_folder_gives_a_clear_oserror(tmp_path):
    with pytest.raises(DistilKoBERTNotFoundError) as info:
        get_distilkobert_model(str(tmp_path / "no" / "such" / "model"))
    assert isinstance(info.value, OSError)
    message = str(info.value)
    assert "no such folder" in message and "HF_ENDPOINT" in message and "distilkobert hub serve" in message


def test_folder_without_a_model_gives_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(DistilKoBERTNotFoundError, match=f"folder {tmp_path}"):
        get_distilkobert_model(str(tmp_path))


def test_unknown_hub_repo_names_the_endpoint(local_hub, unique_repo_id):
    repo = unique_repo_id("absent")
    with pytest.raises(DistilKoBERTNotFoundError) as info:
        get_kobert_model(repo, revision="v1")
    message = str(info.value)
    assert repo in message and local_hub.url.rstrip("/") in message and "'v1'" in message
    assert "DISTILKOBERT_TEACHER_REPO" in message


def _point_at_a_dead_endpoint(monkeypatch) -> str:
    """A port nobody listens on; the endpoint constants are read at import, so patch them where they are used."""
    import socket

    from huggingface_hub import constants

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(constants, "ENDPOINT", dead)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", dead + "/{repo_id}/resolve/{revision}/{filename}")
    return dead


def test_unreachable_hub_fails_fast_with_a_clear_error(monkeypatch):
    import time

    dead = _point_at_a_dead_endpoint(monkeypatch)
    start = time.monotonic()
    with pytest.raises(DistilKoBERTNotFoundError) as info:
        get_distilkobert_model("test-org/unreachable-model")
    assert time.monotonic() - start < 10  # not the clients' ~30 s of retries
    assert dead in str(info.value) and "not reachable" in str(info.value) and "HF_ENDPOINT" in str(info.value)


def test_published_model_loads_by_revision_and_then_from_the_cache_offline(tiny_folders, unique_repo_id,
                                                                           monkeypatch):
    from distilkobert.hub.publish import publish_folder

    root, student, _ = tiny_folders
    repo = unique_repo_id("api-student")
    publish_folder(root / "student", repo, version="v1")
    input_ids, attention_mask = _batch()
    with torch.no_grad():
        expected = student.distilbert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        online = get_distilkobert_model(repo, revision="v1")(input_ids, attention_mask)[0]
        torch.testing.assert_close(online, expected)
        _point_at_a_dead_endpoint(monkeypatch)
        cached = get_distilkobert_model(repo, revision="v1")(input_ids, attention_mask)[0]
    torch.testing.assert_close(cached, expected)


# ------------------------------------------------------------------ the original repos (stand-ins on the local Hub)
def _original_weights(repo: str, revision: str | None = None) -> dict[str, torch.Tensor]:
    from huggingface_hub import hf_hub_download

    return torch.load(hf_hub_download(repo, "pytorch_model.bin", revision=revision), weights_only=True)


def _assert_same_weights(model, original: dict[str, torch.Tensor], prefix: str = "") -> None:
    state = model.state_dict()
    compared = 0
    for name, tensor in original.items():
        key = name[len(prefix):] if prefix and name.startswith(prefix) else name
        if key in state:
            assert torch.equal(state[key], tensor), key
            compared += 1
    assert compared >= len(state) - 1  # every weight (a tied decoder may be stored once)


@pytest.mark.parametrize("getter,repo,cls,prefix", [
    (get_kobert_model, KOBERT, "BertModel", ""),
    (get_kobert_lm, KOBERT_LM, "BertForMaskedLM", ""),
    (get_distilkobert_model, DISTILKOBERT, "DistilBertModel", "distilbert."),
    (get_distilkobert_lm, DISTILKOBERT, "DistilBertForMaskedLM", ""),
], ids=["kobert", "kobert-lm", "distilkobert", "distilkobert-lm"])
def test_defaults_are_the_original_repos(getter, repo, cls, prefix, standins):
    model = getter()  # no argument: monologg/* from HF_ENDPOINT (the stand-ins: pytorch_model.bin, old config)
    assert type(model).__name__ == cls and not model.training
    _assert_same_weights(model, _original_weights(repo), prefix)
    tokenizer = get_tokenizer()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    base = getattr(model, model.base_model_prefix, model)
    with torch.no_grad():
        positional = model(batch["input_ids"], batch["attention_mask"])[0]  # the original README's call
        expected = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
        hidden = base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
    torch.testing.assert_close(positional, expected, rtol=0, atol=0)
    assert hidden.shape == (*batch["input_ids"].shape, model.config.to_dict().get("hidden_size", 32))


def test_get_tokenizer_is_the_exact_one_not_the_declared_bert_tokenizer(standins, tokenizer_files):
    from transformers import AutoTokenizer

    fast, slow = get_tokenizer(), get_tokenizer(slow=True)
    assert fast.is_fast and type(slow).__name__ == "KoBertTokenizer"
    assert type(get_tokenizer(trust_remote_code=True)).__name__ == "KoBertTokenizer"
    ids = fast(TEXTS)["input_ids"]
    assert slow(TEXTS)["input_ids"] == ids and fast.pad_token_id == 1 and fast.model_max_length == 512
    enc = fast(TEXTS[0], return_offsets_mapping=True)  # offsets point into the raw text
    pieces = fast.convert_ids_to_tokens(enc["input_ids"])[1:-1]
    spans = [TEXTS[0][a:b].strip() for (a, b), p in zip(enc["offset_mapping"][1:-1], pieces, strict=True) if p != "▁"]
    assert spans == [p.lstrip("▁") for p in pieces if p != "▁"] and "".join(spans) == TEXTS[0].replace(" ", "")
    declared = AutoTokenizer.from_pretrained(KOBERT)  # what plain AutoTokenizer makes of the original layout
    assert type(declared).__name__ == "BertTokenizer" and declared(TEXTS)["input_ids"] != ids
    if tokenizer_files[2]:  # the real KoBERT files
        assert fast.convert_tokens_to_ids(fast.tokenize(REF_TEXT)) == REF_IDS
        assert declared.convert_tokens_to_ids(declared.tokenize(REF_TEXT)).count(0) == 3  # three [UNK]s


def test_get_tokenizer_downloads_two_files_and_caches_by_commit(tokenizer_files, hub_api, unique_repo_id,
                                                                tmp_path, monkeypatch):
    from huggingface_hub import constants

    sp_model, vocab, _ = tokenizer_files
    repo = unique_repo_id("kobert-copy")
    folder = write_original_repo(tmp_path / "repo", "BertModel", sp_model, vocab)
    hub_api.create_repo(repo)
    first = hub_api.upload_folder(folder_path=str(folder), repo_id=repo).oid
    built = Path(get_tokenizer(repo).name_or_path)
    assert first in str(built) and (built / "tokenizer.json").is_file()
    snapshot = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "snapshots" / first
    assert {p.name for p in snapshot.iterdir()} == {"config.json", "tokenizer_config.json", "vocab.txt",
                                                    "tokenizer_78b3253a26.model"}  # no weights
    stamp = (built / "tokenizer.json").stat().st_mtime_ns
    assert Path(get_tokenizer(repo).name_or_path) == built and (built / "tokenizer.json").stat().st_mtime_ns == stamp
    second = hub_api.upload_file(path_or_fileobj=b"# notes", path_in_repo="NOTES.md", repo_id=repo).oid
    assert second in str(Path(get_tokenizer(repo).name_or_path))  # a new commit, its own build
    assert first in str(Path(get_tokenizer(repo, revision=first).name_or_path))
    _point_at_a_dead_endpoint(monkeypatch)  # offline: the cached files and build serve the same revision
    assert get_tokenizer(repo)(TEXTS)["input_ids"] == get_tokenizer(str(folder))(TEXTS)["input_ids"]


def _edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def test_not_kobert_family_is_refused_in_one_line(standins, tokenizer_files, tmp_path):
    sp_model, vocab, _ = tokenizer_files
    with pytest.raises(NotKoBertError, match="model_type is 'distilbert', expected 'bert'"):
        get_kobert_model(DISTILKOBERT)
    pad0 = write_original_repo(tmp_path / "pad0", "BertModel", sp_model, vocab)
    _edit_config(pad0, pad_token_id=0)
    with pytest.raises(NotKoBertError, match=r"pad_token_id is 0, but KoBERT's \[PAD\] is id 1") as info:
        get_kobert_model(str(pad0))
    assert len(str(info.value).splitlines()) == 1 and str(pad0) in str(info.value)
    (pad0 / "tokenizer_78b3253a26.model").unlink()
    with pytest.raises(NotKoBertError, match="no SentencePiece model"):
        get_tokenizer(str(pad0))
    big = write_original_repo(tmp_path / "big", "BertModel", sp_model, vocab)
    _edit_config(big, vocab_size=30522)
    with pytest.raises(NotKoBertError, match="vocab_size is 30522 but vocab.txt has"):
        get_kobert_model(str(big))


@pytest.mark.slow
def test_real_shape_original_repos(tokenizer_files, tmp_path, local_hub):
    """12 x 768 BertModel and 3 x 768 DistilBertForMaskedLM in the original layout, under the original names."""
    sp_model, vocab, _ = tokenizer_files
    publish_standins(local_hub, tmp_path, sp_model, vocab, real_shape=True)
    tokenizer = get_tokenizer(revision=REAL_SHAPE_BRANCH)
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    for getter, repo, layers, prefix in ((get_kobert_model, KOBERT, 12, ""),
                                         (get_distilkobert_model, DISTILKOBERT, 3, "distilbert.")):
        model = getter(revision=REAL_SHAPE_BRANCH)
        config = model.config.to_dict()
        assert config.get("num_hidden_layers", config.get("n_layers")) == layers
        assert config["vocab_size"] == len(tokenizer) and config["pad_token_id"] == 1
        _assert_same_weights(model, _original_weights(repo, REAL_SHAPE_BRANCH), prefix)
        with torch.no_grad():
            hidden = model(batch["input_ids"], batch["attention_mask"])[0]
        assert hidden.shape == (*batch["input_ids"].shape, 768) and torch.isfinite(hidden).all()
        del model
