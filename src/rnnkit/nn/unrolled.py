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

__all__ = ["unrolled_layer", "forward_loop", "backward_loop", "saved_from_buffers"]


def sizes_of(batch_sizes, T: int, B: int) -> list[int]:
    """The per-step batch sizes as a list of T ints (all B when ``batch_sizes`` is None)."""
    if batch_sizes is None:
        return [B] * T
    bs = batch_sizes.tolist() if isinstance(batch_sizes, Tensor) else [int(n) for n in batch_sizes]
    if len(bs) != T or any(not 0 <= n <= B for n in bs) or any(a < b for a, b in zip(bs, bs[1:])):
        raise ValueError(f"expected batch_sizes to be {T} non-increasing counts in [0, {B}] "
                         f"(the sequences still running at each step), got {bs}")
    return bs


class Buffers:
    """The forward's buffers, (T * B, .) rows of which the first N are used, in packed
    layout: step 0's rows, then step 1's, ... (N = sum of batch sizes), so that padded
    steps cost nothing and every step's rows are one contiguous block. Their size does
    not depend on the lengths, so that shapes are known without data (fake tensors).

    xp (., G): input projections, then the cell's activations; hs (., P): h_t of every
    step; raw (., H): h_t before the projection (``hs`` itself without one); c (., H):
    the cell state; hp (., G): the hidden projection of cells that are not additive."""

    def __init__(self, math: CellMath, like: Tensor, R: int, G: int, H: int, P: int, proj: bool):
        self.xp = workspace.take((R, G), like)
        self.hs = workspace.take((R, P), like)
        self.raw = workspace.take((R, H), like) if proj else None
        self.c = workspace.take((R, H), like) if math.has_cell_state else None
        self.hp = workspace.take((R, G), like) if not math.additive else None

    @classmethod
    def of(cls, xp: Tensor, hs: Tensor, raw: Tensor | None, c: Tensor | None, hp: Tensor | None):
        buf = cls.__new__(cls)
        buf.xp, buf.hs, buf.raw, buf.c, buf.hp = xp, hs, raw, c, hp
        return buf

    def all(self):
        return self.xp, self.hs, self.raw, self.c, self.hp


def _packed_index(bs: list[int], T: int, B: int, device):
    """(lengths (B,), idx): idx maps packed rows to rows of the (T * B) padded layout,
    None when nothing is padded."""
    lengths = (torch.tensor(bs, dtype=torch.int64).unsqueeze(1) > torch.arange(B)).sum(0)  # (B,)
    if sum(bs) == T * B:
        return lengths, None
    valid = torch.arange(T).unsqueeze(1) < lengths  # (T, B), row-major = packed order
    return lengths, valid.flatten().nonzero().squeeze(1).to(device)


