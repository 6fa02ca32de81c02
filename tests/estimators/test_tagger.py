"""rnnkit.Tagger: a label per token or per step, in memory; save and load."""

import numpy as np
import pytest

import rnnkit
from rnnkit.cli import main
from tests.estimators.conftest import TINY


def sentences(n=60, seed=0):
    rng = np.random.default_rng(seed)
    det, noun, verb = ["the", "a"], ["cat", "dog", "bird", "fish"], ["sat", "ran", "flew", "swam"]
    X, y = [], []
    for _ in range(n):
        words = [rng.choice(det), rng.choice(noun), rng.choice(verb)]
        X.append([str(w) for w in words])
        y.append(["DET", "NOUN", "VERB"])
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = sentences()
    return rnnkit.Tagger(**{**TINY, "max_steps": 30}).fit(X, y)


def test_tags_per_token(fitted, tmp_path, capsys):
    X, y = sentences(10, seed=1)
    pred = fitted.predict(X)
    assert [len(p) for p in pred] == [3] * 10 and all(isinstance(t, str) for p in pred for t in p)
    assert list(fitted.classes_) == ["DET", "NOUN", "VERB"]
    accuracy = np.mean([a == b for p, t in zip(pred, y) for a, b in zip(p, t)])
    assert accuracy >= 0.9
    probs = fitted.predict_proba(X)
    assert probs[0].shape == (3, 3)
    np.testing.assert_allclose(probs[0].sum(1), 1.0, rtol=1e-6)
    run = fitted.save(tmp_path / "run")
    assert main(["info", str(run)]) == 0
    assert "trained on: data in memory" in capsys.readouterr().out
    again = rnnkit.load(run)
    assert type(again) is rnnkit.Tagger and again.predict(X) == pred


def test_labels_per_step_of_values(no_plots):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 20))                       # (n, time): one channel
    y = np.where(x > 0, 1, 0)                               # integer labels
    tagger = rnnkit.Tagger(**{**TINY, "max_steps": 4, "val_every_n_steps": 2}).fit(x, y)
    assert list(tagger.classes_) == [0, 1] and tagger.module_.kind == "signal"
    pred = tagger.predict(x[:3])
    assert len(pred) == 3 and pred[0].shape == (20,) and pred[0].dtype.kind == "i"
    lengths = np.array([20, 5, 12])
    short = tagger.predict(x[:3], lengths=lengths)
    assert [len(p) for p in short] == [20, 5, 12]
    np.testing.assert_array_equal(short[1], tagger.predict([x[1, :5]])[0])


@pytest.mark.parametrize("X, y, message", [
    ([["a", "b"], ["c"]], [["X", "Y"], ["X", "Y"]], r"y\[1\]: expected one label per token of X\[1\] "
                                                    r"\(1 tokens\), got 2 labels"),
    ([["a", "b"]], [["X", "Y"], ["X"]], "expected one label sequence per sequence, got 1 sequences and 2"),
    ([["a", "b"], ["c"]], [["X", "X"], ["X"]], "expected at least 2 distinct labels, got only 'X'"),
    (["a b", "c"], [["X", "Y"], ["X"]], "got a list of strings"),
    (np.zeros((2, 3, 4, 1)), np.zeros((2, 3)), r"expected an array of shape \(n, time, channels\)"),
    (np.array([[0.0, np.nan, 1.0], [1.0, 2.0, 3.0]]), np.array([[0, 1, 0], [1, 0, 1]]),
     r"X\[0\]: 1 missing value inside the sequence, the first at step 2; pass fill"),
])
def test_bad_input(X, y, message):
    with pytest.raises(ValueError, match=message):
        rnnkit.Tagger(**TINY).fit(X, y)
