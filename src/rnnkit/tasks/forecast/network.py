"""The forecasting network (:class:`Forecaster`): the recurrent stack, the direct or
autoregressive decoder, the window normalisation of the direct decoder, and the losses
and intervals of its outputs. :mod:`rnnkit.tasks.forecast.module` holds the task
around it (windows, scaling, the LightningModule and data module)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...config import ModelConfig
from ...errors import UsageError
from ..base import StackDropout, recurrent_stack, settled

Z90 = 1.2815515655446004     # the standard normal's 0.9 quantile: gaussian intervals are 10%..90%


# ---- losses and the distribution head -----------------------------------------------------
def n_params(loss: str, quantiles: list[float]) -> int:
    return {"mse": 1, "mae": 1, "gaussian": 2}.get(loss, len(quantiles))


def loss_fn(out: Tensor, y: Tensor, loss: str, quantiles: list[float]) -> Tensor:
    """Mean loss of outputs ``out`` (..., P) against ``y`` (...), in scaled units."""
    if loss == "mse":
        return ((out[..., 0] - y) ** 2).mean()
    if loss == "mae":
        return (out[..., 0] - y).abs().mean()
    if loss == "gaussian":
        mu, sigma = out[..., 0], F.softplus(out[..., 1]) + 1e-4
        return (torch.log(sigma) + 0.5 * ((y - mu) / sigma) ** 2 + 0.5 * math.log(2 * math.pi)).mean()
    q = torch.tensor(quantiles, dtype=out.dtype, device=out.device)
    diff = y[..., None] - out                                   # (..., Q)
    return torch.maximum(q * diff, (q - 1) * diff).mean()


def point_and_interval(out: Tensor, loss: str, quantiles: list[float]):
    """Point forecast (...), and lower/upper bounds (...) or None, in scaled units."""
    if loss in ("mse", "mae"):
        return out[..., 0], None, None
    if loss == "gaussian":
        mu, sigma = out[..., 0], F.softplus(out[..., 1]) + 1e-4
        return mu, mu - Z90 * sigma, mu + Z90 * sigma
    order = np.argsort(quantiles)
    mid = int(np.argmin([abs(q - 0.5) for q in quantiles]))
    return out[..., mid], out[..., int(order[0])], out[..., int(order[-1])]


# ---- the model ------------------------------------------------------------------------------
class Forecaster(nn.Module):
    """The recurrent stack with a direct multi-horizon head or a one-step head.

    Shape (direct): x (B, L, F), future (B, H, C_f) -> (B, H, C_t, P).
    Shape (autoregressive): x (B, T, C_t + C_f) -> (B, T, C_t, P), state.
    """

    def __init__(self, cfg: ModelConfig, n_targets: int, n_past: int, n_future: int, horizon: int):
        super().__init__()
        cfg = settled(cfg)
        self.decoder, self.horizon = cfg.decoder, horizon
        self.n_targets, self.n_future, self.P = n_targets, n_future, n_params(cfg.loss, cfg.quantiles)
        if cfg.decoder == "autoregressive":
            if n_past:
                raise UsageError("data.covariates: the autoregressive decoder needs every input ahead, and past "
                                 "covariates are unknown there; expected model.decoder direct, got autoregressive")
            if cfg.bidirectional:
                raise UsageError("model.bidirectional: the autoregressive decoder reads left to right; expected "
                                 "bidirectional false, got true")
            self.rnn = recurrent_stack(cfg, n_targets + n_future)
            self.head = nn.Linear(cfg.hidden_size, n_targets * self.P)
        else:
            self.rnn = recurrent_stack(cfg, n_targets + n_past + n_future)
            self.directions = 2 if cfg.bidirectional else 1
            size = self.directions * cfg.hidden_size + horizon * n_future
            self.head = nn.Linear(size, horizon * n_targets * self.P)
        self.drop = nn.Dropout(cfg.dropout)
        self.regs = StackDropout(cfg, has_embedding=False)   # locked input / output dropout
        self.loss = cfg.loss
        self.window_norm = bool(cfg.window_norm)
        if self.window_norm and cfg.decoder != "direct":
            raise UsageError("model.window_norm: the autoregressive decoder reads a series step by step, with no "
                             "window to standardise; expected model.decoder direct, got autoregressive")

    def forward(self, x: Tensor, future: Tensor | None = None, state=None):
        if self.decoder == "autoregressive":
            y, state = self.rnn(self.regs.inputs(x), state)              # (B, T, H)
            out = self.head(self.drop(self.regs.outputs(y)))
            return out.view(*out.shape[:2], self.n_targets, self.P), state
        return self.direct(x, future)[0]

    def direct(self, x: Tensor, future: Tensor | None = None, state=None):
        """The direct decoder: outputs (B, H, C_t, P) and the stack's final state. With
        ``window_norm`` the targets of each window are standardised by their own mean
        and standard deviation over its L steps, and the outputs taken back to the
        window's units (reversible instance normalisation, Kim et al. 2022):

            x'_t = (x_t - m) / s,   ŷ = m + s ŷ'   (the gaussian's scale: s σ')
        """
        stats = None
        if self.window_norm:
            C = self.n_targets
            m = x[..., :C].mean(1, keepdim=True)                          # (B, 1, C_t)
            s = torch.sqrt(x[..., :C].var(1, unbiased=False, keepdim=True) + WINDOW_EPS)
            x = torch.cat([(x[..., :C] - m) / s, x[..., C:]], -1)
            stats = (m, s)
        _, hn = self.rnn(self.regs.inputs(x), state)
        h = hn[0] if isinstance(hn, tuple) else hn                       # (layers*D, B, H)
        last = self.regs.outputs(h[-self.directions:].permute(1, 0, 2).reshape(x.shape[0], -1))   # (B, D*H)
        if self.n_future:
            last = torch.cat([last, future.reshape(x.shape[0], -1)], dim=1)    # (B, D*H + H*C_f)
        out = self.head(self.drop(last)).view(x.shape[0], self.horizon, self.n_targets, self.P)
        if stats is not None:
            out = _unstandardise(out, *stats, self.loss)
        return out, hn


#: added to a window's variance before its square root (the scaled series have
#: variance about 1): a flat window is divided by 0.01, not by 0
WINDOW_EPS = 1e-4


def _unstandardise(out: Tensor, m: Tensor, s: Tensor, loss: str) -> Tensor:
    """Outputs (B, H, C_t, P) of standardised windows back to the windows' units: every
    output is a location (point, quantile: m + s o), except the gaussian's scale
    parameter, whose σ = softplus(o) + 1e-4 becomes s σ."""
    m, s = m[..., None], s[..., None]                                       # (B, 1, C_t, 1)
    if loss != "gaussian":
        return out * s + m
    sigma = s[..., 0] * (F.softplus(out[..., 1]) + 1e-4) - 1e-4
    sigma = sigma.clamp_min(1e-6)
    raw = sigma + torch.log(-torch.expm1(-sigma))                          # softplus^-1
    return torch.stack([out[..., 0] * s[..., 0] + m[..., 0], raw], -1)
