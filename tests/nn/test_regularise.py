"""Weight drop and locked dropout, held to their definitions: the dropped weight is
the same at every step (a torch.nn reference run with that one matrix gives the same
numbers), masks have the right pattern and expectation, eval mode is the identity."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.nn import layers as layers_mod
from rnnkit.nn import regularise

from .reference import run_reference


def make_pair(cell, input_size, hidden_size, *, backend="auto", dtype=torch.float32, seed=0, extras=None, **kwargs):
    """An rnnkit layer with ``extras`` (its own arguments) and a torch.nn layer with the
    same weights."""
    torch.manual_seed(seed)
    extras = extras or {}
    if cell in ("lstm", "gru"):
        ours = getattr(rnnkit, cell.upper())(input_size, hidden_size, dtype=dtype, backend=backend, **extras, **kwargs)
        ref = getattr(nn, cell.upper())(input_size, hidden_size, dtype=dtype, **kwargs)
    else:
        nl = cell.split("_")[1]
        ours = rnnkit.RNN(input_size, hidden_size, nonlinearity=nl, dtype=dtype, backend=backend, **extras, **kwargs)
        ref = nn.RNN(input_size, hidden_size, nonlinearity=nl, dtype=dtype, **kwargs)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def _record(monkeypatch, module, name):
    """Patch ``module.name`` with a wrapper that records (args, result) of each call."""
    real = getattr(module, name)
    calls = []

    def wrapper(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append((args, out))
        return out

    monkeypatch.setattr(module, name, wrapper)
    return calls


# ---- weight drop -----------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("backend", ["fused", "unrolled"])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_weight_drop_is_one_matrix_for_every_step(monkeypatch, cell, backend, with_lengths):
    """Train mode: the output and gradients are those of torch.nn run with the one
    dropped W_hh (so the mask is shared over time and over the batch), and the raw
    weight's gradient is the dropped weight's times the mask / (1 - p)."""
    p = 0.4
    ours, ref = make_pair(cell, 3, 6, dtype=torch.float64, batch_first=True, num_layers=2,
                          bidirectional=True, extras={"weight_drop": p}, backend=backend)
    calls = _record(monkeypatch, layers_mod, "weight_drop")
    torch.manual_seed(1)
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 0, 5]) if with_lengths else None
    y, h = ours(x, lengths=lengths)
    assert len(calls) == 4                               # one per layer and direction, per pass
    dropped = {}
    for (w, p_, training), out in calls:
        name = next(n for n in ours._flat_weights_names if getattr(ours, n) is w)
        dropped[name] = out.detach()
        kept = out != 0
        assert torch.allclose(out[kept], w[kept] / (1 - p))  # the rest rescaled
    with torch.no_grad():
        for name, w in dropped.items():
            getattr(ref, name).copy_(w)
    y_ref, finals = run_reference(ref, x, None, lengths, batch_first=True)
    assert torch.allclose(y, y_ref, atol=1e-10)
    for a, b in zip(h if isinstance(h, tuple) else (h,), finals):
        assert torch.allclose(a, b, atol=1e-10)

    torch.manual_seed(2)
    cot = torch.randn_like(y)
    (y * cot).sum().backward()
    (y_ref * cot).sum().backward()
    for name, w in dropped.items():
        keep = (w != 0).to(w.dtype) / (1 - p)
        assert torch.allclose(getattr(ours, name).grad, getattr(ref, name).grad * keep, atol=1e-10)
    assert torch.allclose(ours.weight_ih_l1.grad, ref.weight_ih_l1.grad, atol=1e-10)


def test_weight_drop_mask_rate_and_expectation():
    """Each entry is dropped with probability p; the mean over draws is W itself."""
    torch.manual_seed(0)
    p, n = 0.5, 400
    w = torch.randn(64, 16, dtype=torch.float64)
    draws = torch.stack([regularise.weight_drop(w, p, True) for _ in range(n)])
    frac = (draws == 0).double().mean().item()
    assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / draws.numel())
    # Var(w m / (1 - p)) = w^2 p / (1 - p): 5 standard errors of the mean
    tol = 5 * w.abs() * math.sqrt(p / (1 - p) / n) + 1e-12
    assert ((draws.mean(0) - w).abs() <= tol).all()
    assert regularise.weight_drop(w, p, False) is w


@pytest.mark.parametrize("backend", ["fused", "unrolled"])
def test_weight_drop_eval_is_identity_and_state_dict_is_torch_nn(backend):
    ours, ref = make_pair("lstm", 3, 5, batch_first=True, extras={"weight_drop": 0.5}, backend=backend)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict())       # a torch.nn state_dict loads as is
    ours.eval()
    x = torch.randn(2, 6, 3)
    y, (h, c) = ours(x)
    y_ref, (h_ref, c_ref) = ref(x)
    assert torch.allclose(y, y_ref, atol=1e-6) and torch.allclose(c, c_ref, atol=1e-6)
    ours.train()
    torch.manual_seed(0)
    y1, _ = ours(x)
    assert not torch.allclose(y1, y_ref, atol=1e-3)   # train mode does drop
    assert "weight_drop=0.5" in repr(ours)


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.5", True])
def test_weight_drop_rejects_a_bad_rate(bad):
    with pytest.raises(ValueError, match="weight_drop"):
        rnnkit.LSTM(3, 4, weight_drop=bad)


# ---- locked dropout ----------------------------------------------------------------------

def test_locked_dropout_mask_is_shared_over_time():
    torch.manual_seed(0)
    p = 0.3
    drop = rnnkit.nn.LockedDropout(p)
    x = torch.rand(8, 20, 16, dtype=torch.float64) + 0.5      # no zeros of its own
    y = drop(x)
    ratio = y / x                                           # (B, T, F): the mask
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio))  # the same at every step
    values = ratio[:, 0].flatten()
    assert bool(((values == 0) | torch.isclose(values, torch.tensor(1 / (1 - p), dtype=x.dtype))).all())
    # time-major: the mask is shared over the first axis
    tm = regularise.locked_dropout(x.transpose(0, 1), p, True, batch_first=False) / x.transpose(0, 1)
    assert torch.allclose(tm, tm[:1].expand_as(tm))
    drop.eval()
    assert drop(x) is x


def test_locked_dropout_expectation():
    torch.manual_seed(1)
    p, n = 0.5, 2000
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    mean = torch.stack([regularise.locked_dropout(x, p, True) for _ in range(n)]).mean(0)
    tol = 5 * x.abs() * math.sqrt(p / (1 - p) / n)
    assert ((mean - x).abs() <= tol).all()


@pytest.mark.parametrize("backend", ["fused", "unrolled"])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_locked_dropout_between_layers(monkeypatch, backend, with_lengths):
    """A 2-layer stack with locked_dropout is layer 1 (torch.nn) -> one mask per
    sequence and feature -> layer 2 (torch.nn)."""
    torch.manual_seed(0)
    ours = rnnkit.LSTM(3, 5, num_layers=2, dropout=0.5, locked_dropout=True, batch_first=True,
                       dtype=torch.float64, backend=backend)
    calls = _record(monkeypatch, layers_mod, "locked_dropout")
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4]) if with_lengths else None
    y, _ = ours(x, lengths=lengths)
    assert len(calls) == 1
    (inp, p, training), out = calls[0]
    # the mask, time-major (T, B, F): the same at every step of a sequence
    keep = torch.where(inp != 0, out / torch.where(inp != 0, inp, torch.ones_like(inp)), torch.zeros_like(inp))
    mask = keep.amax(0, keepdim=True)                         # (1, B, F): 0 or 2
    assert torch.allclose(out, inp * mask)
    l1 = nn.LSTM(3, 5, batch_first=True, dtype=torch.float64)
    l2 = nn.LSTM(5, 5, batch_first=True, dtype=torch.float64)
    sd = ours.state_dict()
    l1.load_state_dict({k: v for k, v in sd.items() if k.endswith("_l0")})
    l2.load_state_dict({k.replace("_l1", "_l0"): v for k, v in sd.items() if k.endswith("_l1")})
    for b in range(3):
        n = int(lengths[b]) if lengths is not None else 6
        y1, _ = l1(x[b:b + 1, :n])
        # the row of the recorded batch that is this sequence (a path may sort rows)
        j = next(j for j in range(3) if torch.allclose(inp[:n, j], y1[0], atol=1e-12))
        y2, _ = l2(y1 * mask[0, j])
        assert torch.allclose(y[b, :n], y2[0], atol=1e-10)
        assert bool((y[b, n:] == 0).all())


# ---- embedding dropout ---------------------------------------------------------------------

def test_embedding_dropout_drops_whole_words():
    torch.manual_seed(0)
    p = 0.5
    emb = nn.Embedding(10, 4, dtype=torch.float64)
    with torch.no_grad():
        emb.weight.abs_().add_(0.1)                           # no zeros of its own
    ids = torch.tensor([[1, 2, 1, 3, 1], [2, 2, 4, 1, 3]])
    out = regularise.embedding_dropout(emb, ids, p, True)
    ratio = out / emb(ids)                                    # (B, T, E)
    for v in ids.unique():
        r = ratio[ids == v]                                   # every position of word v
        assert torch.allclose(r, r[:1].expand_as(r))          # dropped everywhere or nowhere
        assert torch.allclose(r[0], torch.zeros(4, dtype=r.dtype)) or torch.allclose(r[0], torch.full((4,), 2.0, dtype=r.dtype))
        assert torch.allclose(r[0], r[0, :1].expand(4))       # the whole row
    assert torch.equal(regularise.embedding_dropout(emb, ids, p, False), emb(ids))
    n = 2000
    mean = torch.stack([regularise.embedding_dropout(emb, ids, p, True) for _ in range(n)]).mean(0)
    tol = 5 * emb(ids).abs() * math.sqrt(p / (1 - p) / n)
    assert ((mean - emb(ids)).abs() <= tol).all()
    out.sum().backward()                                     # gradients reach the embedding
    assert emb.weight.grad is not None
