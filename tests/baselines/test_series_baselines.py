"""The series baselines against hand examples and known answers: naive and seasonal naive
forecasts, the window ridge regression against least squares on an AR(2) process, the
window logistic regression on sines of two frequencies."""

import re

import numpy as np
import pytest

from rnnkit.baselines import WindowClassifier, WindowRegression, naive_forecast, seasonal_naive_forecast
from rnnkit.baselines.series import resample
from rnnkit.errors import UsageError


# --- naive and seasonal naive --------------------------------------------------------------

def test_naive_repeats_the_last_value():
    assert naive_forecast(np.array([4.0, 7.0, 5.0]), 3).tolist() == [5.0, 5.0, 5.0]
    two = naive_forecast(np.array([[1.0, 10.0], [2.0, 20.0]]), 2)
    assert two.shape == (2, 2) and two.tolist() == [[2.0, 20.0], [2.0, 20.0]]


def test_seasonal_naive_repeats_the_last_season_cyclically():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])       # last season of 3: 5, 6, 7
    assert seasonal_naive_forecast(y, 7, season=3).tolist() == [5, 6, 7, 5, 6, 7, 5]
    assert seasonal_naive_forecast(y, 2, season=3).tolist() == [5, 6]
    assert seasonal_naive_forecast(y, 2, season=1).tolist() == naive_forecast(y, 2).tolist()
    assert seasonal_naive_forecast(y, 3, season=7).tolist() == [1, 2, 3]   # season = whole history
    y2 = np.stack([y, -y], axis=1)                           # (7, 2)
    assert seasonal_naive_forecast(y2, 4, season=2).tolist() == [[6, -6], [7, -7], [6, -6], [7, -7]]


@pytest.mark.parametrize("call, message", [
    (lambda: seasonal_naive_forecast(np.arange(3.0), 2, season=4), "at least one season (4 values), got 3"),
    (lambda: seasonal_naive_forecast(np.arange(3.0), 2, season=0), "season as an integer >= 1, got 0"),
    (lambda: naive_forecast(np.array([]), 2), "at least one value, got none"),
    (lambda: naive_forecast(np.arange(3.0), 0), "horizon as an integer >= 1, got 0"),
    (lambda: naive_forecast(np.zeros((2, 2, 2)), 1), "shape (T,) or (T, C), got shape (2, 2, 2)"),
])
def test_naive_errors(call, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        call()


# --- window ridge regression ---------------------------------------------------------------

def ar2(n=6000, a1=0.6, a2=-0.3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    e = rng.normal(0, 1, n)
    for t in range(2, n):
        y[t] = a1 * y[t - 1] + a2 * y[t - 2] + e[t]
    return y[100:]                                           # drop the start-up


def test_window_regression_recovers_ar2_coefficients():
    y = ar2()
    X = np.stack([y[:-2], y[1:-1]], axis=1)[:, :, None]      # (N, L=2, 1): y_{t-2}, y_{t-1}
    Y = y[2:, None, None]                                    # (N, H=1, 1): y_t
    reg = WindowRegression(input_length=2, horizon=1).fit(X, Y)
    w_ridge = reg.coef_[0, 0, :, 0]                          # weights of y_{t-2}, y_{t-1}
    # ordinary least squares with an intercept, by numpy
    A = np.column_stack([X[:, :, 0], np.ones(len(X))])
    w_ls = np.linalg.lstsq(A, Y[:, 0, 0], rcond=None)[0]
    np.testing.assert_allclose(w_ridge, w_ls[:2], atol=1e-3)
    np.testing.assert_allclose(reg.intercept_[0, 0], w_ls[2], atol=1e-3)
    np.testing.assert_allclose(w_ridge, [-0.3, 0.6], atol=0.04)     # the true process
    np.testing.assert_allclose(reg.predict(X)[:, 0, 0], A @ w_ls, atol=1e-2)


def test_window_regression_layout_of_steps_targets_and_channels():
    # Y is an exact linear function of X; tiny alpha recovers each weight in its place
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 5, 2))                          # (N, 5 steps, 2 channels)
    Y = np.zeros((400, 2, 3))                                 # (N, H=2, 3 targets)
    Y[:, 0, 0] = 2 * X[:, 4, 1] - X[:, 0, 0] + 1
    Y[:, 1, 2] = 3 * X[:, 3, 0]
    Y[:, 1, 1] = -4.0
    reg = WindowRegression(input_length=3, horizon=2, alpha=1e-8).fit(X, Y)
    W = reg.coef_                                              # (H, C_out, L, C_in)
    assert W.shape == (2, 3, 3, 2) and reg.intercept_.shape == (2, 3)
    want = np.zeros_like(W)
    want[0, 0, 2, 1] = 2                                      # window position 2 = step 4 of 5
    want[1, 2, 1, 0] = 3                                      # position 1 = step 3
    # X[:, 0, 0] is outside the last 3 steps: its part of target (0, 0) is noise to the
    # model, so those weights are only close to the truth
    np.testing.assert_allclose(W[0], want[0], atol=0.2)
    np.testing.assert_allclose(W[1], want[1], atol=1e-6)
    np.testing.assert_allclose(reg.intercept_[1], [0, -4, 0], atol=1e-6)
    assert reg.predict(X[:7]).shape == (7, 2, 3)


