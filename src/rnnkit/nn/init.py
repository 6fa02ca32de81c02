"""Initialisations that help recurrent layers carry information over many steps.

Each works in place on any rnnkit or torch.nn RNN / LSTM / GRU layer (parameter names
``weight_hh_l{k}{_reverse}``, ``bias_ih_l...``, ``bias_hh_l...``, gates stacked in
torch.nn's order) and returns the layer.

* :func:`orthogonal_recurrent_`: each gate's block of ``W_hh`` an orthogonal matrix
  (Saxe et al. 2014; all its singular values are 1, so the linear part of the
  recurrence neither shrinks nor grows a gradient).
* :func:`identity_recurrent_`: ``W_hh = I`` and zero biases for a plain RNN; with ReLU
  this is the IRNN of Le, Jaitly and Hinton (2015), whose state is copied unchanged
  from step to step at initialisation.
* :func:`forget_gate_bias_`: the LSTM forget gate's bias set so that the gate starts
  open (1 in total, Jozefowicz, Zaremba and Sutskever 2015; Gers et al. 2000).

Example::

    lstm = forget_gate_bias_(orthogonal_recurrent_(rnnkit.LSTM(8, 32)), 1.0)
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["orthogonal_recurrent_", "identity_recurrent_", "forget_gate_bias_"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _suffixes(layer: nn.RNNBase) -> list[str]:
    dirs = ["", "_reverse"] if layer.bidirectional else [""]
    return [f"l{k}{d}" for k in range(layer.num_layers) for d in dirs]


def _check(layer, what: str) -> int:
    if not isinstance(layer, nn.RNNBase) or layer.mode not in _GATES:
        raise ValueError(f"{what}: expected an RNN, LSTM or GRU layer, got {type(layer).__name__}")
    return _GATES[layer.mode]


@torch.no_grad()
def orthogonal_recurrent_(layer: nn.RNNBase, gain: float = 1.0) -> nn.RNNBase:
    """Each gate's (hidden_size x hidden_size) block of every ``W_hh`` orthogonal
    (times ``gain``). With ``proj_size`` the blocks are (hidden x proj) with
    orthonormal columns."""
    gates = _check(layer, "orthogonal_recurrent_")
    H = layer.hidden_size
    for s in _suffixes(layer):
        w = getattr(layer, f"weight_hh_{s}")            # (gates * H, H or proj)
        for g in range(gates):
            nn.init.orthogonal_(w[g * H:(g + 1) * H], gain=gain)
    return layer


@torch.no_grad()
def identity_recurrent_(layer: nn.RNNBase, input_std: float | None = 0.001) -> nn.RNNBase:
    """IRNN: ``W_hh = I``, biases 0, and (unless ``input_std`` is None) ``W_ih`` drawn
    from N(0, input_std^2) as Le et al. (2015) do. Plain RNN layers only."""
    if _check(layer, "identity_recurrent_") != 1:
        raise ValueError(f"identity_recurrent_: expected a plain RNN layer (IRNN), got {layer.mode}")
    for s in _suffixes(layer):
        getattr(layer, f"weight_hh_{s}").copy_(torch.eye(layer.hidden_size))
        if input_std is not None:
            getattr(layer, f"weight_ih_{s}").normal_(0.0, input_std)
        if layer.bias:
            getattr(layer, f"bias_ih_{s}").zero_()
            getattr(layer, f"bias_hh_{s}").zero_()
    return layer


@torch.no_grad()
def forget_gate_bias_(layer: nn.RNNBase, value: float = 1.0) -> nn.RNNBase:
    """The LSTM forget gate's total bias ``b_ih + b_hh`` set to ``value`` (split
    evenly between the two), so that f = sigmoid(value) at zero input and state."""
    if _check(layer, "forget_gate_bias_") != 4:
        raise ValueError(f"forget_gate_bias_: expected an LSTM layer, got {layer.mode}")
    if not layer.bias:
        raise ValueError("forget_gate_bias_: expected an LSTM with bias=True, got bias=False")
    H = layer.hidden_size
    for s in _suffixes(layer):
        for name in ("bias_ih", "bias_hh"):
            getattr(layer, f"{name}_{s}")[H:2 * H] = value / 2      # gate order i, f, g, o
    return layer
