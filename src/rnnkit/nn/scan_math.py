r"""The equations of the parallel-scan cells, written once: each function turns the
gate pre-activations of every step (computed for all steps at once) into the
coefficients of the linear recurrence :math:`h_t = a_t \odot h_{t-1} + b_t`
(:mod:`rnnkit.nn.scan`). The layers (:mod:`rnnkit.nn.scan_layers`) and the cells
(:mod:`rnnkit.nn.scan_cells`) both call them.

Every ``a`` is computed from a log or a sigmoid of its own argument (never as ``1 - z``
of a rounded ``z``), the numerically stable forms of the papers' log-space versions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["g", "mingru_coefficients", "minlstm_coefficients", "rglru_coefficients",
           "qrnn_coefficients", "RGLRU_C"]

RGLRU_C = 8.0  # the constant c of RG-LRU (De et al. 2024): a_t = a^(c r_t)


def g(x: Tensor) -> Tensor:
    r"""Feng et al. (2024)'s positive activation of the candidate state:
    :math:`g(x) = x + 0.5` for :math:`x \ge 0`, :math:`\sigma(x)` otherwise
    (continuous, with slope 1/4 and 1 on either side of 0).

    Written as :math:`\mathrm{relu}(x) + \sigma(-\mathrm{relu}(-x))`, the same numbers
    without a ``where`` or a clamp (whose CPU kernels and backward, masks and
    ``where``, cost more than these element-wise operations)."""
    return torch.relu(x) + torch.sigmoid(-torch.relu(-x))


def mingru_coefficients(k: Tensor, htilde: Tensor) -> tuple[Tensor, Tensor]:
    r"""minGRU (Feng et al. 2024): :math:`z_t = \sigma(k_t)`,
    :math:`h_t = (1 - z_t) h_{t-1} + z_t\, g(\tilde h_t)`, so
    :math:`a_t = \sigma(-k_t)`, :math:`b_t = \sigma(k_t)\, g(\tilde h_t)`."""
    return torch.sigmoid(-k), torch.sigmoid(k) * g(htilde)


def minlstm_coefficients(kf: Tensor, ki: Tensor, htilde: Tensor) -> tuple[Tensor, Tensor]:
    r"""minLSTM (Feng et al. 2024) with the normalised gates:
    :math:`f_t = \sigma(k^f_t)`, :math:`i_t = \sigma(k^i_t)`,
    :math:`f'_t = f_t / (f_t + i_t)`, :math:`i'_t = i_t / (f_t + i_t)`,
    :math:`h_t = f'_t h_{t-1} + i'_t\, g(\tilde h_t)`.

    Computed as :math:`f'_t = \sigma(d_t)`, :math:`i'_t = \sigma(-d_t)` with
    :math:`d_t = \log f_t - \log i_t = \mathrm{softplus}(-k^i_t) - \mathrm{softplus}(-k^f_t)`
    (the paper's log-space form), which neither divides nor loses f' or i' to rounding."""
    d = F.softplus(-ki) - F.softplus(-kf)
    return torch.sigmoid(d), torch.sigmoid(-d) * g(htilde)


def rglru_coefficients(kr: Tensor, ki: Tensor, x: Tensor, lam: Tensor,
                       c: float = RGLRU_C) -> tuple[Tensor, Tensor]:
    r"""RG-LRU (De et al. 2024): :math:`r_t = \sigma(k^r_t)`, :math:`i_t = \sigma(k^i_t)`,
    :math:`a_t = \sigma(\Lambda)^{c\, r_t}`,
    :math:`h_t = a_t h_{t-1} + \sqrt{1 - a_t^2}\, (i_t x_t)`.

    :math:`\log a_t = -c\, r_t\, \mathrm{softplus}(-\Lambda)` and
    :math:`1 - a_t^2 = -\mathrm{expm1}(2 \log a_t)`, exact for :math:`a_t` near 1."""
    log_a = -c * torch.sigmoid(kr) * F.softplus(-lam)
    return torch.exp(log_a), torch.sqrt(-torch.expm1(2 * log_a)) * (torch.sigmoid(ki) * x)


def qrnn_coefficients(kz: Tensor, kf: Tensor) -> tuple[Tensor, Tensor]:
    r"""QRNN fo-pooling (Bradbury et al. 2017): :math:`z_t = \tanh(k^z_t)`,
    :math:`f_t = \sigma(k^f_t)`, :math:`c_t = f_t c_{t-1} + (1 - f_t) z_t`, so
    :math:`a_t = \sigma(k^f_t)`, :math:`b_t = \sigma(-k^f_t) \tanh(k^z_t)`."""
    return torch.sigmoid(kf), torch.sigmoid(-kf) * torch.tanh(kz)
