"""The parallel-scan layers (MinGRU, ...) against per-step references written from
each paper's equations (tests/nn/scan_reference.py), sequence by sequence, in float64;
the two modes against each other; chunked feeding against one pass; gradcheck."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.nn import scan
from rnnkit.nn.registry import LAYERS

from .scan_reference import run_reference

CELLS = ("mingru", "minlstm", "rglru", "qrnn")
F64 = dict(rtol=1e-10, atol=1e-10)


def make(cell, I=3, H=4, **kw):
    torch.manual_seed(0)
    layer = getattr(rnnkit, LAYERS[cell])(I, H, dtype=torch.float64, **kw)
    with torch.no_grad():                      # weights larger than the default init: every gate regime
        for name, p in layer.named_parameters():
            if not name.startswith("lambda"):  # RG-LRU's a^c stays in its initial range
                p.mul_(3.0)
    return layer


def as_list(h):
    return list(h) if isinstance(h, tuple) else [h]


def random_state(layer, B, seed=1):
    g = torch.Generator().manual_seed(seed)
    LD = layer.num_layers * (2 if layer.bidirectional else 1)
    parts = [torch.randn(LD, B, w * layer.hidden_size, generator=g, dtype=torch.float64)
             for w in layer.state_widths]
    return parts[0] if len(parts) == 1 else tuple(parts)


def slice_state(h, b):
    return tuple(t[:, b] for t in h) if isinstance(h, tuple) else h[:, b]


CONFIGS = [
    dict(),
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=2, batch_first=True),
    dict(bidirectional=True, batch_first=True, bias=False),
]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("kw,mode", [(kw, "parallel") for kw in CONFIGS] + [(CONFIGS[1], "sequential")],
                         ids=lambda v: (",".join(f"{k}={x}" for k, x in v.items()) or "plain")
                         if isinstance(v, dict) else v)
@pytest.mark.parametrize("with_hx", [False, True])
def test_matches_the_per_step_reference(cell, kw, mode, with_hx):
    layer = make(cell, mode=mode, **kw)
    T, B = 7, 5
    lengths = torch.tensor([7, 3, 0, 1, 6])
    x = torch.randn(T, B, 3, dtype=torch.float64)
    hx = random_state(layer, B) if with_hx else None
    xin = x.transpose(0, 1) if layer.batch_first else x
    for lens in (None, lengths):
        y, h = layer(xin, hx, lengths=lens)
        y = y.transpose(0, 1) if layer.batch_first else y          # (T, B, D*H)
        zero = tuple(torch.zeros_like(t) for t in as_list(random_state(layer, B)))
        hx_b = hx if hx is not None else (zero if len(zero) > 1 else zero[0])
        for b in range(B):
            n = T if lens is None else int(lens[b])
            y_ref, h_ref = run_reference(layer, cell, x[:n, b], slice_state(hx_b, b))
            torch.testing.assert_close(y[:n, b], y_ref, **F64)
            assert torch.all(y[n:, b] == 0)                        # zeros at padded steps
            for got, want in zip(as_list(h), as_list(h_ref)):
                torch.testing.assert_close(got[:, b], want, **F64)


def _outputs_and_grads(layer, x, hx, lengths, mode):
    layer.zero_grad()
    x = x.clone().requires_grad_(True)
    hx = None if hx is None else (tuple(t.clone().requires_grad_(True) for t in hx) if isinstance(hx, tuple)
                                  else hx.clone().requires_grad_(True))
    y, h = layer(x, hx, lengths=lengths, mode=mode)
    g = torch.Generator().manual_seed(3)
    outs = [y] + as_list(h)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs)
    loss.backward()
    grads = [x.grad] + [t.grad for t in as_list(hx)] + [p.grad for p in layer.parameters()]
    return outs, grads


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("block", [None, 8])
def test_parallel_equals_sequential_outputs_and_gradients(cell, block, kernels, monkeypatch):
    """The parallel mode on the C kernels (rnnkit.nn.scan_native), and on torch ops in
    blocks of ``scan.BLOCK`` steps: in one block, and in five (the last one partial)."""
    if block:
        monkeypatch.setattr(scan, "BLOCK", block)
    layer = make(cell, num_layers=2, bidirectional=True)
    T, B = 37, 4                              # several chunks, one of them partial
    x = torch.randn(T, B, 3, dtype=torch.float64)
    hx = random_state(layer, B)
    lengths = torch.tensor([37, 20, 0, 1])
    par = _outputs_and_grads(layer, x, hx, lengths, "parallel")
    seq = _outputs_and_grads(layer, x, hx, lengths, "sequential")
    for a, b in zip(par[0] + par[1], seq[0] + seq[1]):
        torch.testing.assert_close(a, b, **F64)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("mode", ["parallel", "sequential", "auto"])
def test_chunked_feeding_equals_one_pass(cell, mode):
    layer = make(cell, num_layers=2, batch_first=True, mode=mode)
    B, T = 4, 12
    x = torch.randn(B, T, 3, dtype=torch.float64)
    lengths = torch.tensor([12, 5, 8, 0])
    y, h = layer(x, lengths=lengths)
    state, ys = None, []
    for a, b in ((0, 5), (5, 6), (6, 12)):     # chunks of 5, 1 and 6 steps
        lens = (lengths - a).clamp(0, b - a)
        yc, state = layer(x[:, a:b], state, lengths=lens)
        ys.append(yc)
    torch.testing.assert_close(torch.cat(ys, 1), y, **F64)
    for got, want in zip(as_list(state), as_list(h)):
        torch.testing.assert_close(got, want, **F64)


@pytest.mark.parametrize("cell", CELLS)
def test_gradcheck_float64(cell, kernels, monkeypatch):
    monkeypatch.setattr(scan, "BLOCK", 3)      # two blocks of the parallel mode on torch ops
    layer = make(cell, I=2, H=2, num_layers=2, bidirectional=True)
    names = [n for n, _ in layer.named_parameters()]
    T, B = 4, 3
    lengths = torch.tensor([4, 2, 0])

    def f(x, *rest):
        hx_parts, params = rest[:len(layer.state_widths)], rest[len(layer.state_widths):]
        hx = hx_parts[0] if len(hx_parts) == 1 else tuple(hx_parts)
        y, h = torch.func.functional_call(layer, dict(zip(names, params)), (x, hx), {"lengths": lengths})
        return (y,) + tuple(as_list(h))

    x = torch.randn(T, B, 2, dtype=torch.float64, requires_grad=True)
    hx = [t.requires_grad_(True) for t in as_list(random_state(layer, B))]
    # every input and parameter, through outputs and final states, on the parallel
    # scan (the sequential mode's gradients equal these: the test above)
    params = [p.detach().clone().requires_grad_(True) for p in layer.parameters()]
    layer.mode = "parallel"
    assert torch.autograd.gradcheck(f, (x, *hx, *params))


@pytest.mark.parametrize("cell", CELLS)
def test_unbatched_input_is_a_batch_of_one(cell):
    layer = make(cell, num_layers=2)
    x = torch.randn(6, 3, dtype=torch.float64)
    hx = random_state(layer, 1)
    y1, h1 = layer(x, slice_state(hx, 0))
    yb, hb = layer(x.unsqueeze(1), hx)
    torch.testing.assert_close(y1, yb[:, 0], **F64)
    for a, b in zip(as_list(h1), as_list(hb)):
        torch.testing.assert_close(a, b[:, 0], **F64)


@pytest.mark.parametrize("cell", CELLS)
def test_auto_mode_and_float32_agree_with_float64(cell):
    """float32 in both modes within float32 rounding of the float64 result, on a long input."""
    layer = make(cell, I=3, H=8)
    x = torch.randn(2000, 2, 3, dtype=torch.float64)
    y64, _ = layer(x)
    layer32 = layer.float()
    for mode in ("parallel", "sequential"):
        y32, _ = layer32(x.float(), mode=mode)
        torch.testing.assert_close(y32.double(), y64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cell", CELLS)
def test_bad_arguments_are_refused_with_what_was_received(cell):
    cls = getattr(rnnkit, LAYERS[cell])
    with pytest.raises(ValueError, match="expected mode to be one of 'auto', 'parallel', 'sequential', got 'fast'"):
        cls(3, 4, mode="fast")
    with pytest.raises(ValueError, match="expected hidden_size to be a positive integer, got 0"):
        cls(3, 0)
    layer = cls(3, 4)
    with pytest.raises(ValueError, match="expected input with 3 features"):
        layer(torch.randn(5, 2, 4))
    with pytest.raises(ValueError, match=r"expected lengths <= the time axis \(5 steps\), got a length of 6"):
        layer(torch.randn(5, 2, 3), lengths=torch.tensor([6, 1]))
    with pytest.raises(ValueError, match="expected mode to be one of"):
        layer(torch.randn(5, 2, 3), mode="scan")
    with pytest.raises(ValueError, match="expected at least one time step"):
        layer(torch.randn(0, 2, 3))


@pytest.mark.parametrize("cell_name", ["mingru", "minlstm"])
def test_cell_is_one_step_of_the_layer(cell_name):
    layer = make(cell_name)
    cell = getattr(rnnkit, LAYERS[cell_name] + "Cell")(3, 4, dtype=torch.float64)
    cell.load_state_dict({"weight_ih": layer.weight_ih_l0, "bias_ih": layer.bias_ih_l0})
    x = torch.randn(5, 3, dtype=torch.float64)
    h0 = torch.randn(5, 4, dtype=torch.float64)
    _, h1 = layer(x.unsqueeze(0), h0.unsqueeze(0))
    torch.testing.assert_close(cell(x, h0), h1[0], **F64)
    torch.testing.assert_close(cell(x[0], h0[0]), h1[0, 0], **F64)     # unbatched
    _, ref = run_reference(layer, cell_name, x[:1], h0[:1])          # one step of sequence 0
    torch.testing.assert_close(cell(x[0], h0[0]), ref[0], **F64)
    with pytest.raises(ValueError, match=r"expected hx of shape \(5, 4\), got \(5, 3\)"):
        cell(x, torch.zeros(5, 3, dtype=torch.float64))


@pytest.mark.parametrize("cell", CELLS)
def test_hx_of_the_wrong_shape_is_refused(cell):
    layer = make(cell, num_layers=2)
    hx = random_state(layer, 3)
    bad = tuple(t[:, :2] for t in hx) if isinstance(hx, tuple) else hx[:, :2]
    with pytest.raises(ValueError, match=r"expected (hx|h_0) of shape \(2, 3, 4\), got \(2, 2, 4\)"):
        layer(torch.randn(5, 3, 3, dtype=torch.float64), bad)


@pytest.mark.parametrize("decay_init", [None, (0.9, 0.999), (0.5, 0.6)])
def test_rglru_lambda_starts_with_a_to_the_c_uniform_in_decay_init(decay_init):
    kw = {} if decay_init is None else {"decay_init": decay_init}
    layer = rnnkit.RGLRU(3, 2000, bias=False, **kw)
    low, high = decay_init or (0.0, 0.999)
    a_c = torch.sigmoid(layer.lambda_l0.detach().double()) ** 8
    assert low - 1e-6 <= a_c.min() and a_c.max() <= high + 1e-6
    # uniform: mean and standard deviation of U(low, high)
    assert abs(a_c.mean().item() - (low + high) / 2) < 0.03 * (high - low) + 1e-3
    assert abs(a_c.std().item() - (high - low) / 12 ** 0.5) < 0.05 * (high - low)
    assert torch.isfinite(layer.lambda_l0).all()
    assert [n for n, _ in layer.named_parameters()] == ["weight_ih_l0", "weight_gate_l0", "lambda_l0"]


@pytest.mark.parametrize("bad", [(0.9,), (0.9, 0.5), (0.0, 1.0), (-0.1, 0.5), "ab", 0.5])
def test_rglru_decay_init_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match=r"RGLRU: expected decay_init to be \(low, high\) with 0 <= low < high < 1, got"):
        rnnkit.RGLRU(3, 4, decay_init=bad)


def test_qrnn_state_is_a_pair_of_h_and_its_memory():
    layer = make("qrnn", num_layers=2)
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    y, (h, c) = layer(x)
    assert h.shape == (2, 3, 4) and c.shape == (2, 3, 16)             # c: [c_t; W_1 x_last], 4H
    torch.testing.assert_close(h[-1], y[-1], **F64)                   # h: the last output
    with pytest.raises(ValueError, match=r"QRNN: expected hx to be a pair \(h_0, c_0\), got Tensor"):
        layer(x, h)
    with pytest.raises(ValueError, match=r"expected c_0 of shape \(2, 3, 16\), got \(2, 3, 4\)"):
        layer(x, (h, h))
