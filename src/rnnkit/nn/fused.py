"""The fused execution path: torch's native recurrent kernels (oneDNN on CPU, cuDNN on
GPU), with exact handling of mixed lengths.

Without ``lengths`` the whole stack is one kernel call, the same call torch.nn makes.

With ``lengths`` two strategies give what packing gives:

* ``"mask"`` (CPU): each layer and direction runs the kernel on the padded batch.
  Every output at a valid step is already exact, because step t only depends on steps
  before it; outputs at padded steps are set to zero; h_n is each sequence's output at
  its own last step. The LSTM cell state is not an output of the kernel, so padded
  steps are made to carry it unchanged: an extra input column, 1 at padded steps and
  0 elsewhere, drives the input gate to exactly 0 and the forget gate to exactly 1
  (a pre-activation beyond any value the weights can reach, so the sigmoids saturate
  in floating point: c_t = 1 * c_{t-1} + 0 * g_t). Their gradients through those
  steps are then exact too: the saturated sigmoids have zero derivative and the
  cell-state gradient passes through f = 1 unchanged. The reverse direction reads each
  sequence reversed within its own length, so it starts at its own last step.
* ``"pack"`` (GPU): the packed-sequence kernel, which cuDNN runs natively.

Sequences of length 0 keep their initial state and give zero outputs in both.
"""

from __future__ import annotations

import torch
from torch import Tensor, _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["fused_stack", "fused_layer", "fused_layer_masked", "fused_stack_packed"]

_KERNELS = {
    "LSTM": _VF.lstm,
    "GRU": _VF.gru,
    "RNN_TANH": _VF.rnn_tanh,
    "RNN_RELU": _VF.rnn_relu,
}

# margin added to the largest reachable pre-activation: exp(-1000) is 0 in float64
_SATURATION_MARGIN = 1000.0


def fused_stack(mode, x, hx, flat_weights, bias, num_layers, dropout, training,
                bidirectional, batch_first):
    """The whole stack in one kernel call, exactly as torch.nn calls it."""
    return _KERNELS[mode](x, hx, flat_weights, bias, num_layers, dropout, training,
                          bidirectional, batch_first)


