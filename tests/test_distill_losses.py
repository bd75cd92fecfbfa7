"""Each loss against a hand computation; position-restricted logits equal full logits."""

from __future__ import annotations

import math

import pytest
import torch

from distilkobert.distill.losses import (
    LossConfig,
    cosine_loss_sum,
    count_items,
    distillation_losses,
    kl_and_mlm_sums,
    kl_loss_sum,
    mlm_loss_sum,
    mse_loss_sum,
    parse_layer_map,
)
from distilkobert.distill.student import Teacher, build_student, enable_row_gathered_forward

from helpers.tiny_bert import tiny_bert_teacher


def _softmax(row):
    m = max(row)
    e = [math.exp(x - m) for x in row]
    return [x / sum(e) for x in e]


def test_kl_matches_hand_computation():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    T = 2.0
    expected = 0.0
    for srow, trow in zip(s.tolist(), t.tolist()):
        ps, pt = _softmax([x / T for x in srow]), _softmax([x / T for x in trow])
        expected += sum(b * (math.log(b) - math.log(a)) for a, b in zip(ps, pt)) * T * T
    assert kl_loss_sum(s, t, T).item() == pytest.approx(expected, rel=1e-5)
    assert kl_loss_sum(t, t, T).item() == pytest.approx(0.0, abs=1e-6)


def test_mlm_cross_entropy_matches_hand_computation():
    g = torch.Generator().manual_seed(1)
    logits, labels = torch.randn(4, 6, generator=g), torch.tensor([0, 5, 2, 2])
    expected = sum(-math.log(_softmax(row)[y]) for row, y in zip(logits.tolist(), labels.tolist()))
    assert mlm_loss_sum(logits, labels).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("n_masked", [3, 0])
def test_fused_kl_and_mlm_equal_the_autograd_composition(dtype, n_masked):
    g = torch.Generator().manual_seed(3)
    s0, t = torch.randn(7, 11, generator=g, dtype=dtype) * 3, torch.randn(7, 11, generator=g, dtype=dtype) * 3
    rows, labels = torch.tensor([1, 4, 6])[:n_masked], torch.tensor([0, 10, 3])[:n_masked]
    gk, gm = 0.7, 1.3  # different upstream gradients, so each loss's gradient must be routed to its own term
    s_ref = s0.clone().requires_grad_()
    F = torch.nn.functional  # the textbook composition, in the input's precision
    ref_kl = F.kl_div(F.log_softmax(s_ref / 2, -1), F.log_softmax(t / 2, -1), log_target=True, reduction="sum") * 4
    ref_mlm = F.cross_entropy(s_ref[rows], labels, reduction="sum")
    (gk * ref_kl + gm * ref_mlm).backward()
    s_new = s0.clone().requires_grad_()
    kl, mlm = kl_and_mlm_sums(s_new, t.clone(), rows, labels, 2.0)
    (gk * kl + gm * mlm).backward()
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(kl, ref_kl, **tol)
    torch.testing.assert_close(mlm, ref_mlm, **tol)
    torch.testing.assert_close(s_new.grad, s_ref.grad, **tol)
    assert kl.item() > 1.0 and (n_masked == 0 or mlm.item() > 1.0)


def test_fused_kl_is_precise_when_the_student_is_close_to_the_teacher():
    # KL is then a small difference of large terms: float32 must not lose it (the textbook float32 composition is
    # ~1e-5 off here; a KL formed from two separately rounded log-sum-exps would be ~3e-5 off)
    g = torch.Generator().manual_seed(5)
    t = torch.randn(512, 4000, generator=g) * 3
    s = t + 0.1 * torch.randn(512, 4000, generator=g)
    F = torch.nn.functional
    exact = F.kl_div(F.log_softmax(s.double() / 2, -1), F.log_softmax(t.double() / 2, -1), log_target=True,
                     reduction="sum") * 4
    kl, _ = kl_and_mlm_sums(s, t, torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), 2.0)
    assert abs(kl.item() - exact.item()) / exact.item() < 2e-5


def test_fused_kl_and_mlm_keep_the_input_dtype_and_refuse_a_second_backward():
    g = torch.Generator().manual_seed(4)
    s = (torch.randn(5, 9, generator=g) * 2).to(torch.bfloat16).requires_grad_()
    t = torch.randn(5, 9, generator=g).to(torch.bfloat16)
    kl, mlm = kl_and_mlm_sums(s, t, torch.tensor([2]), torch.tensor([8]), 2.0)
    assert kl.dtype == torch.float32  # computed in float32 from bf16 logits
    (kl + mlm).backward(retain_graph=True)
    assert s.grad.dtype == torch.bfloat16 and s.grad.abs().sum() > 0
    with pytest.raises(RuntimeError, match="only once"):
        (kl + mlm).backward()


def test_cosine_and_mse_match_hand_computation():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    cos = 0.0
    mse = 0.0
    for x, y in zip(a.tolist(), b.tolist()):
        dot = sum(p * q for p, q in zip(x, y))
        cos += 1 - dot / (math.sqrt(sum(p * p for p in x)) * math.sqrt(sum(q * q for q in y)))
        mse += sum((p - q) ** 2 for p, q in zip(x, y)) / 4
    assert cosine_loss_sum(a, b).item() == pytest.approx(cos, rel=1e-5)
    assert mse_loss_sum(a, b).item() == pytest.approx(mse, rel=1e-5)
    assert cosine_loss_sum(a, 3 * a).item() == pytest.approx(0.0, abs=1e-5)


def test_layer_map():
    assert parse_layer_map(None, 3, 12) == [(1, 4), (2, 8), (3, 12)]
    assert parse_layer_map("0:0, 3:12", 3, 12) == [(0, 0), (3, 12)]
    with pytest.raises(ValueError, match="mse_layer_map"):
        parse_layer_map("4:1", 3, 12)


