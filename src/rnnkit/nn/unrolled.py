"""The unrolled execution path: any :class:`~rnnkit.nn.cell_math.CellMath`, one layer,
one direction, with backpropagation through time written out.

Forward: the input projection ``xp = x W_ih^T + b_ih`` of every step is one matrix
product; then each step does one product with ``W_hh`` and the cell's pointwise
``step``. Backward walks the steps in reverse: each step forms its gate gradients with
the cell's ``backward`` and one product with ``W_hh`` for the gradient of the previous
state; the weight gradients are then one matrix product over all steps.

Mixed lengths: the batch is sorted by length, longest first (the caller sorts), so at
step t the sequences still running are the first ``batch_sizes[t]`` rows, exactly as in
a packed sequence. Finished sequences are never computed, their outputs stay zero and
their final state is the state after their own last step.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .cell_math import CellMath

__all__ = ["unrolled_layer"]


def _packed(step_rows: Sequence[Tensor]) -> Tensor:
    """Concatenate per-step row blocks into packed layout, shape (sum of rows, F)."""
    return torch.cat(list(step_rows), 0) if len(step_rows) > 1 else step_rows[0]


def _unpack(data: Tensor, batch_sizes: Sequence[int], T: int, B: int) -> Tensor:
    """Inverse of packing: (N, F) packed rows -> (T, B, F), zero where padded."""
    out = data.new_zeros(T, B, data.shape[-1])
    start = 0
    for t, n in enumerate(batch_sizes):
        if n == 0:
            break
        out[t, :n] = data[start:start + n]
        start += n
    return out


class _UnrolledLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, math: CellMath, batch_sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        # x: (T, B, I) time-major; rows sorted by length, longest first
        T, B, I = x.shape
        G = w_ih.shape[0]
        full = batch_sizes is None
        bs = [B] * T if full else list(batch_sizes)
        steps = sum(1 for n in bs if n > 0)  # steps any sequence reaches

        # input projection of every step at once: (T*B, I) @ (I, G) -> (T, B, G)
        x2 = x.reshape(T * B, I)
        xp = torch.addmm(b_ih, x2, w_ih.t()) if b_ih is not None else x2 @ w_ih.t()
        if math.additive and b_hh is not None:
            xp += b_hh
        xp = xp.view(T, B, G)

        w_hh_t = w_hh.t()
        w_hr_t = None if w_hr is None else w_hr.t()
        hs, cs, saved, raws = [], [], [], []
        h, c = h0, c0
        for t in range(steps):
            n = bs[t]
            h_prev = h[:n]
            c_prev = None if c is None else c[:n]
            if math.additive:
                pre = torch.addmm(xp[t, :n], h_prev, w_hh_t)
                h_raw, c, sv = math.step(pre, None, h_prev, c_prev)
            else:
                hp = torch.addmm(b_hh, h_prev, w_hh_t) if b_hh is not None else h_prev @ w_hh_t
                h_raw, c, sv = math.step(xp[t, :n], hp, h_prev, c_prev)
            if w_hr_t is not None:
                raws.append(h_raw)
                h = h_raw @ w_hr_t
            else:
                h = h_raw
            hs.append(h)
            if c is not None:
                cs.append(c)
            saved.append(sv)

        P = h0.shape[-1]
        if full and steps == T:
            y = torch.stack(hs, 0)  # (T, B, P)
        else:
            y = _unpack(_packed(hs), bs, T, B) if hs else x.new_zeros(T, B, P)

        # final state of each row: the state after its own last step (rows with length
        # 0 keep the initial state); rows ending at step t are hs[t][bs[t+1]:bs[t]]
        nxt = bs[1:] + [0]
        h_parts, c_parts = [], []
        for t in reversed(range(steps)):
            if nxt[t] < bs[t]:
                h_parts.append(hs[t][nxt[t]:bs[t]])
                if cs:
                    c_parts.append(cs[t][nxt[t]:bs[t]])
        n0 = bs[0] if steps else 0
        if n0 < B:
            h_parts.append(h0[n0:])
            if c0 is not None:
                c_parts.append(c0[n0:])
        h_n = torch.cat(h_parts, 0) if len(h_parts) > 1 else h_parts[0].clone()

        ctx.math, ctx.bs, ctx.steps, ctx.full = math, bs, steps, full
        ctx.hs, ctx.saved, ctx.raws = hs, saved, raws
        ctx.save_for_backward(x, h0, w_ih, w_hh, w_hr)
        ctx.has_b_ih, ctx.has_b_hh = b_ih is not None, b_hh is not None
        if math.has_cell_state:
            c_n = torch.cat(c_parts, 0) if len(c_parts) > 1 else c_parts[0].clone()
            return y, h_n, c_n
        return y, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n=None):
        x, h0, w_ih, w_hh, w_hr = ctx.saved_tensors
        math, bs, steps, full = ctx.math, ctx.bs, ctx.steps, ctx.full
        hs, saved, raws = ctx.hs, ctx.saved, ctx.raws
        T, B, I = x.shape
        P = h0.shape[-1]

        dh_state = dh_n.clone() if dh_n is not None else h0.new_zeros(B, P)
        if math.has_cell_state:
            dc_state = dc_n.clone() if dc_n is not None else h0.new_zeros(B, w_hh.shape[0] // math.num_gates)
        else:
            dc_state = None

        dxps, dhps, dhs = [], [], []
        for t in reversed(range(steps)):
            n = bs[t]
            dh = dh_state[:n] + dy[t, :n] if dy is not None else dh_state[:n].clone()
            if w_hr is not None:
                dhs.append(dh)  # gradient w.r.t. the projected h_t
                dh_raw = dh @ w_hr
            else:
                dh_raw = dh
            dxp, dhp, dh_direct, dc_prev = math.backward(
                dh_raw, None if dc_state is None else dc_state[:n], saved[t])
            dh_prev = dhp @ w_hh  # (n, G) @ (G, P)
            if dh_direct is not None:
                dh_prev += dh_direct
            dh_state[:n] = dh_prev
            if dc_state is not None:
                dc_state[:n] = dc_prev
            dxps.append(dxp)
            dhps.append(dhp)

        need = ctx.needs_input_grad
        dx = dh0 = dc0 = dw_ih = dw_hh = db_ih = db_hh = dw_hr = None
        if steps:
            dxps.reverse()
            dhps.reverse()
            dXP = _packed(dxps)  # (N, G), N = sum of batch sizes
            dHP = dXP if math.additive else _packed(dhps)
            if full and steps == T:
                X = x.reshape(T * B, I)
            else:
                X = _packed([x[t, :bs[t]] for t in range(steps)])
            # h_{t-1} of every row computed at step t, packed the same way
            Hprev = _packed([h0[:bs[0]]] + [hs[t - 1][:bs[t]] for t in range(1, steps)])
            if need[2]:
                dX = dXP @ w_ih
                dx = dX.view(T, B, I) if (full and steps == T) else _unpack(dX, bs, T, B)
            if need[5]:
                dw_ih = dXP.t() @ X
            if need[6]:
                dw_hh = dHP.t() @ Hprev
            if ctx.has_b_ih and need[7]:
                db_ih = dXP.sum(0)
            if ctx.has_b_hh and need[8]:
                db_hh = dHP.sum(0)
            if w_hr is not None and need[9]:
                dhs.reverse()
                dw_hr = _packed(dhs).t() @ _packed(raws)
        else:
            if need[2]:
                dx = torch.zeros_like(x)
            if need[5]:
                dw_ih = torch.zeros_like(w_ih)
            if need[6]:
                dw_hh = torch.zeros_like(w_hh)
            if ctx.has_b_ih and need[7]:
                db_ih = w_ih.new_zeros(w_ih.shape[0])
            if ctx.has_b_hh and need[8]:
                db_hh = w_hh.new_zeros(w_hh.shape[0])
            if w_hr is not None and need[9]:
                dw_hr = torch.zeros_like(w_hr)
        if need[3]:
            dh0 = dh_state
        if need[4]:
            dc0 = dc_state
        return None, None, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr


def unrolled_layer(math: CellMath, batch_sizes, x: Tensor, h0: Tensor, c0: Tensor | None, weights):
    """One layer, one direction, on the unrolled path.

    Args:
        math: the cell's one-step math.
        batch_sizes: None when every sequence has all T steps, else a list of T ints,
            the number of sequences still running at each step (rows sorted by length,
            longest first).
        x: (T, B, I) time-major input.
        h0: (B, P) initial state (P = projection size or hidden size).
        c0: (B, H) initial cell state, or None for cells without one.
        weights: (w_ih (G, I), w_hh (G, P), b_ih (G,) or None, b_hh (G,) or None,
            w_hr (P, H) or None).

    Returns:
        (y (T, B, P) zero at padded steps, h_n (B, P), c_n (B, H) or None).
    """
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    out = _UnrolledLayer.apply(math, batch_sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    if math.has_cell_state:
        return out
    return out[0], out[1], None
