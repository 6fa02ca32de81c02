"""The window baseline of per-step labels (WindowTagger): its features against a hand
example, what a causal and a two-sided window can see, sampling that keeps rare labels,
and saving without pickle."""

import numpy as np
import pytest

from rnnkit.baselines import WindowClassifier, WindowTagger
from rnnkit.errors import UsageError


def test_features_are_the_zero_padded_window_oldest_first():
    x = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    f = WindowTagger(before=1, after=1).features(x)
    assert f.tolist() == [[0, 0, 1, 10, 2, 20],
                          [1, 10, 2, 20, 3, 30],
                          [2, 20, 3, 30, 0, 0]]
    assert WindowTagger(before=2).features(x[:, :1])[:, -1].tolist() == [1, 2, 3]    # x_t last


def future_labels(n, seed):
    """The label of step t is whether x_{t+2} is positive: only a window reaching two
    steps ahead can see it."""
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(int(rng.integers(50, 150)), 1)) for _ in range(n)]
    ys = [np.concatenate([(x[2:, 0] > 0).astype(np.int64), [0, 0]]) for x in xs]
    return xs, ys


def accuracy(tagger, xs, ys):
    p = tagger.predict_proba(xs)
    return np.mean(np.concatenate([q.argmax(1) == y for q, y in zip(p, ys)]))


def test_a_causal_window_cannot_see_ahead_and_a_two_sided_one_can():
    xs, ys = future_labels(40, 0)
    tx, ty = future_labels(20, 1)
    assert accuracy(WindowTagger(before=4, after=2).fit(xs, ys, 2), tx, ty) > 0.95
    assert accuracy(WindowTagger(before=4).fit(xs, ys, 2), tx, ty) < 0.62        # chance is about 0.5


def test_sampling_keeps_a_rare_label_and_unseen_classes_get_zero():
    rng = np.random.default_rng(2)
    xs = [rng.normal(size=(1000, 1)) for _ in range(5)]
    ys = [np.zeros(1000, np.int64) for _ in range(5)]
    for y, x in zip(ys, xs):
        y[500:502] = 2                                     # 10 steps of label 2 in 5,000
        x[500:502] += 4.0
    t = WindowTagger(before=1, max_steps=300, seed=0).fit(xs, ys, n_classes=3)
    assert t._model.classes_.tolist() == [0, 2]
    p = t.predict_proba(xs[:1])[0]
    assert p.shape == (1000, 3) and (p[:, 1] == 0).all()
    np.testing.assert_allclose(p.sum(1), 1.0)


def test_saved_and_loaded_gives_the_same_probabilities(tmp_path):
    rng = np.random.default_rng(3)
    xs = [rng.normal(size=(80, 2)) for _ in range(6)]
    ys = [(x[:, 0] + x[:, 1] > 0).astype(np.int64) * 3 for x in xs]   # labels 0 and 3 of 4
    t = WindowTagger(before=3, after=1, C=0.3, seed=4).fit(xs, ys, n_classes=4)
    t.save(tmp_path / "t.npz")
    back = WindowTagger.load(tmp_path / "t.npz")
    for a, b in zip(back.predict_proba(xs), t.predict_proba(xs)):
        np.testing.assert_array_equal(a, b)
    assert (back.before, back.after, back.C, back.seed, back.channels, back.n_classes) == (3, 1, 0.3, 4, 2, 4)
    # one model's file is not the other's
    with pytest.raises(UsageError, match="WindowClassifier .npz saved by rnnkit, got an unreadable or foreign"):
        WindowClassifier.load(tmp_path / "t.npz")


def test_bad_input_is_a_one_line_error():
    x = [np.zeros((5, 1)), np.ones((5, 1))]
    with pytest.raises(UsageError, match="at least 2 distinct labels"):
        WindowTagger().fit(x, [np.zeros(5, np.int64)] * 2, n_classes=2)
    with pytest.raises(UsageError, match="sequence 1's labels as 5 integer class indices"):
        WindowTagger().fit(x, [np.zeros(5, np.int64), np.zeros(4, np.int64)], n_classes=2)
    with pytest.raises(UsageError, match="labels in 0..1"):
        WindowTagger().fit(x, [np.zeros(5, np.int64), np.full(5, 2)], n_classes=2)
    with pytest.raises(UsageError, match="before as an integer >= 0"):
        WindowTagger(before=-1)
    t = WindowTagger(before=1).fit(x, [np.zeros(5, np.int64), np.ones(5, np.int64)], n_classes=2)
    with pytest.raises(UsageError, match="1 channel"):
        t.predict_proba([np.zeros((3, 2))])
    with pytest.raises(UsageError, match="unfitted"):
        WindowTagger().predict_proba(x)