class _Tok:
    """Just what build_student needs from a tokenizer."""

    def __init__(self, n):
        self.n, self.pad_token_id = n, 1

    def __len__(self):
        return self.n


@pytest.fixture(scope="module")
def models():
    vocab = 50
    teacher = tiny_bert_teacher(vocab, seed=0, n_layers=4).eval()
    student = build_student(_Tok(vocab), teacher=Teacher(teacher, True, "t", None), layers=[0, 2])
    with torch.no_grad():  # move the student away from the teacher so that every loss is non-zero
        for p in student.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    student.eval()
    enable_row_gathered_forward(student)
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(5, vocab, (3, 10), generator=g)
    attn = torch.ones_like(ids)
    attn[1, 7:] = 0
    attn[2, 4:] = 0
    ids[attn == 0] = 1
    labels = torch.full_like(ids, -100)
    for b, pos in [(0, 1), (0, 5), (1, 2), (1, 6), (2, 3)]:
        labels[b, pos] = ids[b, pos]
        ids[b, pos] = 4
    return teacher, student, {"input_ids": ids, "attention_mask": attn, "labels": labels}


@pytest.mark.parametrize("ce_positions", ["all", "masked"])
def test_distillation_losses_match_full_forward(models, ce_positions):
    teacher, student, batch = models
    cfg = LossConfig(alpha_ce=0.5, alpha_mlm=0.2, alpha_cos=0.3, alpha_mse=0.7, temperature=2.0,
                     ce_positions=ce_positions)
    layer_map = [(1, 1), (2, 3)]
    counts = count_items([batch], ce_positions)
    with torch.no_grad():
        terms = distillation_losses(student, teacher, batch, cfg, counts, layer_map)
        full = distillation_losses(student, teacher, batch, LossConfig(**{**cfg.__dict__, "full_logits": True}),
                                   counts, layer_map)
        s = student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
        t = teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
    nonpad, masked = batch["attention_mask"].bool(), batch["labels"].ne(-100)
    rows = nonpad if ce_positions == "all" else masked
    exp_ce = kl_loss_sum(s.logits[rows], t.logits[rows], 2.0) / rows.sum()
    exp_mlm = mlm_loss_sum(s.logits[masked], batch["labels"][masked]) / masked.sum()
    exp_cos = cosine_loss_sum(s.hidden_states[-1][nonpad], t.hidden_states[-1][nonpad]) / nonpad.sum()
    exp_mse = (mse_loss_sum(s.hidden_states[1][nonpad], t.hidden_states[1][nonpad])
               + mse_loss_sum(s.hidden_states[2][nonpad], t.hidden_states[3][nonpad])) / (nonpad.sum() * 2)
    # atol 1e-5: the head on the selected rows and the head on every row then selected are the same sums in
    # another blocking (float32 logits agree to ~1e-7; a KL of ~0.05 between close distributions cancels to
    # ~2e-6); a wrong row, mask or weight moves a term by far more
    for name, exp in [("loss_ce", exp_ce), ("loss_mlm", exp_mlm), ("loss_cos", exp_cos), ("loss_mse", exp_mse)]:
        assert exp.item() > 1e-4, name
        torch.testing.assert_close(terms[name], exp, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(full[name], exp, rtol=1e-5, atol=1e-5)
    total = 0.5 * exp_ce + 0.2 * exp_mlm + 0.3 * exp_cos + 0.7 * exp_mse
    torch.testing.assert_close(terms["loss"], total, rtol=1e-5, atol=1e-5)


def test_mlm_only_without_teacher(models):
    _, student, batch = models
    cfg = LossConfig(alpha_ce=0, alpha_mlm=1, alpha_cos=0)
    with torch.no_grad():
        terms = distillation_losses(student, None, batch, cfg, count_items([batch], "all"))
        s = student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    masked = batch["labels"].ne(-100)
    exp = torch.nn.functional.cross_entropy(s.logits[masked], batch["labels"][masked])
    torch.testing.assert_close(terms["loss"], exp, rtol=1e-5, atol=1e-6)
    assert terms["loss_ce"].item() == 0 and terms["loss_cos"].item() == 0


def test_heldout_evaluation_is_deterministic(models):
    from distilkobert.distill.collator import DistillationCollator
    from distilkobert.distill.heldout_mlm import heldout_mlm

    _, student, _ = models
    g = torch.Generator().manual_seed(9)
    seqs = [{"input_ids": [2, *torch.randint(5, 50, (int(n),), generator=g).tolist(), 3]}
            for n in torch.randint(8, 20, (12,), generator=g)]
    coll = DistillationCollator(torch.ones(50).index_fill_(0, torch.arange(5), 0), pad_token_id=1, mask_token_id=4,
                                special_ids=[0, 1, 2, 3, 4])
    a = heldout_mlm(student, seqs, coll, seed=3, batch_size=5)
    b = heldout_mlm(student, seqs, coll, seed=3, batch_size=5)
    c = heldout_mlm(student, seqs, coll, seed=4, batch_size=5)
    three = heldout_mlm(student, seqs, coll, seed=3, batch_size=5, repeats=3)
    assert a == b and a["n_masked"] > 0 and 0 <= a["mlm_accuracy"] <= 1
    assert c["mlm_loss"] != a["mlm_loss"]
    assert three["n_masked"] > 2 * a["n_masked"]
    # pooled over seeds 3, 4, 5: the first pass is exactly `a`
    assert three["mlm_loss"] * three["n_masked"] > a["mlm_loss"] * a["n_masked"]
