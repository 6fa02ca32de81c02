"""The memorising baseline of tagging text: each word's most frequent tag in the
training data, the most frequent tag of all for a word never seen. The classic
reference of part-of-speech and entity tagging (it needs no context at all), and what
a recurrent tagger has to beat to show that it reads the words around a token and
places words it never saw."""

from __future__ import annotations

import io
import json
from collections import Counter

import numpy as np

from ..errors import UsageError

__all__ = ["MostFrequentTag"]


class MostFrequentTag:
    """Per-word tag counts from the training sentences::

        p(tag | w) = (n(w, tag) + 1) / (n(w) + K)     a word seen in training
        p(tag | w) = n(tag) / N                       any other word

    (K tags; add-one smoothing keeps the loss finite), so its most likely tag is the
    word's most frequent one (ties: the tag more frequent over all the training
    words), and for an unseen word the most frequent tag of all. ``lowercase`` merges
    a word's spellings, as the tagger's vocabulary does.

    Shape: ``fit`` takes lists of tokens and of tags (one list per sentence);
    ``predict_proba`` gives a (T_i, K) array per sentence, columns in ``tags`` order.

    Example::

        b = MostFrequentTag(["B-PER", "O"]).fit([["Ann", "runs"]], [["B-PER", "O"]])
        b.predict([["ann", "walks"]])            # [['B-PER', 'O']]
    """

    _FORMAT = "rnnkit.MostFrequentTag.v1"

    def __init__(self, tags: list[str], lowercase: bool = False):
        self.tags = [str(t) for t in tags]
        if len(self.tags) < 2 or len(set(self.tags)) != len(self.tags):
            raise UsageError(f"MostFrequentTag: expected at least 2 distinct tags, got {self.tags}")
        self.lowercase = bool(lowercase)
        self.words: list[str] | None = None
        self.counts: np.ndarray | None = None       # (words, K) int64

    def _key(self, token: str) -> str:
        return token.lower() if self.lowercase else token

    def fit(self, tokens: list[list[str]], tags: list[list[str]]) -> "MostFrequentTag":
        index = {t: i for i, t in enumerate(self.tags)}
        seen: dict[str, Counter] = {}
        for sent, sent_tags in zip(tokens, tags, strict=True):
            if len(sent) != len(sent_tags):
                raise UsageError(f"MostFrequentTag.fit: expected one tag per token, got {len(sent)} tokens and "
                                 f"{len(sent_tags)} tags")
            for w, t in zip(sent, sent_tags):
                if t not in index:
                    raise UsageError(f"MostFrequentTag.fit: tag {t!r} is not one of {self.tags}")
                seen.setdefault(self._key(w), Counter())[index[t]] += 1
        if not seen:
            raise UsageError("MostFrequentTag.fit: expected at least one tagged token, got none")
        self.words = list(seen)
        counts = np.zeros((len(self.words), len(self.tags)), dtype=np.int64)
        for row, c in enumerate(seen.values()):
            for k, n in c.items():
                counts[row, k] = n
        self.counts = counts
        self._prepare()
        return self

    def _prepare(self) -> None:
        self._index = {w: i for i, w in enumerate(self.words)}
        totals = self.counts.sum(0).astype(np.float64)
        self._prior = totals / totals.sum()
        # add-one, and a share of a count smaller than any count for the overall order:
        # ties between a word's tags go to the more frequent tag overall
        smoothed = self.counts + 1.0 + 1e-6 * self._prior
        self._known = smoothed / smoothed.sum(1, keepdims=True)

    def _check(self) -> None:
        if self.counts is None:
            raise UsageError("expected a fitted MostFrequentTag (call fit first), got an unfitted one")

    def predict_proba(self, tokens: list[list[str]]) -> list[np.ndarray]:
        self._check()
        out = []
        for sent in tokens:
            p = np.empty((len(sent), len(self.tags)))
            for i, w in enumerate(sent):
                row = self._index.get(self._key(w))
                p[i] = self._prior if row is None else self._known[row]
            out.append(p)
        return out

    def predict(self, tokens: list[list[str]]) -> list[list[str]]:
        return [[self.tags[int(k)] for k in p.argmax(1)] for p in self.predict_proba(tokens)]

    # ---- files ----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the counts to one ``.npz`` of plain arrays (no pickle), atomically."""
        from ..io.atomic import write_atomic

        self._check()
        buf = io.BytesIO()
        np.savez_compressed(buf, format=np.array(self._FORMAT),
                            meta=np.array(json.dumps({"tags": self.tags, "lowercase": self.lowercase})),
                            words=np.array(self.words, dtype=str), counts=self.counts)
        write_atomic(path, buf.getvalue())

    @classmethod
    def load(cls, path) -> "MostFrequentTag":
        """Rebuild a model saved by :meth:`save`; its probabilities equal the original's."""
        from .logistic_io import read_checked_npz

        def parse(a):
            meta = json.loads(str(a["meta"]))
            model = cls(meta["tags"], meta["lowercase"])
            words, counts = [str(w) for w in a["words"]], np.asarray(a["counts"], dtype=np.int64)
            if counts.shape != (len(words), len(model.tags)) or (counts < 0).any():
                raise ValueError("inconsistent counts")
            model.words, model.counts = words, counts
            model._prepare()
            return model

        return read_checked_npz(path, "MostFrequentTag", ("format", "meta", "words", "counts"), cls._FORMAT, parse)
