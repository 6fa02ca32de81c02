"""The linear recurrence h_t = a_t h_{t-1} + b_t (rnnkit.nn.scan) against a Python loop
over the steps: every chunk size, both directions, gradients (first and second order),
padded steps, and float32 accuracy on a long input."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn.scan import _chunked, blocked_scan, linear_scan, mask_padded, parallel_scan


def loop(a, b, h0, reverse=False):
    """The recurrence as written, one step after the other (float64 reference)."""
    T = a.shape[0]
    out, h = [None] * T, h0
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = a[t] * h + b[t]
        out[t] = h
    return torch.stack(out)


def data(T, B=3, H=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(T, B, H, generator=g, dtype=dtype)
    b = torch.randn(T, B, H, generator=g, dtype=dtype)     # signed inputs
    h0 = torch.randn(B, H, generator=g, dtype=dtype)       # and a signed state
    return a, b, h0


@pytest.mark.parametrize("T", [1, 2, 5, 16, 17, 50])
def test_chunked_scan_equals_the_loop_for_every_chunk_size_and_direction(T):
    a, b, h0 = data(T)
    for reverse in (False, True):
        want = loop(a, b, h0, reverse)
        for C in (1, 2, 3, 7, None):
            torch.testing.assert_close(_chunked(a, b, h0, reverse=reverse, C=C), want, rtol=1e-12, atol=1e-12)
    want = loop(a, b, h0)
    for mode in ("parallel", "sequential", "export"):
        torch.testing.assert_close(linear_scan(a, b, h0, mode), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("T", [1, 6, 11])
def test_parallel_scan_gradients_first_and_second_order(T):
    a, b, h0 = (t.requires_grad_(True) for t in data(T, B=2, H=2))
    assert torch.autograd.gradcheck(parallel_scan, (a, b, h0))
    assert torch.autograd.gradgradcheck(parallel_scan, (a, b, h0))


def test_padded_steps_keep_the_state():
    a, b, h0 = data(6)
    lengths = torch.tensor([6, 2, 0])
    valid = (torch.arange(6).unsqueeze(1) < lengths).unsqueeze(-1)    # (T, B, 1)
    hs = parallel_scan(*mask_padded(a, b, valid), h0)
    for k, n in enumerate(lengths.tolist()):
        final = loop(a[:n, k:k + 1], b[:n, k:k + 1], h0[k:k + 1])[-1, 0] if n else h0[k]
        torch.testing.assert_close(hs[-1, k], final, rtol=1e-12, atol=1e-12)


def test_float32_error_does_not_grow_with_length():
    """The chunked scan only multiplies and adds: its float32 error on 20,000 steps
    stays at float32 rounding of the state (the log-space scan's grows with T)."""
    a, b, h0 = data(20000, B=2, H=8, seed=1)
    a = 0.5 + 0.5 * a                                        # a in (0.5, 1): long memory
    want = loop(a, b, h0)
    got = parallel_scan(a.float(), b.float(), h0.float()).double()
    err = ((got - want).abs() / want.abs().clamp(min=1)).max().item()
    assert err < 1e-5, err


@pytest.mark.parametrize("block", [1, 4, 64])
def test_blocked_scan_equals_the_loop_with_its_gradients(block):
    """The coefficients computed block by block (here a = sigmoid(k), b = u * w) give
    the loop's states; gradients to the inputs and the shared parameter by gradcheck."""
    g = torch.Generator().manual_seed(2)
    k, u = (torch.randn(9, 2, 3, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2))
    w = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    valid = (torch.arange(9).unsqueeze(1) < torch.tensor([9, 4])).unsqueeze(-1)

    def coefficients(k, u, w):
        return torch.sigmoid(k), u * w

    def f(k, u, w, h0):
        return blocked_scan(coefficients, [k, u], [w], h0, valid, block=block)

    a, b = mask_padded(torch.sigmoid(k), u * w, valid)
    torch.testing.assert_close(f(k, u, w, h0), loop(a, b, h0), rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(f, (k, u, w, h0))
