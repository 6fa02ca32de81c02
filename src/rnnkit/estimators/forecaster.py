"""``rnnkit.Forecaster``: the next steps of series given in memory, as a pandas
DataFrame (wide: one series; long: many, told apart by ``series_column``) or a NumPy
array (T,) / (T, C).

Example::

    fc = rnnkit.Forecaster(horizon=7, target="units", time_column="date", max_time=60)
    fc.fit(sales)                      # a DataFrame with columns date, units
    fc.predict()                       # the next 7 days: date, step, units (+ _lower/_upper)
"""

from __future__ import annotations

import numpy as np

from ..data.memory import InMemory
from .base import RNNEstimator, config_keys_in_errors

FORECAST_DATA = ("horizon", "target", "time_column", "series_column", "covariates", "future_covariates",
                 "input_length", "stride", "season", "fill", "scale", "valid_fraction")


def _names(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def as_frame(data, what: str = "data"):
    """A DataFrame of ``data``: a DataFrame as is, an array (T,) as column "0", an array
    (T, C) as columns "0" .. "C-1" (as rnnkit reads .npy files)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame(name=str(data.name) if data.name is not None else "0")
    if isinstance(data, (np.ndarray, list)):
        a = np.asarray(data)
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise ValueError(f"{what}: expected numbers, got an array of dtype {a.dtype}")
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(f"{what}: expected a DataFrame, or an array of shape (time,) or (time, channels), "
                             f"got shape {a.shape}")
        return pd.DataFrame(a, columns=[str(c) for c in range(a.shape[1])])
    raise ValueError(f"{what}: expected a pandas DataFrame or a NumPy array, got {type(data).__name__}")


class Forecaster(RNNEstimator):
    """Forecasting (``rnnkit train forecast``) on series in memory.

    ``horizon`` (steps ahead) must be given; ``target``: the column(s) to forecast
    (default: every column that is not the time, series or a covariate column);
    ``time_column``: times, continued in the forecasts; ``series_column``: the id
    column of a long table. Other hyperparameters: the config fields of the same names
    (``loss`` gaussian or quantile gives intervals).

    Fitted attributes: ``targets_``, ``series_`` (the series fitted, forecast from by
    default), ``module_`` (the trained :class:`~rnnkit.tasks.forecast.ForecastTask`),
    ``run_dir_``, ``metrics_``.
    """

    task = "forecast"
    data_fields = FORECAST_DATA

    def _series(self, data, columns: list[str], what: str = "data", d=None):
        """The series of ``data`` (DataFrame or array), checked as files' tables are."""
        from ..data.series import series_from_frame

        d = d or self
        frame = as_frame(data, what)
        with config_keys_in_errors():
            return series_from_frame(frame, columns=columns, time_column=d.time_column,
                                     series_column=d.series_column, fill=d.fill, what=what)

    def fit(self, data, y=None, *, run_dir=None, overwrite: bool = False) -> "Forecaster":
        """Train on the series of ``data``; the last ``max(horizon, valid_fraction x T)``
        steps of each are held out for validation. ``run_dir``: where the run directory
        goes (default: a temporary folder, removed with the estimator)."""
        frame = as_frame(data)
        others = {str(c) for c in (self.time_column, self.series_column) if c is not None}
        others |= set(_names(self.covariates)) | set(_names(self.future_covariates))
        targets = _names(self.target) or [str(c) for c in frame.columns if str(c) not in others]
        if not targets:
            raise ValueError(f"target: expected the column(s) to forecast, got none (columns: "
                             f"{', '.join(map(str, frame.columns))})")
        columns = targets + _names(self.covariates) + _names(self.future_covariates)
        series = self._series(frame, columns)
        self._train(InMemory(train=series), run_dir, overwrite, target=targets)
        self.targets_ = targets
        self.series_ = series
        return self

    def _restore(self, extra: dict) -> None:
        self.targets_ = list(self.module_.pre["targets"])
        self.series_ = None

    def predict(self, horizon: int | None = None, *, data=None, future=None):
        """Forecasts of the ``horizon`` steps (default: the trained horizon) after the
        end of each series of ``data`` (default: the series fitted), as a DataFrame:
        the series id (long tables), the time column continued (when there is one),
        ``step`` (1 .. horizon), each target and, when the model has intervals,
        ``<target>_lower`` and ``<target>_upper``. ``future``: the future covariates of
        the steps ahead (same layout), when the model reads them. The numbers are those
        ``rnnkit predict`` writes for the same history."""
        import pandas as pd

        from ..data.series import continue_time
        from ..tasks.forecast import column_groups
        from ..tasks.forecast.behaviour import FORECAST, _horizon

        self._check_fitted()
        m = self.module_
        d = m.cfg.data
        targets, past, fut_cols = column_groups(m.cfg)
        if data is None and self.series_ is None:
            raise ValueError("data: expected the history to forecast from (a loaded model keeps no training "
                             "series), got none")
        series = self.series_ if data is None else self._series(data, targets + past + fut_cols, d=d)
        ahead = None
        if fut_cols:
            if future is None:
                raise ValueError(f"future: the model reads future covariates ({', '.join(fut_cols)}); expected "
                                 f"their values for the steps ahead, got none")
            ahead = self._series(future, fut_cols, "future", d=d)
        with config_keys_in_errors():
            horizon = _horizon(horizon, m.pre)
            _, point, lower, upper = FORECAST.forecast_after(m, series, horizon, ahead)
        parts = []
        for k, s in enumerate(series):
            part = {}
            if d.series_column is not None:
                part[d.series_column] = [s.name] * horizon
            if s.time is not None:
                part[d.time_column] = continue_time(s.time, horizon)
            part["step"] = np.arange(1, horizon + 1)
            for c, t in enumerate(targets):
                part[t] = point[k, :, c]
                if lower is not None:
                    part[f"{t}_lower"], part[f"{t}_upper"] = lower[k, :, c], upper[k, :, c]
            parts.append(pd.DataFrame(part))
        return pd.concat(parts, ignore_index=True)

    def backtest(self, data=None, *, backtest_start: int, horizon: int | None = None,
                 season: int | None = None) -> dict:
        """Forecasts from every origin from ``backtest_start`` on (a rolling-origin
        backtest of ``data``, default: the series fitted) against the actual values:
        mae, rmse, smape, mase (and interval coverage), beside the naive, seasonal naive
        and window-ridge baselines, as ``rnnkit evaluate --backtest-start`` computes them."""
        from ..tasks.forecast import column_groups
        from ..tasks.forecast.behaviour import FORECAST

        self._check_fitted()
        m = self.module_
        targets, past, future = column_groups(m.cfg)
        if data is None and self.series_ is None:
            raise ValueError("data: expected the series to backtest on (a loaded model keeps no training "
                             "series), got none")
        series = self.series_ if data is None else self._series(data, targets + past + future, d=m.cfg.data)
        with config_keys_in_errors():
            return FORECAST.backtest_series(m, series, horizon, backtest_start, season)