def forward_loop(math: CellMath, bs: list[int], x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
    """The forward of one layer and direction (no autograd).

    Returns (out (T, B, P), h_n (B, P), c_n (B, H) or None, buffers, saved): ``saved``
    is what ``engine_step`` returned at each step."""
    # x: (T, B, I) time-major; rows sorted by length, longest first
    h0 = h0.contiguous()  # the kernels read rows of the states directly
    c0 = None if c0 is None else c0.contiguous()
    T, B, I = x.shape
    G = w_ih.shape[0]
    H = G // math.num_gates
    P = h0.shape[-1]
    steps = sum(1 for n in bs if n > 0)  # steps that any sequence reaches
    sizes = bs[:steps]
    N = sum(sizes)
    fast = native.available(h0, c0, w_ih, w_hh) and x.dtype == w_ih.dtype
    lengths, idx = _packed_index(bs, T, B, x.device)
    xp_in = x.reshape(T * B, I) if idx is None else x.reshape(T * B, I).index_select(0, idx)  # (N, I)

    buf = Buffers(math, x, T * B, G, H, P, w_hr is not None)
    # input projection of every step at once: (N, I) @ (I, G) -> (N, G)
    xp = buf.xp[:N]
    if b_ih is not None:
        torch.addmm(b_ih, xp_in, w_ih.t(), out=xp)
    else:
        torch.mm(xp_in, w_ih.t(), out=xp)
    if math.additive and b_hh is not None:
        xp += b_hh

    # every step writes into the buffers: y holds h_t of every step, raw h_t before the
    # projection, cbuf c_t; hp_t = b_hh + W_hh h_{t-1} (the bias goes in once)
    y = buf.hs[:N]
    raw = buf.raw[:N] if w_hr is not None else y
    cbuf = buf.c[:N] if buf.c is not None else None
    hpbuf = buf.hp[:N] if buf.hp is not None else None
    if hpbuf is not None and b_hh is not None:
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
    offsets = torch.tensor([0] + bs[:-1], dtype=torch.int64).cumsum(0)  # (T,) first packed row of each step
    last = (offsets[(lengths - 1).clamp(min=0)] + torch.arange(B)).clamp(max=max(N - 1, 0))
    h_n = _final(y, last, lengths, h0)
    c_n = _final(cbuf, last, lengths, c0) if cbuf is not None else None
    return out, h_n, c_n, buf, saved


def saved_from_buffers(math: CellMath, bs: list[int], buf: Buffers, h0, c0) -> list:
    """Each step's ``saved`` rebuilt from the buffers (cells with ``engine_saved``)."""
    sizes = [n for n in bs if n > 0]
    N = sum(sizes)
    if not N:
        return []
    split = lambda b: None if b is None else b[:N].split(sizes)  # noqa: E731
    xps, ys, hps, cs = split(buf.xp), split(buf.hs), split(buf.hp), split(buf.c)
    raws = ys if buf.raw is None else split(buf.raw)
    saved = []
    for t, n in enumerate(sizes):
        h_prev = (h0 if t == 0 else ys[t - 1])[:n]
        c_prev = None if cs is None else (c0 if t == 0 else cs[t - 1])[:n]
        saved.append(math.engine_saved(xps[t], None if hps is None else hps[t], h_prev, c_prev,
                                       raws[t], None if cs is None else cs[t]))
    return saved


def backward_loop(math: CellMath, bs: list[int], buf: Buffers, saved, dy, dh_n, dc_n, x, h0,
                  w_ih, w_hh, w_hr, has_b_ih: bool, has_b_hh: bool, need):
    """Backpropagation through time for :func:`forward_loop`. ``dy``, ``dh_n``, ``dc_n``
    may be None (zero); ``need``: which of (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    want a gradient. Returns their gradients (None where not wanted)."""
    h0 = h0.contiguous()
    T, B, I = x.shape
    G = w_ih.shape[0]
    P = h0.shape[-1]
    sizes = [n for n in bs if n > 0]
    steps = len(sizes)
    N = sum(sizes)
    fast = native.available(h0, w_ih, w_hh) and x.dtype == w_ih.dtype
    lengths, idx = _packed_index(bs, T, B, x.device)
    y = buf.hs[:N]
    raw = None if buf.raw is None else buf.raw[:N]
    if dy is not None:
        dy = dy.reshape(T * B, P)
        dy = dy.index_select(0, idx) if idx is not None else dy.contiguous()  # (N, P)

    # gradient w.r.t. each row's latest state, (B, P)
    dh_state = h0.new_zeros(B, P) if dh_n is None else dh_n.clone(memory_format=torch.contiguous_format)
    dc_state = None
    if math.has_cell_state:
        H = buf.c.shape[1]
        dc_state = h0.new_zeros(B, H) if dc_n is None else dc_n.clone(memory_format=torch.contiguous_format)
    # gradients w.r.t. xp and hp of every step, packed like them
    dxp = workspace.take((N, G), y)
    dhp = dxp if math.additive else workspace.take((N, G), y)
    dhfull = workspace.take((N, P), y) if w_hr is not None else None  # w.r.t. projected h_t

    dys = dy.split(sizes) if (N and dy is not None) else [None] * steps
    dxps = dxp.split(sizes) if N else ()
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
            dh = dhfulls[t].copy_(dh_rows) if dys[t] is None else torch.add(dh_rows, dys[t], out=dhfulls[t])
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

    dx = dh0 = dc0 = dw_ih = dw_hh = db_ih = db_hh = dw_hr = None
    if need[0]:
        dX = dxp @ w_ih  # (N, I)
        if idx is None:
            dx = dX.view(T, B, I)
        else:
            dx = dX.new_zeros(T * B, I).index_copy_(0, idx, dX).view(T, B, I)
    if need[3]:
        xp_in = x.reshape(T * B, I) if idx is None else x.reshape(T * B, I).index_select(0, idx)
        dw_ih = dxp.t() @ xp_in
    if need[4]:
        # h_{t-1} of the rows of step t: h0 for t = 0, else step t-1's first n_t rows
        n0 = sizes[0] if steps else 0
        dw_hh = dhp[:n0].t() @ h0[:n0]
        if steps > 1:
            if idx is None:
                prev = y[:(steps - 1) * B]
            else:  # packed row (t, b) -> packed row (t - 1, b)
                offsets = torch.tensor([0] + bs[:-1], dtype=torch.int64).cumsum(0).to(idx.device)
                t_of, b_of = idx[n0:] // B, idx[n0:] % B
                prev = y.index_select(0, offsets[t_of - 1] + b_of)
            dw_hh.addmm_(dhp[n0:].t(), prev)
    if has_b_ih and need[5]:
        db_ih = dxp.sum(0)
    if has_b_hh and need[6]:
        db_hh = dhp.sum(0)
    if w_hr is not None and need[7]:
        dw_hr = dhfull.t() @ raw
    workspace.give(dxp, dhp, dhfull)  # nothing returned below refers to them
    if need[1]:
        dh0 = dh_state
    if need[2]:
        dc0 = dc_state
    return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr


class _UnrolledLayer(torch.autograd.Function):
    """The unrolled path for any :class:`CellMath` (the built-in cells run as a torch
    custom operator instead, :mod:`rnnkit.nn.ops`)."""

    @staticmethod
    def forward(ctx, math: CellMath, batch_sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        T, B, _ = x.shape
        bs = sizes_of(batch_sizes, T, B)
        out, h_n, c_n, buf, saved = forward_loop(math, bs, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
        # the buffers return to the pool when the graph (and so ctx) is freed
        weakref.finalize(ctx, workspace.give, *buf.all())
        ctx.math, ctx.bs, ctx.buf, ctx.saved = math, bs, buf, saved
        ctx.has_b_ih, ctx.has_b_hh = b_ih is not None, b_hh is not None
        ctx.save_for_backward(x, h0, w_ih, w_hh, w_hr)
        if math.has_cell_state:
            return out, h_n, c_n
        return out, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh_n, dc_n=None):
        x, h0, w_ih, w_hh, w_hr = ctx.saved_tensors
        grads = backward_loop(ctx.math, ctx.bs, ctx.buf, ctx.saved, dy, dh_n, dc_n, x, h0,
                              w_ih, w_hh, w_hr, ctx.has_b_ih, ctx.has_b_hh, ctx.needs_input_grad[2:])
        return (None, None, *grads)


def _final(buf: Tensor | None, last: Tensor, lengths: Tensor, init: Tensor) -> Tensor:
    """Packed row ``last[b]`` of ``buf`` (N, F) for each row b, or ``init[b]`` where
    lengths[b] is 0."""
    if buf.shape[0] == 0:  # no sequence has a step
        return init.clone()
    out = buf.index_select(0, last.to(buf.device))  # (B, F)
    empty = (lengths == 0).to(buf.device).unsqueeze(-1)
    return torch.where(empty, init, out) if bool(empty.any()) else out


def unrolled_layer(math: CellMath, batch_sizes, x: Tensor, h0: Tensor, c0: Tensor | None, weights):
    """One layer, one direction, on the unrolled path.

    The built-in cells (and any cell that defines ``engine_saved``) run as the torch
    custom operator ``rnnkit::unrolled_forward`` (:mod:`rnnkit.nn.ops`), which
    torch.compile, torch.export, fake and meta tensors see through; other cells run
    under an autograd.Function.

    Args:
        math: the cell's one-step math.
        batch_sizes: None when every sequence has all T steps, else the number of
            sequences still running at each step, a list of T ints or a (T,) int64 CPU
            tensor (rows sorted by length, longest first).
        x: (T, B, I) time-major input.
        h0: (B, P) initial state (P = projection size or hidden size).
        c0: (B, H) initial cell state, or None for cells without one.
        weights: (w_ih (G, I), w_hh (G, P), b_ih (G,) or None, b_hh (G,) or None,
            w_hr (P, H) or None).

    Returns:
        (y (T, B, P) zero at padded steps, h_n (B, P), c_n (B, H) or None).
    """
    from . import ops

    if ops.supports(math):
        return ops.unrolled(math, batch_sizes, x, h0, c0, weights)
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    out = _UnrolledLayer.apply(math, batch_sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    if math.has_cell_state:
        return out
    return out[0], out[1], None
