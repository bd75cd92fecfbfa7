"""The original Python API: get_distilkobert_model / get_kobert_model / get_tokenizer, folders and the Hub."""

from __future__ import annotations

import pytest
import torch

from distilkobert.api import DistilKoBERTNotFoundError, get_distilkobert_model, get_kobert_model


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
    assert distilkobert.get_tokenizer.__module__ == "distilkobert.api"


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
