"""Single-step cells: drop-in replacements for torch.nn.RNNCell, LSTMCell and GRUCell.

They are subclasses of the torch.nn cells (same arguments, parameters and
initialisation) whose ``forward`` runs the one-step math of
:mod:`rnnkit.nn.cell_math`, the same code the unrolled layers run, under autograd.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .cell_math import ElmanMath, GRUMath, LSTMMath
from .checks import _check_state

__all__ = ["RNNCell", "LSTMCell", "GRUCell"]


def _prepare(cell, x, name):
    """Check a cell's input; return it batched (B, I) and whether it was unbatched."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name}: expected input to be a Tensor, got {type(x).__name__}")
    if x.dim() not in (1, 2):
        raise ValueError(f"{name}: expected 1-D (features) or 2-D (batch, features) input, "
                         f"got {x.dim()}-D input of shape {tuple(x.shape)}")
    if x.shape[-1] != cell.input_size:
        raise ValueError(f"{name}: expected input with {cell.input_size} features in its last "
                         f"dimension (input_size), got shape {tuple(x.shape)}")
    return (x.unsqueeze(0), True) if x.dim() == 1 else (x, False)


def _state(h, x, unbatched, size, what, name):
    if h is None:
        return x.new_zeros(x.shape[0], size)
    _check_state(h, (size,) if unbatched else (x.shape[0], size), what, x, name)
    return h.unsqueeze(0) if unbatched else h


def _projections(cell, x, h):
    """xp = W_ih x + b_ih and hp = W_hh h + b_hh, each (B, G)."""
    return F.linear(x, cell.weight_ih, cell.bias_ih), F.linear(h, cell.weight_hh, cell.bias_hh)


class RNNCell(nn.RNNCell):
    r"""Elman RNN cell (:class:`rnnkit.nn.cell_math.ElmanMath`):

    .. math:: h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})

    (ReLU with ``nonlinearity="relu"``). Arguments, shapes and parameters as
    torch.nn.RNNCell: input (B, input_size) or (input_size,), hx (B, hidden_size).

    Example::

        >>> cell = rnnkit.RNNCell(8, 16)
        >>> h = cell(torch.randn(4, 8))
    """

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = _prepare(self, input, "RNNCell")
        h = _state(hx, x, unbatched, self.hidden_size, "hx", "RNNCell")
        xp, hp = _projections(self, x, h)
        h, _, _ = ElmanMath(self.nonlinearity).step(xp + hp, None, h, None)
        return h.squeeze(0) if unbatched else h


class LSTMCell(nn.LSTMCell):
    r"""LSTM cell (:class:`rnnkit.nn.cell_math.LSTMMath`, gate order i, f, g, o):

    .. math:: c' = f \odot c + i \odot g, \qquad h' = o \odot \tanh(c')

    Arguments, shapes and parameters as torch.nn.LSTMCell; returns ``(h', c')``.

    Example::

        >>> cell = rnnkit.LSTMCell(8, 16)
        >>> h, c = cell(torch.randn(4, 8))
    """

    def forward(self, input: Tensor, hx=None):
        x, unbatched = _prepare(self, input, "LSTMCell")
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise ValueError(f"LSTMCell: expected hx to be a pair (h, c), got {type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        h = _state(h0, x, unbatched, self.hidden_size, "h", "LSTMCell")
        c = _state(c0, x, unbatched, self.hidden_size, "c", "LSTMCell")
        xp, hp = _projections(self, x, h)
        h, c, _ = LSTMMath().step(xp + hp, None, h, c)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(nn.GRUCell):
    r"""GRU cell (:class:`rnnkit.nn.cell_math.GRUMath`, gate order r, z, n):

    .. math::
        n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \qquad
        h' = (1 - z) \odot n + z \odot h

    Arguments, shapes and parameters as torch.nn.GRUCell.

    Example::

        >>> cell = rnnkit.GRUCell(8, 16)
        >>> h = cell(torch.randn(4, 8))
    """

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = _prepare(self, input, "GRUCell")
        h = _state(hx, x, unbatched, self.hidden_size, "hx", "GRUCell")
        xp, hp = _projections(self, x, h)
        h, _, _ = GRUMath().step(xp, hp, h, None)
        return h.squeeze(0) if unbatched else h
