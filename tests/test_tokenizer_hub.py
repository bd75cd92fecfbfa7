"""The acceptance vector through AutoTokenizer from a repo on the local Hub (slow and fast)."""

from __future__ import annotations

from distilkobert.tokenization import build_tokenizer_folder

REF_TEXT = "[CLS] 한국어 모델을 공유합니다. [SEP]"
REF_TOKENS = ["[CLS]", "▁한국", "어", "▁모델", "을", "▁공유", "합니다", ".", "[SEP]"]
REF_IDS = [2, 4958, 6855, 2046, 7088, 1050, 7843, 54, 3]


def test_reference_vector_from_local_hub(kobert_files, tmp_path, hub_api, unique_repo_id):
    from transformers import AutoTokenizer

    folder = build_tokenizer_folder(*kobert_files, tmp_path / "tok")
    repo_id = unique_repo_id("kobert-tokenizer")
    hub_api.create_repo(repo_id, exist_ok=True)
    hub_api.upload_folder(folder_path=str(folder), repo_id=repo_id)
    fast = AutoTokenizer.from_pretrained(repo_id)
    slow = AutoTokenizer.from_pretrained(repo_id, trust_remote_code=True)
    assert fast.is_fast and not slow.is_fast
    for tok in (fast, slow):
        assert tok.tokenize(REF_TEXT) == REF_TOKENS
        assert tok.convert_tokens_to_ids(tok.tokenize(REF_TEXT)) == REF_IDS
