"""The unrolled path of the built-in cells as torch custom operators.

``rnnkit::unrolled_forward`` runs one layer and one direction (the whole time loop
inside the operator: the input projection, one product with ``W_hh`` per step and
the cell's pointwise kernel, :func:`rnnkit.nn.unrolled.forward_loop`);
``rnnkit::unrolled_backward`` is its backpropagation through time
(:func:`rnnkit.nn.unrolled.backward_loop`). Registered with
``torch.library.custom_op``, each with a fake implementation that gives the output
shapes without reading data, and the forward with ``register_autograd``, they are
what fake and meta tensors, ``torch.compile`` (no graph break) and ``torch.export``
see; ``torch.library.opcheck`` tests them (tests/nn/test_ops.py).

Shapes (G = gates * H, P = proj_size or H, R = T * B):

    unrolled_forward(cell, x (T, B, I), h0 (B, P), c0 (B, H)?, w_ih (G, I), w_hh (G, P),
                     b_ih (G,)?, b_hh (G,)?, w_hr (P, H)?, batch_sizes (T,) int64 CPU?,
                     save) -> y (T, B, P), h_n (B, P), c_n (B, H) [(0,) without a cell
                     state], then what the backward reads when ``save``, else (0,)
                     each: xp (R, G), hs (R, P), raw (R, H), c (R, H), hp (R, G)

``batch_sizes[t]`` is the number of sequences still running at step t, rows sorted by
length, longest first; None when every row runs all T steps. The buffers have R rows
whatever the lengths (only the first sum(batch_sizes) are used), so that their shapes
do not depend on data.

Gradients of gradients are refused with a message naming ``backend="fused"``.
"""

from __future__ import annotations

import weakref
from typing import Optional

import torch
from torch import Tensor

from . import workspace
from .cell_math import CellMath, ElmanMath, GRUMath, LSTMMath
from .unrolled import Buffers, backward_loop, forward_loop, saved_from_buffers, sizes_of

__all__ = ["supports", "unrolled", "unrolled_forward", "unrolled_backward"]

_MATHS = {"lstm": LSTMMath(), "gru": GRUMath(), "rnn_tanh": ElmanMath("tanh"), "rnn_relu": ElmanMath("relu")}
DOUBLE_BACKWARD = ('rnnkit: gradients of gradients (double backward) are not supported by the unrolled '
                   'path of the recurrent layers; build the layer with backend="fused" to get them')


def supports(math: CellMath) -> bool:
    """Whether ``math`` runs as the custom operator (the built-in cells)."""
    return type(math) in (LSTMMath, GRUMath, ElmanMath)


def _math(cell: str) -> CellMath:
    try:
        return _MATHS[cell]
    except KeyError:
        raise ValueError(f"expected cell to be one of {', '.join(map(repr, _MATHS))}, got {cell!r}") from None


def _empty(like: Tensor) -> Tensor:
    """The placeholder of an absent output (custom operators return tensors only)."""
    return like.new_empty(0)


def _present(t: Tensor | None) -> Tensor | None:
    return None if (t is None or t.dim() == 1) else t


