"""rnnkit train forecast end to end: windows, scaling, both decoders, intervals,
predict past the end of the history, the rolling-origin backtest and the baselines."""

import csv
import json

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.cli import main
from rnnkit.training import load_run

from tests.conftest import cli_fails

FAST = ["--no-progress-bar", "--accelerator", "cpu", "--num-layers", "1", "--hidden-size", "32",
        "--batch-size", "32", "--dropout", "0", "--lr", "0.01", "--early-stopping-patience", "null"]


def seasonal_csv(path, n=300, seed=0, series=1):
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(series):
        t = np.arange(n)
        temp = np.sin(2 * np.pi * t / 12 + k) * 3 + rng.normal(0, 0.2, n)
        y = 10 * (k + 1) + 5 * np.sin(2 * np.pi * t / 12 + k) + 0.5 * temp + rng.normal(0, 0.3, n)
        frames.append(pd.DataFrame({"id": f"s{k}", "date": pd.date_range("2020-01-01", periods=n, freq="D"),
                                    "sales": y, "temp": temp}))
    pd.concat(frames).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def direct_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("forecast")
    seasonal_csv(d / "sales.csv")
    run = d / "run"
    assert main(["train", "forecast", "--data", str(d / "sales.csv"), "--target", "sales", "--time-column", "date",
                 "--covariates", "temp", "--horizon", "6", "--input-length", "24", "--season", "12",
                 "--out", str(run), *FAST, "--max-epochs", "4"]) == 0
    return d, run


