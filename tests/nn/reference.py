"""References for the layer tests: torch.nn itself, run sequence by sequence.

A padded batch with ``lengths`` must give, for every sequence, what torch.nn gives on
that sequence alone, unpadded (outputs zero past its end; a length of 0 gives the
initial state). Gradients are compared through the same random cotangents.
"""

from __future__ import annotations

import torch
from torch import nn

import rnnkit

CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


def make_pair(cell: str, input_size: int, hidden_size: int, *, proj_size: int = 0,
              dtype=torch.float32, seed: int = 0, backend: str = "auto", **kwargs):
    """An rnnkit layer and a torch.nn layer with the same weights."""
    torch.manual_seed(seed)
    if cell == "lstm":
        ours = rnnkit.LSTM(input_size, hidden_size, proj_size=proj_size, dtype=dtype, **kwargs)
        ref = nn.LSTM(input_size, hidden_size, proj_size=proj_size, dtype=dtype, **kwargs)
    elif cell == "gru":
        ours = rnnkit.GRU(input_size, hidden_size, dtype=dtype, **kwargs)
        ref = nn.GRU(input_size, hidden_size, dtype=dtype, **kwargs)
    else:
        nl = cell.split("_")[1]
        ours = rnnkit.RNN(input_size, hidden_size, nonlinearity=nl, dtype=dtype, **kwargs)
        ref = nn.RNN(input_size, hidden_size, nonlinearity=nl, dtype=dtype, **kwargs)
    ref.load_state_dict(ours.state_dict())
    ours.backend = backend
    return ours, ref


def states(h):
    """Final state as a list of tensors: [h_n] or [h_n, c_n]."""
    return list(h) if isinstance(h, tuple) else [h]


def run_reference(ref, x, hx, lengths, batch_first: bool):
    """torch.nn on each sequence of a padded batch alone (batched input only).

    Returns (output padded with zeros to the input's time length, final states list)."""
    is_lstm = isinstance(ref, nn.LSTM)
    T = x.shape[1] if batch_first else x.shape[0]
    B = x.shape[0] if batch_first else x.shape[1]
    ys, hs = [], []
    for b in range(B):
        n = int(lengths[b]) if lengths is not None else T
        xb = x[b:b + 1, :n] if batch_first else x[:n, b:b + 1]
        h0b = None
        if hx is not None:
            h0b = tuple(h[:, b:b + 1] for h in hx) if is_lstm else hx[:, b:b + 1]
        if n == 0:
            out_size = ref.hidden_size if not getattr(ref, "proj_size", 0) else ref.proj_size
            D = 2 if ref.bidirectional else 1
            shape = (1, T, D * out_size) if batch_first else (T, 1, D * out_size)
            ys.append(x.new_zeros(shape))
            if h0b is None:
                L = ref.num_layers * D
                h0b = x.new_zeros(L, 1, out_size)
                if is_lstm:
                    h0b = (h0b, x.new_zeros(L, 1, ref.hidden_size))
            hs.append(states(h0b))
            continue
        yb, hb = ref(xb, h0b)
        pad = T - n
        if pad:
            zeros = yb.new_zeros((1, pad, yb.shape[-1]) if batch_first else (pad, 1, yb.shape[-1]))
            yb = torch.cat([yb, zeros], 1 if batch_first else 0)
        ys.append(yb)
        hs.append(states(hb))
    y = torch.cat(ys, 0 if batch_first else 1)
    finals = [torch.cat([h[i] for h in hs], 1) for i in range(len(hs[0]))]
    return y, finals


def loss_of(y, finals, cotangents):
    """A scalar that weights every output and final-state element by a fixed random
    cotangent, so that its gradient checks the whole vector-Jacobian product."""
    total = (y * cotangents[0]).sum()
    for f, c in zip(finals, cotangents[1:]):
        total = total + (f * c).sum()
    return total