@torch.library.custom_op("rnnkit::unrolled_forward", mutates_args=())
def unrolled_forward(cell: str, x: Tensor, h0: Tensor, c0: Optional[Tensor], w_ih: Tensor, w_hh: Tensor,
                     b_ih: Optional[Tensor], b_hh: Optional[Tensor], w_hr: Optional[Tensor],
                     batch_sizes: Optional[Tensor], save: bool
                     ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    math = _math(cell)
    T, B, _ = x.shape
    bs = sizes_of(batch_sizes, T, B)
    y, h_n, c_n, buf, _ = forward_loop(math, bs, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    c_n = _empty(x) if c_n is None else c_n
    if not save:
        workspace.give(*buf.all())
        return y, h_n, c_n, _empty(x), _empty(x), _empty(x), _empty(x), _empty(x)
    N = sum(bs)
    for b in buf.all():  # rows past the packed ones are never used: zero, so that outputs are defined
        if b is not None and N < b.shape[0]:
            b[N:].zero_()
    return (y, h_n, c_n, *[_empty(x) if b is None else b for b in buf.all()])


@unrolled_forward.register_fake
def _(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, save):
    math = _math(cell)
    T, B, _ = x.shape
    G = w_ih.shape[0]
    H = G // math.num_gates
    P = h0.shape[-1]
    R = T * B
    y, h_n = x.new_empty(T, B, P), x.new_empty(B, P)
    c_n = x.new_empty(B, H) if math.has_cell_state else _empty(x)
    if not save:
        return y, h_n, c_n, _empty(x), _empty(x), _empty(x), _empty(x), _empty(x)
    return (y, h_n, c_n, x.new_empty(R, G), x.new_empty(R, P),
            x.new_empty(R, H) if w_hr is not None else _empty(x),
            x.new_empty(R, H) if math.has_cell_state else _empty(x),
            x.new_empty(R, G) if not math.additive else _empty(x))


@torch.library.custom_op("rnnkit::unrolled_backward", mutates_args=())
def unrolled_backward(cell: str, dy: Optional[Tensor], dh_n: Optional[Tensor], dc_n: Optional[Tensor],
                      x: Tensor, h0: Tensor, c0: Optional[Tensor], w_ih: Tensor, w_hh: Tensor,
                      w_hr: Optional[Tensor], batch_sizes: Optional[Tensor], xp: Tensor, hs: Tensor,
                      raw: Tensor, c: Tensor, hp: Tensor, has_b_ih: bool, has_b_hh: bool, need: list[bool]
                      ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Gradients w.r.t. (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr), (0,) where ``need``
    says no or the input is absent."""
    math = _math(cell)
    T, B, _ = x.shape
    bs = sizes_of(batch_sizes, T, B)
    if xp.dim() == 1:
        raise RuntimeError("rnnkit::unrolled_backward: the forward ran with save=False "
                           "(no gradient was expected); run it with save=True")
    buf = Buffers.of(xp.contiguous(), hs.contiguous(), _present(raw), _present(c), _present(hp))
    h0c = h0.contiguous()
    c0c = None if c0 is None else c0.contiguous()
    saved = saved_from_buffers(math, bs, buf, h0c, c0c)
    grads = backward_loop(math, bs, buf, saved, dy, dh_n, dc_n if math.has_cell_state else None, x, h0c,
                          w_ih, w_hh, w_hr, has_b_ih, has_b_hh, need)
    return tuple(_empty(x) if g is None else g for g in grads)


@unrolled_backward.register_fake
def _(cell, dy, dh_n, dc_n, x, h0, c0, w_ih, w_hh, w_hr, batch_sizes, xp, hs, raw, c, hp,
      has_b_ih, has_b_hh, need):
    G = w_ih.shape[0]
    like = (x, h0, c0, w_ih, w_hh, w_ih.new_empty(G) if has_b_ih else None,
            w_ih.new_empty(G) if has_b_hh else None, w_hr)
    return tuple(t.new_empty(t.shape) if (t is not None and n) else _empty(x) for t, n in zip(like, need))


def _setup_context(ctx, inputs, output):
    cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, save = inputs
    ctx.cell, ctx.has_b_ih, ctx.has_b_hh = cell, b_ih is not None, b_hh is not None
    ctx.mark_non_differentiable(*output[3:])
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(x, h0, c0, w_ih, w_hh, w_hr, batch_sizes, *output[3:])


def _backward(ctx, dy, dh_n, dc_n, *_buffers):
    x, h0, c0, w_ih, w_hh, w_hr, batch_sizes, xp, hs, raw, c, hp = ctx.saved_tensors
    need = [bool(n) for n in ctx.needs_input_grad[1:9]]  # x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr
    grads = unrolled_backward(ctx.cell, dy, dh_n, dc_n, x, h0, c0, w_ih, w_hh, w_hr, batch_sizes,
                              xp, hs, raw, c, hp, ctx.has_b_ih, ctx.has_b_hh, need)
    return (None, *[g if n else None for g, n in zip(grads, need)], None, None)


unrolled_forward.register_autograd(_backward, setup_context=_setup_context)


def _refuse_double_backward(ctx, *grads):
    raise RuntimeError(DOUBLE_BACKWARD)


unrolled_backward.register_autograd(_refuse_double_backward, setup_context=lambda ctx, inputs, output: None)


def unrolled(math: CellMath, batch_sizes, x: Tensor, h0: Tensor, c0: Tensor | None, weights):
    """:func:`rnnkit.nn.unrolled.unrolled_layer` through the custom operator: returns
    (y (T, B, P), h_n (B, P), c_n (B, H) or None)."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    if batch_sizes is not None and not isinstance(batch_sizes, Tensor):
        batch_sizes = torch.tensor([int(n) for n in batch_sizes], dtype=torch.int64)
    save = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr))
    outs = unrolled_forward(math.name, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, save)
    y, h_n, c_n = outs[0], outs[1], outs[2]
    if save and not torch.compiler.is_compiling() and y.grad_fn is not None:
        # eager: the buffers go back to the pool when the graph (its node) is freed
        weakref.finalize(y.grad_fn, workspace.give, *[b for b in outs[3:] if b.dim() == 2])
    return y, h_n, (c_n if math.has_cell_state else None)
