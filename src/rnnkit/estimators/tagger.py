"""``rnnkit.Tagger``: a label per token of a sentence, or per step of a sequence of
values, in memory.

Example::

    tagger = rnnkit.Tagger(max_time=60).fit([["the", "cat", "sat"], ...], [["DET", "NOUN", "VERB"], ...])
    tagger.predict([["the", "dog", "sat"]])        # [['DET', 'NOUN', 'VERB']]
"""

from __future__ import annotations

import numpy as np

from ..data.memory import InMemory
from .base import RNNEstimator, config_keys_in_errors
from .labels import Labels

TAG_DATA = ("valid_fraction", "lowercase", "min_freq", "max_vocab", "word_dropout", "word_shapes", "max_length",
            "normalize", "fill")


def _is_sentences(X) -> bool:
    if isinstance(X, str):
        raise ValueError("X: expected a list of token lists (or of sequences of values), got a single string")
    if isinstance(X, np.ndarray):
        if X.dtype != object and X.ndim not in (2, 3):
            raise ValueError(f"X: expected an array of shape (n, time, channels) or (n, time), got shape {X.shape}")
        return False
    try:
        items = list(X)
    except TypeError:
        raise ValueError(f"X: expected a list of token lists, an array (n, time[, channels]) or a list of "
                         f"(time, channels) arrays, got {type(X).__name__}") from None
    if not items:
        raise ValueError("X: expected at least one sequence, got none")
    first = items[0]
    if isinstance(first, str):
        raise ValueError("X: expected a list of token lists, got a list of strings (split each sentence into "
                         "its tokens)")
    return isinstance(first, (list, tuple)) and all(isinstance(t, str) for t in first)


