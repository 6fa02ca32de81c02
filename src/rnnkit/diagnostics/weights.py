"""What the recurrent weights and gates say about memory.

* :func:`recurrent_spectrum`: for each layer and gate block of ``W_hh``, the spectral
  radius (largest |eigenvalue|) and the largest and smallest singular values. A plain
  RNN whose radius is well below 1 forgets geometrically; well above 1 it can explode.
  Layers whose step has no recurrent matrix (minGRU, minLSTM, RG-LRU, QRNN/SRU: their
  gates read the input only) give an empty list.
* :func:`gate_saturation`: for LSTM (input, forget, output gates) and GRU (reset,
  update gates), the fraction of gate values below 0.05 or above 0.95 on given data:
  saturated gates pass almost no gradient through their own pre-activation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..nn.init import _suffixes
from .gradients import _cell_for, _recurrent, changed_step

_GATE_NAMES = {"LSTM": ["input", "forget", "cell", "output"], "GRU": ["reset", "update", "new"],
               "RNN_TANH": ["tanh"], "RNN_RELU": ["relu"]}
_SIGMOID_GATES = {"LSTM": [0, 1, 3], "GRU": [0, 1]}


@torch.no_grad()
def recurrent_spectrum(layer: nn.RNNBase) -> list[dict]:
    """One dict per layer, direction and gate block: ``{"layer", "gate",
    "spectral_radius", "max_singular", "min_singular"}``."""
    if _recurrent(layer) and not isinstance(layer, nn.RNNBase):
        return []                                                     # no W_hh
    if not isinstance(layer, nn.RNNBase) or layer.mode not in _GATE_NAMES:
        raise ValueError(f"recurrent_spectrum: expected an RNN, LSTM or GRU layer, got {type(layer).__name__}")
    H, out = layer.hidden_size, []
    for s in _suffixes(layer):
        w = getattr(layer, f"weight_hh_{s}").detach().double().cpu()
        for g, name in enumerate(_GATE_NAMES[layer.mode]):
            block = w[g * H:(g + 1) * H]                              # (H, H or proj)
            sv = torch.linalg.svdvals(block)
            radius = float(torch.linalg.eigvals(block).abs().max()) if block.shape[0] == block.shape[1] else None
            out.append({"layer": s, "gate": name, "spectral_radius": radius,
                        "max_singular": float(sv.max()), "min_singular": float(sv.min())})
    return out


@torch.no_grad()
def gate_saturation(layer: nn.RNNBase, x: Tensor, low: float = 0.05, high: float = 0.95) -> list[dict]:
    """Fractions of saturated gate values over every step and sequence of ``x``
    (layout as the layer's), forward direction: one dict per layer and sigmoid gate,
    ``{"layer", "gate", "below", "above", "mean"}``. Plain RNN layers have no gates
    and the layers whose gates the torch.nn cells cannot replay (other cells; zoneout,
    layer norm) give an empty list."""
    if not isinstance(layer, nn.RNNBase) or layer.mode not in _SIGMOID_GATES or changed_step(layer):
        return []
    xt = x.transpose(0, 1) if layer.batch_first else x                 # (T, B, I)
    H, out = layer.hidden_size, []
    inputs = list(xt.unbind(0))
    for k in range(layer.num_layers):
        cell = _cell_for(layer, k)
        B = xt.shape[1]
        h, c = xt.new_zeros(B, H), xt.new_zeros(B, H)
        gates, outs = [], []
        for inp in inputs:
            gi = inp @ cell.weight_ih.T + (cell.bias_ih if cell.bias else 0)
            gh = h @ cell.weight_hh.T + (cell.bias_hh if cell.bias else 0)
            gates.append(torch.sigmoid(gi + gh))                       # (B, gates * H); sigmoid slices used
            if layer.mode == "LSTM":
                h, c = cell(inp, (h, c))
            else:
                h = cell(inp, h)
            outs.append(h)
        g = torch.stack(gates)                                          # (T, B, gates * H)
        for idx in _SIGMOID_GATES[layer.mode]:
            vals = g[..., idx * H:(idx + 1) * H]
            out.append({"layer": f"l{k}", "gate": _GATE_NAMES[layer.mode][idx],
                        "below": float((vals < low).float().mean()), "above": float((vals > high).float().mean()),
                        "mean": float(vals.mean())})
        inputs = outs
    return out