def test_window_regression_errors():
    reg = WindowRegression(4, 2)
    with pytest.raises(UsageError, match="call fit first"):
        reg.predict(np.zeros((1, 4, 1)))
    with pytest.raises(UsageError, match=re.escape("at least input_length=4 steps, got 3")):
        reg.fit(np.zeros((5, 3, 1)), np.zeros((5, 2, 1)))
    with pytest.raises(UsageError, match=re.escape("targets of shape (5, 2, C)")):
        reg.fit(np.zeros((5, 4, 1)), np.zeros((5, 3, 1)))
    reg.fit(np.random.default_rng(0).normal(size=(5, 4, 2)), np.zeros((5, 2, 1)))
    with pytest.raises(UsageError, match="2 channel"):
        reg.predict(np.zeros((1, 4, 3)))
    with pytest.raises(UsageError, match="input_length as an integer >= 1"):
        WindowRegression(0, 1)


# --- window logistic regression ------------------------------------------------------------

def sines(n, seed, lengths=(40, 90)):
    """Two classes: 2 or 5 periods over the sequence, sampled at random rates (lengths
    40..90), with noise and a small phase jitter."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i in range(n):
        k = i % 2
        t = np.linspace(0, 1, int(rng.integers(*lengths)))
        x = np.sin(2 * np.pi * (2, 5)[k] * t + rng.normal(0, 0.2)) + rng.normal(0, 0.3, len(t))
        xs.append(x[:, None])
        ys.append(k)
    return xs, ys


def test_window_classifier_separates_sines_of_two_frequencies():
    xs, y = sines(80, seed=0)
    clf = WindowClassifier(seed=0).fit(xs, y, n_classes=2)
    tx, ty = sines(100, seed=1)
    p = clf.predict_proba(tx)
    assert p.shape == (100, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (clf.predict(tx) == np.array(ty)).mean() >= 0.95
    assert clf._length == int(np.median([len(x) for x in xs]))   # default: the median length


def test_window_classifier_columns_in_class_order_with_an_absent_class():
    xs, y = sines(40, seed=2)
    y = [2 * k for k in y]                                    # classes 0 and 2 of 3; 1 never seen
    clf = WindowClassifier(length=32).fit(xs, y, n_classes=3)
    p = clf.predict_proba(xs)
    assert p.shape == (40, 3) and (p[:, 1] == 0).all()
    assert (p.argmax(axis=1) == np.array(y)).mean() >= 0.95


def test_window_classifier_multichannel_and_errors():
    rng = np.random.default_rng(3)
    xs = [rng.normal(size=(int(rng.integers(10, 20)), 3)) + (i % 2) for i in range(30)]
    clf = WindowClassifier(length=8).fit(xs, [i % 2 for i in range(30)], n_classes=2)
    assert clf.predict_proba(xs[:4]).shape == (4, 2)
    with pytest.raises(UsageError, match="3 channel"):
        clf.predict_proba([np.zeros((10, 2))])
    with pytest.raises(UsageError, match="at least 2 distinct labels"):
        WindowClassifier().fit(xs[:3], [1, 1, 1], n_classes=2)
    with pytest.raises(UsageError, match=re.escape("labels in 0..1 (2 classes), got 2")):
        WindowClassifier().fit(xs[:3], [0, 1, 2], n_classes=2)
    with pytest.raises(UsageError, match="finite"):
        WindowClassifier().fit([np.array([0.0, np.nan]), np.zeros(2)], [0, 1], n_classes=2)


@pytest.mark.parametrize("n_classes, labels", [(2, [0, 1]), (4, [0, 1, 3])])
def test_window_classifier_saved_and_loaded_gives_the_same_probabilities(tmp_path, n_classes, labels):
    rng = np.random.default_rng(5)
    xs = [rng.normal(size=(int(rng.integers(12, 30)), 2)) + labels[i % len(labels)] for i in range(60)]
    y = [labels[i % len(labels)] for i in range(60)]
    clf = WindowClassifier(C=0.5, seed=3).fit(xs, y, n_classes=n_classes)
    clf.save(tmp_path / "w.npz")
    back = WindowClassifier.load(tmp_path / "w.npz")
    tx = [rng.normal(size=(int(rng.integers(5, 40)), 2)) for _ in range(25)]
    np.testing.assert_array_equal(back.predict_proba(tx), clf.predict_proba(tx))
    assert (back.length, back.C, back.seed, back._length, back.channels) == (None, 0.5, 3, clf._length, 2)
    with np.load(tmp_path / "w.npz", allow_pickle=False):   # plain arrays, no pickled objects
        pass


def test_window_classifier_load_refuses_what_it_did_not_save(tmp_path):
    with pytest.raises(UsageError, match="no file at"):
        WindowClassifier.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(UsageError, match="foreign file .*other.npz"):
        WindowClassifier.load(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(UsageError, match="unreadable or foreign"):
        WindowClassifier.load(tmp_path / "text.npz")
    with pytest.raises(UsageError, match="unfitted"):
        WindowClassifier().save(tmp_path / "w.npz")
    assert not (tmp_path / "w.npz").exists()


def test_resample_is_linear_interpolation():
    ramp = np.linspace(0, 1, 7)[:, None]
    np.testing.assert_allclose(resample(ramp, 13), np.linspace(0, 1, 13)[:, None])
    x = np.array([[0.0, 10.0], [2.0, 30.0]])                  # (2, 2) -> 3 steps: midpoints
    np.testing.assert_allclose(resample(x, 3), [[0, 10], [1, 20], [2, 30]])
    assert resample(np.array([[5.0]]), 4).tolist() == [[5.0]] * 4
