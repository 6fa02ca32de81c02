"""The direct forecaster with ``model.window_norm``: each window's targets standardised
by their own mean and std, the forecast taken back. Checked against the definition
(the same weights without it, fed the standardised window by hand) and by its
consequence: the forecast of a x + b is a times the forecast of x, plus b."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.config import ModelConfig
from rnnkit.errors import UsageError
from rnnkit.tasks.forecast.network import WINDOW_EPS, Forecaster, point_and_interval


def pair(loss: str, n_future: int = 0):
    """(with window_norm, without), the same weights."""
    torch.manual_seed(0)
    on = Forecaster(ModelConfig(cell="gru", hidden_size=8, num_layers=2, dropout=0.0, loss=loss, window_norm=True),
                    2, 1, n_future, 4).double().eval()
    off = Forecaster(ModelConfig(cell="gru", hidden_size=8, num_layers=2, dropout=0.0, loss=loss),
                     2, 1, n_future, 4).double().eval()
    off.load_state_dict(on.state_dict())
    return on, off


@pytest.mark.parametrize("loss", ["mse", "quantile", "gaussian"])
def test_window_norm_is_the_model_on_the_standardised_window_taken_back(loss):
    on, off = pair(loss, n_future=1)
    x = torch.randn(3, 10, 4, dtype=torch.float64) * 2 + 5            # 2 targets, 1 past, 1 future column
    fut = torch.randn(3, 4, 1, dtype=torch.float64)
    m = x[..., :2].mean(1, keepdim=True)
    s = torch.sqrt(x[..., :2].var(1, unbiased=False, keepdim=True) + WINDOW_EPS)
    z = torch.cat([(x[..., :2] - m) / s, x[..., 2:]], -1)
    with torch.no_grad():
        got, want = on(x, fut), off(z, fut)                              # (B, H, C_t, P)
    m, s = m[..., None], s[..., None]
    if loss == "gaussian":
        torch.testing.assert_close(got[..., 0], want[..., 0] * s[..., 0] + m[..., 0], atol=1e-10, rtol=0)
        torch.testing.assert_close(F.softplus(got[..., 1]) + 1e-4, s[..., 0] * (F.softplus(want[..., 1]) + 1e-4),
                                   atol=1e-10, rtol=1e-8)
    else:
        torch.testing.assert_close(got, want * s + m, atol=1e-10, rtol=0)


@pytest.mark.parametrize("loss", ["mse", "quantile", "gaussian"])
def test_the_forecast_follows_the_units_of_the_window(loss):
    on, _ = pair(loss)
    x = torch.randn(2, 12, 3, dtype=torch.float64)
    a, b = 7.0, -30.0
    y = x.clone()
    y[..., :2] = a * x[..., :2] + b                                     # the targets in other units
    with torch.no_grad():
        p1, lo1, hi1 = point_and_interval(on(x), loss, [0.1, 0.5, 0.9])
        p2, lo2, hi2 = point_and_interval(on(y), loss, [0.1, 0.5, 0.9])
    # equal up to WINDOW_EPS, which is not scaled with the window
    torch.testing.assert_close(p2, a * p1 + b, atol=1e-3, rtol=1e-4)
    if loss != "mse":
        torch.testing.assert_close(hi2 - lo2, a * (hi1 - lo1), atol=1e-3, rtol=1e-3)
        assert (hi1 - lo1).abs().max() > 1e-3                          # an interval to compare


def test_window_norm_needs_the_direct_decoder():
    with pytest.raises(UsageError, match="model.window_norm: the autoregressive decoder"):
        Forecaster(ModelConfig(decoder="autoregressive", window_norm=True), 1, 0, 0, 3)


def test_a_flat_window_gives_a_finite_forecast_at_its_level():
    on, _ = pair("mse")
    x = torch.full((1, 10, 3), 4.0, dtype=torch.float64)
    with torch.no_grad():
        out = on(x)
    assert torch.isfinite(out).all()
    # every input of the stack is the same as for a flat window at 0: the forecast is
    # the level plus 0.01 times what the network says for zeros
    assert np.allclose(out[..., 0, 0].numpy(), 4.0, atol=0.05)


def test_a_run_chooses_window_norm_by_its_decoder_and_a_flag_wins(tmp_path):
    import yaml

    from rnnkit.cli import main
    from rnnkit.training import load_run
    from tests.tasks.test_forecast import seasonal_csv

    seasonal_csv(tmp_path / "s.csv", n=120)
    base = ["train", "forecast", "--data", str(tmp_path / "s.csv"), "--target", "sales", "--time-column", "date",
            "--horizon", "4", "--input-length", "12", "--hidden-size", "8", "--max-steps", "2", "--no-progress-bar",
            "--accelerator", "cpu"]
    for name, flags, want in (("direct", [], True), ("ar", ["--decoder", "autoregressive"], False),
                              ("off", ["--no-window-norm"], False)):
        assert main([*base, "--out", str(tmp_path / name), *flags]) == 0
        assert yaml.safe_load((tmp_path / name / "config.yaml").read_text())["model"]["window_norm"] is want
        module, _ = load_run(tmp_path / name)
        assert module.net.window_norm is want


def test_a_run_saved_before_window_norm_loads_without_it():
    from rnnkit.tasks.forecast import ForecastTask

    pre = {"targets": ["y"], "past": [], "future": [], "horizon": 3, "input_length": 8, "global_scale": None}
    old = ForecastTask({"task": "forecast", "model": {"hidden_size": 4}}, pre)         # no window_norm key
    assert old.net.window_norm is False
