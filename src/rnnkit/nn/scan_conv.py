r"""QRNN's convolution of width 2 over the inputs (:class:`rnnkit.QRNN`), every step at once:

.. math:: k_t = W_2 x_t + b + W_1 x_{t-1}, \qquad W_1 x_{-1} = p_0 \text{ (the carried state)}

as an autograd Function whose forward and backward are matrix products accumulating in
place into their outputs (``addmm_`` on the rows of steps 1..T-1): no shifted copy of the
input or of the gradient, no concatenation, and none of the zero-filled gradients that
autograd's slicing backward writes (measured at T = 4,096, B = 16, H = 128 before this:
a quarter of QRNN's time went to ``fill_``, ``cat``, ``add`` and ``copy_`` around its
products; benchmarks/README.md). The rows of the weights are cut into groups (QRNN's
[z; f] and o) returned as separate contiguous tensors, so that neither is a slice of
the other (the scan reads [z; f] contiguous).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["shifted_linear"]


class _ShiftedLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, sizes, x, W2, W1, b, p0):
        T, B, I = x.shape
        x2 = x.reshape(T * B, I)                                   # (T*B, I), rows of step t at t*B
        outs, r = [], 0
        for n in sizes:
            rows = slice(r, r + n)
            out = torch.mm(x2, W2[rows].t()) if b is None else torch.addmm(b[rows], x2, W2[rows].t())
            out[B:].addmm_(x2[:-B], W1[rows].t())                 # + W1 x_{t-1}, t >= 1
            out[:B].add_(p0[:, rows])                             # + p0 at t = 0
            outs.append(out.view(T, B, n))
            r += n
        ctx.sizes, ctx.has_bias = sizes, b is not None
        ctx.save_for_backward(x, W2, W1)
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        x, W2, W1 = ctx.saved_tensors
        T, B, I = x.shape
        x2 = x.reshape(T * B, I)
        dx = dW2 = dW1 = db = dp0 = None
        need_x, need_w2, need_w1, need_b, need_p0 = ctx.needs_input_grad[1:6]
        dx2 = None
        dW2s, dW1s, dbs, dp0s, r = [], [], [], [], 0
        for n, g in zip(ctx.sizes, grads):
            rows = slice(r, r + n)
            g2 = (torch.zeros(T, B, n, dtype=x.dtype, device=x.device) if g is None else g).reshape(T * B, n)
            if need_x:
                dx2 = torch.mm(g2, W2[rows]) if dx2 is None else dx2.addmm_(g2, W2[rows])
                dx2[:-B].addmm_(g2[B:], W1[rows])                 # x_{t-1} fed step t
            if need_w2:
                dW2s.append(g2.t().mm(x2))
            if need_w1:
                dW1s.append(g2[B:].t().mm(x2[:-B]))
            if need_b:
                dbs.append(g2.sum(0))
            if need_p0:
                dp0s.append(g2[:B])
            r += n
        if need_x:
            dx = dx2.view(T, B, I)
        if need_w2:
            dW2 = torch.cat(dW2s)
        if need_w1:
            dW1 = torch.cat(dW1s)
        if need_b and ctx.has_bias:
            db = torch.cat(dbs)
        if need_p0:
            dp0 = torch.cat(dp0s, -1)
        return None, dx, dW2, dW1, db, dp0


def shifted_linear(x: Tensor, W2: Tensor, W1: Tensor, b: Tensor | None, p0: Tensor,
                   sizes: tuple) -> tuple:
    """``W2 x_t + b + W1 x_{t-1}`` for every step of ``x`` (T, B, I), ``W1 x_{-1} = p0``
    (B, N), cut by rows of W2, W1 (N, I), b (N,) into tensors (T, B, n) for n in ``sizes``
    (their sum N). Differentiable once."""
    if sum(sizes) != W2.shape[0]:
        raise ValueError(f"shifted_linear: expected sizes summing to {W2.shape[0]} rows, got {tuple(sizes)}")
    return _ShiftedLinear.apply(tuple(sizes), x.contiguous(), W2, W1, b, p0)
