"""KoBERT's slow tokenizer: a SentencePiece Unigram model + ``vocab.txt`` (ids come from vocab.txt).

Self-contained on purpose (imports only the standard library, ``sentencepiece`` and ``transformers``): this file is
copied next to ``tokenizer_config.json`` and loaded as Hub remote code with
``AutoTokenizer.from_pretrained(dir_or_repo, trust_remote_code=True)``.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from typing import Any

import sentencepiece as spm
from transformers import PreTrainedTokenizer

VOCAB_FILES_NAMES = {"vocab_file": "spiece.model", "vocab_txt": "vocab.txt"}
SPIECE_UNDERLINE = "\u2581"
SPECIAL_TOKENS = ("[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]")


def load_vocab_txt(path: str) -> list[str]:
    """Read vocab.txt (one token a line, LF or CRLF); raises ValueError naming the file on duplicates."""
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.splitlines()
    while lines and lines[-1].strip() == "":
        lines.pop()
    tokens = [line.strip() for line in lines]
    seen: dict[str, int] = {}
    for lineno, token in enumerate(tokens, 1):
        if token in seen:
            raise ValueError(f"{path}:{lineno}: duplicate token {token!r} (first on line {seen[token]})")
        seen[token] = lineno
    return tokens


class KoBertTokenizer(PreTrainedTokenizer):
    """KoBERT tokenizer: ``[UNK]=0 [PAD]=1 [CLS]=2 [SEP]=3 [MASK]=4``, pieces from SentencePiece, ids from vocab.txt.

    Preprocessing (as in the original KoBERT/ALBERT tokenizer): ``remove_space`` collapses whitespace runs and strips,
    ````` `` ``` and ``''`` become ``"``, ``keep_accents=False`` applies NFKD and drops combining marks,
    ``do_lower_case`` lowercases; pieces such as ``▁1,`` are re-split into ``▁1`` + ``,`` (the digit-comma rule).
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(
        self,
        vocab_file: str,
        vocab_txt: str,
        do_lower_case: bool = False,
        remove_space: bool = True,
        keep_accents: bool = False,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        **kwargs: Any,
    ) -> None:
        # The vocab must exist before the base __init__ runs: it calls get_vocab()/_convert_token_to_id.
        self.vocab_file = vocab_file
        self.vocab_txt = vocab_txt
        self.do_lower_case = do_lower_case
        self.remove_space = remove_space
        self.keep_accents = keep_accents
        self.idx2token = load_vocab_txt(vocab_txt)
        self.token2idx = {token: idx for idx, token in enumerate(self.idx2token)}
        self.sp_model = spm.SentencePieceProcessor()
        self.sp_model.Load(vocab_file)
        kwargs.setdefault("model_max_length", 512)
        kwargs.setdefault("special_tokens_pattern", "cls_sep")
        super().__init__(
            do_lower_case=do_lower_case,
            remove_space=remove_space,
            keep_accents=keep_accents,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            **kwargs,
        )

    @property
    def vocab_size(self) -> int:
        return len(self.idx2token)

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self.token2idx)
        vocab.update(self.added_tokens_encoder)
        return vocab

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["sp_model"] = None  # the C++ processor does not pickle; reload it from the file
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__ = state
        self.sp_model = spm.SentencePieceProcessor()
        self.sp_model.Load(self.vocab_file)

    def preprocess_text(self, inputs: str) -> str:
        if self.remove_space:
            outputs = " ".join(inputs.strip().split())
        else:
            outputs = inputs
        outputs = outputs.replace("``", '"').replace("''", '"')
        if not self.keep_accents:
            outputs = unicodedata.normalize("NFKD", outputs)
            outputs = "".join(c for c in outputs if not unicodedata.combining(c))
        if self.do_lower_case:
            outputs = outputs.lower()
        return outputs

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        text = self.preprocess_text(text)
        pieces = self.sp_model.EncodeAsPieces(text)
        new_pieces: list[str] = []
        for piece in pieces:
            if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
                cur_pieces = self.sp_model.EncodeAsPieces(piece[:-1].replace(SPIECE_UNDERLINE, ""))
                if piece[0] != SPIECE_UNDERLINE and cur_pieces and cur_pieces[0][0] == SPIECE_UNDERLINE:
                    if len(cur_pieces[0]) == 1:
                        cur_pieces = cur_pieces[1:]
                    else:
                        cur_pieces[0] = cur_pieces[0][1:]
                cur_pieces.append(piece[-1])
                new_pieces.extend(cur_pieces)
            else:
                new_pieces.append(piece)
        return new_pieces

    def _convert_token_to_id(self, token: str) -> int:
        return self.token2idx.get(token, self.token2idx[self.unk_token])

    def _convert_id_to_token(self, index: int) -> str:
        return self.idx2token[index]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens).replace(SPIECE_UNDERLINE, " ").strip()

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        cls, sep = [self.cls_token_id], [self.sep_token_id]
        if token_ids_1 is None:
            return cls + token_ids_0 + sep
        return cls + token_ids_0 + sep + token_ids_1 + sep

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        if already_has_special_tokens:
            return super().get_special_tokens_mask(token_ids_0, token_ids_1, already_has_special_tokens=True)
        if token_ids_1 is None:
            return [1] + [0] * len(token_ids_0) + [1]
        return [1] + [0] * len(token_ids_0) + [1] + [0] * len(token_ids_1) + [1]

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        first = [0] * (len(token_ids_0) + 2)
        if token_ids_1 is None:
            return first
        return first + [1] * (len(token_ids_1) + 1)

    def truncate_sequences(
        self,
        ids: list[int],
        pair_ids: list[int] | None = None,
        num_tokens_to_remove: int = 0,
        truncation_strategy: Any = "longest_first",
        stride: int = 0,
    ) -> tuple[list[int], list[int] | None, list[int]]:
        """As the base class, except that a pair under ``longest_first`` keeps the lengths the Rust tokenizers
        library keeps (the shorter input gets ``max // 2`` when both must shrink), so slow and fast agree."""
        strategy = getattr(truncation_strategy, "value", truncation_strategy)
        if num_tokens_to_remove <= 0 or strategy != "longest_first" or not pair_ids:
            return super().truncate_sequences(ids, pair_ids, num_tokens_to_remove, truncation_strategy, stride)
        max_length = len(ids) + len(pair_ids) - num_tokens_to_remove
        n1, n2 = len(ids), len(pair_ids)
        swap = n1 > n2
        if swap:
            n1, n2 = n2, n1
        n2 = n1 if n1 > max_length else max(n1, max_length - n1)
        if n1 + n2 > max_length:
            n1 = max_length // 2
            n2 = n1 + max_length % 2
        if swap:
            n1, n2 = n2, n1
        if self.truncation_side == "left":
            return ids[len(ids) - n1:], pair_ids[len(pair_ids) - n2:], []
        return ids[:n1], pair_ids[:n2], []

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        if not os.path.isdir(save_directory):
            raise ValueError(f"Vocabulary path ({save_directory}) should be a directory")
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        out_model = os.path.join(save_directory, prefix + VOCAB_FILES_NAMES["vocab_file"])
        out_vocab = os.path.join(save_directory, prefix + VOCAB_FILES_NAMES["vocab_txt"])
        if os.path.abspath(self.vocab_file) != os.path.abspath(out_model):
            if os.path.isfile(self.vocab_file):
                shutil.copyfile(self.vocab_file, out_model)
            else:
                with open(out_model, "wb") as f:
                    f.write(self.sp_model.serialized_model_proto())
        if os.path.abspath(self.vocab_txt) != os.path.abspath(out_vocab):
            with open(out_vocab, "w", encoding="utf-8", newline="\n") as f:
                f.write("\n".join(self.idx2token) + "\n")
        return out_model, out_vocab
