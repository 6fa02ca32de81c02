"""The unrolled execution path: any :class:`~rnnkit.nn.cell_math.CellMath`, one layer,
one direction, with backpropagation through time written out.

Forward: the input projection ``xp = x W_ih^T + b_ih`` of every step is one matrix
product; then each step does one product with ``W_hh`` and the cell's pointwise
``engine_step`` (its ``step``, or one C kernel for the built-in cells). Backward walks
the steps in reverse: each step forms its gate gradients with the cell's
``engine_backward`` and one product with ``W_hh`` for the gradient of the previous
state; the weight gradients are then one matrix product over all steps. Buffers come
from :mod:`rnnkit.nn.workspace` and go back there when the graph is freed.

Mixed lengths: the batch is sorted by length, longest first (the caller sorts), so at
step t the sequences still running are the first ``batch_sizes[t]`` rows, exactly as in
a packed sequence. Finished sequences are never computed, their outputs stay zero and
their final state is the state after their own last step.
"""

from __future__ import annotations

import weakref

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from . import native, workspace
from .cell_math import CellMath

__all__ = ["unrolled_layer"]


class _UnrolledLayer(torch.autograd.Function):
    # Rows are kept in packed layout: step 0's rows, then step 1's, ... (N rows in all,
    # N = sum of batch sizes), so that padded steps cost nothing and every step's rows
    # are one contiguous block.

    @staticmethod
    def forward(ctx, math: CellMath, batch_sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        # x: (T, B, I) time-major; rows sorted by length, longest first
        h0 = h0.contiguous()  # the kernels read rows of the states directly
        c0 = None if c0 is None else c0.contiguous()
        T, B, I = x.shape
        G = w_ih.shape[0]
        H = G // math.num_gates
        P = h0.shape[-1]
        bs = [B] * T if batch_sizes is None else [int(n) for n in batch_sizes]
        steps = sum(1 for n in bs if n > 0)  # steps that any sequence reaches
        sizes = bs[:steps]
        N = sum(sizes)
        fast = native.available(h0, c0, w_ih, w_hh) and x.dtype == w_ih.dtype
        # packed row -> row of the (T * B) padded layout; None when nothing is padded
        idx = None
        lengths = (torch.tensor(bs).unsqueeze(1) > torch.arange(B)).sum(0)  # (B,)
        if N < T * B:
            valid = torch.arange(T).unsqueeze(1) < lengths  # (T, B), row-major = packed order
            idx = valid.flatten().nonzero().squeeze(1).to(x.device)
            xp_in = x.reshape(T * B, I).index_select(0, idx)  # (N, I)
        else:
            xp_in = x.reshape(T * B, I)

        # input projection of every step at once: (N, I) @ (I, G) -> (N, G)
        xp = workspace.take((N, G), x)
        if b_ih is not None:
            torch.addmm(b_ih, xp_in, w_ih.t(), out=xp)
        else:
            torch.mm(xp_in, w_ih.t(), out=xp)
        if math.additive and b_hh is not None:
            xp += b_hh

        # every step writes into these buffers. y holds h_t of every step; it is not
        # the output itself: ctx keeps views of it (h_prev), and views of an output
        # held by ctx would keep the graph alive
        y = workspace.take((N, P), x)
        raw = workspace.take((N, H), x) if w_hr is not None else y  # h before projection
        cbuf = workspace.take((N, H), x) if math.has_cell_state else None
        hpbuf = None
        if not math.additive:  # hp_t = b_hh + W_hh h_{t-1}: the bias goes in once
            hpbuf = workspace.take((N, G), x)
            if b_hh is not None:
                hpbuf.copy_(b_hh.expand(N, G))
        w_hh_t = w_hh.t()
        w_hr_t = None if w_hr is None else w_hr.t()
        # every step's rows, as views made at once: (N, .) -> steps x (n_t, .)
        xps, ys, raws = (xp.split(sizes), y.split(sizes), raw.split(sizes)) if N else ((), (), ())
        cs = cbuf.split(sizes) if cbuf is not None else None
        hps = hpbuf.split(sizes) if hpbuf is not None else None
        saved = []
        h, c = h0, c0
        for t in range(steps):
            n = sizes[t]
            h_prev = h if n == h.shape[0] else h[:n]
            c_prev = None if c is None else (c if n == c.shape[0] else c[:n])
            xpt = xps[t]  # the loop's buffer: the cell may overwrite it
            c_out = None if cs is None else cs[t]
            if math.additive:
                sv = math.engine_step(xpt.addmm_(h_prev, w_hh_t), None, h_prev, c_prev, raws[t], c_out, fast)
            else:
                hp = hps[t]
                if b_hh is not None:
                    hp.addmm_(h_prev, w_hh_t)
                else:
                    torch.mm(h_prev, w_hh_t, out=hp)
                sv = math.engine_step(xpt, hp, h_prev, c_prev, raws[t], c_out, fast)
            if w_hr_t is not None:
                torch.mm(raws[t], w_hr_t, out=ys[t])
            h = ys[t]
            c = None if cs is None else cs[t]
            saved.append(sv)

        if idx is None:
            out = y.view(T, B, P).clone()
        else:  # zero at padded steps
            out = y.new_zeros(T * B, P).index_copy_(0, idx, y).view(T, B, P)
        # final state of each row: after its own last step (rows of length 0 keep the
        # initial state); row b's last step t = lengths[b] - 1 is packed row offset[t] + b
        offsets = torch.tensor([0] + bs[:-1]).cumsum(0)  # (T,) first packed row of each step
        last = (offsets[(lengths - 1).clamp(min=0)] + torch.arange(B)).clamp(max=max(N - 1, 0))
        h_n = _final(y, last, lengths, h0)
        c_n = _final(cbuf, last, lengths, c0) if cbuf is not None else None

        # the buffers return to the pool when the graph (and so ctx) is freed
        weakref.finalize(ctx, workspace.give, xp, y, cbuf, hpbuf, raw if w_hr is not None else None)
        ctx.math, ctx.sizes, ctx.fast, ctx.saved, ctx.idx = math, sizes, fast, saved, idx
        ctx.offsets, ctx.shape = offsets, (T, B, I)
        ctx.has_b_ih, ctx.has_b_hh = b_ih is not None, b_hh is not None
        ctx.hs, ctx.raw = y, (raw if w_hr is not None else None)
        ctx.save_for_backward(xp_in, h0, w_ih, w_hh, w_hr)
        if math.has_cell_state:
            return out, h_n, c_n
        return out, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n=None):
        xp_in, h0, w_ih, w_hh, w_hr = ctx.saved_tensors
        y, raw, idx = ctx.hs, ctx.raw, ctx.idx
        math, sizes, fast, saved = ctx.math, ctx.sizes, ctx.fast, ctx.saved
        T, B, I = ctx.shape
        G = w_ih.shape[0]
        P = h0.shape[-1]
        N = sum(sizes)
        steps = len(sizes)
        dy = dy.reshape(T * B, P)
        dy = dy.index_select(0, idx) if idx is not None else dy.contiguous()  # (N, P)

        dh_state = dh_n.clone()  # gradient w.r.t. each row's latest state, (B, P)
        dc_state = dc_n.clone() if math.has_cell_state else None
        # gradients w.r.t. xp and hp of every step, packed like them
        dxp = workspace.take((N, G), y)
        dhp = dxp if math.additive else workspace.take((N, G), y)
        dhfull = workspace.take((N, P), y) if w_hr is not None else None  # w.r.t. projected h_t

        dys, dxps = (dy.split(sizes), dxp.split(sizes)) if N else ((), ())
        dhps = dxps if math.additive else dhp.split(sizes)
        dhfulls = dhfull.split(sizes) if dhfull is not None else None
        rows_n, dh_rows, dc_rows = None, None, None
        for t in reversed(range(steps)):
            n = sizes[t]
            if n != rows_n:  # the rows still running; the same view while n is
                rows_n = n
                dh_rows = dh_state if n == B else dh_state[:n]
                dc_rows = None if dc_state is None else (dc_state if n == B else dc_state[:n])
            dxp_t, dhp_t = dxps[t], dhps[t]
            dhp_out = None if math.additive else dhp_t
            if w_hr is not None:
                dh = torch.add(dh_rows, dys[t], out=dhfulls[t])
                direct = math.engine_backward(dh @ w_hr, None, dc_rows, saved[t], dxp_t, dhp_out,
                                              dh_rows, fast)
            else:
                direct = math.engine_backward(dh_rows, dys[t], dc_rows, saved[t], dxp_t,
                                              dhp_out, dh_rows, fast)
            # gradient w.r.t. h_{t-1}: the cell's direct part (now in dh_rows) plus the
            # part through W_hh
            if direct:
                dh_rows.addmm_(dhp_t, w_hh)
            else:
                torch.mm(dhp_t, w_hh, out=dh_rows)

        need = ctx.needs_input_grad
        dx = dw_ih = dw_hh = db_ih = db_hh = dw_hr = None
        if need[2]:
            dX = dxp @ w_ih  # (N, I)
            if idx is None:
                dx = dX.view(T, B, I)
            else:
                dx = dX.new_zeros(T * B, I).index_copy_(0, idx, dX).view(T, B, I)
        if need[5]:
            dw_ih = dxp.t() @ xp_in
        if need[6]:
            # h_{t-1} of the rows of step t: h0 for t = 0, else step t-1's first n_t rows
            n0 = sizes[0] if steps else 0
            dw_hh = dhp[:n0].t() @ h0[:n0]
            if steps > 1:
                if idx is None:
                    prev = y[:(steps - 1) * B]
                else:  # packed row (t, b) -> packed row (t - 1, b)
                    t_of, b_of = idx[n0:] // B, idx[n0:] % B
                    prev = y.index_select(0, ctx.offsets.to(idx.device)[t_of - 1] + b_of)
                dw_hh.addmm_(dhp[n0:].t(), prev)
        if ctx.has_b_ih and need[7]:
            db_ih = dxp.sum(0)
        if ctx.has_b_hh and need[8]:
            db_hh = dhp.sum(0)
        if w_hr is not None and need[9]:
            dw_hr = dhfull.t() @ raw
        workspace.give(dxp, dhp, dhfull)  # nothing returned below refers to them
        dh0 = dh_state if need[3] else None
        dc0 = dc_state if need[4] else None
        return None, None, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr


def _final(buf: Tensor, last: Tensor, lengths: Tensor, init: Tensor) -> Tensor:
    """Packed row ``last[b]`` of ``buf`` (N, F) for each row b, or ``init[b]`` where
    lengths[b] is 0."""
    if buf.shape[0] == 0:  # no sequence has a step
        return init.clone()
    out = buf.index_select(0, last.to(buf.device))  # (B, F)
    empty = (lengths == 0).to(buf.device).unsqueeze(-1)
    return torch.where(empty, init, out) if bool(empty.any()) else out


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
