"""The single-step cells against torch.nn's, values and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit


def _pair(kind, I, H, **kw):
    torch.manual_seed(0)
    ours = getattr(rnnkit, kind)(I, H, dtype=torch.float64, **kw)
    ref = getattr(nn, kind)(I, H, dtype=torch.float64, **kw)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


@pytest.mark.parametrize("kind,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                     ("LSTMCell", {}), ("GRUCell", {}), ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("give_hx", [True, False])
def test_cell_matches_torch(kind, kw, batched, give_hx):
    I, H, B = 3, 5, 4
    ours, ref = _pair(kind, I, H, **kw)
    shape = (B, I) if batched else (I,)
    hshape = (B, H) if batched else (H,)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    hx = None
    if give_hx:
        hx = torch.randn(hshape, dtype=torch.float64, requires_grad=True)
        if kind == "LSTMCell":
            hx = (hx, torch.randn(hshape, dtype=torch.float64, requires_grad=True))
    out = ours(x, hx)
    out_ref = ref(x, hx)
    outs = list(out) if isinstance(out, tuple) else [out]
    outs_ref = list(out_ref) if isinstance(out_ref, tuple) else [out_ref]
    for a, b in zip(outs, outs_ref):
        torch.testing.assert_close(a, b)
    cot = [torch.randn_like(a) for a in outs]
    grads = torch.autograd.grad(sum((a * c).sum() for a, c in zip(outs, cot)), [x, *ours.parameters()])
    grads_ref = torch.autograd.grad(sum((a * c).sum() for a, c in zip(outs_ref, cot)), [x, *ref.parameters()])
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b)


def test_cell_unrolled_by_hand_equals_the_layer():
    """A cell applied step by step is the layer's one step: same weights, same states."""
    torch.manual_seed(1)
    layer = rnnkit.LSTM(3, 4)
    cell = rnnkit.LSTMCell(3, 4)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = torch.randn(6, 2, 3)
    y, (h_n, c_n) = layer(x)
    h = c = torch.zeros(2, 4)
    for t in range(6):
        h, c = cell(x[t], (h, c))
        torch.testing.assert_close(y[t], h)
    torch.testing.assert_close(h_n[0], h)
    torch.testing.assert_close(c_n[0], c)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_errors(kind):
    cell = getattr(rnnkit, kind)(3, 4)
    with pytest.raises(ValueError, match=r"expected 1-D .* got 3-D"):
        cell(torch.randn(2, 2, 3))
    with pytest.raises(ValueError, match=r"expected input with 3 features .* got shape \(2, 5\)"):
        cell(torch.randn(2, 5))
    bad = torch.randn(2, 7)
    with pytest.raises(ValueError, match=r"expected (hx|h) of shape \(2, 4\), got \(2, 7\)"):
        cell(torch.randn(2, 3), (bad, bad) if kind == "LSTMCell" else bad)
