"""Stand-ins for the published KoBERT repos, with their names and file layout, on the test session's local Hub.

``monologg/kobert`` (BertModel), ``monologg/kobert-lm`` (BertForMaskedLM) and ``monologg/distilkobert``
(DistilBertForMaskedLM) hold what the real ones hold: ``config.json`` in the old style (no
``transformers_version`` 5 keys), ``pytorch_model.bin`` (no safetensors), the SentencePiece model under its original
name ``tokenizer_78b3253a26.model``, ``vocab.txt`` with CRLF line ends and a ``tokenizer_config.json`` declaring
``BertTokenizer``. Layers are the real ones (12 / 3), the width is tiny unless ``real_shape`` (768).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

SP_NAME = "tokenizer_78b3253a26.model"
KOBERT, KOBERT_LM, DISTILKOBERT = "monologg/kobert", "monologg/kobert-lm", "monologg/distilkobert"
STANDINS = {KOBERT: "BertModel", KOBERT_LM: "BertForMaskedLM", DISTILKOBERT: "DistilBertForMaskedLM"}
REAL_SHAPE_BRANCH = "real-shape"

_published: dict[tuple[str, str], str] = {}


def original_config(architecture: str, vocab_size: int, hidden: int, pad_token_id: int = 1) -> dict:
    """config.json as the 2020 uploads wrote it (BERT 12 layers, DistilBERT 3 layers, 12 heads at width 768)."""
    heads = 12 if hidden == 768 else 2
    if architecture.startswith("DistilBert"):
        return {"activation": "gelu", "architectures": [architecture], "attention_dropout": 0.1, "dim": hidden,
                "dropout": 0.1, "hidden_dim": 4 * hidden, "initializer_range": 0.02, "max_position_embeddings": 512,
                "model_type": "distilbert", "n_heads": heads, "n_layers": 3, "pad_token_id": pad_token_id,
                "qa_dropout": 0.1, "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": False,
                "vocab_size": vocab_size}
    return {"architectures": [architecture], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "hidden_size": hidden, "initializer_range": 0.02,
            "intermediate_size": 4 * hidden, "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
            "model_type": "bert", "num_attention_heads": heads, "num_hidden_layers": 12,
            "pad_token_id": pad_token_id, "type_vocab_size": 2, "vocab_size": vocab_size}


def build_model(config: dict, seed: int = 0):
    """The transformers model for an original config, with seeded random weights."""
    import transformers
    from transformers import AutoConfig

    torch.manual_seed(seed)
    cfg = AutoConfig.for_model(**config)
    return getattr(transformers, config["architectures"][0])(cfg).eval()


def write_original_tokenizer(folder: Path, sp_model: Path, vocab: Path) -> None:
    """The tokenizer files as the original repos have them (AutoTokenizer reads them as BertTokenizer)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sp_model, folder / SP_NAME)
    lines = Path(vocab).read_text(encoding="utf-8").splitlines()
    (folder / "vocab.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer",
                                                              "do_lower_case": False, "model_max_length": 512}))
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
         "mask_token": "[MASK]"}))


def write_original_repo(folder: Path, architecture: str, sp_model: Path, vocab: Path, *, hidden: int = 32,
                        pad_token_id: int = 1, seed: int = 0) -> Path:
    """A folder laid out like monologg/kobert: config.json, pytorch_model.bin, the tokenizer files."""
    vocab_size = len(Path(vocab).read_text(encoding="utf-8").splitlines())
    config = original_config(architecture, vocab_size, hidden, pad_token_id)
    model = build_model(config, seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    write_original_tokenizer(folder, sp_model, vocab)
    return folder


def allow_namespace(local_hub, namespace: str = "monologg") -> None:
    """Let the test user write in ``namespace`` on the session's local Hub (like a member of that organisation);
    the plugin's server only grants its own test organisation."""
    orgs = getattr(local_hub.server, "orgs", None)
    if orgs is not None and local_hub.user not in orgs.get(namespace, ()):
        local_hub.server.orgs = {**orgs, namespace: frozenset({*orgs.get(namespace, ()), local_hub.user})}


def publish_standins(local_hub, work_dir: Path, sp_model: Path, vocab: Path, *,
                     real_shape: bool = False) -> dict[str, str]:
    """Publish the three stand-ins under their real names (tiny: branch main; real_shape: branch "real-shape"),
    once per test session; returns {repo: revision}."""
    from distilkobert.hub.publish import publish_folder

    allow_namespace(local_hub)
    revision = REAL_SHAPE_BRANCH if real_shape else "main"
    for seed, (repo, architecture) in enumerate(STANDINS.items()):
        if (repo, revision) in _published:
            continue
        folder = write_original_repo(work_dir / repo.replace("/", "--") / revision, architecture, sp_model, vocab,
                                     hidden=768 if real_shape else 32, seed=seed)
        publish_folder(folder, repo, revision=revision, commit_message=f"{architecture} in the original layout")
        _published[(repo, revision)] = revision
        if real_shape:
            shutil.rmtree(folder)  # hundreds of MB; the Hub has them now
    return {repo: revision for repo in STANDINS}


def kobert_tokenizer_files(shared_data: Path, work_dir: Path) -> tuple[Path, Path, bool]:
    """(sp_model, vocab.txt, is_real): the real KoBERT files from the shared data when present, else a
    KoBERT-format vocabulary trained on the repo's own Korean test sentences."""
    sp_model, vocab = shared_data / "kobert" / SP_NAME, shared_data / "kobert" / "vocab.txt"
    if sp_model.is_file() and vocab.is_file():
        return sp_model, vocab, True
    from distilkobert.tokenization import train_vocabulary

    corpus = Path(__file__).resolve().parents[1] / "data" / "korean_sentences.txt"
    folder = train_vocabulary([corpus], 400, work_dir / "trained-kobert-format", hard_vocab_limit=False)
    return folder / "spiece.model", folder / "vocab.txt", False
