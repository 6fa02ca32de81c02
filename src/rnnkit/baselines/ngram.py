"""The language model's baseline: an interpolated Kneser-Ney n-gram model over token ids.

The estimate is interpolated Kneser-Ney as Chen and Goodman (1998, "An Empirical Study
of Smoothing Techniques for Language Modeling", section 2.7) write it, with one
absolute discount per order estimated from the counts of counts (Ney et al. 1994:
D = n1 / (n1 + 2 n2)). For a token w after the context h (the k - 1 tokens before it):

* the highest order n reads raw counts c:

  P_n(w | h) = max(c(hw) - D_n, 0) / c(h.) + D_n N1+(h.) / c(h.) * P_{n-1}(w | h')

* a lower order k reads continuation counts, N1+(.g), the number of distinct tokens seen
  before the k-gram g, in place of c (the same formula with them);
* the first order is interpolated with the uniform distribution over the vocabulary,
  so every token of the vocabulary has a probability, and the probabilities of the
  vocabulary after any context sum to 1;
* a context never seen at an order (c(h.) = 0) backs off with weight 1: P_k = P_{k-1}.

h' is h without its first token; c(h.) is the count of h followed by any token and
N1+(h.) the number of distinct tokens seen after it. The first n - 1 tokens of a stream
are scored with the context they have (shorter).

Counting is done on integer keys of the n-grams (the ids written in base V), with
numpy's ``unique`` and ``searchsorted``: fitting 3 million characters at order 5 takes a
few seconds. The order is capped so that a key fits in 63 bits (V**order < 2**62).

Example::

    lm = NGramLM(order=5).fit(train_ids, vocab_size=V)
    nll = -lm.log_prob(valid_ids).sum()      # nats over valid_ids[1:]
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import UsageError

__all__ = ["NGramLM"]


def _keys(ids: np.ndarray, k: int, V: int) -> np.ndarray:
    """The key of the k-gram ending at each position t >= k - 1 (len(ids) - k + 1 keys)."""
    n = len(ids) - k + 1
    if n <= 0:
        return np.zeros(0, np.int64)
    key = np.zeros(n, np.int64)
    for j in range(k):
        key = key * V + ids[j:j + n]
    return key


def _discount(counts: np.ndarray) -> float:
    n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
    if n1 == 0 or n1 + 2 * n2 == 0:
        return 0.5
    return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[keys == q] for each q, 0 where q is not a key (keys sorted)."""
    if len(keys) == 0:
        return np.zeros(len(query), values.dtype)
    i = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[i] == query, values[i], 0)


