"""Baselines for real-valued sequences: what a recurrent model of series or signals has
to beat to show that it uses order and memory at all.

Forecasting, from a history ``y_0 .. y_{T-1}`` (one column per target) and ``H`` steps::

    naive             f_h = y_{T-1}                               h = 1..H
    seasonal naive    f_h = y_{T - m + ((h - 1) mod m)}           period m
    window ridge      f = W vec(y_{T-L} .. y_{T-1}) + b           ridge on the flattened window

Classification: each sequence resampled to a fixed length by linear interpolation,
flattened, and read by a multinomial logistic regression.

The window models see past values as independent features: each position has its own
weight, nothing is shared across time and nothing carries state from one step to the
next, so a pattern learnt at one position is not recognised at another.

Example:
    >>> naive_forecast(np.array([1.0, 2.0, 3.0]), 2).tolist()
    [3.0, 3.0]
    >>> seasonal_naive_forecast(np.array([1.0, 2.0, 3.0, 4.0]), 3, season=2).tolist()
    [3.0, 4.0, 3.0]
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError

__all__ = ["WindowClassifier", "WindowRegression", "naive_forecast", "seasonal_naive_forecast"]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UsageError(f"expected {name} as an integer >= 1, got {value!r}")
    return int(value)


def _history(history) -> np.ndarray:
    y = np.asarray(history, dtype=np.float64)
    if y.ndim not in (1, 2):
        raise UsageError(f"expected a history of shape (T,) or (T, C), got shape {y.shape}")
    if len(y) == 0:
        raise UsageError("expected a history of at least one value, got none")
    return y


def naive_forecast(history: np.ndarray, horizon: int) -> np.ndarray:
    """The last value, repeated ``horizon`` times: ``f_h = y_{T-1}``.

    Shape:
        history ``(T,)`` or ``(T, C)`` -> ``(H,)`` or ``(H, C)``.

    Example:
        >>> naive_forecast(np.array([[1.0, 5.0], [2.0, 6.0]]), 2).tolist()
        [[2.0, 6.0], [2.0, 6.0]]
    """
    y = _history(history)
    h = _positive_int("horizon", horizon)
    return np.repeat(y[-1:], h, axis=0)                                  # (1, ...) -> (H, ...)


def seasonal_naive_forecast(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The value one season earlier, the last season repeated cyclically:
    ``f_h = y_{T - m + ((h - 1) mod m)}`` for ``h = 1..H``.

    Args:
        history: ``(T,)`` or ``(T, C)``, at least ``season`` values.
        horizon: steps ahead ``H``.
        season: the period ``m`` (``1`` is the naive forecast).

    Shape:
        ``(H,)`` or ``(H, C)``.

    Example:
        >>> seasonal_naive_forecast(np.array([9.0, 1.0, 2.0, 3.0]), 4, season=3).tolist()
        [1.0, 2.0, 3.0, 1.0]
    """
    y = _history(history)
    h = _positive_int("horizon", horizon)
    m = _positive_int("season", season)
    if m > len(y):
        raise UsageError(f"expected a history of at least one season ({m} values), got {len(y)}")
    idx = len(y) - m + np.arange(h) % m                                 # (H,) positions in the last season
    return y[idx]


