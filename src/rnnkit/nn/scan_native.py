r"""The parallel-scan cells' recurrence on the C kernels (``_kernels.c``, loaded by
:mod:`rnnkit.nn.native`): one call computes the coefficients of
:math:`h_t = a_t \odot h_{t-1} + b_t` from the gate pre-activations and runs the
recurrence over every step; one call runs its backward (the derivatives of
:mod:`rnnkit.nn.scan_math`'s equations, written by hand in the C source).

Why: the torch-op version (:func:`rnnkit.nn.scan.blocked_scan`) runs a dozen element-wise
operations per block for the coefficients and, in the backward, recomputes them under
autograd; at T = 4,096 (B = 16, H = 128) those took more time than the matrix products
(benchmarks/README.md, "Where the time goes"). Here the pre-activations are read once
and the states written once in each direction: a step is B*H contiguous numbers, so the
recurrence, step after step, vectorises over them, and no chunking is needed.

The layers take this path in ``mode="parallel"`` when :func:`rnnkit.nn.native.available`
(CPU, float32/64, the kernels built) and not under ``torch.compile`` or export; else the
torch-op version, with the same numbers (tests: float64 within 1e-10, gradcheck).
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import native

__all__ = ["CELLS", "usable", "native_scan"]

CELLS = ("mingru", "minlstm", "rglru", "qrnn")


class _NativeScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, cell, valid, h0, pre, u, sp):
        T, B, H = pre.shape[0], pre.shape[1], h0.shape[-1]
        hs = pre.new_empty((T, B, H))
        y = pre.new_empty((T, B, H)) if cell == "qrnn" else None
        native.call(f"{cell}_scan_fwd", pre.dtype, pre, u, sp, h0, valid, hs, y, T, B, H)
        ctx.cell = cell
        ctx.save_for_backward(valid, h0, pre, u, sp, hs)
        # outputs no loss reaches get None, not a (T, B, H) tensor of zeros
        ctx.set_materialize_grads(False)
        return (hs, hs[-1].clone()) + ((y, y[-1].clone()) if y is not None else ())

    @staticmethod
    def backward(ctx, g, g_last, g_y=None, g_ylast=None):
        valid, h0, pre, u, sp, hs = ctx.saved_tensors
        T, B, H = hs.shape
        g = None if g is None else g.contiguous()
        dpre = torch.empty_like(pre)
        du = None if u is None else torch.empty_like(u)
        dsp = None if sp is None else torch.empty(H, dtype=torch.float64)   # summed in float64
        # the kernel's carry (the gradient reaching h_t from after it) starts at the last
        # state's own gradient, and ends as dL/dh0
        dh0 = torch.zeros_like(h0) if g_last is None else g_last.clone(memory_format=torch.contiguous_format)
        if ctx.cell == "qrnn":   # dL/dy, with the last step's own output's gradient added
            gy = torch.zeros_like(hs) if g_y is None else g_y.contiguous()
            if g_ylast is not None:
                if g_y is not None and gy.data_ptr() == g_y.data_ptr():
                    gy = gy.clone()                            # autograd's buffer is not ours to change
                gy[-1] += g_ylast
            g_y = gy
        native.call(f"{ctx.cell}_scan_bwd", pre.dtype, pre, u, sp, h0, valid, hs, g, g_y, dpre, du, dsp, dh0,
                    T, B, H)
        return None, None, dh0, dpre, du, None if dsp is None else dsp.to(sp.dtype)


def usable(*tensors) -> bool:
    """Whether :func:`native_scan` can run on these tensors here (None entries ignored):
    the kernels built, CPU, one float dtype, contiguous, and not under torch.compile."""
    return not torch.compiler.is_compiling() and native.available(*(t for t in tensors if t is not None))


def native_scan(cell: str, pre: Tensor, h0: Tensor, valid: Tensor | None = None,
                u: Tensor | None = None, sp: Tensor | None = None, with_last: bool = False):
    r"""The states (T, B, H) of ``cell``'s recurrence from the pre-activations ``pre``
    (T, B, G*H) (:mod:`rnnkit.nn.scan_math`'s order of gates), ``h0`` (B, H), padded steps
    where ``valid`` (T, B, 1) is False keeping the state; RG-LRU also takes its input
    ``u`` (T, B, H) and ``sp`` = softplus(-Lambda) (H,). ``with_last``: also the last
    state (B, H) as its own tensor (``states[-1]``'s numbers; its gradient enters the
    backward without a (T, B, H) tensor around it). QRNN: ``pre`` is [z; f; o]
    (T, B, 3H) and its output :math:`y_t = \sigma(o_t) c_t` (zero at padded steps) and
    ``y[-1]`` as its own tensor come last: ``(states, [last,] y, y_last)``.
    Differentiable once."""
    if cell not in CELLS:
        raise ValueError(f"native_scan: expected cell to be one of {', '.join(CELLS)}, got {cell!r}")
    v = None if valid is None else valid.reshape(valid.shape[0], valid.shape[1]).to(torch.bool).contiguous()
    c = [None if t is None else t.contiguous() for t in (h0, pre, u, sp)]
    hs, last, *y = _NativeScan.apply(cell, v, *c)
    return tuple([hs] + ([last] if with_last else []) + y) if (with_last or y) else hs
