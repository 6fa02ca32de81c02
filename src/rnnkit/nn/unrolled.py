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
    @staticmethod
    def forward(ctx, math: CellMath, batch_sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        # x: (T, B, I) time-major; rows sorted by length, longest first
        x = x.contiguous()  # e.g. a batch_first input seen time-major
        T, B, I = x.shape
        G = w_ih.shape[0]
        H = G // math.num_gates
        P = h0.shape[-1]
        bs = [B] * T if batch_sizes is None else list(batch_sizes)
        steps = sum(1 for n in bs if n > 0)  # steps that any sequence reaches
        fast = native.available(x, h0, c0, w_ih, w_hh)
        partial = any(n < B for n in bs)
        # each row's length: the number of steps whose batch size exceeds its index
        lengths = (torch.tensor(bs).unsqueeze(1) > torch.arange(B)).sum(0)  # (B,)
        pad = None
        if partial:
            # (T, B, 1), True at padded steps. They are never computed, but the weight
            # gradients are products over all rows, so their rows are set to zero
            pad = (torch.arange(T).unsqueeze(1) >= lengths).unsqueeze(-1).to(x.device)
            x = x.masked_fill(pad, 0)

        # input projection of every step at once: (T*B, I) @ (I, G) -> (T, B, G)
        x2 = x.reshape(T * B, I)
        xp = workspace.take((T, B, G), x)
        if b_ih is not None:
            torch.addmm(b_ih, x2, w_ih.t(), out=xp.view(T * B, G))
        else:
            torch.mm(x2, w_ih.t(), out=xp.view(T * B, G))
        if math.additive and b_hh is not None:
            xp += b_hh

        # every step writes into these buffers (padded rows are zeroed after). y holds
        # h_t of every step; it is not the output itself: ctx keeps views of it
        # (h_prev), and views of an output held by ctx would keep the graph alive
        y = workspace.take((T, B, P), x)
        # h before the projection; enters dW_hr, so zero where padded
        raw = workspace.take((T, B, H), x) if w_hr is not None else y
        cbuf = workspace.take((T, B, H), x) if math.has_cell_state else None
        hpbuf = None
        if not math.additive:  # hp_t = b_hh + W_hh h_{t-1}: the bias goes in once
            hpbuf = workspace.take((T, B, G), x)
            if b_hh is not None:
                hpbuf.copy_(b_hh.expand(T, B, G))
        w_hh_t = w_hh.t()
        w_hr_t = None if w_hr is None else w_hr.t()
        saved = []
        # per-step views, made once: (T, B, .) -> T x (B, .)
        xps, ys, raws = xp.unbind(0), y.unbind(0), raw.unbind(0)
        cs = cbuf.unbind(0) if cbuf is not None else None
        hps = hpbuf.unbind(0) if hpbuf is not None else None
        rows = (lambda v, n: v) if not partial else (lambda v, n: v[:n])  # noqa: E731
        h, c = h0, c0
        for t in range(steps):
            n = bs[t]
            h_prev = h if n == h.shape[0] else h[:n]
            c_prev = None if c is None else (c if n == c.shape[0] else c[:n])
            xpt = rows(xps[t], n)  # the loop's buffer: the cell may overwrite it
            c_out = None if cs is None else rows(cs[t], n)
            raw_t = rows(raws[t], n)
            if math.additive:
                sv = math.engine_step(xpt.addmm_(h_prev, w_hh_t), None, h_prev, c_prev, raw_t, c_out, fast)
            else:
                hp = rows(hps[t], n)
                if b_hh is not None:
                    hp.addmm_(h_prev, w_hh_t)
                else:
                    torch.mm(h_prev, w_hh_t, out=hp)
                sv = math.engine_step(xpt, hp, h_prev, c_prev, raw_t, c_out, fast)
            if w_hr_t is not None:
                torch.mm(raw_t, w_hr_t, out=rows(ys[t], n))
            h = ys[t]
            c = None if cs is None else cs[t]
            saved.append(sv)
        if pad is not None:  # zero outputs at padded steps; raw enters dW_hr
            y.masked_fill_(pad, 0)
            if w_hr_t is not None:
                raw.masked_fill_(pad, 0)

        out = y.clone()  # (T, B, P)
        # final state of each row: after its own last step (rows of length 0 keep the
        # initial state)
        h_n = _final(y, lengths, h0)
        c_n = _final(cbuf, lengths, c0) if cbuf is not None else None

        # the buffers return to the pool when the graph (and so ctx) is freed
        weakref.finalize(ctx, workspace.give, xp, y, cbuf, hpbuf, raw if w_hr is not None else None)
        ctx.math, ctx.bs, ctx.steps, ctx.fast = math, bs, steps, fast
        ctx.saved, ctx.pad = saved, pad
        ctx.has_b_ih, ctx.has_b_hh = b_ih is not None, b_hh is not None
        ctx.hs, ctx.raw = y, (raw if w_hr is not None else None)
        ctx.save_for_backward(x, h0, w_ih, w_hh, w_hr)
        if math.has_cell_state:
            return out, h_n, c_n
        return out, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n=None):
        x, h0, w_ih, w_hh, w_hr = ctx.saved_tensors
        y, raw = ctx.hs, ctx.raw
        math, bs, steps, fast, saved = ctx.math, ctx.bs, ctx.steps, ctx.fast, ctx.saved
        T, B, I = x.shape
        G = w_ih.shape[0]
        H = G // math.num_gates
        P = h0.shape[-1]
        dy = dy.contiguous()
        partial = any(n < B for n in bs)

        dh_state = dh_n.clone()  # gradient w.r.t. each row's latest state, (B, P)
        dc_state = dc_n.clone() if math.has_cell_state else None
        # gradients w.r.t. xp and hp of every step (rows of padded steps are zeroed
        # after the loop, before they enter the weight gradients)
        dxp = workspace.take((T, B, G), x)
        dhp = dxp if math.additive else workspace.take((T, B, G), x)
        dhfull = workspace.take((T, B, P), x) if w_hr is not None else None  # w.r.t. projected h_t

        dys, dxps = dy.unbind(0), dxp.unbind(0)
        dhps = dxps if math.additive else dhp.unbind(0)
        dhfulls = dhfull.unbind(0) if dhfull is not None else None
        rows = (lambda v, n: v) if not partial else (lambda v, n: v[:n])  # noqa: E731
        for t in reversed(range(steps)):
            n = bs[t]
            dh_rows = rows(dh_state, n)  # gradient w.r.t. h_t from step t+1 (or from h_n)
            dc_rows = None if dc_state is None else rows(dc_state, n)
            dxp_t, dhp_t = rows(dxps[t], n), rows(dhps[t], n)
            dhp_out = None if math.additive else dhp_t
            if w_hr is not None:
                dh = torch.add(dh_rows, rows(dys[t], n), out=rows(dhfulls[t], n))
                direct = math.engine_backward(dh @ w_hr, None, dc_rows, saved[t], dxp_t, dhp_out,
                                              dh_rows, fast)
            else:
                direct = math.engine_backward(dh_rows, rows(dys[t], n), dc_rows, saved[t], dxp_t,
                                              dhp_out, dh_rows, fast)
            # gradient w.r.t. h_{t-1}: the cell's direct part (now in dh_rows) plus the
            # part through W_hh
            if direct:
                dh_rows.addmm_(dhp_t, w_hh)
            else:
                torch.mm(dhp_t, w_hh, out=dh_rows)

        if ctx.pad is not None:  # rows of padded steps were never written
            for buf in {id(b): b for b in (dxp, dhp, dhfull) if b is not None}.values():
                buf.masked_fill_(ctx.pad, 0)

        need = ctx.needs_input_grad
        dx = dw_ih = dw_hh = db_ih = db_hh = dw_hr = None
        dXP = dxp.view(T * B, G)
        dHP = dhp.view(T * B, G)
        if need[2]:
            dx = (dXP @ w_ih).view(T, B, I)
        if need[5]:
            dw_ih = dXP.t() @ x.reshape(T * B, I)
        if need[6]:
            # h_{t-1} of step t is h0 for t = 0, else y[t-1] (zero where padded)
            dw_hh = dhp[0].t() @ h0
            if T > 1:
                dw_hh.addmm_(dhp[1:].reshape((T - 1) * B, G).t(), y[:-1].reshape((T - 1) * B, P))
        if ctx.has_b_ih and need[7]:
            db_ih = dXP.sum(0)
        if ctx.has_b_hh and need[8]:
            db_hh = dHP.sum(0)
        if w_hr is not None and need[9]:
            dw_hr = dhfull.view(T * B, P).t() @ raw.reshape(T * B, H)
        workspace.give(dxp, dhp, dhfull)  # nothing returned below refers to them
        dh0 = dh_state if need[3] else None
        dc0 = dc_state if need[4] else None
        return None, None, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr


def _final(buf: Tensor, lengths: Tensor, init: Tensor) -> Tensor:
    """Row b of ``buf`` (T, B, F) at step lengths[b] - 1, or ``init[b]`` if it is 0."""
    B = buf.shape[1]
    if bool((lengths == buf.shape[0]).all()):
        return buf[-1].clone()
    last = (lengths - 1).clamp(min=0).to(buf.device)
    out = buf[last, torch.arange(B, device=buf.device)]  # (B, F)
    empty = (lengths == 0).to(buf.device).unsqueeze(-1)
    return torch.where(empty, init, out)


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