def _finite(name: str, x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        raise UsageError(f"expected finite values in {name}, got {int((~np.isfinite(x)).sum())} NaN or infinite")


class WindowRegression:
    """Past values as independent features: the last ``input_length`` values of every
    channel, flattened, -> ridge regression (scikit-learn ``Ridge``), one output per
    (step ahead, target)::

        f_{h,c} = sum_{l, k} W[h, c, l, k] x_{T-L+l, k} + b[h, c]
        minimise ||Y - X W^T - b||^2 + alpha ||W||^2

    Each position of the window has its own weight; there is no recurrence, so a pattern
    is recognised only at the positions where it was seen in training.

    Args:
        input_length: ``L``, the past steps read (longer windows keep their last ``L``).
        horizon: ``H``, the steps ahead predicted at once.
        alpha: the L2 penalty.

    Shape:
        ``fit``: X ``(N, L, C_in)``, Y ``(N, H, C_out)``; ``predict``: ``(N, H, C_out)``.
        After ``fit``, ``coef_`` is ``(H, C_out, L, C_in)`` and ``intercept_`` ``(H, C_out)``.

    Example:
        >>> x = np.arange(20.0)[:, None, None] + np.arange(2.0)[None, :, None]  # windows (k, k+1)
        >>> reg = WindowRegression(2, 1, alpha=1e-6).fit(x, x[:, 1:] + 1)      # next value k+2
        >>> reg.predict(np.array([[[30.0], [31.0]]])).round(3).tolist()
        [[[32.0]]]
    """

    def __init__(self, input_length: int, horizon: int, alpha: float = 1.0):
        self.input_length = _positive_int("input_length", input_length)
        self.horizon = _positive_int("horizon", horizon)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) or alpha < 0:
            raise UsageError(f"expected alpha as a number >= 0, got {alpha!r}")
        self.alpha = float(alpha)
        self._model = None
        self._shape = None   # (C_in, C_out)

    def _windows(self, X) -> np.ndarray:
        x = np.asarray(X, dtype=np.float64)
        if x.ndim != 3:
            raise UsageError(f"expected windows of shape (N, L, C) (windows, steps, channels), got shape {x.shape}")
        if x.shape[1] < self.input_length:
            raise UsageError(
                f"expected windows of at least input_length={self.input_length} steps, got {x.shape[1]}")
        if self._shape is not None and x.shape[2] != self._shape[0]:
            raise UsageError(f"expected windows of {self._shape[0]} channel(s) as in fit, got {x.shape[2]}")
        _finite("the windows", x)
        return x[:, x.shape[1] - self.input_length:].reshape(len(x), -1)  # (N, L, C) -> (N, L*C)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> WindowRegression:
        """Fit the ridge regression on windows ``X`` ``(N, L, C_in)`` and their next
        ``H`` values ``Y`` ``(N, H, C_out)``."""
        from sklearn.linear_model import Ridge

        self._shape = None
        x = self._windows(X)
        y = np.asarray(Y, dtype=np.float64)
        if y.ndim != 3 or y.shape[:2] != (len(x), self.horizon):
            raise UsageError(
                f"expected targets of shape ({len(x)}, {self.horizon}, C) (windows, horizon, targets), got shape {y.shape}")
        if len(x) < 2:
            raise UsageError(f"expected at least 2 windows to fit a regression, got {len(x)}")
        _finite("the targets", y)
        model = Ridge(alpha=self.alpha)
        model.fit(x, y.reshape(len(y), -1))                                 # (N, H*C_out)
        self._model = model
        self._shape = (np.asarray(X).shape[2], y.shape[2])
        return self

    def _check_fitted(self) -> None:
        if self._model is None:
            raise UsageError("expected a fitted WindowRegression (call fit first), got an unfitted one")

    @property
    def coef_(self) -> np.ndarray:
        """The weights, ``(H, C_out, L, C_in)``: ``coef_[h, c, l, k]`` multiplies channel
        ``k`` at window position ``l`` (``L - 1`` is the last step) for step ``h + 1``
        ahead of target ``c``."""
        self._check_fitted()
        c_in, c_out = self._shape
        return self._model.coef_.reshape(self.horizon, c_out, self.input_length, c_in)

    @property
    def intercept_(self) -> np.ndarray:
        """The biases, ``(H, C_out)``."""
        self._check_fitted()
        return np.asarray(self._model.intercept_).reshape(self.horizon, self._shape[1])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Forecasts ``(N, H, C_out)`` from windows ``(N, L, C_in)``."""
        self._check_fitted()
        x = self._windows(X)
        return self._model.predict(x).reshape(len(x), self.horizon, self._shape[1])

    def __repr__(self) -> str:
        return f"WindowRegression(input_length={self.input_length}, horizon={self.horizon}, alpha={self.alpha})"


def resample(x: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of each channel of ``x`` ``(T, C)`` onto ``length`` evenly
    spaced points from its first step to its last: ``(length, C)``. A sequence of one
    step is repeated; one of ``length`` steps is returned as it is."""
    t = len(x)
    if t == length:
        return x
    if t == 1:
        return np.repeat(x, length, axis=0)
    grid = np.linspace(0.0, t - 1, length)                             # (length,) positions in 0..T-1
    return np.stack([np.interp(grid, np.arange(t), x[:, c]) for c in range(x.shape[1])], axis=1)


