"""rnnkit.Forecaster: fit on a DataFrame (wide, long) or an array, predict with the
time continued and intervals, backtest, the run directory the command line reads."""

import csv

import numpy as np
import pandas as pd
import pytest

import rnnkit
from rnnkit.cli import main
from tests.estimators.conftest import TINY

FC = {**{k: v for k, v in TINY.items() if k != "embedding_size"}, "max_steps": 20}


def wave(n=120, phase=0.0):
    t = np.arange(n)
    return np.sin(2 * np.pi * t / 12 + phase) + 0.01 * t


@pytest.fixture(scope="module")
def frame():
    return pd.DataFrame({"date": pd.date_range("2024-01-01", periods=120, freq="D"), "y": wave()})


@pytest.fixture(scope="module")
def fitted(frame):
    return rnnkit.Forecaster(**FC, horizon=4, time_column="date", loss="gaussian").fit(frame)


def test_predict_continues_the_time_with_intervals(fitted, frame):
    out = fitted.predict()
    assert list(out.columns) == ["date", "step", "y", "y_lower", "y_upper"]
    assert list(out["date"]) == list(pd.date_range("2024-04-30", periods=4, freq="D"))
    assert list(out["step"]) == [1, 2, 3, 4]
    assert (out["y_lower"] < out["y"]).all() and (out["y"] < out["y_upper"]).all()
    assert fitted.targets_ == ["y"]
    shorter = fitted.predict(2)
    np.testing.assert_allclose(shorter["y"], out["y"][:2])
    # another history: forecasts after its own end
    other = frame.iloc[:60]
    assert list(fitted.predict(data=other)["date"])[0] == pd.Timestamp("2024-03-01")


def test_predictions_equal_the_command_lines(fitted, frame, tmp_path, capsys):
    run = fitted.save(tmp_path / "run")
    data = tmp_path / "history.csv"
    frame.to_csv(data, index=False, date_format="%Y-%m-%d")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), "--data", str(data), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    mine = fitted.predict()
    assert [r["time"] for r in rows] == [d.strftime("%Y-%m-%d") for d in mine["date"]]
    for col in ("y", "y_lower", "y_upper"):
        np.testing.assert_allclose([float(r[col]) for r in rows], mine[col], rtol=1e-5)
    assert main(["info", str(run)]) == 0
    assert "trained on: data in memory" in capsys.readouterr().out
    again = rnnkit.load(run)
    assert type(again) is rnnkit.Forecaster and again.horizon == 4 and again.target == ["y"]
    np.testing.assert_allclose(again.predict(data=frame)["y"], mine["y"])
    with pytest.raises(ValueError, match="a loaded model keeps no training series"):
        again.predict()


def test_backtest_as_evaluate(fitted, frame, tmp_path, capsys):
    m = fitted.backtest(backtest_start=100)
    assert m["horizon"] == 4 and m["backtest_start"] == 100
    assert {"mae", "rmse", "smape", "mase", "interval_coverage", "baselines"} <= set(m)
    data = tmp_path / "history.csv"
    frame.to_csv(data, index=False, date_format="%Y-%m-%d")
    run = fitted.save(tmp_path / "run")
    assert main(["evaluate", str(run), "--data", str(data), "--backtest-start", "100", "--json"]) == 0
    import json

    cli = json.loads(capsys.readouterr().out)
    assert m["mae"] == pytest.approx(cli["mae"], rel=1e-6)


def test_long_tables_and_arrays(no_plots):
    long = pd.concat([pd.DataFrame({"id": name, "t": np.arange(80), "v": wave(80, phase)})
                      for name, phase in (("a", 0.0), ("b", 1.0))])
    fc = rnnkit.Forecaster(**{**FC, "max_steps": 4, "val_every_n_steps": 2}, horizon=3, series_column="id",
                           time_column="t").fit(long)
    out = fc.predict()
    assert list(out.columns) == ["id", "t", "step", "v"]
    assert list(out["id"]) == ["a"] * 3 + ["b"] * 3 and list(out["t"]) == [80, 81, 82] * 2
    arr = np.stack([wave(80), wave(80, 1.0)], axis=1)                         # (T, 2): two targets
    fc = rnnkit.Forecaster(**{**FC, "max_steps": 4, "val_every_n_steps": 2}, horizon=3).fit(arr)
    assert fc.targets_ == ["0", "1"] and list(fc.predict().columns) == ["step", "0", "1"]


def test_params_stored_as_given():
    quantiles = [0.2, 0.8]
    fc = rnnkit.Forecaster(quantiles=quantiles, target="y")
    assert fc.quantiles is quantiles and fc.target == "y"


@pytest.mark.parametrize("data, params, message", [
    (np.zeros((3, 4, 5)), {"horizon": 2}, r"expected a DataFrame, or an array of shape \(time,\) or "
                                          r"\(time, channels\), got shape \(3, 4, 5\)"),
    (pd.DataFrame({"y": [1.0, np.nan] * 40}), {"horizon": 2}, "column 'y' has 40 missing values, the first at "
                                                                "row 2; pass fill ffill"),
    (pd.DataFrame({"y": wave(60)}), {}, "horizon: expected a positive number of steps to forecast, got None"),
    (pd.DataFrame({"y": wave(60)}), {"horizon": 2, "target": "z"}, "expected a column 'z', got columns: 'y'"),
    ("y", {"horizon": 2}, "expected a pandas DataFrame or a NumPy array, got str"),
])
def test_bad_input(data, params, message):
    with pytest.raises(ValueError, match=message):
        rnnkit.Forecaster(**FC, **params).fit(data)


def test_future_covariates(no_plots):
    n = 90
    frame = pd.DataFrame({"t": np.arange(n), "y": wave(n), "weekend": (np.arange(n) % 7 >= 5).astype(float)})
    fc = rnnkit.Forecaster(**{**FC, "max_steps": 4, "val_every_n_steps": 2}, horizon=3, target="y",
                           time_column="t", future_covariates=["weekend"]).fit(frame)
    assert fc.targets_ == ["y"] and fc.module_.pre["future"] == ["weekend"]
    with pytest.raises(ValueError, match=r"future: the model reads future covariates \(weekend\); expected their "
                                         r"values for the steps ahead, got none"):
        fc.predict()
    ahead = pd.DataFrame({"t": np.arange(n, n + 3), "weekend": [0.0, 1.0, 1.0]})
    out = fc.predict(future=ahead)
    assert list(out["t"]) == [90, 91, 92] and list(out.columns) == ["t", "step", "y"]
    with pytest.raises(ValueError, match="has 2 rows; expected 3"):
        fc.predict(future=ahead.iloc[:2])
