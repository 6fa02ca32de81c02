"""QRNN's width-2 convolution as in-place matrix products (rnnkit.nn.scan_conv) against
its formula in torch ops, with gradcheck in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.nn.scan_conv import shifted_linear


def formula(x, W2, W1, b, p0, sizes):
    prev = torch.cat([p0.unsqueeze(0), F.linear(x[:-1], W1)])          # (T, B, N): W1 x_{t-1}, p0 first
    return (F.linear(x, W2, b) + prev).split(list(sizes), -1)


def data(T, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    B, I, N = 3, 4, 5
    t = [torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True)
         for s in ((T, B, I), (N, I), (N, I), (N,), (B, N))]
    if not bias:
        t[3] = None
    return t


@pytest.mark.parametrize("T", [1, 2, 7])
@pytest.mark.parametrize("bias", [True, False])
def test_equals_the_formula_with_gradients(T, bias):
    args = data(T, bias)
    leaves = [a for a in args if a is not None]
    outs = []
    for fn in (shifted_linear, formula):
        ys = fn(*args, (3, 2))
        w = [torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=y.dtype) for y in ys]
        loss = sum((y * wi).sum() for y, wi in zip(ys, w))
        outs.append(list(ys) + list(torch.autograd.grad(loss, leaves)))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_gradcheck_and_one_group_without_a_gradient():
    args = data(4)
    assert torch.autograd.gradcheck(lambda *a: shifted_linear(*a, (3, 2)), tuple(args))
    # only the first group reaches the loss: the second's gradient is None
    x = args[0]
    y1, _ = shifted_linear(*args, (3, 2))
    gx, = torch.autograd.grad(y1.sum(), [x])
    want, = torch.autograd.grad(formula(*args, (3, 2))[0].sum(), [x])
    torch.testing.assert_close(gx, want)


def test_sizes_that_do_not_cover_the_rows_are_refused():
    with pytest.raises(ValueError, match="expected sizes summing to 5 rows, got \\(3, 3\\)"):
        shifted_linear(*data(3), (3, 3))
