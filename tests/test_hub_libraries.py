"""transformers and datasets publish to and load from the local Hub, at named revisions (real clients)."""

from __future__ import annotations

import pytest

KOREAN_WORDS = ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]", "영화", "정말", "재미있다", "지루하다", "최고", "별로"]


def _tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(KOREAN_WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=32)


def _tiny_bert_config(**kw):
    from transformers import BertConfig

    return BertConfig(vocab_size=len(KOREAN_WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=32, pad_token_id=1, **kw)


def test_model_and_tokenizer_from_pretrained_at_tag(hub_api, unique_repo_id, tmp_path):
    import torch
    from transformers import AutoModel, AutoTokenizer, BertModel

    torch.manual_seed(0)
    repo = unique_repo_id("tiny-bert")
    v1 = BertModel(_tiny_bert_config())
    tok = _tiny_tokenizer()
    v1.save_pretrained(tmp_path / "v1")
    tok.save_pretrained(tmp_path / "v1")
    hub_api.create_repo(repo)
    c1 = hub_api.upload_folder(folder_path=tmp_path / "v1", repo_id=repo, commit_message="v1")
    hub_api.create_tag(repo, tag="v1.0", revision=c1.oid)
    # A second version on main: loading the tag must still give v1's weights.
    v2 = BertModel(_tiny_bert_config())
    v2.save_pretrained(tmp_path / "v2")
    hub_api.upload_folder(folder_path=tmp_path / "v2", repo_id=repo, commit_message="v2")

    loaded = AutoModel.from_pretrained(repo, revision="v1.0")
    for (name, p1), (_, pl) in zip(v1.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(p1, pl), name
    latest = AutoModel.from_pretrained(repo)
    assert torch.equal(latest.embeddings.word_embeddings.weight, v2.embeddings.word_embeddings.weight)
    assert not torch.equal(latest.embeddings.word_embeddings.weight, v1.embeddings.word_embeddings.weight)

    loaded_tok = AutoTokenizer.from_pretrained(repo, revision="v1.0")
    assert loaded_tok("영화 정말 재미있다")["input_ids"] == tok("영화 정말 재미있다")["input_ids"]
    assert loaded_tok.convert_ids_to_tokens(loaded_tok("영화 별로 외계어")["input_ids"]) == \
        ["영화", "별로", "[UNK]"]


def test_datasetdict_push_to_hub_and_load_at_revision(hub_api, unique_repo_id):
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_dataset

    repo = unique_repo_id("nsmc-mini")
    features = Features({"id": Value("string"), "document": Value("string"),
                         "label": ClassLabel(names=["negative", "positive"])})
    dd = DatasetDict({
        "train": Dataset.from_dict({"id": ["1", "2", "3"], "document": ["정말 재미있다", "지루하다", "최고의 영화"],
                                    "label": [1, 0, 1]}, features=features),
        "test": Dataset.from_dict({"id": ["4"], "document": ["별로였다"], "label": [0]}, features=features),
    })
    dd.push_to_hub(repo, commit_message="v1")
    hub_api.create_tag(repo, tag="v1", repo_type="dataset")
    dd2 = DatasetDict({k: v.select(range(1)) for k, v in dd.items()})
    dd2.push_to_hub(repo, commit_message="v2")

    old = load_dataset(repo, revision="v1")
    assert old["train"]["document"] == ["정말 재미있다", "지루하다", "최고의 영화"]
    assert old["train"].features["label"].names == ["negative", "positive"]
    assert old["test"]["label"] == [0]
    new = load_dataset(repo)
    assert new["train"].num_rows == 1
    streamed = list(load_dataset(repo, revision="v1", split="train", streaming=True))
    assert [r["id"] for r in streamed] == ["1", "2", "3"]


def test_trainer_push_to_hub(local_hub, hub_api, unique_repo_id, tmp_path):
    import torch
    from datasets import Dataset
    from transformers import BertForSequenceClassification, Trainer, TrainingArguments

    torch.manual_seed(0)
    repo = unique_repo_id("trainer")
    tok = _tiny_tokenizer()
    model = BertForSequenceClassification(_tiny_bert_config(num_labels=2))
    texts, labels = ["영화 정말 재미있다", "영화 지루하다", "최고", "별로"] * 2, [1, 0, 1, 0] * 2
    ds = Dataset.from_dict({"text": texts, "label": labels}).map(
        lambda b: tok(b["text"], padding="max_length", max_length=8, truncation=True), batched=True)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_train_epochs=1,
                             push_to_hub=True, hub_model_id=repo, hub_token=local_hub.token,
                             save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    trainer.train()
    trainer.push_to_hub(commit_message="trained")
    files = set(hub_api.list_repo_files(repo))
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
    assert any(c.title == "trained" for c in hub_api.list_repo_commits(repo))
    reloaded = BertForSequenceClassification.from_pretrained(repo)
    assert torch.equal(reloaded.classifier.weight, trainer.model.classifier.weight.cpu())


@pytest.mark.parametrize("missing", ["nope.json"])
def test_optional_file_probe_is_entry_not_found(hub_api, unique_repo_id, missing):
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    repo = unique_repo_id("probe")
    hub_api.create_repo(repo)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo, missing)
