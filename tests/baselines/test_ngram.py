"""The n-gram baseline against a per-token interpolated Kneser-Ney written from Chen and
Goodman (1998, section 2.7) with dictionaries, and the properties of a distribution."""

import math
from collections import defaultdict

import numpy as np
import pytest

from rnnkit.baselines import NGramLM
from rnnkit.errors import UsageError


def reference_kn(train, V, n):
    """P(w | h) by the textbook recursion, from counts kept in dictionaries."""
    raw = defaultdict(int)                     # c(g) for n-grams
    for t in range(n - 1, len(train)):
        raw[tuple(train[t - n + 1:t + 1])] += 1
    cont = {}                                  # N1+(.g) for k-grams, k < n
    for k in range(1, n):
        left = defaultdict(set)
        for t in range(k, len(train)):
            left[tuple(train[t - k + 1:t + 1])].add(train[t - k])
        cont[k] = {g: len(s) for g, s in left.items()}

    def counts(k):
        return raw if k == n else cont[k]

    def discount(k):
        c = list(counts(k).values())
        n1, n2 = c.count(1), c.count(2)
        return 0.5 if n1 == 0 else min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)

    def prob(w, h, k):
        """P_k(w | last k - 1 tokens of h)."""
        c = counts(k)
        ctx = tuple(h[len(h) - (k - 1):]) if k > 1 else ()
        D = discount(k)
        total = sum(v for g, v in c.items() if g[:-1] == ctx)
        types = sum(1 for g, v in c.items() if g[:-1] == ctx and v > 0)
        lower = 1.0 / V if k == 1 else prob(w, h, k - 1)
        if total == 0:
            return lower
        return max(c.get(ctx + (w,), 0) - D, 0) / total + D * types / total * lower

    def score(seq):
        return [math.log(prob(seq[t], seq[max(0, t - n + 1):t], min(n, t + 1))) for t in range(1, len(seq))]

    return score


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_log_prob_matches_the_textbook_recursion(n):
    rng = np.random.default_rng(n)
    V = 6
    # a skewed source with some structure, and one token (5) that never occurs in training
    train = [int(v) for v in rng.choice(5, size=400, p=[0.4, 0.25, 0.15, 0.12, 0.08])]
    for t in range(2, len(train), 7):
        train[t] = (train[t - 1] + train[t - 2]) % 5
    test = [int(v) for v in rng.choice(6, size=60)]
    lm = NGramLM(order=n).fit(np.array(train), V)
    ref = reference_kn(train, V, n)
    np.testing.assert_allclose(lm.log_prob(np.array(test)), ref(test), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lm.log_prob(np.array(train[:80])), ref(train[:80]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_every_context_gives_a_distribution_over_the_vocabulary(n):
    rng = np.random.default_rng(0)
    V = 9
    train = rng.integers(0, 7, 2000)
    lm = NGramLM(order=n).fit(train, V)
    for context in ([], [1], [3, 4], list(train[100:110]), [8, 8, 8, 8]):
        p = lm.next_distribution(context)
        assert p.shape == (V,) and (p > 0).all()
        assert abs(p.sum() - 1.0) < 1e-12
        # the same numbers as scoring the sequence context + w
        for w in (0, 5, 8):
            seq = np.array(list(context) + [w])
            if len(seq) >= 2:
                assert lm.log_prob(seq)[-1] == pytest.approx(math.log(p[w]), rel=1e-12)


def test_a_deterministic_text_is_learned_and_a_longer_order_helps():
    text = np.array([0, 1, 2, 3, 1, 2, 4] * 300)          # after "1 2", 3 or 4: three tokens back decide
    held = np.array([0, 1, 2, 3, 1, 2, 4] * 20)
    nll = {n: -NGramLM(order=n).fit(text, 5).log_prob(held).mean() for n in (1, 2, 3, 4)}
    assert nll[1] > nll[2] and nll[2] > 0.15 and nll[3] > 0.15   # "1 2" is followed by 3 and 4 alike
    assert nll[4] < 0.01                                  # "0 1 2" -> 3, "3 1 2" -> 4: near certainty


def test_save_and_load_give_the_same_numbers(tmp_path):
    rng = np.random.default_rng(3)
    train = rng.integers(0, 20, 3000)
    lm = NGramLM(order=4).fit(train, 20)
    lm.save(tmp_path / "ngram.npz")
    back = NGramLM.load(tmp_path / "ngram.npz")
    held = rng.integers(0, 20, 500)
    np.testing.assert_array_equal(back.log_prob(held), lm.log_prob(held))
    assert back.order == 4 and back.vocab_size == 20


def test_order_is_capped_so_keys_fit_in_64_bits():
    lm = NGramLM(order=9).fit(np.arange(100) % 50_000, 50_000)
    assert lm.order == 3 and 50_000 ** lm.order < 2 ** 62


@pytest.mark.parametrize("call, message", [
    (lambda: NGramLM(order=0), "expected order to be a positive integer, got 0"),
    (lambda: NGramLM().fit(np.array([0, 1, 7]), 5), r"expected token ids in \[0, 5\), got ids from 0 to 7"),
    (lambda: NGramLM().fit(np.array([1]), 5), "expected at least 2 training tokens, got 1"),
    (lambda: NGramLM().log_prob(np.array([1, 2])), "expected a fitted model"),
    (lambda: NGramLM(2).fit(np.array([1, 2, 3]), 5).log_prob(np.array([1, 9])),
     r"expected token ids in \[0, 5\), got ids from 1 to 9"),
])
def test_bad_input_is_refused_in_one_line(call, message):
    with pytest.raises(UsageError, match=message):
        call()
