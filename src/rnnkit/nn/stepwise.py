r"""The step-by-step path: one layer, one direction, a Python loop over the steps under
autograd, for what changes the step itself and so fits no fused or C kernel:

* zoneout (Krueger et al. 2017): :math:`h_t = d_t \odot h_{t-1} + (1 - d_t) \odot \hat h_t`,
  :math:`d_t \sim \mathrm{Bernoulli}(p)` per step and unit in train mode, the
  expectation :math:`p h_{t-1} + (1 - p) \hat h_t` in eval mode (for the LSTM on c_t and
  h_t, each with its rate);
* layer-normalised cells (Ba et al. 2016): layer norm on :math:`W_{ih} x_t` and on
  :math:`W_{hh} h_{t-1}` separately, the biases added after it, and for the LSTM on
  :math:`c_t` for the output, :math:`h_t = o_t \odot \tanh(\mathrm{LN}(c_t))`.

The cell's own step (:mod:`rnnkit.nn.cell_math`) does the rest. Mixed lengths as in
:mod:`rnnkit.nn.exportable`: at a step past a sequence's end its state stays unchanged
and its output is zero, so the final state is the one after its own last step (the
layer feeds the reverse direction each sequence reversed within its own length).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .regularise import zoneout

__all__ = ["stepwise_layer", "input_projection", "recurrent_step"]


def _ln(v: Tensor, norm) -> Tensor:
    gain, bias = norm
    return F.layer_norm(v, v.shape[-1:], gain, bias)


def input_projection(x: Tensor, w_ih: Tensor, b_ih: Tensor | None, norms=None) -> Tensor:
    """xp_t = W_ih x_t + b_ih of every step, (T, B, I) -> (T, B, G); with layer norm
    LN_ih(W_ih x_t) + b_ih."""
    if norms is None:
        return F.linear(x, w_ih, b_ih)
    xp = _ln(F.linear(x, w_ih), norms[0])
    return xp if b_ih is None else xp + b_ih


def recurrent_step(math, xp_t: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor | None,
                   w_hr: Tensor | None, norms=None):
    """One step from the input projection ``xp_t`` (B, G) and the state: the cell's own
    math, with layer norm on W_hh h (and on c_t for the LSTM's output) when ``norms``
    is given. Returns (h_new (B, P), c_new (B, H) or None), before zoneout."""
    if norms is None:
        hp = F.linear(h, w_hh, b_hh)                                   # (B, G)
    else:
        hp = _ln(F.linear(h, w_hh), norms[1])
        hp = hp if b_hh is None else hp + b_hh
    if norms is not None and math.has_cell_state:   # the LSTM with LN on c_t's output
        pre = xp_t + hp
        H = pre.shape[-1] // 4
        s = torch.sigmoid(pre)                                         # i | f | . | o
        g = torch.tanh(pre[..., 2 * H:3 * H])
        c_new = s[..., H:2 * H] * c + s[..., :H] * g
        h_raw = s[..., 3 * H:] * torch.tanh(_ln(c_new, norms[2]))
    elif math.additive:
        h_raw, c_new, _ = math.step(xp_t + hp, None, h, c)
    else:
        h_raw, c_new, _ = math.step(xp_t, hp, h, c)
    h_new = F.linear(h_raw, w_hr) if w_hr is not None else h_raw      # (B, P)
    return h_new, c_new


def stepwise_layer(math, x: Tensor, h0: Tensor, c0: Tensor | None, weights, lengths: Tensor | None, *,
                   norms=None, zoneout_h: float = 0.0, zoneout_c: float = 0.0, training: bool = False):
    """One layer, forward direction, step by step under autograd.

    Args:
        math: the cell's :class:`~rnnkit.nn.cell_math.CellMath`.
        x: (T, B, I) time-major; h0 (B, P); c0 (B, H) or None.
        weights: (w_ih, w_hh, b_ih, b_hh, w_hr), biases and w_hr may be None.
        lengths: (B,) int64 on x's device, or None (every step valid).
        norms: ((gain, bias) of LN_ih, of LN_hh[, of LN_c]) for a layer-normalised
            cell, or None.
        zoneout_h, zoneout_c: zoneout rates of h and (LSTM) c.
        training: train mode (random zoneout masks) or eval mode (their expectation).

    Returns (y (T, B, P) zero at padded steps, h_n (B, P), c_n (B, H) or None).
    """
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    xp = input_projection(x, w_ih, b_ih, norms)                        # (T, B, G)
    h, c = h0, c0
    ys = []
    for t in range(x.shape[0]):
        h_new, c_new = recurrent_step(math, xp[t], h, c, w_hh, b_hh, w_hr, norms)
        h_new = zoneout(h, h_new, zoneout_h, training)
        if c is not None:
            c_new = zoneout(c, c_new, zoneout_c, training)
        if lengths is not None:
            valid = (t < lengths).unsqueeze(1)                         # (B, 1)
            ys.append(torch.where(valid, h_new, torch.zeros_like(h_new)))
            h_new = torch.where(valid, h_new, h)
            c_new = torch.where(valid, c_new, c) if c is not None else None
        else:
            ys.append(h_new)
        h, c = h_new, c_new
    y = torch.stack(ys, 0) if ys else xp.new_zeros(0, x.shape[1], h0.shape[-1])   # (T, B, P)
    return y, h, c
