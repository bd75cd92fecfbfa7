"""Convert a KoBERT-family checkpoint into an upgraded copy with the same weights (``distilkobert convert``).

The copy has ``model.safetensors`` (from ``pytorch_model.bin``, read with ``torch.load(weights_only=True)`` by
transformers), the exact fast ``tokenizer.json`` built from the checkpoint's own SentencePiece model and
``vocab.txt`` (plain ``AutoTokenizer`` loads it; ``trust_remote_code=True`` gives the slow ``KoBertTokenizer``),
``config.json`` with ``pad_token_id`` 1 checked, a model card naming the source repo and commit, and
``conversion.json`` (the same facts for programs). The converted model's hidden states are compared with the
original's before the copy is declared done; a checkpoint that is not KoBERT-family, whose vocab.txt does not
match its SentencePiece model or whose pad id is not 1 is refused, from config.json and the file list, before the
weights are downloaded. The command line is :mod:`distilkobert.checkpoints.cli`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import transformers
from huggingface_hub import ModelCard, ModelCardData, constants
from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from transformers import PreTrainedModel, PreTrainedTokenizerFast

from distilkobert._version import __version__
from distilkobert.checkpoints.repo import (
    KOBERT_PAD_ID,
    Checkpoint,
    NotKoBertError,
    build_checkpoint_tokenizer,
    check_model_config,
    check_tokenizer_files,
    open_checkpoint,
)
from distilkobert.common.output_dir import staged_output
from distilkobert.hub.publish import PublishResult, VersionExistsError, check_version_available, publish_folder

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
DEFAULT_ARCHITECTURE = {"bert": "BertModel", "distilbert": "DistilBertModel"}
# Buffers some old checkpoints saved with the weights; transformers recomputes them, so dropping them changes nothing.
RECOMPUTED_BUFFERS = ("position_ids",)
SAMPLE_TEXTS = ("한국어 모델을 공유합니다.", "이 영화 정말 재밌다 ㅋㅋ", "[MASK]는 최고의 배우다!")


class ConvertError(RuntimeError):
    """The conversion cannot be done as asked (the message is one line)."""


@dataclass
class ConversionRecord:
    """What was converted from where, and the checks that show the weights are unchanged."""

    source: str
    revision: str | None
    commit: str | None
    source_files: list[str]
    architecture: str
    model_type: str
    weights_from: str
    tensors: int
    parameters: int
    dropped_buffers: list[str] = field(default_factory=list)
    max_abs_diff: float = 0.0
    sample_texts: list[str] = field(default_factory=list)
    sp_model: str = ""
    declared_tokenizer_class: str | None = None
    distilkobert_version: str = ""


def _architecture(config: dict, model_type: str) -> tuple[str, type[PreTrainedModel]]:
    names = [a for a in config.get("architectures") or [] if hasattr(transformers, a)]
    name = names[0] if names else DEFAULT_ARCHITECTURE[model_type]
    return name, getattr(transformers, name)


def _model_type(config: dict) -> str:
    return config.get("model_type") or ("distilbert" if "n_layers" in config else "bert")


def _check_output_dir(output_dir: Path) -> None:
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise ConvertError(f"--output-dir {output_dir}: exists and is not an empty folder; choose a new one")


def _hidden(model: PreTrainedModel, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    base = getattr(model, model.base_model_prefix, model)
    with torch.no_grad():
        return base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]


def _load_checked(cls: type[PreTrainedModel], ckpt: Checkpoint) -> tuple[PreTrainedModel, list[str]]:
    """The model with exactly the checkpoint's weights: refuse if any weight would be freshly initialised or
    thrown away; returns the dropped recomputed buffers (e.g. position_ids) so they can be reported."""
    model, info = cls.from_pretrained(ckpt.source, revision=ckpt.sha, local_files_only=ckpt.local_files_only,
                                      output_loading_info=True)
    missing = sorted(info.get("missing_keys") or [])
    mismatched = sorted(str(k) for k in info.get("mismatched_keys") or [])
    unexpected = sorted(info.get("unexpected_keys") or [])
    dropped = [k for k in unexpected if k.rsplit(".", 1)[-1] in RECOMPUTED_BUFFERS]
    lost = [k for k in unexpected if k not in dropped]
    if missing or mismatched or lost:
        raise ConvertError(
            f"{ckpt.where()}: {cls.__name__} does not hold exactly these weights ({len(missing)} missing, e.g. "
            f"{missing[:3]}; {len(mismatched)} of another shape, e.g. {mismatched[:3]}; {len(lost)} unused, e.g. "
            f"{lost[:3]}): converting would change the model")
    return model.eval(), dropped


def _card(record: ConversionRecord, ckpt: Checkpoint, license_: str | None, repo_id: str) -> str:
    is_lm = record.architecture.endswith("ForMaskedLM")
    data = ModelCardData(language="ko", license=license_, library_name="transformers",
                         pipeline_tag="fill-mask" if is_lm else "feature-extraction",
                         tags=["kobert", "korean", "safetensors"],
                         base_model=ckpt.repo_id)
    source = (f"Hub repo `{record.source}` at revision `{record.revision or 'main'}` (commit `{record.commit}`)"
              if ckpt.repo_id else f"the folder `{record.source}`")
    dropped = (f" Dropped: {len(record.dropped_buffers)} buffers that transformers recomputes "
               f"({', '.join(f'`{b}`' for b in record.dropped_buffers)})." if record.dropped_buffers else "")
    declared = record.declared_tokenizer_class
    tokenizer_before = (f"`tokenizer_config.json` declares `{declared}`" if declared else "no fast tokenizer")
    if declared in ("BertTokenizer", "BertTokenizerFast"):
        tokenizer_before += (": `AutoTokenizer` builds a WordPiece tokenizer over the SentencePiece vocabulary "
                             "and maps most Korean words to `[UNK]`")
    tokenizer_after = (f"the exact fast `tokenizer.json`, built from `{record.sp_model}` and `vocab.txt`: plain "
                       "`AutoTokenizer` loads it; `trust_remote_code=True` gives the slow `KoBertTokenizer` (same ids)")
    body = f"""
