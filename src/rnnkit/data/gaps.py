"""The one gap filler: missing values (NaN, and optionally infinities) in a sequence of
real values, filled column by column.

Policies (``how``):

- None: nothing is filled; any gap raises :class:`MissingValues` ("missing");
- ``"ffill"``: the last value before the gap. A gap at the very start has nothing to
  carry: ``leading="refuse"`` raises :class:`MissingValues` ("leading"),
  ``leading="backfill"`` takes the first value after it;
- ``"interpolate"``: linear in position between the values either side; a gap at the
  start or end takes the nearest value;
- ``"zero"``: 0.

A column with no value at all raises :class:`MissingValues` ("empty") whatever the
policy. Readers turn these into their own one-line errors (file, column, row).

Example::

    fill_gaps(np.array([1.0, np.nan, 3.0]), "interpolate")          # [1, 2, 3]
    fill_gaps(np.array([np.nan, 2.0]), "ffill", leading="backfill")   # [2, 2]
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError

FILL_POLICIES = ("ffill", "interpolate", "zero")
LEADING = ("refuse", "backfill")


class MissingValues(Exception):
    """Raised by :func:`fill_gaps`: ``kind`` is "missing" (no policy), "leading" (ffill
    with nothing before the gap) or "empty" (no values at all); ``index`` is the first
    missing position (along axis 0), ``count`` how many are missing, ``column`` the
    column of a 2-D array."""

    def __init__(self, kind: str, index: int, count: int, column: int = 0):
        super().__init__(kind)
        self.kind, self.index, self.count, self.column = kind, index, count, column


def fill_gaps(x: np.ndarray, how: str | None, *, leading: str = "refuse", infinite: bool = False) -> np.ndarray:
    """``x`` (T,) or (T, C) with its gaps filled by ``how`` (see the module docstring),
    column by column, in ``x``'s dtype.

    Args:
        leading: ``"refuse"`` or ``"backfill"``: what ``ffill`` does with a gap at the start.
        infinite: whether +-inf are gaps too (otherwise only NaN is).
    Returns:
        ``x`` itself when nothing is missing, else a new array.
    """
    if leading not in LEADING:
        raise ValueError(f"fill_gaps: expected leading {' or '.join(LEADING)}, got {leading!r}")
    missing = ~np.isfinite(x) if infinite else np.isnan(x)
    if not missing.any():
        return x
    if x.ndim == 2:
        out = np.empty_like(x)
        for c in range(x.shape[1]):
            try:
                out[:, c] = fill_gaps(x[:, c], how, leading=leading, infinite=infinite)
            except MissingValues as err:
                err.column = c
                raise
        return out
    count, first = int(missing.sum()), int(np.argmax(missing))
    if count == len(x):
        raise MissingValues("empty", first, count)
    if how is None:
        raise MissingValues("missing", first, count)
    if how == "zero":
        return np.where(missing, 0.0, x).astype(x.dtype, copy=False)
    pos = np.arange(len(x))
    if how == "ffill":
        if missing[0] and leading == "refuse":
            raise MissingValues("leading", 0, count)
        first_value = int(np.argmax(~missing))
        last = np.maximum.accumulate(np.where(missing, first_value, pos))   # the last value at or before t
        return x[last]                                                       # (the first one, before it)
    if how == "interpolate":
        out = x.copy()
        out[missing] = np.interp(pos[missing], pos[~missing], x[~missing])   # ends: nearest value
        return out
    raise UsageError(f"--fill: expected one of {', '.join(FILL_POLICIES)}, got {how!r}")
