"""Gradient flow through time: how much of a loss's gradient reaches each step.

For a recurrent layer and a loss on its outputs, :func:`gradient_flow` gives, per time
step t, the norm of dL/dx_t (the input) and of dL/dh_t (the hidden state the layer
carries out of step t, for every layer; for LSTM the pair (h_t, c_t) is reported
separately). A plain RNN's dL/dh_t shrinks roughly geometrically going back from the
loss (each step multiplies it by W_hh^T diag(f'(.))), which is the vanishing-gradient
problem; gated cells keep it up.

The states are exposed by running each layer one step at a time with torch.nn cells
holding that layer's weights (the fused kernels do not expose h_t); the numbers are
those of the layer itself (tests hold the outputs to it). Any other layer with the
rnnkit contract (``layer(x, hx) -> (output, h_n)``, h_n or its first element shaped
(num_layers, B, H), a state passed back in continuing exactly: every cell of
:mod:`rnnkit.nn.registry`, and an RNN / LSTM / GRU with zoneout or layer norm) is run
by itself, one step per call, its state fed back.

Example::

    lstm = rnnkit.LSTM(2, 32, batch_first=True)
    x = torch.randn(16, 100, 2)
    flow = gradient_flow(lstm, x, lambda y, h: y[:, -1].pow(2).sum())
    flow.h_norm[-1]          # (100,): ||dL/dh_t|| of the top layer
    effective_memory(flow.h_norm[-1], 0.01)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class GradientFlow:
    """Norms per step, each (T,), averaged over the batch (the norm over features of
    each sequence's gradient, then the mean over sequences).

    x_norm: ||dL/dx_t||. h_norm[l]: ||dL/dh_t|| of layer l (forward direction).
    c_norm[l]: ||dL/dc_t|| for LSTM layers, else None. output: the layer's output.
    """

    x_norm: Tensor
    h_norm: list[Tensor]
    c_norm: list
    output: Tensor


def _cell_for(layer: nn.RNNBase, k: int) -> nn.RNNCellBase:
    """A torch.nn cell with the weights of layer ``k``'s forward direction."""
    H, bias = layer.hidden_size, layer.bias
    in_size = layer.input_size if k == 0 else H
    if layer.mode == "LSTM":
        cell = nn.LSTMCell(in_size, H, bias=bias)
    elif layer.mode == "GRU":
        cell = nn.GRUCell(in_size, H, bias=bias)
    else:
        cell = nn.RNNCell(in_size, H, bias=bias, nonlinearity="relu" if layer.mode == "RNN_RELU" else "tanh")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
    for name in names:
        # shared, not copied: the cell's parameters are the layer's own tensors
        setattr(cell, name, getattr(layer, f"{name}_l{k}"))
    return cell.to(getattr(layer, f"weight_ih_l{k}").device)


_TORCH_MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")


def gradient_flow(layer: nn.Module, x: Tensor, loss_fn) -> GradientFlow:
    """Norms of dL/dx_t and dL/dh_t for ``loss = loss_fn(output, h_n)``.

    Args:
        layer: an rnnkit or torch.nn RNN / LSTM / GRU (unidirectional, no proj_size,
            dropout not applied: the layer is read in eval mode), or any other rnnkit
            recurrent layer (MinGRU, ...: run one step per call, state fed back; a
            second state tensor, e.g. a cell state, is reported as c_norm).
        x: a batch-first (B, T, input_size) input when ``layer.batch_first``, else
            (T, B, input_size).
        loss_fn: ``(output, h_n) -> scalar``; ``output`` in the layer's layout, ``h_n``
            (num_layers, B, H), as the layer returns them (h only for LSTM).
    """
    if not _recurrent(layer):
        raise ValueError(f"gradient_flow: expected a recurrent layer (RNN, LSTM, GRU or another of "
                         f"rnnkit.nn.registry), got {type(layer).__name__}")
    if getattr(layer, "bidirectional", False) or getattr(layer, "proj_size", 0):
        raise ValueError("gradient_flow: expected a unidirectional layer without proj_size")
    if x.dim() != 3:
        raise ValueError(f"gradient_flow: expected 3-D input, got shape {tuple(x.shape)}")
    if not (isinstance(layer, nn.RNNBase) and layer.mode in _TORCH_MODES) or changed_step(layer):
        return stepwise_gradient_flow(layer, x, loss_fn)
    xt = (x.transpose(0, 1) if layer.batch_first else x).detach().clone().requires_grad_(True)  # (T, B, I)
    T, B = xt.shape[:2]
    lstm = layer.mode == "LSTM"
    inputs = list(xt.unbind(0))
    for inp in inputs:
        inp.retain_grad()
    hs, cs, finals = [], [], []
    for k in range(layer.num_layers):
        cell = _cell_for(layer, k)
        h = xt.new_zeros(B, layer.hidden_size)
        c = xt.new_zeros(B, layer.hidden_size)
        layer_h, layer_c = [], []
        for t in range(T):
            if lstm:
                h, c = cell(inputs[t], (h, c))
                c.retain_grad()
                layer_c.append(c)
            else:
                h = cell(inputs[t], h)
            h.retain_grad()
            layer_h.append(h)
        hs.append(layer_h)
        cs.append(layer_c)
        finals.append(h)
        inputs = layer_h
    out = torch.stack(hs[-1])                                   # (T, B, H)
    h_n = torch.stack(finals)                                   # (num_layers, B, H)
    output = out.transpose(0, 1) if layer.batch_first else out
    loss = loss_fn(output, h_n)
    loss.backward()

    def norms(tensors):
        return torch.stack([(t.grad if t.grad is not None else torch.zeros_like(t)).norm(dim=-1).mean()
                            for t in tensors]).detach()

    return GradientFlow(
        x_norm=torch.stack([xt.grad[t].norm(dim=-1).mean() for t in range(T)]).detach(),
        h_norm=[norms(layer_h) for layer_h in hs],
        c_norm=[norms(layer_c) if lstm else None for layer_c in cs],
        output=output.detach())


def changed_step(layer) -> bool:
    """Whether an RNN / LSTM / GRU layer's step is not torch.nn's (zoneout, layer norm):
    the torch.nn cells cannot replay it, the layer itself is run step by step."""
    stepwise = getattr(layer, "_stepwise", None)
    return bool(stepwise()) if callable(stepwise) else False


def _recurrent(layer) -> bool:
    """A torch.nn-style recurrent layer, or one of rnnkit.nn.registry's."""
    if isinstance(layer, nn.RNNBase):
        return layer.mode in _TORCH_MODES
    from ..nn.registry import LAYERS

    return type(layer).__name__ in LAYERS.values() and type(layer).__module__.startswith("rnnkit.nn")


def stepwise_gradient_flow(layer: nn.Module, x: Tensor, loss_fn) -> GradientFlow:
    """:func:`gradient_flow` by the layer itself: one call per step, each reading one
    step of ``x`` and the state the previous call returned, so every h_t (and c_t) is a
    tensor of the graph whose gradient can be read; for any layer whose state passed
    back in continues the sequence (chunked = one pass).

    ``x_norm`` and the output are exact. ``h_norm[l]`` is the gradient reaching h_t
    through the state carried to step t + 1, plus, for the top layer of a cell whose
    output is its state (minGRU, GRU, ...), through that step's output: the whole
    dL/dh_t for a single layer. A lower layer's h_t also feeds the layer above within
    the same call, which the layer does not expose: that part is missing from its norm.
    ``c_norm`` (a second state tensor) likewise counts only the carried part.
    """
    batch_first = bool(getattr(layer, "batch_first", False))
    xt = (x.transpose(0, 1) if batch_first else x).detach().clone().requires_grad_(True)   # (T, B, I)
    T = xt.shape[0]
    state, outs, hs, cs = None, [], [], []
    for t in range(T):
        step = xt[t:t + 1]                                           # (1, B, I)
        y, state = layer(step.transpose(0, 1) if batch_first else step, state)
        y.retain_grad()
        parts = state if isinstance(state, tuple) else (state,)
        for p in parts:
            p.retain_grad()
        hs.append(parts[0])                                          # (num_layers, B, H)
        if len(parts) > 1:
            cs.append(parts[1])
        outs.append(y)                                               # (B, 1, H) or (1, B, H)
    output = torch.cat(outs, dim=1 if batch_first else 0)           # the layer's layout
    h_n = state[0] if isinstance(state, tuple) else state
    loss = loss_fn(output, h_n)
    loss.backward()

    def grad(s):
        return s.grad if s.grad is not None else torch.zeros_like(s)

    def norms(tensors, k):
        return torch.stack([grad(s)[k].norm(dim=-1).mean() for s in tensors]).detach()

    n_layers = hs[0].shape[0]
    h_norm = [norms(hs, k) for k in range(n_layers)]
    # the top layer's output at step t: (B, H), the same values as its state when the cell outputs its state
    step_out = [(y.squeeze(1) if batch_first else y.squeeze(0)) for y in outs]
    if all(o.shape == h[-1].shape and torch.equal(o.detach(), h[-1].detach()) for o, h in zip(step_out, hs)):
        dy = [(grad(y).squeeze(1) if batch_first else grad(y).squeeze(0)) for y in outs]
        h_norm[-1] = torch.stack([(d + grad(h)[-1]).norm(dim=-1).mean() for d, h in zip(dy, hs)]).detach()
    return GradientFlow(
        x_norm=xt.grad.norm(dim=-1).mean(1).detach() if xt.grad is not None else xt.new_zeros(T),
        h_norm=h_norm,
        c_norm=[norms(cs, k) if cs else None for k in range(n_layers)],
        output=output.detach())


def effective_memory(norms: Tensor, fraction: float = 0.01) -> int:
    """How many steps back from the last the gradient norm stays at or above
    ``fraction`` of its value at the last step: the largest d such that
    norms[T-1-j] >= fraction * norms[T-1] for every j <= d. 0 when the last step has
    no gradient."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"effective_memory: expected a fraction in (0, 1], got {fraction}")
    norms = norms.detach().flatten()
    last = float(norms[-1])
    if last <= 0.0:
        return 0
    below = (norms.flip(0) < fraction * last).nonzero()
    return int(below[0]) - 1 if len(below) else len(norms) - 1
