"""The window baseline of per-step labelling: a label for every step of a real-valued
sequence from the values around it, taken as independent features. What a recurrent
tagger has to beat to show that it uses order and memory beyond a fixed window."""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from .series import _finite, _positive_int

__all__ = ["WindowTagger"]

_CHUNK = 65_536      # steps whose features are built at once when predicting


class WindowTagger:
    """Per-step multinomial logistic regression on a window of values (scikit-learn
    ``LogisticRegression``, L2, ``C``, lbfgs)::

        z_t      = vec(x_{t-before} .. x_{t+after})     ((before + 1 + after) * C features,
                                                          zeros beyond the sequence's ends)
        p(k | t) = softmax_k(W z_t + b)

    ``after`` = 0 sees only the past, as a unidirectional tagger does; a bidirectional
    one sees both sides. Each offset has its own weight and nothing carries over from
    one step to the next: what lies outside the window is invisible.

    Args:
        before: steps before t in the window (>= 0).
        after: steps after t in the window (>= 0).
        C: inverse L2 regularisation strength.
        max_steps: training steps sampled (seeded) from all sequences when there are
            more; every label of the training data is kept in the sample.
        seed: the sampling's and the regression's seed.

    Shape:
        ``fit``: lists of arrays ``(T_i, C)`` and of label indices ``(T_i,)``;
        ``predict_proba``: a list of ``(T_i, n_classes)``, columns in class-index order.

    Example:
        >>> x = [np.array([[0.0], [1.0], [0.0], [1.0]])]
        >>> WindowTagger(before=1).features(x[0]).tolist()        # (x_{t-1}, x_t)
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    """

    def __init__(self, before: int = 31, after: int = 0, C: float = 1.0, max_steps: int = 100_000,
                 seed: int = 0):
        for name, v in (("before", before), ("after", after)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise UsageError(f"expected {name} as an integer >= 0, got {v!r}")
        if isinstance(C, bool) or not isinstance(C, (int, float, np.integer, np.floating)) or not C > 0:
            raise UsageError(f"expected C as a number > 0, got {C!r}")
        self.before, self.after, self.C = int(before), int(after), float(C)
        self.max_steps = _positive_int("max_steps", max_steps)
        self.seed = int(seed)
        self.channels: int | None = None
        self.n_classes: int | None = None
        self._model = None

    @property
    def width(self) -> int:
        """Steps in the window."""
        return self.before + 1 + self.after

    def _sequence(self, i: int, x) -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        if a.ndim == 1:
            a = a[:, None]                                                # (T,) -> (T, 1)
        if a.ndim != 2:
            raise UsageError(f"expected sequence {i} of shape (T, C), got shape {a.shape}")
        if self.channels is not None and a.shape[1] != self.channels:
            raise UsageError(f"expected sequence {i} with {self.channels} channel(s), got {a.shape[1]}")
        _finite(f"sequence {i}", a)
        return a

    def _windows(self, a: np.ndarray) -> np.ndarray:
        """A view (T, C, width) of every step's window over the zero-padded sequence."""
        padded = np.concatenate([np.zeros((self.before, a.shape[1])), a, np.zeros((self.after, a.shape[1]))])
        return np.lib.stride_tricks.sliding_window_view(padded, self.width, axis=0)

    def features(self, x, rows=None) -> np.ndarray:
        """``(T, width * C)`` (or the steps ``rows`` only): each step's window, oldest
        step first, the channels of a step together."""
        a = self._sequence(0, x)
        w = self._windows(a)
        if rows is not None:
            w = w[rows]
        return w.transpose(0, 2, 1).reshape(len(w), -1)

    def fit(self, xs, ys, n_classes: int) -> WindowTagger:
        """Fit on sequences ``xs`` with a label index per step ``ys`` (in
        ``0..n_classes-1``, at least two distinct)."""
        from sklearn.linear_model import LogisticRegression

        n_classes = _positive_int("n_classes", n_classes)
        self.channels = None
        seqs = [self._sequence(i, x) for i, x in enumerate(xs)]
        if not seqs:
            raise UsageError("expected at least one training sequence, got none")
        self.channels = seqs[0].shape[1]
        seqs = [self._sequence(i, x) for i, x in enumerate(seqs)]       # one channel count for all
        labels = []
        for i, (a, y) in enumerate(zip(seqs, ys)):
            y = np.asarray(y)
            if y.shape != (len(a),) or not np.issubdtype(y.dtype, np.integer):
                raise UsageError(f"expected sequence {i}'s labels as {len(a)} integer class indices, got "
                                 f"shape {y.shape} of {y.dtype}")
            labels.append(y.astype(np.int64))
        if len(labels) != len(seqs):
            raise UsageError(f"expected labels for each of the {len(seqs)} sequences, got {len(labels)}")
        flat = np.concatenate(labels)
        bad = flat[(flat < 0) | (flat >= n_classes)]
        if bad.size:
            raise UsageError(f"expected labels in 0..{n_classes - 1} ({n_classes} classes), got {int(bad[0])}")
        if len(np.unique(flat)) < 2:
            raise UsageError(f"expected at least 2 distinct labels to train a tagger, got {len(np.unique(flat))}")
        pick = self._sample(flat)
        offsets = np.concatenate([[0], np.cumsum([len(a) for a in seqs])])
        feats, target = [], []
        for i, a in enumerate(seqs):
            rows = pick[(pick >= offsets[i]) & (pick < offsets[i + 1])] - offsets[i]
            if len(rows):
                feats.append(self.features(a, rows))
                target.append(labels[i][rows])
        model = LogisticRegression(C=self.C, max_iter=5000, random_state=self.seed)
        model.fit(np.concatenate(feats), np.concatenate(target))
        self.n_classes, self._model = n_classes, model
        return self

    def _sample(self, flat: np.ndarray) -> np.ndarray:
        """Sorted global step indices to train on: all, or ``max_steps`` drawn at random
        with at least one step of every label (a rare label is not sampled away)."""
        n = len(flat)
        if n <= self.max_steps:
            return np.arange(n)
        rng = np.random.default_rng(self.seed)
        pick = rng.choice(n, self.max_steps, replace=False)
        for k in np.setdiff1d(np.unique(flat), np.unique(flat[pick])):
            where = np.flatnonzero(flat == k)
            pick = np.concatenate([pick, rng.choice(where, min(len(where), max(1, self.max_steps // 100)),
                                                    replace=False)])
        return np.sort(pick)

    def predict_proba(self, xs) -> list[np.ndarray]:
        """Label probabilities of every step, ``(T_i, n_classes)`` per sequence; a class
        absent from training has probability 0."""
        if self._model is None:
            raise UsageError("expected a fitted WindowTagger (call fit first), got an unfitted one")
        out = []
        for i, x in enumerate(xs):
            a = self._sequence(i, x)
            p = np.zeros((len(a), self.n_classes), dtype=np.float64)
            w = self._windows(a)
            for s in range(0, len(a), _CHUNK):
                part = w[s:s + _CHUNK]
                p[s:s + len(part), self._model.classes_] = self._model.predict_proba(
                    part.transpose(0, 2, 1).reshape(len(part), -1))
            out.append(p)
        return out

    # --- saving and loading ------------------------------------------------------------
    _FORMAT = "rnnkit-window-tagger 1"

    def save(self, path) -> None:
        """Write the fitted model to one ``.npz`` of plain arrays (no pickle), atomically."""
        from .logistic_io import save_logistic

        if self._model is None:
            raise UsageError("expected a fitted WindowTagger (call fit first), got an unfitted one")
        save_logistic(path, self._FORMAT, {"before": self.before, "after": self.after, "C": self.C,
                                           "max_steps": self.max_steps, "seed": self.seed,
                                           "channels": self.channels, "n_classes": self.n_classes}, self._model)

    @classmethod
    def load(cls, path) -> WindowTagger:
        """Rebuild a model saved by :meth:`save`; its probabilities equal the original's."""
        from .logistic_io import load_logistic

        def n_features(meta):
            if meta["before"] < 0 or meta["after"] < 0 or meta["channels"] < 1 or meta["n_classes"] < 2:
                raise ValueError("inconsistent settings")
            return (meta["before"] + 1 + meta["after"]) * meta["channels"]

        meta, model = load_logistic(path, cls._FORMAT, "WindowTagger", n_features)
        tagger = cls(before=meta["before"], after=meta["after"], C=meta["C"], max_steps=meta["max_steps"],
                     seed=meta["seed"])
        tagger.channels, tagger.n_classes, tagger._model = meta["channels"], meta["n_classes"], model
        return tagger

    def __repr__(self) -> str:
        fitted = f", fitted on {self.channels} channel(s)" if self._model is not None else ""
        return f"WindowTagger(before={self.before}, after={self.after}, C={self.C}{fitted})"
