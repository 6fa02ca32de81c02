"""``rnnkit.Classifier``: one label per text or per sequence of values, in memory.

Example::

    clf = rnnkit.Classifier(hidden_size=64, max_time=60, seed=1)
    clf.fit(["a fine film", "dull and long", ...], ["pos", "neg", ...])
    clf.predict(["what a fine cast"])           # array(['pos'], dtype='<U3')
    clf.predict_proba(["what a fine cast"])     # (1, 2), columns in the order of classes_
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin

from ..data.memory import InMemory
from .base import RNNEstimator, config_keys_in_errors
from .labels import Labels

CLASSIFY_DATA = ("valid_fraction", "tokenizer", "lowercase", "min_freq", "max_vocab", "word_dropout", "word_shapes",
                 "vocab_size", "max_length", "normalize", "fill")


def is_texts(X) -> bool:
    """Whether ``X`` is a sequence of strings (a list, tuple, array or pandas Series)."""
    if isinstance(X, str):
        raise ValueError("X: expected a list of texts (or of sequences), got a single string")
    if isinstance(X, np.ndarray):
        return X.dtype.kind in "UO" and X.ndim == 1 and all(isinstance(x, str) for x in X)
    try:
        items = list(X)
    except TypeError:
        raise ValueError(f"X: expected a list of texts, an array (n, time[, channels]) or a list of "
                         f"(time, channels) arrays, got {type(X).__name__}") from None
    return bool(items) and all(isinstance(x, str) for x in items)


def _as_list(X) -> list:
    return X.tolist() if isinstance(X, np.ndarray) else list(X)


def _count(X) -> int:
    return len(X) if hasattr(X, "__len__") else len(list(X))


class Classifier(ClassifierMixin, RNNEstimator):
    """Sequence classification (``rnnkit train classify``) on data in memory.

    ``X``: a list of texts, or sequences of values: an array (n, time, channels) or
    (n, time) (with ``lengths`` (n,) when padded; without, trailing all-NaN steps end a
    sequence), or a list of (time, channels) / (time,) arrays. ``y``: one label per
    example, of any hashable type (``classes_`` holds them as given; the run directory
    stores them as strings). Hyperparameters: the config fields of the same names.

    Fitted attributes: ``classes_``, ``module_`` (the trained
    :class:`~rnnkit.tasks.classify.ClassifyTask`), ``run_dir_``, ``metrics_``.
    """

    task = "classify"
    data_fields = CLASSIFY_DATA

    # ---- data -----------------------------------------------------------------------
    def _records(self, X, labels, lengths=None, what: str = "X", module=None):
        """LabelledTexts or LabelledArrays of ``X`` with string ``labels`` (None:
        unlabelled), cleaned as the file readers clean them."""
        from ..data.signals import labelled_arrays
        from ..data.tables import LabelledTexts

        n = _count(X)
        if labels is not None and len(labels) != n:
            raise ValueError(f"{what} and y: expected one label per example, got {n} examples and "
                             f"{len(labels)} labels")
        if n == 0:
            raise ValueError(f"{what}: expected at least one example, got none")
        texts = is_texts(X)
        kind = getattr(module, "kind", "text")          # a bag-of-words run reads texts
        if module is not None and (kind == "text") != texts:
            want = "texts" if kind == "text" else "sequences of values"
            raise ValueError(f"{what}: the model reads {want}; expected {want}, got "
                             f"{'texts' if texts else 'values'}")
        if texts:
            if lengths is not None:
                raise ValueError("lengths: expected none with texts, got lengths")
            return LabelledTexts(_as_list(X), labels, [f"{what}[{i}]" for i in range(n)], files=[])
        if isinstance(X, np.ndarray) and X.dtype != object and X.ndim not in (2, 3):
            raise ValueError(f"{what}: expected an array of shape (n, time, channels) or (n, time), got shape "
                             f"{X.shape}")
        d = module.cfg.data if module is not None else self
        with config_keys_in_errors():
            return labelled_arrays(X, labels, lengths=lengths, normalize=d.normalize, fill=d.fill, what=what,
                                   channels=module.channels if module is not None else None)

    def fit(self, X, y, *, lengths=None, valid=None, run_dir=None, overwrite: bool = False) -> "Classifier":
        """Train on ``X``, ``y``. ``valid``: validation data ``(X, y)`` or ``(X, y,
        lengths)`` (default: ``valid_fraction`` of the examples held out, stratified).
        ``run_dir``: where the run directory goes (default: a temporary folder, removed
        with the estimator; :meth:`save` copies it)."""
        y = _as_list(y)
        is_texts(X)                      # X's kind and y's length checked before y's classes
        if _count(X) != len(y):
            raise ValueError(f"X and y: expected one label per example, got {_count(X)} examples and "
                             f"{len(y)} labels")
        labels = Labels(y)
        if len(labels.classes) < 2:
            raise ValueError(f"y: expected at least 2 classes, got only {labels.classes[0]!r}" if labels.classes
                             else "y: expected labels, got none")
        train = self._records(X, labels.encode(y), lengths)
        memory = InMemory(train=train)
        if valid is not None:
            if not isinstance(valid, (tuple, list)) or len(valid) not in (2, 3):
                raise ValueError(f"valid: expected (X, y) or (X, y, lengths), got {type(valid).__name__}")
            vy = _as_list(valid[1])
            memory = InMemory(train=train, valid=self._records(valid[0], labels.encode(vy, "valid y"),
                                                                 valid[2] if len(valid) == 3 else None, "valid X"))
        self._train(memory, run_dir, overwrite, extra={"classes": labels.json_values()})
        self._set_labels(labels)
        return self

    def _set_labels(self, labels: Labels) -> None:
        self.classes_ = labels.array()
        # column j of predict_proba: the module's column of classes_[j]
        self._columns = [self.module_.classes.index(name) for name in labels.names]

    def _restore(self, extra: dict) -> None:
        self._set_labels(Labels.from_names(self.module_.classes, extra.get("classes")))

    # ---- prediction -----------------------------------------------------------------
    def predict_proba(self, X, *, lengths=None) -> np.ndarray:
        """Class probabilities (n, n_classes), columns in the order of ``classes_``:
        the same numbers ``rnnkit predict`` writes for the same inputs."""
        from ..tasks.classify import inputs_of

        self._check_fitted()
        data = self._records(X, None, lengths, module=self.module_)
        return self.module_.predict_proba(inputs_of(data))[:, self._columns]

    def predict(self, X, *, lengths=None) -> np.ndarray:
        """The most likely class of each example (the labels as given to ``fit``)."""
        proba = self.predict_proba(X, lengths=lengths)
        return self.classes_[proba.argmax(1)]
