r"""Single-step cells of the parallel-scan layers (:mod:`rnnkit.nn.scan_layers`): the
same equations (:mod:`rnnkit.nn.scan_math`) for one step, for code that owns its loop.
Their parameters are a layer's ``weight_ih_l0`` / ``bias_ih_l0`` without the suffix."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .cells import _prepare, _state
from .scan_math import mingru_coefficients, minlstm_coefficients

__all__ = ["MinGRUCell", "MinLSTMCell"]


class _ScanCell(nn.Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected {what} to be a positive integer, got {v!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        fk = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(self.gates * hidden_size, input_size, **fk))
        self.bias_ih = nn.Parameter(torch.empty(self.gates * hidden_size, **fk)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -k, k)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        """a, b (B, H) of the step from the pre-activations W_ih x + b_ih (B, gates * H)."""
        raise NotImplementedError

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        name = type(self).__name__
        x, unbatched = _prepare(self, input, name)
        h = _state(hx, x, unbatched, self.hidden_size, "hx", name)
        pre = F.linear(x, self.weight_ih, self.bias_ih)          # (B, gates * H)
        a, b = self._coefficients(pre)
        h = torch.addcmul(b, a, h)
        return h.squeeze(0) if unbatched else h


class MinGRUCell(_ScanCell):
    r"""One step of :class:`rnnkit.MinGRU` (Feng et al. 2024):

    .. math:: z = \sigma(W_z x + b_z), \quad h' = (1 - z) \odot h + z \odot g(W_h x + b_h)

    Args: input_size, hidden_size, bias=True, device=None, dtype=None. Input (B, I) or
    (I,), hx (B, H) (zeros by default) -> h' (B, H).

    Example::

        >>> cell = rnnkit.MinGRUCell(8, 16)
        >>> h = cell(torch.randn(4, 8))
    """

    gates = 2

    def _coefficients(self, pre):
        k, ht = pre.chunk(2, -1)
        return mingru_coefficients(k, ht)


class MinLSTMCell(_ScanCell):
    r"""One step of :class:`rnnkit.MinLSTM` (Feng et al. 2024):

    .. math::
        f = \sigma(W_f x + b_f), \; i = \sigma(W_i x + b_i), \quad
        h' = \frac{f}{f + i} \odot h + \frac{i}{f + i} \odot g(W_h x + b_h)

    Args: input_size, hidden_size, bias=True, device=None, dtype=None. Input (B, I) or
    (I,), hx (B, H) (zeros by default; the state is h only) -> h' (B, H).

    Example::

        >>> cell = rnnkit.MinLSTMCell(8, 16)
        >>> h = cell(torch.randn(4, 8))
    """

    gates = 3

    def _coefficients(self, pre):
        kf, ki, ht = pre.chunk(3, -1)
        return minlstm_coefficients(kf, ki, ht)