class Tagger(RNNEstimator):
    """Sequence tagging (``rnnkit train tag``) on data in memory: bidirectional by default.

    ``X``: sentences as lists of tokens, or sequences of values: an array (n, time,
    channels) or (n, time) (with ``lengths`` when padded), or a list of (time,
    channels) / (time,) arrays. ``y``: a label per token or step, of any hashable type.
    Hyperparameters: the config fields of the same names.

    Fitted attributes: ``classes_`` (the labels), ``module_`` (the trained
    :class:`~rnnkit.tasks.tag.TagTask`), ``run_dir_``, ``metrics_``.
    """

    task = "tag"
    data_fields = TAG_DATA

    # ---- data -----------------------------------------------------------------------
    def _records(self, X, y, labels: Labels | None, lengths=None, what: str = "X", module=None):
        """TaggedSentences or TaggedSeries of ``X`` and per-step labels ``y`` (None: unlabelled)."""
        from ..data.conll import TaggedSentences
        from ..data.signals import labelled_arrays
        from ..data.tagged_series import TaggedSeries

        sentences = _is_sentences(X)
        if module is not None and (module.kind == "text") != sentences:
            want = "token lists" if module.kind == "text" else "sequences of values"
            raise ValueError(f"{what}: the model reads {want}; expected {want}, got "
                             f"{'token lists' if sentences else 'values'}")
        if sentences:
            if lengths is not None:
                raise ValueError("lengths: expected none with token lists, got lengths")
            tokens = [list(s) for s in X]
            for i, s in enumerate(tokens):
                bad = next((t for t in s if not isinstance(t, str)), None)
                if bad is not None or not s:
                    raise ValueError(f"{what}[{i}]: expected a non-empty list of string tokens, got "
                                     + (f"a {type(bad).__name__} token" if s else "an empty list"))
            tags = None if y is None else self._per_step(y, [len(s) for s in tokens], labels, what, "tokens")
            return TaggedSentences(tokens, tags, [f"{what}[{i}]" for i in range(len(tokens))], files=[])
        seqs = X
        if isinstance(X, np.ndarray) and X.dtype != object:
            if lengths is not None:
                lengths = np.asarray(lengths)
                if lengths.shape != (len(X),) or (lengths < 1).any() or (lengths > X.shape[1]).any():
                    raise ValueError(f"lengths: expected integers of shape ({len(X)},) between 1 and {X.shape[1]}, "
                                     f"got shape {lengths.shape}")
            seqs = [X[i, :lengths[i]] if lengths is not None else X[i] for i in range(len(X))]
            if y is not None and lengths is not None:
                y = [np.asarray(y[i])[:lengths[i]] for i in range(len(seqs))]
        elif lengths is not None:
            raise ValueError("lengths: expected none with a list of sequences (each is taken whole), got lengths")
        d = module.cfg.data if module is not None else self
        with config_keys_in_errors():
            arrays = labelled_arrays(list(seqs), None, fill=d.fill, what=what,
                                     channels=module.channels if module is not None else None)
        tags = None if y is None else self._per_step(y, [len(a) for a in arrays.x], labels, what, "steps")
        return TaggedSeries(x=arrays.x, labels=None if tags is None else [np.asarray(t) for t in tags],
                            sources=arrays.sources, channels=arrays.channels, times=None, files=[])

    @staticmethod
    def _per_step(y, sizes: list[int], labels: Labels, what: str, unit: str) -> list[list[str]]:
        ys = list(y)
        if len(ys) != len(sizes):
            raise ValueError(f"{what} and y: expected one label sequence per sequence, got {len(sizes)} sequences "
                             f"and {len(ys)} label sequences")
        out = []
        for i, (seq, n) in enumerate(zip(ys, sizes)):
            seq = list(seq)
            if len(seq) != n:
                raise ValueError(f"y[{i}]: expected one label per {unit[:-1]} of {what}[{i}] ({n} {unit}), got "
                                 f"{len(seq)} labels")
            out.append(labels.encode(seq, f"y[{i}]"))
        return out

    def fit(self, X, y, *, lengths=None, valid=None, run_dir=None, overwrite: bool = False) -> "Tagger":
        """Train on ``X`` with the labels ``y``. ``valid``: validation data ``(X, y)`` or
        ``(X, y, lengths)`` (default: ``valid_fraction`` of the sequences held out).
        ``run_dir``: where the run directory goes (default: a temporary folder,
        removed with the estimator)."""
        _is_sentences(X)
        ys = list(y)
        labels = Labels([v for seq in ys for v in (seq.tolist() if isinstance(seq, np.ndarray) else seq)])
        if len(labels.classes) < 2:
            raise ValueError(f"y: expected at least 2 distinct labels, got only {labels.classes[0]!r}"
                             if labels.classes else "y: expected labels, got none")
        train = self._records(X, ys, labels, lengths)
        valid_records = None
        if valid is not None:
            if not isinstance(valid, (tuple, list)) or len(valid) not in (2, 3):
                raise ValueError(f"valid: expected (X, y) or (X, y, lengths), got {type(valid).__name__}")
            valid_records = self._records(valid[0], list(valid[1]), labels, valid[2] if len(valid) == 3 else None,
                                          "valid X")
        self._train(InMemory(train=train, valid=valid_records), run_dir, overwrite,
                    extra={"classes": labels.json_values()})
        self._set_labels(labels)
        return self

    def _set_labels(self, labels: Labels) -> None:
        self.classes_ = labels.array()
        self._columns = [self.module_.tags.index(name) for name in labels.names]

    def _restore(self, extra: dict) -> None:
        self._set_labels(Labels.from_names(self.module_.tags, extra.get("classes")))

    # ---- prediction -----------------------------------------------------------------
    def predict_proba(self, X, *, lengths=None) -> list[np.ndarray]:
        """Label probabilities of every step: one (T_i, n_labels) array per sequence,
        columns in the order of ``classes_``."""
        import torch

        self._check_fitted()
        m = self.module_
        data = self._records(X, None, None, lengths, module=m)
        if m.kind == "text":
            probs = [torch.softmax(lg, -1).numpy() for lg in m.tag_logits(data.tokens)]
        else:
            probs = m.signal_probs(data.x)
        return [p[:, self._columns] for p in probs]

    def predict(self, X, *, lengths=None) -> list:
        """The most likely label of every step: a list per sentence (token lists), an
        array per sequence (values)."""
        probs = self.predict_proba(X, lengths=lengths)
        out = [self.classes_[p.argmax(1)] for p in probs]
        return [o.tolist() for o in out] if self.module_.kind == "text" else out
