"""A dependency-free reader for SentencePiece ``.model`` files (protobuf wire format).

``protobuf`` is not a dependency of this project and sentencepiece's Python API exposes neither the normalizer's
precompiled charsmap nor the trainer spec, so the handful of fields needed are decoded here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorruptModelError, MissingFileError

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# TrainerSpec field numbers (sentencepiece_model.proto) -> (name, kind)
_TRAINER_FIELDS = {
    1: ("input", "str*"), 2: ("model_prefix", "str"), 3: ("model_type", "int"), 4: ("vocab_size", "int"),
    7: ("input_format", "str"), 10: ("character_coverage", "float"), 11: ("input_sentence_size", "int"),
    14: ("seed_sentencepiece_size", "int"), 15: ("shrinking_factor", "float"), 16: ("num_threads", "int"),
    17: ("num_sub_iterations", "int"), 18: ("max_sentence_length", "int"), 19: ("shuffle_input_sentence", "bool"),
    20: ("max_sentencepiece_length", "int"), 21: ("split_by_unicode_script", "bool"),
    22: ("split_by_whitespace", "bool"), 23: ("split_by_number", "bool"),
    24: ("treat_whitespace_as_suffix", "bool"), 25: ("split_digits", "bool"),
    26: ("allow_whitespace_only_pieces", "bool"), 30: ("control_symbols", "str*"),
    31: ("user_defined_symbols", "str*"), 33: ("hard_vocab_limit", "bool"), 35: ("byte_fallback", "bool"),
    40: ("unk_id", "int"), 41: ("bos_id", "int"), 42: ("eos_id", "int"), 43: ("pad_id", "int"),
    45: ("unk_piece", "str"), 46: ("bos_piece", "str"), 47: ("eos_piece", "str"), 48: ("pad_piece", "str"),
}


@dataclass
class SpmModel:
    """The parts of a SentencePiece model that the converter and the checks need."""

    pieces: list[tuple[str, float, int]]  # (piece, float32 score as a Python float, type)
    normalizer_name: str = ""
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True
    trainer_spec: dict = field(default_factory=dict)

    @property
    def model_type(self) -> int:
        return int(self.trainer_spec.get("model_type", 1))


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(buf: bytes):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > len(buf):
            raise ValueError("truncated protobuf message")
        yield number, wire, value


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def parse_model_bytes(data: bytes, name: str = "<bytes>") -> SpmModel:
    """Decode a serialized ModelProto; raises CorruptModelError naming ``name``."""
    try:
        model = SpmModel(pieces=[])
        for number, wire, value in _fields(data):
            if number == 1 and wire == 2:
                piece, score, ptype = None, 0.0, NORMAL
                for n2, w2, v2 in _fields(value):
                    if n2 == 1 and w2 == 2:
                        piece = v2.decode("utf-8")
                    elif n2 == 2 and w2 == 5:
                        score = struct.unpack("<f", v2)[0]
                    elif n2 == 3 and w2 == 0:
                        ptype = v2
                if piece is None:
                    raise ValueError(f"piece #{len(model.pieces)} has no text")
                model.pieces.append((piece, score, ptype))
            elif number == 2 and wire == 2:
                for n2, _w2, v2 in _fields(value):
                    if n2 not in _TRAINER_FIELDS:
                        continue
                    fname, kind = _TRAINER_FIELDS[n2]
                    if kind == "str*":
                        model.trainer_spec.setdefault(fname, []).append(v2.decode("utf-8", "replace"))
                    elif kind == "str":
                        model.trainer_spec[fname] = v2.decode("utf-8", "replace")
                    elif kind == "float":
                        model.trainer_spec[fname] = struct.unpack("<f", v2)[0]
                    elif kind == "bool":
                        model.trainer_spec[fname] = bool(v2)
                    else:
                        model.trainer_spec[fname] = _signed(v2)
            elif number == 3 and wire == 2:
                for n2, _w2, v2 in _fields(value):
                    if n2 == 1:
                        model.normalizer_name = v2.decode("utf-8")
                    elif n2 == 2:
                        model.precompiled_charsmap = bytes(v2)
                    elif n2 == 3:
                        model.add_dummy_prefix = bool(v2)
                    elif n2 == 4:
                        model.remove_extra_whitespaces = bool(v2)
                    elif n2 == 5:
                        model.escape_whitespaces = bool(v2)
    except (ValueError, IndexError, UnicodeDecodeError, struct.error) as exc:
        raise CorruptModelError(f"{name}: not a valid SentencePiece model ({exc})") from None
    if not model.pieces:
        raise CorruptModelError(f"{name}: not a valid SentencePiece model (no pieces)")
    return model


def read_model(path: str | Path) -> SpmModel:
    """Read and decode a SentencePiece ``.model`` file."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: SentencePiece model file not found")
    return parse_model_bytes(path.read_bytes(), str(path))


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def piece_score_offsets(data: bytes) -> list[tuple[str, int | None]]:
    """For each piece of a serialized ModelProto, in order: its text and the byte offset of its 4-byte score
    (``SentencePiece.score``, field 2, wire type 5: a little-endian float32), or None when the field is absent
    (score 0). Lets scores be patched in place without re-encoding the message."""
    out: list[tuple[str, int | None]] = []
    i = 0
    try:
        while i < len(data):
            key, i = _varint(data, i)
            number, wire = key >> 3, key & 7
            if wire == 0:
                _, i = _varint(data, i)
            elif wire == 1:
                i += 8
            elif wire == 5:
                i += 4
            elif wire == 2:
                n, j = _varint(data, i)
                i = j + n
                if number == 1:
                    text, offset, k = None, None, j
                    while k < i:
                        key2, k = _varint(data, k)
                        n2, w2 = key2 >> 3, key2 & 7
                        if w2 == 0:
                            _, k = _varint(data, k)
                        elif w2 == 1:
                            k += 8
                        elif w2 == 5:
                            if n2 == 2:
                                offset = k
                            k += 4
                        elif w2 == 2:
                            m, k2 = _varint(data, k)
                            if n2 == 1:
                                text = data[k2:k2 + m].decode("utf-8")
                            k = k2 + m
                        else:
                            raise ValueError(f"unsupported protobuf wire type {w2}")
                    if k != i or text is None:
                        raise ValueError(f"malformed piece #{len(out)}")
                    out.append((text, offset))
            else:
                raise ValueError(f"unsupported protobuf wire type {wire}")
            if i > len(data):
                raise ValueError("truncated protobuf message")
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise CorruptModelError(f"not a valid SentencePiece model ({exc})") from None
    return out


