"""The unrolled path as torch custom operators: torch.export, the meta device,
torch.compile(fullgraph=True), opcheck, and double backward refused by name."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.nn import GRUMath, ops, unrolled_layer

# (layer, constructor kwargs): the configurations the default backend sends to the
# unrolled path on CPU float32, and the fused LSTM for comparison
CONFIGS = [
    ("GRU", {}),
    ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {"proj_size": 3}),
    ("LSTM", {}),
    ("GRU", {"bidirectional": True, "num_layers": 2}),
    ("LSTM", {"bidirectional": True, "proj_size": 3, "batch_first": True}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for name, kw in CONFIGS]


class WithLengths(torch.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, lengths):
        return self.layer(x, lengths=lengths)


def _flat(out):
    y, state = out
    return [y, *state] if isinstance(state, tuple) else [y, state]


def _make(name, kw, seed=0, **extra):
    torch.manual_seed(seed)
    return getattr(rnnkit, name)(4, 6, **kw, **extra)


def _input(kw, T=5, B=3):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(T, B, 4, generator=g)
    return x.transpose(0, 1).contiguous() if kw.get("batch_first") else x


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_export_matches_eager(name, kw):
    m = _make(name, kw).eval()
    x, lengths = _input(kw), torch.tensor([5, 2, 4])
    plain = torch.export.export(m, (x,))
    padded = torch.export.export(WithLengths(m), (x, lengths))
    for ep, args, eager in [(plain, (x,), m(x)), (padded, (x, lengths), m(x, lengths=lengths))]:
        got = ep.module()(*args)
        for a, b in zip(_flat(eager), _flat(got)):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    # under export the layers take their export-safe path (rnnkit.nn.exportable): the
    # graph holds no rnnkit operator, so that it runs where rnnkit is not installed
    for ep in (plain, padded):
        assert not any(str(n.target).startswith("rnnkit") for n in ep.graph.nodes)


def test_export_takes_other_lengths_and_batch_sizes():
    """The exported graph is not specialised to the lengths (nor, with dynamic shapes,
    to the batch and time sizes) it was traced with."""
    m = _make("GRU", {}).eval()
    x, lengths = _input({}), torch.tensor([5, 2, 4])
    T, B = torch.export.Dim("T", min=2), torch.export.Dim("B", min=2)
    ep = torch.export.export(WithLengths(m), (x, lengths),
                             dynamic_shapes={"x": {0: T, 1: B}, "lengths": {0: B}})
    x2, l2 = torch.randn(7, 4, 4), torch.tensor([1, 7, 0, 3])
    for a, b in zip(_flat(m(x2, lengths=l2)), _flat(ep.module()(x2, l2))):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_meta_device_gives_the_shapes_of_cpu(name, kw):
    cpu = _make(name, kw)
    meta = _make(name, kw, device="meta")
    x = _input(kw)
    for lengths in (None, torch.tensor([5, 2, 4])):
        want = _flat(cpu(x, lengths=lengths))
        got = _flat(meta(x.to("meta"), lengths=None if lengths is None else lengths.to("meta")))
        assert [t.shape for t in got] == [t.shape for t in want]
        assert all(t.device.type == "meta" for t in got)


def _loss(m, x, lengths):
    y, state = m(x, lengths=lengths)
    h = state[0] if isinstance(state, tuple) else state
    return (y * torch.linspace(-1, 1, y.shape[-1])).sum() + h.square().sum()


@pytest.mark.parametrize("backend_", ["inductor", "aot_eager"])
def test_compile_fullgraph_matches_eager(backend_, monkeypatch):
    """No graph break inside rnnkit (fullgraph=True), the same outputs and gradients.
    One configuration per compiler backend: compiling is slow on a small machine."""
    monkeypatch.setattr(torch._dynamo.config, "allow_rnn", True)
    torch._dynamo.reset()
    name, kw = ("GRU", {}) if backend_ == "inductor" else ("LSTM", {"proj_size": 3, "bidirectional": True})
    m = _make(name, kw)
    x, lengths = _input(kw).requires_grad_(), torch.tensor([5, 2, 4])
    compiled = torch.compile(lambda x, lengths: _loss(m, x, lengths), fullgraph=True, backend=backend_)
    results = []
    for fn in (lambda x, lengths: _loss(m, x, lengths), compiled):
        loss = fn(x, lengths)
        grads = torch.autograd.grad(loss, [x, *m.parameters()])
        results.append((loss, grads))
    (la, ga), (lb, gb) = results
    torch.testing.assert_close(lb, la, rtol=1e-5, atol=1e-5)
    for a, b in zip(ga, gb):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def _op_args(cell, H, proj, batch_sizes, bias=True):
    g = torch.Generator().manual_seed(3)
    T, B, I = 4, 3, 2
    gates = {"lstm": 4, "gru": 3}.get(cell, 1)
    P = proj or H
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True)  # noqa: E731
    return (cell, r(T, B, I), r(B, P), r(B, H) if cell == "lstm" else None, r(gates * H, I), r(gates * H, P),
            r(gates * H) if bias else None, r(gates * H) if bias else None, r(P, H) if proj else None,
            None if batch_sizes is None else torch.tensor(batch_sizes), True)


@pytest.mark.parametrize("cell,H,proj", [("lstm", 3, 0), ("lstm", 3, 2), ("gru", 3, 0), ("rnn_tanh", 3, 0),
                                         ("rnn_relu", 3, 0)])
@pytest.mark.parametrize("batch_sizes", [None, [3, 2, 2, 1]], ids=["full", "mixed"])
def test_opcheck(cell, H, proj, batch_sizes):
    torch.library.opcheck(torch.ops.rnnkit.unrolled_forward.default, _op_args(cell, H, proj, batch_sizes))


def test_opcheck_without_bias_and_without_saving():
    args = _op_args("gru", 3, 0, [3, 3, 1, 0], bias=False)
    torch.library.opcheck(torch.ops.rnnkit.unrolled_forward.default, args)
    with torch.no_grad():
        torch.library.opcheck(torch.ops.rnnkit.unrolled_forward.default, args[:-1] + (False,),
                              test_utils=("test_schema", "test_faketensor"))


def test_the_operator_equals_the_autograd_function():
    """The built-in GRU through the custom operator and through the autograd.Function
    (which a subclass takes) give identical numbers, forward and backward."""

    class SameGRU(GRUMath):
        pass

    assert ops.supports(GRUMath()) and not ops.supports(SameGRU())
    _, x, h0, _, w_ih, w_hh, b_ih, b_hh, _, bs, _ = _op_args("gru", 3, 0, [3, 2, 2, 1])
    leaves = [x, h0, w_ih, w_hh, b_ih, b_hh]
    results = []
    for math in (GRUMath(), SameGRU()):
        y, h, _ = unrolled_layer(math, bs, x, h0, None, (w_ih, w_hh, b_ih, b_hh, None))
        grads = torch.autograd.grad((y * y).sum() + h.sum(), leaves)
        results.append([y, h, *grads])
    for a, b in zip(*results):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name,kw", [("GRU", {}), ("LSTM", {"proj_size": 2})])
def test_double_backward_is_refused_naming_the_fused_backend(name, kw):
    m = _make(name, kw)
    x = _input(kw).requires_grad_()
    y = m(x, lengths=torch.tensor([5, 2, 4]))[0]
    g, = torch.autograd.grad((y * y).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError) as err:
        g.sum().backward()
    message = str(err.value)
    assert "\n" not in message and 'backend="fused"' in message and "double backward" in message


def test_double_backward_works_on_the_fused_backend():
    m = _make("GRU", {}, backend="fused")
    x = _input({}).requires_grad_()
    g, = torch.autograd.grad((m(x)[0] ** 2).sum(), x, create_graph=True)
    g.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_bad_batch_sizes_are_one_line_errors():
    args = list(_op_args("gru", 3, 0, [3, 4, 1, 0]))
    with pytest.raises(ValueError, match=r"^expected batch_sizes to be 4 non-increasing counts in \[0, 3\]"):
        torch.ops.rnnkit.unrolled_forward(*args)
