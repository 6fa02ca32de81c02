r"""The regularisers that made LSTMs strong language models, as functions and modules.

* :func:`weight_drop` (DropConnect on the hidden-to-hidden weights; Wan et al. 2013, as
  AWD-LSTM uses it, Merity et al. 2018): one mask over the entries of W_hh per forward
  pass, shared by every step and every sequence of the batch,
  :math:`\tilde W_{hh} = W_{hh} \odot M / (1 - p)`, :math:`M_{ij} \sim \mathrm{Bernoulli}(1 - p)`.
  The layers take it as ``weight_drop=p`` (:class:`rnnkit.nn.LSTM` ...).
* :class:`LockedDropout` (variational dropout; Gal & Ghahramani 2016, AWD-LSTM's
  LockedDropout): one mask per sequence and feature, shared by all its steps,
  :math:`y_{b,t,f} = x_{b,t,f} m_{b,f} / (1 - p)`.
* :func:`embedding_dropout` (Gal & Ghahramani 2016; Merity et al. 2018): whole rows of
  the embedding matrix dropped, so a dropped word is dropped at every position of the
  batch, :math:`\tilde E = E \odot m / (1 - p)`, :math:`m_v \sim \mathrm{Bernoulli}(1 - p)`
  per token v.
* :func:`zoneout` (Krueger et al. 2017): each unit keeps its previous value with
  probability p, :math:`h_t = d \odot h_{t-1} + (1 - d) \odot \hat h_t`,
  :math:`d \sim \mathrm{Bernoulli}(p)` per step and unit; in eval mode the expectation
  :math:`h_t = p h_{t-1} + (1 - p) \hat h_t`.

All are the identity in eval mode (zoneout: its expectation) and with p = 0.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["check_rate", "weight_drop", "locked_dropout", "LockedDropout", "embedding_dropout", "zoneout"]


def check_rate(p, what: str, name: str = "") -> float:
    """``p`` as a float in [0, 1); ValueError naming ``what`` otherwise."""
    prefix = f"{name}: " if name else ""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= float(p) < 1.0:
        raise ValueError(f"{prefix}expected {what} to be a rate in [0, 1), got {p!r}")
    return float(p)


def _keep_mask(shape, p: float, like: Tensor) -> Tensor:
    """Bernoulli(1 - p) / (1 - p) of ``shape``, in ``like``'s dtype and device."""
    return torch.empty(shape, dtype=like.dtype, device=like.device).bernoulli_(1.0 - p).div_(1.0 - p)


def weight_drop(w: Tensor, p: float, training: bool) -> Tensor:
    """DropConnect: ``w`` with each entry zeroed with probability ``p`` and the rest
    scaled by 1 / (1 - p); one mask per call. ``w`` itself in eval mode or with p = 0.
    The result is a function of ``w``, so gradients reach the raw weight."""
    if not training or p == 0.0:
        return w
    return w * _keep_mask(w.shape, p, w)


def locked_dropout(x: Tensor, p: float, training: bool, batch_first: bool = True) -> Tensor:
    """Variational dropout of a sequence batch: one mask per sequence and feature,
    shared over time. ``x`` is (B, T, F) (``batch_first``) or (T, B, F); a 2-D
    ``x`` (B, F) (one vector per sequence) gets ordinary dropout."""
    if not training or p == 0.0:
        return x
    if x.dim() == 2:
        return x * _keep_mask(x.shape, p, x)
    if x.dim() != 3:
        raise ValueError(f"locked_dropout: expected a 3-D sequence batch (batch, time, features), "
                         f"got shape {tuple(x.shape)}")
    shape = (x.shape[0], 1, x.shape[2]) if batch_first else (1, x.shape[1], x.shape[2])
    return x * _keep_mask(shape, p, x)


class LockedDropout(nn.Module):
    r"""Variational (locked) dropout: one mask per sequence and feature, the same at every
    step (Gal & Ghahramani 2016; AWD-LSTM, Merity et al. 2018):

    .. math:: y_{b,t,f} = x_{b,t,f}\, m_{b,f} / (1 - p), \qquad m_{b,f} \sim \mathrm{Bernoulli}(1 - p)

    The identity in eval mode. No parameters.

    Args:
        p: drop rate in [0, 1).
        batch_first: inputs are (B, T, F) (default) rather than (T, B, F).

    Shape: (B, T, F) -> (B, T, F); (B, F) -> (B, F) (ordinary dropout).

    Example::

        >>> drop = LockedDropout(0.25)
        >>> y = drop(torch.randn(4, 10, 8))   # y[b, :, f] is all zero or all kept
    """

    def __init__(self, p: float = 0.5, batch_first: bool = True):
        super().__init__()
        self.p = check_rate(p, "p", "LockedDropout")
        self.batch_first = batch_first

    def forward(self, x: Tensor) -> Tensor:
        return locked_dropout(x, self.p, self.training, self.batch_first)

    def extra_repr(self) -> str:
        return f"p={self.p}, batch_first={self.batch_first}"


def embedding_dropout(embed: nn.Embedding, ids: Tensor, p: float, training: bool) -> Tensor:
    """``embed(ids)`` with whole rows of the embedding matrix dropped (probability
    ``p``) and the rest scaled by 1 / (1 - p): a dropped token reads zeros everywhere
    in the batch. One mask per call; ``embed(ids)`` in eval mode or with p = 0."""
    if not training or p == 0.0:
        return embed(ids)
    w = embed.weight * _keep_mask((embed.weight.shape[0], 1), p, embed.weight)  # (V, E)
    return nn.functional.embedding(ids, w, embed.padding_idx, embed.max_norm, embed.norm_type,
                                   embed.scale_grad_by_freq, embed.sparse)


def zoneout(h_prev: Tensor, h_new: Tensor, p: float, training: bool) -> Tensor:
    """Zoneout of one step: each unit keeps ``h_prev`` with probability ``p`` (a fresh
    mask per call, i.e. per step), else takes ``h_new``; in eval mode the expectation
    ``p * h_prev + (1 - p) * h_new``. ``h_new`` with p = 0."""
    if p == 0.0:
        return h_new
    if not training:
        return torch.lerp(h_new, h_prev, p)
    d = torch.empty_like(h_new).bernoulli_(p)
    return torch.lerp(h_new, h_prev, d)   # d h_prev + (1 - d) h_new