# {Path(record.source).name} (converted)

Converted by `distilkobert convert` from {source}: `{record.architecture}`, {record.parameters:,} parameters.

**The weights are unchanged.** The model's {record.tensors} tensors are read from `{record.weights_from}` and
stored in `model.safetensors` with the same values and dtypes; on {len(record.sample_texts)} test sentences the
converted model's last hidden states equal the original's (largest absolute difference
{record.max_abs_diff:g}).{dropped}

| | original | this copy |
|---|---|---|
| weights | `{record.weights_from}` | `model.safetensors` |
| tokenizer | {tokenizer_before} | {tokenizer_after} |
| pad id | `pad_token_id` {KOBERT_PAD_ID} | `pad_token_id` {KOBERT_PAD_ID} (checked) |

```python
from transformers import AutoModel, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{repo_id}")
model = AutoModel.from_pretrained("{repo_id}")
batch = tokenizer(["한국어 모델을 공유합니다."], return_tensors="pt")
last_hidden_state = model(**batch)[0]
```

KoBERT's `[PAD]` is id {KOBERT_PAD_ID} and `[UNK]` id 0: build attention masks from `attention_mask`, never from
`input_ids == 0`. `conversion.json` records the same facts for programs.
"""
    return ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n" + body).content


def _source_license(ckpt: Checkpoint) -> str | None:
    if not ckpt.has("README.md"):
        return None
    try:
        return ModelCard.load(ckpt.path("README.md")).data.license
    except Exception:  # a card without valid metadata: the license is just unknown
        return None


def _open(source: str, revision: str | None) -> Checkpoint:
    """The checkpoint, with Hub failures as one-line `ConvertError`s naming the repo and the endpoint; offline
    (HF_HUB_OFFLINE=1) a Hub repo is read from the Hugging Face cache."""
    offline = constants.HF_HUB_OFFLINE
    try:
        return open_checkpoint(source, revision, local_files_only=offline and not Path(source).expanduser().is_dir())
    except RepositoryNotFoundError:
        raise ConvertError(f"{source}: no such folder, and no such model repo on {constants.ENDPOINT}") from None
    except RevisionNotFoundError:
        raise ConvertError(f"{source}: no revision {revision!r} on {constants.ENDPOINT}") from None
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        raise ConvertError(f"REPO_OR_FOLDER {source}: needs the Hub repo {source!r} from {constants.ENDPOINT}, but "
                           "offline mode is on (HF_HUB_OFFLINE=1) and it is not in the Hugging Face cache; unset "
                           "HF_HUB_OFFLINE to download it, or pass a local folder") from None


def convert(source: str, output_dir: str | Path, *, revision: str | None = None,
            repo_id: str | None = None) -> ConversionRecord:
    """Write the upgraded copy of ``source`` (Hub repo or folder) to ``output_dir``; returns what was done.
    ``repo_id``: where the copy will be published (named in the model card's example; default the folder).

    The copy is written to a sibling folder that becomes ``output_dir`` only once complete and checked: a failure
    leaves no half-written folder behind."""
    output_dir = Path(output_dir)
    _check_output_dir(output_dir)
    ckpt = _open(source, revision)
    # everything that can refuse the checkpoint, before its weights are downloaded
    config = check_model_config(ckpt)
    sp_name, _ = check_tokenizer_files(ckpt)
    weights = next((w for w in WEIGHT_FILES if ckpt.has(w)), None)
    if weights is None:
        raise ConvertError(f"{ckpt.where()}: no weights ({' or '.join(WEIGHT_FILES)})")
    model_type = _model_type(config)
    arch, cls = _architecture(config, model_type)
    record = ConversionRecord(
        source=source, revision=revision, commit=ckpt.sha, source_files=ckpt.files, architecture=arch,
        model_type=model_type, weights_from=weights, tensors=0, parameters=0, sample_texts=list(SAMPLE_TEXTS),
        sp_model=sp_name, declared_tokenizer_class=ckpt.tokenizer_config().get("tokenizer_class"),
        distilkobert_version=__version__)
    with staged_output(output_dir, False) as staging:
        _write_copy(ckpt, cls, staging, record)
        card = _card(record, ckpt, _source_license(ckpt), repo_id or str(output_dir))
        (staging / "README.md").write_text(card, encoding="utf-8")
    return record


def _write_copy(ckpt: Checkpoint, cls: type[PreTrainedModel], out: Path, record: ConversionRecord) -> None:
    """Write the tokenizer, the weights (as safetensors) and conversion.json to ``out``, after checking that the
    written model's hidden states equal the original's; fills in ``record``'s measured fields."""
    build_checkpoint_tokenizer(ckpt, out)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(out))
    batch = tokenizer(list(SAMPLE_TEXTS), padding=True, return_tensors="pt")

    original, record.dropped_buffers = _load_checked(cls, ckpt)
    before = _hidden(original, batch)
    original.save_pretrained(out)
    converted = cls.from_pretrained(str(out)).eval()
    if converted.config.pad_token_id != KOBERT_PAD_ID:
        raise ConvertError(f"{ckpt.where()}: config.json pad_token_id {converted.config.pad_token_id}, "
                           f"expected {KOBERT_PAD_ID}")
    diff = (_hidden(converted, batch) - before).abs().max().item()
    if diff != 0.0:
        raise ConvertError(f"{ckpt.where()}: the converted model's hidden states differ from the original's by {diff}")
    record.max_abs_diff = diff
    record.tensors = len(converted.state_dict())
    record.parameters = sum(p.numel() for p in converted.parameters())
    (out / "conversion.json").write_text(json.dumps(asdict(record), ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8")


def publish(output_dir: str | Path, repo_id: str, version: str, record: ConversionRecord) -> PublishResult:
    """Publish the converted folder as version ``version`` of ``repo_id`` (an existing version is refused)."""
    return publish_folder(output_dir, repo_id, version=version,
                          commit_message=f"Convert {record.source} at {record.commit or 'a local folder'} ({version})")


def convert_command(source: str, output_dir: Path, *, revision: str | None, push_to_hub: str | None,
                    version: str | None) -> None:
    """`distilkobert convert` after its argument checks: convert (then publish), printing what was done.
    Every refusal is a `ConvertError` of one line (a taken version is refused before anything is converted)."""
    try:
        if push_to_hub:
            check_version_available(push_to_hub, version)
        record = convert(source, output_dir, revision=revision, repo_id=push_to_hub)
    except NotKoBertError as exc:
        raise ConvertError(str(exc)) from exc
    except VersionExistsError as exc:
        raise ConvertError(f"--push-to-hub {push_to_hub}: {exc}") from exc
    except HfHubHTTPError as exc:
        raise ConvertError(f"{source}: {str(exc).splitlines()[0]}") from exc
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as exc:  # a file the cache lacks, offline
        raise ConvertError(f"REPO_OR_FOLDER {source}: a file of the Hub repo is not in the Hugging Face cache and "
                           f"offline mode is on (HF_HUB_OFFLINE=1); unset it to download from "
                           f"{constants.ENDPOINT}") from exc
    print(f"converted {record.source} (commit {record.commit or '-'}): {record.architecture}, "
             f"{record.tensors} tensors, {record.parameters:,} parameters, hidden states identical "
             f"(max |diff| {record.max_abs_diff:g}) -> {output_dir}")
    if push_to_hub:
        try:
            result = publish(output_dir, push_to_hub, version, record)
        except (VersionExistsError, ValueError, HfHubHTTPError) as exc:
            raise ConvertError(str(exc).splitlines()[0]) from exc
        print(f"published {result.repo_id} version {result.tag} (commit {result.commit_sha}): {result.url}")
