"""Drop-in: torch.nn's arguments, names, shapes, initialisation and state_dict; one
set of weights shared by every step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit

KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("LSTM", {"proj_size": 3}), ("GRU", {})]


@pytest.mark.parametrize("kind,kw", KINDS)
def test_same_parameters_and_initialisation_as_torch(kind, kw):
    args = dict(input_size=5, hidden_size=6, num_layers=2, bidirectional=True, **kw)
    torch.manual_seed(11)
    ours = getattr(rnnkit, kind)(**args)
    torch.manual_seed(11)
    ref = getattr(nn, kind)(**args)
    assert isinstance(ours, getattr(nn, kind))
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in ref.named_parameters()]
    for (n, p), (_, q) in zip(ours.named_parameters(), ref.named_parameters()):
        assert p.shape == q.shape, n
        assert torch.equal(p, q), n  # same init, drawn in the same order
    assert repr(ours) == repr(ref)


@pytest.mark.parametrize("kind,kw", KINDS)
@pytest.mark.parametrize("backend", ["fused", "unrolled"])
def test_state_dict_both_ways(kind, kw, backend):
    args = dict(input_size=4, hidden_size=5, num_layers=2, batch_first=True, **kw)
    x = torch.randn(3, 7, 4)
    ref = getattr(nn, kind)(**args)
    ours = getattr(rnnkit, kind)(**args, backend=backend)
    ours.load_state_dict(ref.state_dict())
    y, _ = ours(x)
    torch.testing.assert_close(y, ref(x)[0])
    ours2 = getattr(rnnkit, kind)(**args, backend=backend)
    ref2 = getattr(nn, kind)(**args)
    ref2.load_state_dict(ours2.state_dict())
    torch.testing.assert_close(ref2(x)[0], ours2(x)[0])


def test_device_and_dtype_arguments():
    m = rnnkit.GRU(3, 4, device="cpu", dtype=torch.float64)
    assert all(p.dtype == torch.float64 for p in m.parameters())
    y, h = m(torch.randn(2, 1, 3, dtype=torch.float64))
    assert y.dtype == torch.float64


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_parameter_count_does_not_depend_on_sequence_length(kind):
    """One set of weights for every step: the same module reads any length."""
    torch.manual_seed(0)
    m = getattr(rnnkit, kind)(2, 8, batch_first=True)
    count = sum(p.numel() for p in m.parameters())
    G = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    assert count == G * 8 * (2 + 8 + 2)  # W_ih, W_hh, b_ih, b_hh; no T anywhere
    short = torch.randn(3, 10, 2)
    long = torch.cat([short, torch.randn(3, 9990, 2)], 1)
    for backend in ("fused", "unrolled"):
        m.backend = backend
        y10, _ = m(short)
        y10k, h = m(long, lengths=torch.tensor([10_000, 10, 5_000]))
        assert y10.shape == (3, 10, 8) and y10k.shape == (3, 10_000, 8)
        assert sum(p.numel() for p in m.parameters()) == count
        # the first 10 steps of the long run are the short run, step for step
        torch.testing.assert_close(y10k[:, :10], y10, rtol=1e-5, atol=1e-5)
        # the sequence cut at 10 ends in the short run's final state
        h = h[0] if isinstance(h, tuple) else h
        torch.testing.assert_close(h[0, 1], y10[1, -1], rtol=1e-5, atol=1e-5)
        assert torch.count_nonzero(y10k[1, 10:]) == 0


def test_auto_backend_takes_torch_kernels_where_they_are_fused(monkeypatch):
    from rnnkit.nn import native
    from rnnkit.nn.layers import auto_backend

    f32, f64 = torch.zeros(1), torch.zeros(1, dtype=torch.float64)
    assert auto_backend("LSTM", 0, f32) == "fused"  # oneDNN
    assert auto_backend("LSTM", 0, torch.zeros(1, device="meta")) == "fused"  # not CPU
    assert auto_backend("GRU", 0, torch.zeros(1, dtype=torch.bfloat16)) == "fused"
    if native.kernels() is not None:
        for mode, proj, x in [("GRU", 0, f32), ("RNN_TANH", 0, f32), ("RNN_RELU", 0, f64),
                              ("LSTM", 2, f32), ("LSTM", 0, f64)]:
            assert auto_backend(mode, proj, x) == "unrolled", (mode, proj, x.dtype)
    monkeypatch.setattr(native, "kernels", lambda: None)
    assert auto_backend("GRU", 0, f32) == "fused"