def test_run_directory_metrics_and_baselines(direct_run):
    d, run = direct_run
    m = json.loads((run / "metrics.json").read_text())["validation"]
    assert set(m) >= {"mae", "rmse", "smape", "mase", "forecasts", "baselines"}
    assert m["forecasts"] == 15 - 6 + 1                  # every origin of the last 5% (15 steps)
    assert set(m["baselines"]) == {"naive", "seasonal_naive", "window_ridge"}
    assert m["mae"] < m["baselines"]["naive"]["mae"]     # a seasonal series: the last value is a poor guess
    assert (run / "plots" / "forecast_validation.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_refuses_the_baseline_flag_of_the_other_tasks(direct_run, capsys):
    d, run = direct_run
    cli_fails(capsys, ["evaluate", str(run), "--data", str(d / "sales.csv"), "--baseline"],
              "--baseline: expected a run of task lm, classify or tag, got task 'forecast'")


def test_predict_continues_the_time_axis_and_matches_the_net(direct_run, tmp_path):
    d, run = direct_run
    out = tmp_path / "fc.csv"
    assert main(["predict", str(run), "--data", str(d / "sales.csv"), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["step"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[0]["time"].startswith("2020-10-27") and rows[-1]["time"].startswith("2020-11-01")
    assert (tmp_path / "fc.png").is_file()
    # the same forecast recomputed by hand: scale by the history's mean and std, run the net
    module, _ = load_run(run)
    df = pd.read_csv(d / "sales.csv")
    x = df[["sales", "temp"]].to_numpy()
    loc, scale = x.mean(0), x.std(0)
    z = torch.tensor((x[-24:] - loc) / scale, dtype=torch.float32)[None]
    with torch.no_grad():
        y = module.net(z, torch.zeros(1, 6, 0))[0, :, 0, 0].double().numpy() * scale[0] + loc[0]
    np.testing.assert_allclose([float(r["sales"]) for r in rows], y, rtol=1e-5)


def test_backtest_from_position_k(direct_run, capsys):
    d, run = direct_run
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(d / "sales.csv"), "--backtest-start", "250", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["forecasts"] == 300 - 250 - 6 + 1 and m["horizon"] == 6
    assert m["mase"] > 0 and "seasonal_naive" in m["baselines"]
    assert main(["evaluate", str(run), "--data", str(d / "sales.csv"), "--backtest-start", "296"]) == 2
    assert main(["evaluate", str(run), "--data", str(d / "sales.csv"), "--backtest-start", "250"]) == 0
    table = capsys.readouterr().out
    assert "window_ridge" in table and "mase" in table


def test_autoregressive_gaussian_gives_intervals_and_any_horizon(tmp_path):
    seasonal_csv(tmp_path / "s.csv", n=200, series=2)
    run = tmp_path / "run"
    assert main(["train", "forecast", "--data", str(tmp_path / "s.csv"), "--target", "sales", "--time-column", "date",
                 "--series-column", "id", "--horizon", "4", "--input-length", "16", "--decoder", "autoregressive",
                 "--loss", "gaussian", "--out", str(run), *FAST, "--max-epochs", "2"]) == 0
    m = json.loads((run / "metrics.json").read_text())["validation"]
    assert 0.0 <= m["interval_coverage"] <= 1.0
    out = tmp_path / "fc.csv"
    assert main(["predict", str(run), "--data", str(tmp_path / "s.csv"), "--horizon", "10", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 20 and {r["series"] for r in rows} == {"s0", "s1"}
    for r in rows:
        assert float(r["sales_lower"]) <= float(r["sales"]) <= float(r["sales_upper"])


def test_quantile_loss_and_direct_horizon_limit(tmp_path, capsys):
    seasonal_csv(tmp_path / "s.csv", n=150)
    run = tmp_path / "run"
    assert main(["train", "forecast", "--data", str(tmp_path / "s.csv"), "--target", "sales,temp",
                 "--horizon", "3", "--input-length", "12", "--loss", "quantile", "--quantiles", "0.1,0.5,0.9",
                 "--out", str(run), *FAST, "--max-epochs", "2"]) == 0
    out = tmp_path / "fc.csv"
    assert main(["predict", str(run), "--data", str(tmp_path / "s.csv"), "--out", str(out)]) == 0
    head = out.read_text().splitlines()[0].split(",")
    assert head == ["series", "step", "sales", "sales_lower", "sales_upper", "temp", "temp_lower", "temp_upper"]
    capsys.readouterr()
    assert main(["predict", str(run), "--data", str(tmp_path / "s.csv"), "--horizon", "5", "--out", str(out),
                 "--overwrite"]) == 2
    assert "trained for 3 steps" in capsys.readouterr().err


def test_nonlinear_dynamics_the_rnn_learns_and_the_window_regression_cannot(tmp_path):
    """The logistic map x_{t+1} = 3.9 x_t (1 - x_t): each value is a function of the one
    before, but not a linear one; the ridge on the window of past values stays far off."""
    x = np.empty(1500)
    x[0] = 0.3
    for t in range(1, len(x)):
        x[t] = 3.9 * x[t - 1] * (1 - x[t - 1])
    pd.DataFrame({"x": x}).to_csv(tmp_path / "map.csv", index=False)
    run = tmp_path / "run"
    assert main(["train", "forecast", "--data", str(tmp_path / "map.csv"), "--target", "x", "--horizon", "1",
                 "--input-length", "8", "--out", str(run), *FAST, "--max-epochs", "15"]) == 0
    m = json.loads((run / "metrics.json").read_text())["validation"]
    assert m["mae"] < 0.5 * m["baselines"]["window_ridge"]["mae"], m


@pytest.mark.parametrize("args, message", [
    (["--horizon", "6", "--input-length", "100"], "has 40 steps; expected at least"),
    (["--horizon", "6", "--target", "price"], "'price'"),
    (["--target", "sales"], "--horizon: expected a positive number of steps"),
    (["--horizon", "2", "--covariates", "temp", "--decoder", "autoregressive"], "expected --decoder direct"),
])
def test_bad_forecast_input_writes_nothing(tmp_path, capsys, args, message):
    seasonal_csv(tmp_path / "s.csv", n=40)
    argv = ["train", "forecast", "--data", str(tmp_path / "s.csv"), "--target", "sales", "--out",
            str(tmp_path / "run"), *FAST, *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("decoder", ["direct", "autoregressive"])
def test_windows_gathered_by_batch_equal_windows_cut_one_by_one(decoder):
    from rnnkit.tasks.forecast import Prepared, Windows

    rng = np.random.default_rng(0)
    prepared = [Prepared(f"s{k}", rng.normal(size=(n, 2)).astype(np.float32),
                         rng.normal(size=(n, 1 if decoder == "direct" else 0)).astype(np.float32),
                         rng.normal(size=(n, 2)).astype(np.float32), None, None, None, "x")
                for k, n in enumerate((30, 45))]
    L, H = 6, 3
    pairs = [(0, 6), (0, 27), (1, 10), (1, 42)]
    batch = Windows(prepared, pairs, L, H, decoder).__getitems__([0, 1, 2, 3])
    for i, (s, o) in enumerate(pairs):
        p = prepared[s]
        if decoder == "autoregressive":   # inputs [y_t ; c_{t+1}] for t in [o-L, o+H-1), targets y_{t+1}
            x = np.concatenate([p.target[o - L:o + H - 1], p.future[o - L + 1:o + H]], 1)
            y = p.target[o - L + 1:o + H]
        else:
            x = np.concatenate([p.target[o - L:o], p.past[o - L:o], p.future[o - L:o]], 1)
            y = p.target[o:o + H]
            np.testing.assert_array_equal(batch["future"][i].numpy(), p.future[o:o + H])
        np.testing.assert_array_equal(batch["x"][i].numpy(), x)
        np.testing.assert_array_equal(batch["y"][i].numpy(), y)


@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize("horizon", ["0", "-1"])
def test_horizon_is_checked_as_train_checks_it(direct_run, tmp_path, capsys, command, horizon):
    """0 is refused like -1 (it used to mean "the trained horizon"), with train's message."""
    d, run = direct_run
    out = tmp_path / "fc.csv"
    extra = ["--out", str(out)] if command == "predict" else ["--backtest-start", "200"]
    assert main([command, str(run), "--data", str(d / "sales.csv"), "--horizon", horizon, *extra]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --horizon: expected a positive number of steps to forecast, got {horizon}\n"
    assert list(tmp_path.iterdir()) == []


def test_predict_never_clobbers_its_input_or_an_existing_output(direct_run, tmp_path, capsys):
    d, run = direct_run
    data = tmp_path / "in.csv"
    data.write_bytes((d / "sales.csv").read_bytes())
    before = data.read_bytes()
    for out, flags, message in [(data, ["--overwrite"], "is also an input"),
                                (tmp_path / "fc.png", [], "is also where the forecast's plot goes")]:
        assert main(["predict", str(run), "--data", str(data), "--out", str(out), *flags]) == 2
        assert message in capsys.readouterr().err
    out = tmp_path / "fc.csv"
    assert main(["predict", str(run), "--data", str(data), "--out", str(out)]) == 0
    first = out.read_bytes()
    assert main(["predict", str(run), "--data", str(data), "--out", str(out)]) == 2
    assert "error: --out: " in capsys.readouterr().err
    out.unlink()                                     # the plot beside it still exists
    assert main(["predict", str(run), "--data", str(data), "--out", str(out)]) == 2
    assert "error: --out (its plot): " in capsys.readouterr().err
    assert not out.exists()
    assert main(["predict", str(run), "--data", str(data), "--out", str(out), "--overwrite"]) == 0
    assert out.read_bytes() == first and data.read_bytes() == before


def noisy_season_csv(path, seed, n=600, series=4, sigma=1.0):
    """A yearly season plus independent Gaussian noise of known scale: the best 80%
    interval is the season +- 1.2816 sigma, and covers 80% of new values."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(series):
        t = np.arange(n)
        y = 20 + 5 * np.sin(2 * np.pi * t / 12 + k) + rng.normal(0, sigma, n)
        frames.append(pd.DataFrame({"id": f"s{k}", "t": t, "y": y}))
    pd.concat(frames).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("loss", ["gaussian", "quantile"])
def test_intervals_cover_their_nominal_level_on_known_noise(tmp_path, capsys, loss):
    noisy_season_csv(tmp_path / "train.csv", 0)
    noisy_season_csv(tmp_path / "new.csv", 1, series=2)
    run = tmp_path / "run"
    assert main(["train", "forecast", "--data", str(tmp_path / "train.csv"), "--target", "y", "--time-column", "t",
                 "--series-column", "id", "--horizon", "3", "--input-length", "24", "--loss", loss,
                 "--out", str(run), *FAST, "--max-steps", "400", "--lr", "0.005"]) == 0
    capsys.readouterr()
    # new series of the same process: every origin from step 24 on
    assert main(["evaluate", str(run), "--data", str(tmp_path / "new.csv"), "--backtest-start", "24", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["forecasts"] == 2 * (600 - 24 - 3 + 1)
    # nominal 80% (quantiles 0.1 and 0.9): within 10 points
    assert 0.7 <= m["interval_coverage"] <= 0.9, m["interval_coverage"]


def test_input_length_from_horizon_season_and_length(tmp_path):
    from rnnkit.tasks.forecast import auto_input_length

    assert auto_input_length(12, 12, 1000) == 36        # three horizons
    assert auto_input_length(4, 52, 1000) == 104        # two seasons
    assert auto_input_length(1, None, 1000) == 8        # at least 8 steps
    assert auto_input_length(10, 10, 94) == 30          # lynx's training part: room enough
    assert auto_input_length(12, 12, 60) == 24          # half of what is left after a horizon
    # a run without --input-length uses it, and keeps it for predict
    seasonal_csv(tmp_path / "s.csv", n=120)
    run = tmp_path / "run"
    assert main(["train", "forecast", "--data", str(tmp_path / "s.csv"), "--target", "sales", "--time-column", "date",
                 "--horizon", "6", "--season", "12", "--out", str(run), *FAST, "--max-steps", "2"]) == 0
    module, cfg = load_run(run)
    assert cfg.data.input_length is None and module.pre["input_length"] == 24
