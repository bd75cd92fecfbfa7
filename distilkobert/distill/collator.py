"""XLM-style masking collator (as in DistilBERT): rare tokens are masked more often.

Per batch, exactly ceil(mlm_probability x candidates) positions are drawn without replacement, with probability
proportional to max(count, 1) ** -smoothing of each token's corpus frequency; special tokens and pads have
probability 0. Of the drawn positions, word_mask become [MASK], word_keep stay, word_rand get a random
non-special token.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch


def token_counts(sequences, vocab_size: int) -> np.ndarray:
    """Occurrences of every token id in an iterable of id lists (or a datasets column)."""
    counts = np.zeros(vocab_size, dtype=np.int64)
    for ids in sequences:
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size:
            counts += np.bincount(arr, minlength=vocab_size)[:vocab_size]
    return counts


def save_token_counts(counts: np.ndarray, folder: str | Path) -> Path:
    """Write token_counts.npy (+ a small json summary) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "token_counts.npy", counts)
    (folder / "token_counts.json").write_text(json.dumps(
        {"vocab_size": int(counts.size), "total": int(counts.sum()), "nonzero": int((counts > 0).sum())}), "utf-8")
    return folder / "token_counts.npy"


def masking_probabilities(counts: np.ndarray, special_ids: Sequence[int], smoothing: float = 0.7) -> torch.Tensor:
    """max(count, 1) ** -smoothing, with 0 for special ids."""
    probs = np.maximum(counts.astype(np.float64), 1.0) ** (-smoothing)
    probs[list(special_ids)] = 0.0
    return torch.tensor(probs, dtype=torch.float32)


class DistillationCollator:
    """Pads `input_ids` lists with `pad_token_id` and applies XLM-style masking; returns input_ids,
    attention_mask and labels (-100 where not masked)."""

    def __init__(self, token_probs: torch.Tensor, *, pad_token_id: int, mask_token_id: int,
                 special_ids: Sequence[int], mlm_probability: float = 0.15, word_mask: float = 0.8,
                 word_keep: float = 0.1, word_rand: float = 0.1, pad_to_multiple_of: int | None = 8,
                 generator: torch.Generator | None = None, seed: int = 0):
        self.token_probs = token_probs
        self.pad_token_id = pad_token_id
        self.mask_token_id = mask_token_id
        self.mlm_probability = mlm_probability
        self.pred_probs = torch.tensor([word_mask, word_keep, word_rand])
        self.pad_to_multiple_of = pad_to_multiple_of
        self.generator = generator
        self.seed = seed
        self.epoch = 0  # set by the trainer at every epoch start
        special = set(int(i) for i in special_ids)
        self.random_ids = torch.tensor([i for i in range(token_probs.numel()) if i not in special])

    def pad(self, features: list[dict]) -> tuple[torch.Tensor, torch.Tensor]:
        seqs = [list(f["input_ids"]) for f in features]
        max_len = max(len(s) for s in seqs)
        if self.pad_to_multiple_of:
            max_len = int(math.ceil(max_len / self.pad_to_multiple_of) * self.pad_to_multiple_of)
        ids = torch.full((len(seqs), max_len), self.pad_token_id, dtype=torch.long)
        attn = torch.zeros((len(seqs), max_len), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            attn[i, : len(s)] = 1
        return ids, attn

    def batch_generator(self, ids: torch.Tensor) -> torch.Generator:
        """The generator of one batch: the fixed one when given, else seeded by (seed, epoch, batch content).

        Masks therefore do not depend on the global RNG or on how many batches were drawn before: a resumed
        run masks exactly like an uninterrupted one, and every epoch masks differently.
        """
        if self.generator is not None:
            return self.generator
        digest = hashlib.blake2b(ids.numpy().tobytes(), digest_size=8,
                                 key=f"{self.seed}:{self.epoch}".encode()).digest()
        return torch.Generator().manual_seed(int.from_bytes(digest, "little") & ((1 << 63) - 1))

    def mask(self, ids: torch.Tensor, attn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(masked input ids, labels) for padded `ids`."""
        g = self.batch_generator(ids)
        probs = self.token_probs[ids] * attn.to(torch.float32)
        flat = probs.flatten()
        n_candidates = int((flat > 0).sum())
        labels = torch.full_like(ids, -100)
        if n_candidates == 0:
            return ids.clone(), labels
        n_target = min(n_candidates, max(1, math.ceil(self.mlm_probability * n_candidates)))
        chosen = torch.multinomial(flat, n_target, replacement=False, generator=g)
        pred_mask = torch.zeros(flat.numel(), dtype=torch.bool)
        pred_mask[chosen] = True
        pred_mask = pred_mask.view_as(ids)
        labels[pred_mask] = ids[pred_mask]
        new_ids = ids.clone()
        kind = torch.multinomial(self.pred_probs, n_target, replacement=True, generator=g)  # 0 mask, 1 keep, 2 rand
        positions = pred_mask.flatten().nonzero().squeeze(1)  # same order as kind
        rand = self.random_ids[torch.randint(len(self.random_ids), (n_target,), generator=g)]
        flat_ids = new_ids.view(-1)
        flat_ids[positions[kind == 0]] = self.mask_token_id
        flat_ids[positions[kind == 2]] = rand[kind == 2]
        return new_ids, labels

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        ids, attn = self.pad(features)
        input_ids, labels = self.mask(ids, attn)
        return {"input_ids": input_ids, "attention_mask": attn, "labels": labels}
