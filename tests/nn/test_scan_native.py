"""The parallel-scan cells on the C kernels (rnnkit.nn.scan_native): the hand-written
derivatives by gradcheck in float64, the same numbers as the torch-op path
(rnnkit.nn.scan.blocked_scan on rnnkit.nn.scan_math's equations) within 1e-10 in float64,
extreme pre-activations, and RNNKIT_NATIVE=0 (no kernels) giving the same numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from rnnkit.nn import native
from rnnkit.nn.scan import blocked_scan
from rnnkit.nn.scan_math import (mingru_coefficients, minlstm_coefficients, qrnn_coefficients,
                                 rglru_coefficients)
from rnnkit.nn.scan_native import native_scan

from .test_scan_layers import CELLS, F64, _outputs_and_grads, make, random_state

pytestmark = pytest.mark.skipif(native.kernels() is None, reason="no C compiler here: no C kernels")

SRC = str(Path(__file__).resolve().parents[2] / "src")
GATES = {"mingru": 2, "minlstm": 3, "rglru": 2, "qrnn": 3}


def torch_ops(cell, pre, h0, valid, u=None, lam=None):
    """The same states by the torch-op path, from the equations of scan_math (and QRNN's
    output y = sigmoid(o) c, zero at padded steps)."""
    if cell == "rglru":
        return blocked_scan(lambda p, uu, la: rglru_coefficients(*p.chunk(2, -1), uu, la), [pre, u], [lam], h0, valid)
    if cell == "qrnn":
        kzf, ko = pre.split([2 * h0.shape[-1], h0.shape[-1]], -1)
        cs = blocked_scan(lambda p: qrnn_coefficients(*p.chunk(2, -1)), [kzf], [], h0, valid)
        y = torch.sigmoid(ko) * cs
        y = y if valid is None else torch.where(valid, y, torch.zeros(()).double())
        return cs, y, y[-1]
    fn = {"mingru": mingru_coefficients, "minlstm": minlstm_coefficients}[cell]
    return blocked_scan(lambda p: fn(*p.chunk(GATES[cell], -1)), [pre], [], h0, valid)


def inputs(cell, T=5, B=3, H=2, scale=2.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    pre = (scale * torch.randn(T, B, GATES[cell] * H, generator=g, dtype=torch.float64)).requires_grad_(True)
    h0 = torch.randn(B, H, generator=g, dtype=torch.float64).requires_grad_(True)
    valid = (torch.arange(T).unsqueeze(1) < torch.tensor([T, 2, 0][:B])).unsqueeze(-1)   # (T, B, 1)
    extra = {}
    if cell == "rglru":
        extra = {"u": torch.randn(T, B, H, generator=g, dtype=torch.float64).requires_grad_(True),
                 "lam": torch.randn(H, generator=g, dtype=torch.float64).requires_grad_(True)}
    return pre, h0, valid, extra


def native_states(cell, pre, h0, valid, u=None, lam=None):
    """The states (and QRNN's output) on the C kernels."""
    return native_scan(cell, pre, h0, valid, u=u, sp=None if lam is None else F.softplus(-lam))


def as_tuple(t):
    return t if isinstance(t, tuple) else (t,)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("padded", [False, True])
def test_gradcheck_of_the_hand_written_derivatives(cell, padded):
    pre, h0, valid, extra = inputs(cell)
    valid = valid if padded else None
    args = (pre, h0) + tuple(extra.values())

    def f(pre, h0, u=None, lam=None):   # the states, and the last one as its own output
        return native_scan(cell, pre, h0, valid, u=u, sp=None if lam is None else F.softplus(-lam), with_last=True)

    assert torch.autograd.gradcheck(f, args)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("scale", [2.0, 60.0])
def test_states_and_gradients_equal_the_torch_op_path(cell, scale):
    """Pre-activations of scale 60 reach past the clamps of the exponentials and the
    threshold of torch's softplus (20): finite, and the same numbers (to 1e-8 there:
    torch's softplus is x itself past 20, an error of log1p(e^-20) = 2e-9)."""
    pre, h0, valid, extra = inputs(cell, T=9, B=3, H=3, scale=scale)
    tol = F64 if scale < 10 else dict(rtol=1e-8, atol=1e-8)
    outs = []
    for fn in (native_states, torch_ops):
        hs = as_tuple(fn(cell, pre, h0, valid, **extra))
        gen = torch.Generator().manual_seed(1)
        loss = sum((h * torch.randn(h.shape, generator=gen, dtype=h.dtype)).sum() for h in hs)
        leaves = [pre, h0] + list(extra.values())
        outs.append(list(hs) + list(torch.autograd.grad(loss, leaves)))
    for a, b in zip(*outs):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("cell", CELLS)
def test_layers_on_the_kernels_equal_the_layers_on_torch_ops(cell, monkeypatch):
    """Every input of a layer's direction (lengths, hx, two layers, both directions)."""
    layer = make(cell, num_layers=2, bidirectional=True)
    T, B = 23, 4
    x = torch.randn(T, B, 3, dtype=torch.float64)
    hx = random_state(layer, B)
    lengths = torch.tensor([23, 11, 0, 1])
    fast = _outputs_and_grads(layer, x, hx, lengths, "parallel")
    monkeypatch.setattr(native, "available", lambda *tensors: False)
    slow = _outputs_and_grads(layer, x, hx, lengths, "parallel")
    for a, b in zip(fast[0] + fast[1], slow[0] + slow[1]):
        torch.testing.assert_close(a, b, **F64)


RUN = """
import sys, torch, rnnkit
from rnnkit.nn import native
torch.manual_seed(0)
out = {"kernels": native.status()["kernels"]}
for name in ("MinGRU", "MinLSTM", "RGLRU", "QRNN"):
    layer = getattr(rnnkit, name)(3, 4, bidirectional=True, dtype=torch.float64)
    x = torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True)
    y, h = layer(x, lengths=torch.tensor([6, 4]))
    h = h[0] if isinstance(h, tuple) else h
    (y.sin().sum() + h.sum()).backward()
    out[name] = [y.detach(), h.detach(), x.grad] + [p.grad for p in layer.parameters()]
torch.save(out, sys.argv[1])
"""


def test_without_kernels_the_numbers_are_the_same(tmp_path):
    """RNNKIT_NATIVE=0 (the kernels off, as without a compiler) in a fresh process."""
    res = {}
    for flag in ("1", "0"):
        path = tmp_path / f"out{flag}.pt"
        env = dict(os.environ, RNNKIT_NATIVE=flag, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        done = subprocess.run([sys.executable, "-c", RUN, str(path)], env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr
        res[flag] = torch.load(path)
    assert (res["1"]["kernels"], res["0"]["kernels"]) == ("native", "torch")
    for name in ("MinGRU", "MinLSTM", "RGLRU", "QRNN"):
        for a, b in zip(res["1"][name], res["0"][name]):
            torch.testing.assert_close(a, b, **F64)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_on_the_kernels_is_close_to_float64(cell):
    pre, h0, valid, extra = inputs(cell, T=50, B=3, H=8)
    want = as_tuple(native_states(cell, pre, h0, valid, **extra))
    got = as_tuple(native_states(cell, pre.float(), h0.float(), valid, **{k: v.float() for k, v in extra.items()}))
    for a, b in zip(got, want):
        torch.testing.assert_close(a.double(), b, rtol=1e-5, atol=1e-5)


def test_an_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="expected cell to be one of .*got 'gru'"):
        native_scan("gru", torch.zeros(2, 1, 4), torch.zeros(1, 2))


@pytest.mark.parametrize("cell", CELLS)
def test_a_loss_on_the_final_state_only(cell, monkeypatch):
    """Outputs no loss reaches (the states tensor, QRNN's y) get no gradient tensor: the
    kernel reads zeros there, and the gradients equal the torch-op path's."""
    layer = make(cell)
    x = torch.randn(9, 3, 3, dtype=torch.float64)
    grads = []
    for use in (True, False):
        if not use:
            monkeypatch.setattr(native, "available", lambda *tensors: False)
        layer.zero_grad()
        xx = x.clone().requires_grad_(True)
        _, h = layer(xx, mode="parallel")
        h = h[-1] if isinstance(h, tuple) else h                 # QRNN: c only
        (h * h).sum().backward()
        grads.append([xx.grad] + [p.grad for p in layer.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, **F64)
