"""The bag-of-words baseline: what a sequence classifier has to beat to show that it uses
word order at all.

A text becomes the TF-IDF weighted counts of its word 1..n-grams, and a multinomial
logistic regression reads that vector. For term ``w`` in text ``d``, out of ``D``
training texts of which ``df(w)`` contain ``w`` (sklearn's smoothed idf, sublinear tf)::

    tf(w, d)   = 1 + log count(w, d)                 (0 when w is absent)
    idf(w)     = 1 + log((1 + D) / (1 + df(w)))
    x_d        = v / ||v||_2,   v_w = tf(w, d) idf(w)
    p(c | d)   = softmax_c(W x_d + b)               (sigmoid of one row when K = 2)

Word order beyond ``ngrams`` consecutive words is invisible to it.

The model saves to a single ``.npz`` of plain arrays (no pickle), so a run directory is
safe to load.

Example:
    >>> bow = BagOfWords(ngrams=1).fit(["good film", "bad film"], [1, 0], ["neg", "pos"])
    >>> bow.predict(["good"]).tolist()
    [1]
"""

from __future__ import annotations

import io
import json

import numpy as np

from ..errors import UsageError

__all__ = ["WORD_PATTERN", "BagOfWords"]

# The word tokenizer's rule: a word (with one apostrophe suffix, as in "don't"), or any
# single character that is neither a word character nor white space.
WORD_PATTERN = r"\w+(?:'\w+)?|[^\w\s]"

_FORMAT = "rnnkit.baselines.BagOfWords"
_VERSION = 1
_KEYS = ("format", "options", "classes", "labels", "vocabulary", "idf", "coef", "intercept")