def fused_layer(mode, x, h0, c0, weights, training):
    """One layer, one direction, every step valid (the stack run layer by layer, as
    locked dropout between layers needs). x: (T, B, I); h0 (B, P); c0 (B, H) or None.
    Returns (y (T, B, P), h_n (B, P), c_n (B, H) or None)."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    has_bias = b_ih is not None
    flat = [w_ih, w_hh] + ([b_ih, b_hh] if has_bias else []) + ([w_hr] if w_hr is not None else [])
    if mode == "LSTM":
        y, h_n, c_n = _VF.lstm(x, (h0.unsqueeze(0), c0.unsqueeze(0)), flat, has_bias, 1, 0.0,
                               training, False, False)
        return y, h_n[0], c_n[0]
    y, h_n = _KERNELS[mode](x, h0.unsqueeze(0), flat, has_bias, 1, 0.0, training, False, False)
    return y, h_n[0], None


def _saturation_column(w_ih, w_hh, b_ih, b_hh, w_hr) -> Tensor:
    """The extra W_ih column that saturates the LSTM input and forget gates.

    At a padded step the input is zero, so each gate's pre-activation is
    W_hh h + b_ih + b_hh + column * 1, and |W_hh h| <= max_row ||W_hh row||_1 * max|h|,
    where |h| <= 1 (h = o tanh c), or <= max_row ||W_hr row||_1 with a projection.
    """
    H4 = w_ih.shape[0]
    H = H4 // 4
    with torch.no_grad():
        # tensors only (no float()): the bound stays in the graph under torch.export
        reach = w_hh[:2 * H].abs().sum(1).max()
        if w_hr is not None:
            reach = reach * w_hr.abs().sum(1).max()
        if b_ih is not None:
            reach = reach + (b_ih[:2 * H].abs() + b_hh[:2 * H].abs()).max()
        big = (reach + _SATURATION_MARGIN).reshape(1, 1)
        zero = w_ih.new_zeros(2 * H, 1)
        # input gate -> sigmoid(-big) = 0; forget gate -> sigmoid(big) = 1
        col = torch.cat([(-big).expand(H, 1), big.expand(H, 1), zero], 0).to(w_ih.dtype)
    return col


def fused_layer_masked(mode, x, h0, c0, weights, lengths, mask, last, training):
    """One layer, one direction, on a right-padded batch.

    Args:
        mode: torch.nn mode (LSTM, GRU, RNN_TANH, RNN_RELU).
        x: (T, B, I), zero at padded steps.
        h0: (B, P); c0: (B, H) for LSTM, else None.
        weights: (w_ih, w_hh, b_ih, b_hh, w_hr), biases and w_hr may be None.
        lengths: (B,) int64 on x's device; mask: (T, B) bool, True at valid steps;
        last: (1, B, 1) index of each sequence's last step (0 where the length is 0).

    Returns (y (T, B, P) zero at padded steps, h_n (B, P), c_n (B, H) or None).
    """
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    has_bias = b_ih is not None
    flat = [w_ih, w_hh] + ([b_ih, b_hh] if has_bias else []) + ([w_hr] if w_hr is not None else [])
    if mode == "LSTM":
        # (T, B, I) -> (T, B, I + 1): the last column is 1 at padded steps
        flag = (~mask).to(x.dtype).unsqueeze(-1)
        x = torch.cat([x, flag], -1)
        flat[0] = torch.cat([w_ih, _saturation_column(w_ih, w_hh, b_ih, b_hh, w_hr)], 1)
        y, _, c_n = _VF.lstm(x, (h0.unsqueeze(0), c0.unsqueeze(0)), flat, has_bias, 1, 0.0,
                             training, False, False)
        c_n = c_n[0]
    else:
        y, _ = _KERNELS[mode](x, h0.unsqueeze(0), flat, has_bias, 1, 0.0, training, False, False)
        c_n = None
    y = torch.where(mask.unsqueeze(-1), y, y.new_zeros(()))
    # each sequence's output at its own last step: (1, B, P) -> (B, P)
    h_n = y.gather(0, last.expand(1, -1, y.shape[-1]))[0]
    h_n = torch.where((lengths > 0).unsqueeze(-1), h_n, h0)
    return y, h_n, c_n


def fused_stack_packed(mode, x, hx, flat_weights, bias, num_layers, dropout, training,
                       bidirectional, lengths, mask):
    """The whole stack through the packed-sequence kernel (native variable length on
    cuDNN). ``x`` is (T, B, I) time-major; ``hx`` is in batch order; returns
    (y (T, B, D*P), h_n, c_n or None) in batch order."""
    T = x.shape[0]
    lengths_cpu = lengths.to("cpu")
    packed = pack_padded_sequence(x, lengths_cpu.clamp(min=1), enforce_sorted=False)
    order, back = packed.sorted_indices, packed.unsorted_indices
    is_lstm = mode == "LSTM"
    hx_sorted = tuple(h.index_select(1, order) for h in hx) if is_lstm else hx.index_select(1, order)
    out = _KERNELS[mode](packed.data, packed.batch_sizes, hx_sorted, flat_weights, bias,
                         num_layers, dropout, training, bidirectional)
    y, _ = pad_packed_sequence(PackedSequence(out[0], packed.batch_sizes, order, back),
                               total_length=T)
    y = torch.where(mask.unsqueeze(-1), y, y.new_zeros(()))
    empty = (lengths == 0).view(1, -1, 1)
    h_n = torch.where(empty, hx[0] if is_lstm else hx, out[1].index_select(1, back))
    c_n = torch.where(empty, hx[1], out[2].index_select(1, back)) if is_lstm else None
    return y, h_n, c_n