def set_piece_scores(data: bytes, scores: dict[str, float]) -> bytes:
    """Return ``data`` with the float32 score of each piece named in ``scores`` overwritten in place (every other
    byte unchanged). A piece without a stored score field (score 0) cannot be patched in place: it raises."""
    out = bytearray(data)
    for text, offset in piece_score_offsets(data):
        if text in scores:
            if offset is None:
                raise CorruptModelError(f"piece {text!r} has no score field to patch")
            out[offset:offset + 4] = struct.pack("<f", scores[text])
    return bytes(out)


def mark_pieces_unused(data: bytes, pieces: set[str]) -> bytes:
    """Re-serialize a ModelProto with ``pieces`` typed UNUSED (SentencePiece then never emits them); the other
    fields are copied byte for byte."""
    out = bytearray()
    i = 0
    while i < len(data):
        start = i
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, j = _varint(data, i)
            value, i = data[j:j + n], j + n
            if number == 1:
                fields = list(_fields(value))
                text = next((v.decode("utf-8") for f, w, v in fields if f == 1 and w == 2), None)
                if text in pieces:
                    msg = bytearray()
                    for f, w, v in fields:
                        if f == 3:
                            continue
                        msg += _encode_varint((f << 3) | w)
                        msg += _encode_varint(len(v)) + v if w == 2 else (v if w in (1, 5) else _encode_varint(v))
                    msg += _encode_varint((3 << 3) | 0) + _encode_varint(UNUSED)
                    out += _encode_varint((1 << 3) | 2) + _encode_varint(len(msg)) + msg
                    continue
        else:
            raise CorruptModelError(f"unsupported protobuf wire type {wire}")
        out += data[start:i]
    return bytes(out)


def charsmap_entries(blob: bytes, keep=None) -> dict[bytes, bytes]:
    """The (key, replacement) pairs of a SentencePiece ``precompiled_charsmap`` (byte strings, UTF-8).

    The blob is a little-endian uint32 trie size, a darts-clone double array of that many bytes, then the
    NUL-terminated replacement strings. Walks the double array depth first over all 255 non-zero labels.
    ``keep(text)``, if given, is asked for every key prefix that is complete UTF-8; False skips all keys under it
    (nmt_nfkc holds ~225,000 keys, mostly decomposed sequences nobody needs listed).
    """
    if len(blob) < 4:
        return {}
    size = struct.unpack_from("<I", blob)[0]
    units = struct.unpack_from(f"<{size // 4}I", blob, 4)
    strings = blob[4 + size:]

    def offset(unit: int) -> int:
        return (unit >> 10) << ((unit & (1 << 9)) >> 6)

    out: dict[bytes, bytes] = {}
    stack = [(0, b"")]
    while stack:
        pos, key = stack.pop()
        if keep is not None and key:
            try:
                text = key.decode("utf-8")
            except UnicodeDecodeError:
                text = None  # inside a multi-byte character
            if text is not None and not keep(text):
                continue
        unit = units[pos]
        base = pos ^ offset(unit)
        if (unit >> 8) & 1:  # has a leaf: the value sits in the unit at `base`
            start = units[base] & 0x7FFFFFFF
            out[key] = strings[start:strings.index(b"\0", start)]
        for label in range(1, 256):
            child = base ^ label
            if child < len(units) and units[child] & ((1 << 31) | 0xFF) == label:
                stack.append((child, key + bytes([label])))
    return out