class NGramLM:
    """Interpolated Kneser-Ney n-gram language model over token ids (see the module).

    Args:
        order: n, the longest n-gram (5 for characters is the usual strong choice;
            capped so that V**order < 2**62).
    """

    def __init__(self, order: int = 5):
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise UsageError(f"n-gram baseline: expected order to be a positive integer, got {order!r}")
        self.requested_order = order
        self.order = order
        self.vocab_size = 0
        self.tables: list[dict] = []

    # ---- fitting --------------------------------------------------------------------------
    def fit(self, ids, vocab_size: int) -> "NGramLM":
        ids = np.asarray(ids, dtype=np.int64).ravel()
        V = int(vocab_size)
        if V < 1:
            raise UsageError(f"n-gram baseline: expected a vocabulary of at least 1 token, got {vocab_size!r}")
        if len(ids) < 2:
            raise UsageError(f"n-gram baseline: expected at least 2 training tokens, got {len(ids)}")
        if ids.min() < 0 or ids.max() >= V:
            raise UsageError(f"n-gram baseline: expected token ids in [0, {V}), got ids from {ids.min()} to "
                             f"{ids.max()}")
        self.vocab_size = V
        self.order = max(1, min(self.requested_order, int(62 / math.log2(max(V, 2)))))
        n = self.order
        # order n: raw counts of the n-grams; order k < n: continuation counts, the
        # number of distinct (k+1)-grams that end with the k-gram
        grams, counts = np.unique(_keys(ids, n, V), return_counts=True)
        tables = [None] * (n + 1)
        tables[n] = self._table(grams, counts, V)
        upper = grams
        for k in range(n - 1, 0, -1):
            grams, counts = np.unique(upper % V ** k, return_counts=True)
            tables[k] = self._table(grams, counts, V)
            upper = np.unique(_keys(ids, k, V)) if k > 1 else None
            # the next lower order's continuation counts come from the k-gram types
        self.tables = tables[1:]
        return self

    @staticmethod
    def _table(grams: np.ndarray, counts: np.ndarray, V: int) -> dict:
        """One order: its grams (sorted keys) and counts, and per context (the gram
        without its last token) the total count and the number of distinct next tokens."""
        ctx = grams // V
        contexts, start = np.unique(ctx, return_index=True)      # grams are sorted, so contexts are runs
        totals = np.add.reduceat(counts, start) if len(start) else np.zeros(0, np.int64)
        types = np.diff(np.append(start, len(grams)))
        return {"grams": grams, "counts": counts.astype(np.int64), "contexts": contexts,
                "totals": totals.astype(np.int64), "types": types.astype(np.int64),
                "discount": _discount(counts)}

    # ---- scoring --------------------------------------------------------------------------
    def _check(self) -> None:
        if not self.tables:
            raise UsageError("n-gram baseline: expected a fitted model, got one that was never fitted")

    def _prob(self, grams_by_order: list[np.ndarray], w: np.ndarray) -> np.ndarray:
        """P(w | context) for each row; grams_by_order[k - 1] holds the key of the k-gram
        ending with w for every row, or -1 where the row has no such gram (too early)."""
        V = self.vocab_size
        t1 = self.tables[0]
        D = t1["discount"]
        total = float(t1["totals"][0]) if len(t1["totals"]) else 0.0
        if total > 0:
            c = _lookup(t1["grams"], t1["counts"], w).astype(np.float64)
            p = np.maximum(c - D, 0.0) / total + D * float(t1["types"][0]) / total / V
        else:
            p = np.full(len(w), 1.0 / V)
        for k in range(2, self.order + 1):
            t = self.tables[k - 1]
            g = grams_by_order[k - 1]
            have = g >= 0
            h = np.where(have, g // V, -1)
            tot = _lookup(t["contexts"], t["totals"], h).astype(np.float64)
            typ = _lookup(t["contexts"], t["types"], h).astype(np.float64)
            c = _lookup(t["grams"], t["counts"], g).astype(np.float64)
            seen = have & (tot > 0)
            safe = np.where(seen, tot, 1.0)
            D = t["discount"]
            p = np.where(seen, np.maximum(c - D, 0.0) / safe + D * typ / safe * p, p)
        return p

    def log_prob(self, ids) -> np.ndarray:
        """Natural log-probability of every token of ``ids`` after the first, each given
        the (up to order - 1) tokens before it: len(ids) - 1 values."""
        self._check()
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if len(ids) < 2:
            return np.zeros(0)
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise UsageError(f"n-gram baseline: expected token ids in [0, {self.vocab_size}), got ids from "
                             f"{ids.min()} to {ids.max()}")
        N, V = len(ids), self.vocab_size
        grams = []
        for k in range(1, self.order + 1):
            g = np.full(N, -1, np.int64)
            g[k - 1:] = _keys(ids, k, V)
            grams.append(g[1:])
        return np.log(self._prob(grams, ids[1:]))

    def next_distribution(self, context) -> np.ndarray:
        """P(w | context) for every token w of the vocabulary, (V,), summing to 1."""
        self._check()
        V = self.vocab_size
        context = np.asarray(context, dtype=np.int64).ravel()[-(self.order - 1):] if self.order > 1 else \
            np.zeros(0, np.int64)
        w = np.arange(V, dtype=np.int64)
        grams = []
        for k in range(1, self.order + 1):
            if k - 1 > len(context):
                grams.append(np.full(V, -1, np.int64))
                continue
            key = 0
            for tok in context[len(context) - (k - 1):]:
                key = key * V + int(tok)
            grams.append(key * V + w)
        return self._prob(grams, w)

    # ---- persistence ----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the model to one ``.npz`` of plain arrays (no pickle), atomically."""
        import io

        from ..io.atomic import write_atomic

        self._check()
        arrays = {"meta": np.array([self.requested_order, self.order, self.vocab_size], np.int64),
                  "discounts": np.array([t["discount"] for t in self.tables])}
        for k, t in enumerate(self.tables, 1):
            for name in ("grams", "counts", "contexts", "totals", "types"):
                arrays[f"{name}_{k}"] = t[name]
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        write_atomic(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path) -> "NGramLM":
        with np.load(path) as z:
            requested, order, V = (int(v) for v in z["meta"])
            lm = cls(requested)
            lm.order, lm.vocab_size = order, V
            lm.tables = [{**{name: z[f"{name}_{k}"] for name in ("grams", "counts", "contexts", "totals", "types")},
                          "discount": float(z["discounts"][k - 1])} for k in range(1, order + 1)]
        return lm
