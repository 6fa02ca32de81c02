"""The export-safe execution path: the layers as a graph that ``torch.export`` (and so
``torch.export.save`` / pt2 and ``torch.onnx.export``) can capture with a dynamic
batch AND a dynamic sequence length, with exact ``lengths``.

Why a path of its own. Under export, torch's recurrent kernels do not give that:

* ``aten.rnn_tanh`` / ``aten.rnn_relu`` decompose into one graph node per step, so the
  sequence length is fixed at the example's (torch 2.13: "Constraints violated (T)");
* ``aten.lstm`` with ``proj_size`` maps to ONNX's LSTM operator, which has no
  projection (the graph is built but onnxruntime rejects it);
* ``torch.export`` (pt2) unrolls ``aten.gru`` and bidirectional layers the same way;
* packed sequences do not export at all (pytorch issue #62240), and the ctypes C
  kernels of the unrolled path are invisible to fake tensors.

Here each layer and direction is one ``while_loop`` (a torch higher-order operator:
a ``Loop`` in ONNX, a loop node in pt2) over the steps. Before the loop one matrix
product gives ``xp_t = W_ih x_t + b_ih`` for all steps; each iteration runs the cell's
own step (:mod:`rnnkit.nn.cell_math`, the same equations every other path runs) and,
with ``lengths``, keeps a sequence's state unchanged and writes a zero output at its
padded steps (t >= lengths[b]). The reverse direction runs the loop from the last
step down: its state stays at h_0 until each sequence's own last step, so it starts
there, as packing does, without reordering anything. Lengths of 0 keep the initial
state and give zero outputs.

Layer-normalised cells and zoneout (:mod:`rnnkit.nn.stepwise`) run their own step in
the loop (zoneout as its eval-mode expectation), so they export too.

The layers take this path by themselves while ``torch.compiler.is_exporting()``; in
eager mode :func:`exportable_forward` gives the same numbers as the other paths
(tests hold it to torch.nn) at the speed of a Python loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch._higher_order_ops.while_loop import while_loop
from torch.nn.utils.rnn import PackedSequence

from . import stepwise
from .cell_math import MATH
from .checks import check_hidden, check_input
from .regularise import locked_dropout

__all__ = ["is_exporting", "exportable_forward", "scan_layer"]


def is_exporting() -> bool:
    """Whether ``torch.export`` (pt2, or the ONNX exporter built on it) is tracing."""
    return bool(torch.compiler.is_exporting())


def scan_layer(math, x: Tensor, h0: Tensor, c0: Tensor | None, weights, lengths: Tensor | None,
               reverse: bool = False, *, norms=None, zoneout: tuple[float, float] = (0.0, 0.0),
               training: bool = False):
    """One layer, one direction, as a ``while_loop`` over the steps.

    Args:
        math: the cell's :class:`~rnnkit.nn.cell_math.CellMath`.
        x: (T, B, I) time-major input.
        h0: (B, P); c0: (B, H) for a cell with a cell state, else None.
        weights: (w_ih, w_hh, b_ih, b_hh, w_hr); biases and w_hr may be None.
        lengths: (B,) int64 or None (every step valid).
        reverse: run from the last step to the first (the backward direction).
        norms: the layer norms of a layer-normalised cell (:mod:`rnnkit.nn.stepwise`).
        zoneout: the zoneout rates (c, h); in eval mode their expectation, a fixed
            interpolation between the previous and the new state.

    Returns (y (T, B, P) zero at padded steps, h_n (B, P), c_n (B, H) or None).
    """
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    xp = stepwise.input_projection(x, w_ih, b_ih, norms)  # (T, B, G): every step at once
    zc, zh = zoneout
    changed = norms is not None or zc or zh          # the step of rnnkit.nn.stepwise
    T, B, P = xp.shape[0], xp.shape[1], h0.shape[-1]
    has_c = c0 is not None
    if lengths is not None:
        lengths = lengths.to(device=x.device, dtype=torch.int64)

    def cond(k, *carry):
        return k < xp.shape[0]

    def body(k, out, h, *c):
        c = c[0] if has_c else None
        t = (xp.shape[0] - 1 - k) if reverse else k
        t1 = t.reshape(1)                                 # (1,) index of this step
        xp_t = xp.index_select(0, t1)[0]                  # (B, G)
        if changed:
            h_new, c_new = stepwise.recurrent_step(math, xp_t, h, c, w_hh, b_hh, w_hr, norms)
            h_new = stepwise.zoneout(h, h_new, zh, training)
            if has_c:
                c_new = stepwise.zoneout(c, c_new, zc, training)
        else:
            hp = F.linear(h, w_hh, b_hh)                  # (B, G)
            if math.additive:
                h_raw, c_new, _ = math.step(xp_t + hp, None, h, c)
            else:
                h_raw, c_new, _ = math.step(xp_t, hp, h, c)
            h_new = F.linear(h_raw, w_hr) if w_hr is not None else h_raw   # (B, P)
        if lengths is not None:
            valid = (t1 < lengths).unsqueeze(1)           # (B, 1): this step is inside the sequence
            y_t = torch.where(valid, h_new, torch.zeros_like(h_new))
            h_new = torch.where(valid, h_new, h)
            if has_c:
                c_new = torch.where(valid, c_new, c)
        else:
            y_t = h_new
        out = out.index_copy(0, t1, y_t.unsqueeze(0))     # (T, B, P)
        return (k + 1, out, h_new) + ((c_new,) if has_c else ())

    k0 = torch.zeros((), dtype=torch.int64, device=x.device)
    out0 = xp.new_zeros(T, B, P)
    carry = (k0, out0, h0) + ((c0,) if has_c else ())
    res = while_loop(cond, body, carry)
    return res[1], res[2], (res[3] if has_c else None)


def exportable_forward(layer, input, hx=None, lengths=None):
    """``layer.forward`` through :func:`scan_layer`: the same arguments, shapes and
    results as the other paths (PackedSequence excepted: pass ``lengths``).

    Under export the values of ``lengths`` cannot be checked (they are not known when
    the graph is built): lengths beyond the time axis count as the whole axis."""
    name = type(layer).__name__
    if isinstance(input, PackedSequence):
        raise ValueError(f"{name}: expected a padded tensor and lengths under export (a PackedSequence "
                         f"cannot be exported), got a PackedSequence")
    check_input(input, None, layer.input_size, name)
    is_lstm = layer.mode == "LSTM"
    D = 2 if layer.bidirectional else 1
    P = layer.proj_size if getattr(layer, "proj_size", 0) > 0 else layer.hidden_size
    batch_first, unbatched = layer.batch_first, input.dim() == 2
    x = input
    if unbatched:
        if lengths is not None:
            raise ValueError(f"{name}: expected lengths=None for an unbatched 2-D input, got a lengths tensor")
        x = x.unsqueeze(0 if batch_first else 1)
    if batch_first:
        x = x.transpose(0, 1)                             # (T, B, I)
    B = x.shape[1]
    hx = check_hidden(hx, is_lstm, layer.num_layers * D, B, P, layer.hidden_size, unbatched, x, name)
    if lengths is not None:
        if not isinstance(lengths, Tensor) or lengths.dim() != 1:
            raise ValueError(f"{name}: expected lengths to be a 1-D integer tensor of shape (batch,), got "
                             f"{type(lengths).__name__}"
                             f"{'' if not isinstance(lengths, Tensor) else ' of shape ' + str(tuple(lengths.shape))}")
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise ValueError(f"{name}: expected lengths to be an integer tensor, got dtype {lengths.dtype}")
    h0, c0 = hx if is_lstm else (hx, None)
    math = MATH(layer.mode)
    zo = getattr(layer, "zoneout", 0.0)
    zoneout = zo if isinstance(zo, tuple) else (zo, zo)             # (c, h)
    layer_norm = getattr(layer, "layer_norm", False)
    dropped = layer._dropped_hh()                                    # weight drop (train mode)
    hs, cs = [], []
    for i in range(layer.num_layers):
        outs = []
        for d in range(D):
            k = i * D + d
            y, h, c = scan_layer(math, x, h0[k], None if c0 is None else c0[k], layer._layer_weights(i, d, dropped),
                                 lengths, reverse=d == 1, norms=layer._norms(k) if layer_norm else None,
                                 zoneout=zoneout, training=layer.training)
            outs.append(y)
            hs.append(h)
            cs.append(c)
        x = outs[0] if D == 1 else torch.cat(outs, -1)   # (T, B, D*P)
        if layer.dropout > 0 and layer.training and i < layer.num_layers - 1:
            if getattr(layer, "locked_dropout", False):
                x = locked_dropout(x, layer.dropout, True, batch_first=False)
            else:
                x = F.dropout(x, layer.dropout, True)
    h_n = torch.stack(hs, 0)                               # (L*D, B, P)
    c_n = torch.stack(cs, 0) if is_lstm else None          # (L*D, B, H)
    y = x.transpose(0, 1) if batch_first else x
    if unbatched:
        y = y.squeeze(0 if batch_first else 1)
        h_n = h_n.squeeze(1)
        c_n = c_n.squeeze(1) if c_n is not None else None
    return (y, (h_n, c_n)) if is_lstm else (y, h_n)
