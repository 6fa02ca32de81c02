"""The one scaler: z-scores per channel, ``z = (x - mean) / std``.

Every task that scales real values uses it: the classifier z-normalises each sequence
(``normalize``) and standardises its input with the training split's statistics
(inside the model: :class:`rnnkit.tasks.sequence.ValueInputs`), the tagger scales with
the training split's statistics
(``normalize``), the forecaster scales each series by its own training part, or all
series by one statistic, or not at all (``scale``: series / global / none).

Statistics are per channel (the last axis), over every step of every array given,
accumulated in float64 without concatenating the arrays (records may be long):
``mean = sum(x) / n`` and ``std = sqrt(sum((x - mean)^2) / n)`` (the population
standard deviation, as :func:`numpy.std`). A standard deviation of at most
:data:`STD_FLOOR` (a constant channel, up to rounding) is taken as 1, so that channel
is only centred.

The state stored in checkpoints is ``{"mean": [...], "std": [...]}``;
:meth:`Scaler.from_state` also reads the forecaster's ``(loc, scale)`` pair.

Example::

    from rnnkit.data.scaling import Scaler, fit_scalers, znorm
    s = Scaler.fit([x_train])               # x_train (T, C)
    z = s.transform(x_valid)                # float32
    x = s.inverse(z)
    s2 = Scaler.from_state(s.state())
    per_series = fit_scalers(series, "series")
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCALE_POLICIES = ("series", "global", "none")
STD_FLOOR = 1e-12


@dataclass(frozen=True)
class Scaler:
    """Per-channel ``mean`` and ``std`` (C,), float64."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, arrays: list[np.ndarray]) -> "Scaler":
        """Statistics over every step of ``arrays`` (each (T_i, C), or (T_i,) for one
        channel), channel by channel."""
        arrays = [np.asarray(a) for a in arrays]
        n = sum(len(a) for a in arrays)
        if not arrays or n == 0:
            raise ValueError("Scaler.fit: expected at least one step of values, got none")
        mean = sum(a.sum(0, dtype=np.float64) for a in arrays) / n
        var = sum(((a - mean) ** 2).sum(0, dtype=np.float64) for a in arrays) / n
        std = np.sqrt(var)
        return cls(np.asarray(mean, dtype=np.float64), np.where(std > STD_FLOOR, std, 1.0))

    @classmethod
    def identity(cls, channels: int) -> "Scaler":
        """Mean 0 and std 1 for ``channels`` channels (the values as they are)."""
        return cls(np.zeros(channels), np.ones(channels))

    def select(self, columns) -> "Scaler":
        """The scaler of some channels only (indices or a slice), e.g. the targets."""
        return Scaler(self.mean[columns], self.std[columns])

    def transform(self, x: np.ndarray, dtype=np.float32) -> np.ndarray:
        """``(x - mean) / std`` as ``dtype`` (a new array)."""
        return ((x - self.mean) / self.std).astype(dtype)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """``z * std + mean`` (float64): back to the data's units."""
        return np.asarray(z, dtype=np.float64) * self.std + self.mean

    def state(self) -> dict:
        """``{"mean": [...], "std": [...]}``: plain lists, for a checkpoint or JSON."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state(cls, state) -> "Scaler | None":
        """A scaler from :meth:`state` (``{"mean", "std"}``), from a forecaster's stored
        ``(loc, scale)`` pair or ``{"loc", "scale"}``; None for None."""
        if state is None:
            return None
        if isinstance(state, dict):
            keys = ("mean", "std") if "mean" in state else ("loc", "scale")
            if not all(k in state for k in keys):
                raise ValueError(f"expected a scaler state with 'mean' and 'std' (or 'loc' and 'scale'), got keys "
                                 f"{sorted(state)}")
            mean, std = state[keys[0]], state[keys[1]]
        elif isinstance(state, (list, tuple)) and len(state) == 2:
            mean, std = state
        else:
            raise ValueError(f"expected a scaler state (a dict with 'mean' and 'std', or a (loc, scale) pair), "
                             f"got {type(state).__name__}")
        return cls(np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64))


def fit_scalers(arrays: list[np.ndarray], policy: str) -> list[Scaler]:
    """One scaler per array: ``"series"`` fits each array on its own, ``"global"`` one
    scaler on all of them (the same object for every array), ``"none"`` the identity."""
    if policy not in SCALE_POLICIES:
        raise ValueError(f"expected a scaling policy {', '.join(SCALE_POLICIES)}, got {policy!r}")
    if policy == "none":
        return [Scaler.identity(np.asarray(a).shape[-1]) for a in arrays]
    if policy == "global":
        return [Scaler.fit(arrays)] * len(arrays)
    return [Scaler.fit([a]) for a in arrays]


def znorm(x: np.ndarray) -> np.ndarray:
    """One sequence (T, C) z-normalised with its own statistics, in ``x``'s dtype (a
    constant channel is only centred)."""
    if len(x) == 0:
        return np.array(x)
    return Scaler.fit([x]).transform(x, dtype=x.dtype)