class BagOfWords:
    """TF-IDF weighted bag of 1..n-grams (sklearn ``TfidfVectorizer``, word analyzer with
    the same word regex as rnnkit's word tokenizer, ``r"\\w+(?:'\\w+)?|[^\\w\\s]"``,
    ``sublinear_tf=True``, ``min_df`` from ``min_freq``) -> multinomial
    ``LogisticRegression`` (L2, ``C``, lbfgs run to convergence, ``random_state`` from
    ``seed``). Word order beyond n-grams is invisible to it.

    Args:
        ngrams: the longest n-gram counted (1 = words only, 2 = words and word pairs, ...).
        lowercase: lowercase texts before tokenizing.
        min_freq: keep terms that occur in at least this many training texts.
        max_vocab: keep at most this many terms, the most frequent (``None``: all).
        seed: ``random_state`` of the logistic regression.
        C: inverse L2 regularisation strength.

    Shape:
        ``predict_proba``: ``(N, len(classes))``, columns in the order of ``classes``.

    Example:
        >>> texts = ["a b", "b c", "x y", "y z"]
        >>> bow = BagOfWords().fit(texts, [0, 0, 1, 1], ["abc", "xyz"])
        >>> bow.predict_proba(["a"]).shape
        (1, 2)
    """

    def __init__(self, ngrams: int = 2, lowercase: bool = False, min_freq: int = 1,
                 max_vocab: int | None = None, seed: int = 0, C: float = 10.0):
        if isinstance(ngrams, bool) or not isinstance(ngrams, (int, np.integer)) or ngrams < 1:
            raise UsageError(f"expected ngrams as an integer >= 1, got {ngrams!r}")
        if isinstance(min_freq, bool) or not isinstance(min_freq, (int, np.integer)) or min_freq < 1:
            raise UsageError(f"expected min_freq as an integer >= 1, got {min_freq!r}")
        if max_vocab is not None and (isinstance(max_vocab, bool)
                                      or not isinstance(max_vocab, (int, np.integer)) or max_vocab < 1):
            raise UsageError(f"expected max_vocab as an integer >= 1 or None, got {max_vocab!r}")
        if isinstance(C, bool) or not isinstance(C, (int, float, np.floating, np.integer)) or not C > 0:
            raise UsageError(f"expected C as a number > 0, got {C!r}")
        self.ngrams = int(ngrams)
        self.lowercase = bool(lowercase)
        self.min_freq = int(min_freq)
        self.max_vocab = None if max_vocab is None else int(max_vocab)
        self.seed = int(seed)
        self.C = float(C)
        self.classes: list[str] | None = None
        self._vectorizer = None
        self._model = None

    # --- options -------------------------------------------------------------------------

    def _options(self) -> dict:
        return {"ngrams": self.ngrams, "lowercase": self.lowercase, "min_freq": self.min_freq,
                "max_vocab": self.max_vocab, "seed": self.seed, "C": self.C}

    def _new_vectorizer(self, vocabulary=None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            analyzer="word", token_pattern=WORD_PATTERN, lowercase=self.lowercase,
            ngram_range=(1, self.ngrams), min_df=self.min_freq, max_features=self.max_vocab,
            sublinear_tf=True, vocabulary=vocabulary, dtype=np.float64,
        )

    def _new_model(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=5000, tol=1e-6, random_state=self.seed)

    # --- training and prediction -------------------------------------------------------

    def fit(self, texts: list[str], labels: list[int], classes: list[str]) -> BagOfWords:
        """Learn the vocabulary, the idf weights and the classifier.

        Args:
            texts: the training texts.
            labels: their class indices, in ``0..len(classes)-1``; at least two distinct.
            classes: the class names (a class absent from ``labels`` gets probability 0).
        """
        texts = _texts(texts)
        classes = [str(c) for c in classes]
        if len(set(classes)) != len(classes):
            raise UsageError(f"expected distinct class names, got {classes}")
        y = np.asarray(labels)
        if y.ndim != 1 or len(y) != len(texts):
            raise UsageError(f"expected one label per text ({len(texts)}), got shape {y.shape}")
        if y.size and not np.issubdtype(y.dtype, np.integer):
            raise UsageError(f"expected labels as integer class indices, got dtype {y.dtype}")
        out = y[(y < 0) | (y >= len(classes))]
        if out.size:
            raise UsageError(
                f"expected labels in 0..{len(classes) - 1} ({len(classes)} classes), got {int(out[0])}")
        distinct = np.unique(y)
        if len(distinct) < 2:
            raise UsageError(
                f"expected at least 2 distinct labels to train a classifier, got {len(distinct)}"
                f" ({', '.join(classes[i] for i in distinct) or 'no texts'})")

        vectorizer = self._new_vectorizer()
        try:
            x = vectorizer.fit_transform(texts)
        except ValueError as e:
            msg = str(e)
            if "empty vocabulary" in msg or "no terms remain" in msg or "max_df corresponds" in msg:
                raise UsageError(
                    f"expected at least one term in >= {self.min_freq} of the texts (min_freq),"
                    f" got an empty vocabulary from {len(texts)} texts") from None
            raise
        model = self._new_model()
        model.fit(x, y.astype(np.int64))
        self.classes, self._vectorizer, self._model = classes, vectorizer, model
        return self

    def _check_fitted(self) -> None:
        if self._model is None:
            raise UsageError("expected a fitted BagOfWords (call fit or load first), got an unfitted one")

    @property
    def n_features(self) -> int:
        """The number of terms (n-grams) in the vocabulary."""
        self._check_fitted()
        return len(self._vectorizer.vocabulary_)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape ``(N, len(classes))``, columns in the order of
        ``classes``; a class never seen in training has probability 0."""
        self._check_fitted()
        texts = _texts(texts, allow_empty=True)
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float64)
        if texts:
            # (N, n_seen) -> the columns of the seen labels
            out[:, self._model.classes_] = self._model.predict_proba(self._vectorizer.transform(texts))
        return out

    def predict(self, texts: list[str]) -> np.ndarray:
        """Class indices (into ``classes``), shape ``(N,)``."""
        return self.predict_proba(texts).argmax(axis=1)

    # --- saving and loading ------------------------------------------------------------

    def save(self, path) -> None:
        """Write the model to one ``.npz`` of plain arrays (no pickle), atomically."""
        from ..io.atomic import write_atomic

        self._check_fitted()
        vocab = self._vectorizer.vocabulary_
        terms = [None] * len(vocab)
        for term, column in vocab.items():
            terms[column] = term
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            format=np.array(f"{_FORMAT} {_VERSION}"),
            options=np.array(json.dumps(self._options())),
            classes=np.array(self.classes, dtype=str),
            labels=np.asarray(self._model.classes_, dtype=np.int64),
            vocabulary=np.array(terms, dtype=str),
            idf=np.asarray(self._vectorizer.idf_, dtype=np.float64),
            coef=np.asarray(self._model.coef_, dtype=np.float64),
            intercept=np.asarray(self._model.intercept_, dtype=np.float64),
        )
        write_atomic(path, buf.getvalue())

    @classmethod
    def load(cls, path) -> BagOfWords:
        """Rebuild a model saved by :meth:`save`; its probabilities equal the original's."""
        from .logistic_io import read_checked_npz

        def parse(arrays):
            bow = cls(**json.loads(str(arrays["options"])))
            classes = [str(c) for c in arrays["classes"].tolist()]
            labels = arrays["labels"].astype(np.int64)
            terms = [_restore_trailing_nul(str(t)) for t in arrays["vocabulary"].tolist()]
            idf, coef, intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
            n_rows = 1 if len(labels) == 2 else len(labels)
            if (len(set(terms)) != len(terms) or idf.shape != (len(terms),)
                    or coef.shape != (n_rows, len(terms)) or intercept.shape != (n_rows,)
                    or len(labels) < 2 or labels.min() < 0 or labels.max() >= len(classes)):
                raise ValueError("inconsistent arrays")
            return bow, classes, labels, terms, idf, coef, intercept

        bow, classes, labels, terms, idf, coef, intercept = read_checked_npz(
            path, "BagOfWords", _KEYS, f"{_FORMAT} {_VERSION}", parse)
        vectorizer = bow._new_vectorizer(vocabulary={t: i for i, t in enumerate(terms)})
        vectorizer.idf_ = idf.astype(np.float64)
        model = bow._new_model()
        model.classes_ = labels
        model.coef_ = coef.astype(np.float64)
        model.intercept_ = intercept.astype(np.float64)
        model.n_features_in_ = len(terms)
        bow.classes, bow._vectorizer, bow._model = classes, vectorizer, model
        return bow

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        fitted = f", {self.n_features} features, {len(self.classes)} classes" if self._model is not None else ""
        return f"BagOfWords({opts}{fitted})"


def _texts(texts, allow_empty: bool = False) -> list[str]:
    if isinstance(texts, str):
        raise UsageError("expected a list of texts, got a single string")
    texts = list(texts)
    if not texts and not allow_empty:
        raise UsageError("expected at least one text, got none")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise UsageError(f"expected text {i} as a string, got {type(t).__name__}")
    return texts


def _restore_trailing_nul(term: str) -> str:
    """numpy string arrays drop trailing NUL characters. A term can end in one only as the
    one-character token "\\0" (the tokenizer keeps any lone non-word character), alone or
    last in an n-gram, so "" and a term ending in the n-gram separator " " get it back."""
    return term + "\0" if term == "" or term.endswith(" ") else term