class WindowClassifier:
    """The flattened sequence -> multinomial logistic regression (scikit-learn
    ``LogisticRegression``, L2, ``C``, lbfgs)::

        z     = vec(resample(x, length))          (length * C features)
        p(k)  = softmax_k(W z + b)

    Sequences of other lengths are linearly interpolated, channel by channel, onto
    ``length`` evenly spaced steps from their first step to their last. Each position has
    its own weight: a pattern is recognised only where it was seen, and a shift in time
    is a different input.

    Args:
        length: the steps every sequence is resampled to (``None``: the median length of
            the training sequences).
        C: inverse L2 regularisation strength.
        seed: ``random_state`` of the logistic regression.

    Shape:
        ``fit``: a list of N arrays ``(T_i, C)`` (or ``(T_i,)`` for one channel);
        ``predict_proba``: ``(N, n_classes)``, columns in class-index order.

    Example:
        >>> t = np.linspace(0, 1, 50)
        >>> xs = [np.sin(2 * np.pi * f * t)[:, None] for f in (1, 1, 5, 5)]
        >>> clf = WindowClassifier().fit(xs, [0, 0, 1, 1], n_classes=3)
        >>> clf.predict_proba(xs).shape, clf.predict(xs).tolist()
        ((4, 3), [0, 0, 1, 1])
    """

    def __init__(self, length: int | None = None, C: float = 1.0, seed: int = 0):
        self.length = None if length is None else _positive_int("length", length)
        if isinstance(C, bool) or not isinstance(C, (int, float, np.integer, np.floating)) or not C > 0:
            raise UsageError(f"expected C as a number > 0, got {C!r}")
        self.C = float(C)
        self.seed = int(seed)
        self.n_classes: int | None = None
        self.channels: int | None = None
        self._length: int | None = None
        self._model = None

    def _sequences(self, xs) -> list[np.ndarray]:
        if isinstance(xs, np.ndarray) and xs.ndim in (2, 3):
            xs = list(xs)                                                 # (N, T[, C]) -> N sequences
        out = []
        for i, x in enumerate(xs):
            a = np.asarray(x, dtype=np.float64)
            if a.ndim == 1:
                a = a[:, None]                                            # (T,) -> (T, 1)
            if a.ndim != 2 or len(a) == 0:
                raise UsageError(f"expected sequence {i} of shape (T, C) with T >= 1, got shape {a.shape}")
            channels = self.channels if self.channels is not None else (out[0].shape[1] if out else a.shape[1])
            if a.shape[1] != channels:
                raise UsageError(f"expected sequence {i} with {channels} channel(s) like the others, got {a.shape[1]}")
            _finite(f"sequence {i}", a)
            out.append(a)
        return out

    def _features(self, seqs: list[np.ndarray]) -> np.ndarray:
        return np.stack([resample(a, self._length).reshape(-1) for a in seqs])  # (N, length*C)

    def fit(self, xs: list[np.ndarray], y: list[int], n_classes: int) -> WindowClassifier:
        """Fit on sequences ``xs`` with class indices ``y`` in ``0..n_classes-1`` (at
        least two distinct)."""
        from sklearn.linear_model import LogisticRegression

        n_classes = _positive_int("n_classes", n_classes)
        self.channels = None
        seqs = self._sequences(xs)
        if not seqs:
            raise UsageError("expected at least one training sequence, got none")
        labels = np.asarray(y)
        if labels.ndim != 1 or len(labels) != len(seqs):
            raise UsageError(f"expected one label per sequence ({len(seqs)}), got shape {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise UsageError(f"expected labels as integer class indices, got dtype {labels.dtype}")
        bad = labels[(labels < 0) | (labels >= n_classes)]
        if bad.size:
            raise UsageError(f"expected labels in 0..{n_classes - 1} ({n_classes} classes), got {int(bad[0])}")
        if len(np.unique(labels)) < 2:
            raise UsageError(f"expected at least 2 distinct labels to train a classifier, got {len(np.unique(labels))}")
        self._length = self.length or max(1, int(round(float(np.median([len(a) for a in seqs])))))
        model = LogisticRegression(C=self.C, max_iter=5000, random_state=self.seed)
        model.fit(self._features(seqs), labels.astype(np.int64))
        self.n_classes, self.channels, self._model = n_classes, seqs[0].shape[1], model
        return self

    def predict_proba(self, xs) -> np.ndarray:
        """Class probabilities ``(N, n_classes)``, columns in class-index order; a class
        absent from training has probability 0."""
        if self._model is None:
            raise UsageError("expected a fitted WindowClassifier (call fit first), got an unfitted one")
        seqs = self._sequences(xs)
        out = np.zeros((len(seqs), self.n_classes), dtype=np.float64)
        if seqs:
            out[:, self._model.classes_] = self._model.predict_proba(self._features(seqs))  # seen classes' columns
        return out

    def predict(self, xs) -> np.ndarray:
        """Class indices ``(N,)``."""
        return self.predict_proba(xs).argmax(axis=1)

    # --- saving and loading ------------------------------------------------------------
    _FORMAT = "rnnkit-window-classifier 1"

    def save(self, path) -> None:
        """Write the fitted model to one ``.npz`` of plain arrays (no pickle), atomically."""
        from .logistic_io import save_logistic

        if self._model is None:
            raise UsageError("expected a fitted WindowClassifier (call fit first), got an unfitted one")
        save_logistic(path, self._FORMAT, {"length": self.length, "C": self.C, "seed": self.seed,
                                           "steps": self._length, "channels": self.channels,
                                           "n_classes": self.n_classes}, self._model)

    @classmethod
    def load(cls, path) -> WindowClassifier:
        """Rebuild a model saved by :meth:`save`; its probabilities equal the original's."""
        from .logistic_io import load_logistic

        def n_features(meta):
            if meta["steps"] < 1 or meta["channels"] < 1 or meta["n_classes"] < 2:
                raise ValueError("inconsistent settings")
            return meta["steps"] * meta["channels"]

        meta, model = load_logistic(path, cls._FORMAT, "WindowClassifier", n_features)
        clf = cls(length=meta["length"], C=meta["C"], seed=meta["seed"])
        clf._length, clf.channels, clf.n_classes, clf._model = meta["steps"], meta["channels"], meta["n_classes"], model
        return clf

    def __repr__(self) -> str:
        fitted = f", fitted on length {self._length} x {self.channels} channel(s)" if self._model is not None else ""
        return f"WindowClassifier(length={self.length}, C={self.C}, seed={self.seed}{fitted})"
