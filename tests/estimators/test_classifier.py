"""rnnkit.Classifier on texts and on sequences of values: fit, predict, the run
directory the command line reads, rnnkit.load, bad input."""

import csv
import json

import numpy as np
import pytest

import rnnkit
from rnnkit.cli import main
from rnnkit.config import DataConfig, ModelConfig, TrainConfig
from tests.estimators.conftest import TINY, texts


@pytest.fixture(scope="module")
def fitted():
    X, y = texts()
    # 60 steps: words seen 4-8 times are read as unknown 11-20% of the time (word dropout)
    return rnnkit.Classifier(**{**TINY, "max_steps": 60}).fit(X, y)


def test_fit_predict_on_texts(fitted):
    X, y = texts(seed=1)
    assert list(fitted.classes_) == [0, 1] and fitted.classes_.dtype.kind == "i"
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    pred = fitted.predict(X)
    assert pred.dtype.kind == "i" and set(pred) <= {0, 1}
    np.testing.assert_array_equal(pred, fitted.classes_[proba.argmax(1)])
    # the two kinds of review share no word: a few dozen steps tell them apart
    assert fitted.score(X, y) >= 0.9
    assert fitted.metrics_["validation"]["accuracy"] >= 0.9


def test_predictions_equal_the_command_lines(fitted, tmp_path, capsys):
    run = fitted.save(tmp_path / "run")
    X, y = texts(12, seed=2)
    data = tmp_path / "new.csv"
    with data.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(zip(X, y))
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), "--data", str(data), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    cli = np.array([[float(r["p_0"]), float(r["p_1"])] for r in rows])
    np.testing.assert_allclose(fitted.predict_proba(X), cli, atol=1e-6)
    assert [int(r["label"]) for r in rows] == list(fitted.predict(X))
    # info and evaluate read the run as their own
    assert main(["info", str(run)]) == 0
    info = capsys.readouterr().out
    assert "task:       classify" in info and "trained on: data in memory" in info
    assert main(["evaluate", str(run), "--data", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(fitted.score(X, y))


def test_load_gives_the_estimator_back(fitted, tmp_path):
    run = fitted.save(tmp_path / "run")
    again = rnnkit.load(run)
    assert type(again) is rnnkit.Classifier
    # the same parameters, those left to the task (None) as the run chose them
    chosen = {"head": "max", "lowercase": True, "min_freq": 1, "bidirectional": False, "num_layers": 1,
              "embedding_size": 128, "dropout": 0.3, "word_dropout": 1.0, "word_shapes": True}
    assert again.get_params() == {k: chosen.get(k, v) if v is None else v for k, v in fitted.get_params().items()}
    assert list(again.classes_) == [0, 1] and again.classes_.dtype.kind == "i"   # not "0", "1"
    X, _ = texts(10, seed=3)
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    with pytest.raises(ValueError, match="expected a new or empty folder"):
        fitted.save(run)


def test_load_a_run_the_command_line_trained(tmp_path, no_plots):
    X, y = texts()
    data = tmp_path / "train.csv"
    with data.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(zip(X, ["good" if v else "bad" for v in y]))
    run = tmp_path / "cli"
    assert main(["train", "classify", "--data", str(data), "--out", str(run), "--hidden-size", "8",
                 "--num-layers", "1", "--embedding-size", "8", "--max-steps", "10", "--no-progress-bar",
                 "--accelerator", "cpu"]) == 0
    clf = rnnkit.load(run)
    assert type(clf) is rnnkit.Classifier and clf.hidden_size == 8 and clf.max_steps == 10
    assert list(clf.classes_) == ["bad", "good"]
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), "--data", str(data), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    np.testing.assert_allclose(clf.predict_proba(X), [[float(r["p_bad"]), float(r["p_good"])] for r in rows],
                               atol=1e-6)


def test_sequences_of_values(no_plots):
    rng = np.random.default_rng(0)
    n, T = 40, 12
    y = np.array(["up", "down"] * (n // 2))
    slope = np.where(y == "up", 1.0, -1.0)[:, None] * np.linspace(0, 1, T)[None]
    x = (slope + 0.05 * rng.standard_normal((n, T)))[:, :, None]                  # (n, T, 1)
    lengths = rng.integers(6, T + 1, n)
    clf = rnnkit.Classifier(**TINY).fit(x, y, lengths=lengths)
    assert list(clf.classes_) == ["down", "up"]
    assert clf.module_.kind == "signal" and clf.module_.channels == ["0"]
    # padded with lengths, or the same sequences as a list: the same probabilities
    as_list = [x[i, :lengths[i]] for i in range(n)]
    np.testing.assert_allclose(clf.predict_proba(x, lengths=lengths), clf.predict_proba(as_list), atol=1e-6)
    assert clf.score(as_list, y) >= 0.9
    # (n, time) is one channel; NaN inside a sequence needs a fill policy
    gap = x[:, :, 0].copy()
    gap[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"X\[3\]: 1 missing value inside the sequence.*fill"):
        clf.predict(gap)
    # labels of any hashable type: tuples come back as tuples
    pairs = [("up", 1) if v == "up" else ("down", -1) for v in y]
    filled = rnnkit.Classifier(**{**TINY, "max_steps": 2, "val_every_n_steps": 2}, fill="interpolate").fit(gap, pairs)
    assert list(filled.classes_) == [("down", -1), ("up", 1)]
    pred = filled.predict(gap)
    assert pred.shape == (n,) and all(p in (("down", -1), ("up", 1)) for p in pred)


@pytest.mark.parametrize("make, message", [
    (lambda: (["a", "b", "c"], [0, 1]), "expected one label per example, got 3 examples and 2 labels"),
    (lambda: (["a", "b", "c"], ["x", "x", "x"]), "expected at least 2 classes, got only 'x'"),
    (lambda: (np.zeros((4, 3, 2, 1)), [0, 1, 0, 1]), r"expected an array of shape \(n, time, channels\) or "
                                                       r"\(n, time\), got shape \(4, 3, 2, 1\)"),
    (lambda: (np.zeros(4), [0, 1, 0, 1]), r"got shape \(4,\)"),
    (lambda: ("one text", [0]), "expected a list of texts .*got a single string"),
    (lambda: (["a", "b"], [1, "1"]), "expected labels that differ as text, got 1 and '1'"),
    (lambda: ([np.zeros((3, 1)), np.zeros((3, 2))], [0, 1]), "same number of channels in every sequence"),
])
def test_bad_input_is_a_value_error(make, message):
    X, y = make()
    with pytest.raises(ValueError, match=message):
        rnnkit.Classifier(**TINY).fit(X, y)


def test_unknown_hyperparameter_names_the_known_ones():
    with pytest.raises(ValueError, match=r"Classifier: unknown parameter 'hiden_size'; known: .*hidden_size"):
        rnnkit.Classifier(hiden_size=8)
    with pytest.raises(ValueError, match="unknown parameter 'horizon'"):      # a forecaster's, not a classifier's
        rnnkit.Classifier(horizon=3)
    with pytest.raises(ValueError, match="hidden_size expected an integer, got 'big'"):
        rnnkit.Classifier(hidden_size="big").fit(["a", "b"], [0, 1])


def test_hyperparameters_are_the_config_fields_with_their_defaults():
    params = rnnkit.Classifier().get_params()
    fields = {}
    for cls in (ModelConfig, DataConfig, TrainConfig):
        fields.update(vars(cls()))
    assert set(params) <= set(fields)
    assert {"hidden_size", "cell", "head", "tokenizer", "max_length", "max_time", "seed", "lr"} <= set(params)
    assert not {"data", "valid", "test", "horizon", "target", "tie_embeddings"} & set(params)
    for name, value in params.items():
        assert value == fields[name], name
    assert set(TrainConfig.__dataclass_fields__) <= set(params)


def test_not_fitted():
    with pytest.raises(ValueError, match="not fitted yet"):
        rnnkit.Classifier().predict(["a"])


def test_fit_into_a_run_directory(tmp_path, no_plots):
    X, y = texts(32)
    run = tmp_path / "run"
    clf = rnnkit.Classifier(**{**TINY, "max_steps": 2, "val_every_n_steps": 2}).fit(X, y, run_dir=run)
    assert clf.run_dir_ == run and (run / "checkpoints" / "best.ckpt").is_file() and (run / "config.yaml").is_file()
    assert clf.save(run) == run                              # already there
    with pytest.raises(ValueError, match="already exists; pass overwrite"):
        clf.fit(X, y, run_dir=run)
    assert clf.run_dir_ == run and clf.predict(X[:2]).shape == (2,)    # the fitted state is kept
