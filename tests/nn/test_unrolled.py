"""The unrolled path's backpropagation through time, against autograd (gradcheck in
float64), for each built-in cell and for a new cell that only writes its step."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit import CellMath, ElmanMath, GRUMath, LSTMMath, unrolled_layer


def _weights(G, I, P, bias, proj_hidden=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: (torch.randn(*s, generator=g, dtype=torch.float64) * 0.5).requires_grad_()  # noqa: E731
    w_ih, w_hh = r(G, I), r(G, P)
    b_ih, b_hh = (r(G), r(G)) if bias else (None, None)
    w_hr = r(P, proj_hidden) if proj_hidden else None
    return w_ih, w_hh, b_ih, b_hh, w_hr


def _batch_sizes(lengths, T):
    if lengths is None:
        return None
    return [sum(1 for n in lengths if n > t) for t in range(T)]


CASES = [
    # (math, hidden, proj) 
    (ElmanMath("tanh"), 3, 0),
    (ElmanMath("relu"), 3, 0),
    (LSTMMath(), 3, 0),
    (LSTMMath(), 4, 2),
    (GRUMath(), 3, 0),
]


@pytest.mark.parametrize("math,H,proj", CASES, ids=lambda v: repr(v) if isinstance(v, CellMath) else str(v))
@pytest.mark.parametrize("lengths", [None, [5, 5, 3, 1, 0]], ids=["full", "mixed"])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck(math, H, proj, lengths, bias, kernels):
    T, B, I = 5, 5, 2
    P = proj or H
    G = math.num_gates * H
    g = torch.Generator().manual_seed(1)
    x = torch.randn(T, B, I, generator=g, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(B, P, generator=g, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(B, H, generator=g, dtype=torch.float64, requires_grad=True) if math.has_cell_state else None
    weights = _weights(G, I, P, bias, proj_hidden=H if proj else None)
    bs = _batch_sizes(lengths, T)

    def f(x, h0, c0, *w):
        y, h, c = unrolled_layer(math, bs, x, h0, c0, w)
        return (y, h) if c is None else (y, h, c)

    assert gradcheck(f, (x, h0, c0, *weights), eps=1e-6, atol=1e-7)


class MinimalGRUMath(CellMath):
    r"""A minimal GRU (gates from the input only, Heck & Salem 2017 style) written as
    a step alone, to check that the engine is general over the cell:

    .. math::
        z_t = \sigma(xp_z + hp_z),\ \tilde h_t = \tanh(xp_h + hp_h),\
        h_t = (1 - z_t) h_{t-1} + z_t \tilde h_t
    """

    num_gates = 2

    def step(self, xp, hp, h_prev, c_prev):
        H = xp.shape[-1] // 2
        z = torch.sigmoid(xp[..., :H] + hp[..., :H])
        cand = torch.tanh(xp[..., H:] + hp[..., H:])
        h = (1 - z) * h_prev + z * cand
        return h, None, self.save_inputs(xp, hp, h_prev, c_prev)


def test_a_new_cell_needs_only_its_step(kernels):
    math = MinimalGRUMath()
    T, B, I, H = 6, 4, 3, 5
    g = torch.Generator().manual_seed(3)
    x = torch.randn(T, B, I, generator=g, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(B, H, generator=g, dtype=torch.float64, requires_grad=True)
    weights = _weights(2 * H, I, H, True, seed=4)
    lengths = [6, 4, 4, 0]
    bs = _batch_sizes(lengths, T)

    def f(x, h0, *w):
        y, h, _ = unrolled_layer(math, bs, x, h0, None, w)
        return y, h

    assert gradcheck(f, (x, h0, *weights), eps=1e-6, atol=1e-7)

    # and the forward is the plain loop over its step, sequence by sequence
    y, h, _ = unrolled_layer(math, bs, x, h0, None, weights)
    w_ih, w_hh, b_ih, b_hh, _ = weights
    for b, n in enumerate(lengths):
        hb = h0[b:b + 1]
        for t in range(n):
            xp = x[t, b:b + 1] @ w_ih.T + b_ih
            hp = hb @ w_hh.T + b_hh
            hb, _, _ = math.step(xp, hp, hb, None)
            torch.testing.assert_close(y[t, b:b + 1], hb)
        assert torch.count_nonzero(y[n:, b]) == 0
        torch.testing.assert_close(h[b:b + 1], hb)


def test_hand_written_backward_equals_the_default():
    """Each built-in cell's backward against CellMath's autograd default."""
    g = torch.Generator().manual_seed(5)
    for math in (ElmanMath("tanh"), ElmanMath("relu"), LSTMMath(), GRUMath()):
        H, B = 4, 3
        G = math.num_gates * H
        xp = torch.randn(B, G, generator=g, dtype=torch.float64)
        hp = None if math.additive else torch.randn(B, G, generator=g, dtype=torch.float64)
        h_prev = torch.randn(B, H, generator=g, dtype=torch.float64)
        c_prev = torch.randn(B, H, generator=g, dtype=torch.float64) if math.has_cell_state else None
        dh = torch.randn(B, H, generator=g, dtype=torch.float64)
        dc = torch.randn(B, H, generator=g, dtype=torch.float64) if math.has_cell_state else None
        _, _, saved = math.step(xp, hp, h_prev, c_prev)
        got = math.backward(dh, dc, saved)
        want = CellMath.backward(math, dh, dc, CellMath.save_inputs(xp, hp, h_prev, c_prev))
        for a, b, name in zip(got, want, ("dxp", "dhp", "dh_prev", "dc_prev")):
            if a is None:
                assert b is None or torch.count_nonzero(b) == 0, (math, name)
            else:
                torch.testing.assert_close(a, b, msg=lambda m: f"{math} {name}: {m}")


@pytest.mark.parametrize("math,H,proj", CASES, ids=lambda v: repr(v) if isinstance(v, CellMath) else str(v))
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_c_kernels_equal_torch_ops(math, H, proj, dtype, tol, monkeypatch):
    """The C kernels and the torch-op math of the same cell give the same numbers."""
    from rnnkit.nn import native

    if native.kernels() is None:
        pytest.skip("no C compiler here: the C kernels cannot be built")
    T, B, I = 30, 6, 4
    P = proj or H
    G = math.num_gates * H
    g = torch.Generator().manual_seed(8)
    x = torch.randn(T, B, I, generator=g, dtype=dtype, requires_grad=True)
    h0 = torch.randn(B, P, generator=g, dtype=dtype, requires_grad=True)
    c0 = torch.randn(B, H, generator=g, dtype=dtype, requires_grad=True) if math.has_cell_state else None
    weights = [None if w is None else w.detach().to(dtype).requires_grad_()
               for w in _weights(G, I, P, True, proj_hidden=H if proj else None)]
    bs = _batch_sizes([30, 30, 17, 9, 1, 0], T)
    leaves = [t for t in (x, h0, c0, *weights) if t is not None]

    def run():
        y, h, c = unrolled_layer(math, bs, x, h0, c0, weights)
        outs = [y, h] + ([c] if c is not None else [])
        cot = [torch.ones_like(o) * 0.5 + torch.arange(o.numel(), dtype=dtype).view(o.shape) % 3 for o in outs]
        grads = torch.autograd.grad(sum((o * w).sum() for o, w in zip(outs, cot)), leaves)
        return outs + list(grads)

    with_kernels = run()
    monkeypatch.setattr(native, "available", lambda *tensors: False)
    with_ops = run()
    for a, b in zip(with_kernels, with_ops):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("batch_first", [False, True])
def test_layers_reach_the_c_kernels(batch_first, monkeypatch):
    """Every layout of a float32 CPU batch takes the kernels, forward and backward."""
    import rnnkit
    from rnnkit.nn import native

    if native.kernels() is None:
        pytest.skip("no C compiler here: the C kernels cannot be built")
    calls = []
    real = native.call
    monkeypatch.setattr(native, "call", lambda name, *a: (calls.append(name), real(name, *a)))
    m = rnnkit.LSTM(3, 4, batch_first=batch_first, bidirectional=True, backend="unrolled")
    x = torch.randn(2, 5, 3) if batch_first else torch.randn(5, 2, 3)
    y, _ = m(x.requires_grad_(), lengths=torch.tensor([5, 3]))
    y.sum().backward()
    assert calls.count("lstm_fwd") == 2 * 5 and calls.count("lstm_bwd") == 2 * 5


def test_kernels_can_be_turned_off_and_the_math_still_runs(tmp_path):
    import os
    import subprocess
    import sys

    code = ("import torch, rnnkit; from rnnkit.nn import native; assert native.kernels() is None; "
            "m = rnnkit.GRU(3, 4, backend='unrolled'); y, h = m(torch.randn(5, 2, 3)); print(tuple(y.shape))")
    env = dict(os.environ, RNNKIT_NATIVE="0", RNNKIT_CACHE=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(5, 2, 4)"
    assert not any(tmp_path.iterdir())  # nothing was built


def test_kernels_build_into_an_empty_cache(tmp_path):
    import os
    import subprocess
    import sys

    from rnnkit.nn import native

    if native._compiler() is None:
        pytest.skip("no C compiler here")
    code = "from rnnkit.nn import native; assert native.kernels() is not None"
    env = dict(os.environ, RNNKIT_CACHE=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    built = [p for p in (tmp_path / "cache").iterdir() if p.name != ".lock"]
    assert len(built) == 1 and built[0].suffix == ".so"  # no temporary file left behind
