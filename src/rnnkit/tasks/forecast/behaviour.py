"""``forecast``: the next H steps of real-valued series (see :mod:`rnnkit.tasks.forecast`).

Metrics (``mae``, ``rmse``, ``smape``, ``mase``) are computed on forecasts from every
origin of the held-out part (training) or from position ``--backtest-start`` on
(``evaluate``, a rolling-origin backtest), beside three baselines on the same
forecasts: naive (the last value), seasonal naive (``data.season``) and a ridge
regression on the window of past values as independent features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...data.scaling import Scaler
from ...errors import UsageError
from ...io.predictions import write_prediction_table
from .module import ForecastData, ForecastTask, Prepared, column_groups, prepare
from ..spec import TaskSpec


def _raw_targets(series, targets) -> list[np.ndarray]:
    return [np.stack([s.columns[c] for c in targets], axis=1).astype(np.float64) for s in series]


def backtest(module: ForecastTask, prepared: list[Prepared], raw: list[np.ndarray], pairs, horizon: int,
             fit_until: list[int], season: int | None) -> dict:
    """Forecasts from every (series, origin) in ``pairs`` against the actual values,
    with the baselines. ``fit_until[i]``: where series i's known past ends (the MASE
    scale and the ridge baseline use only what comes before)."""
    from ...baselines.series import WindowRegression, naive_forecast, seasonal_naive_forecast
    from ...metrics import forecast_metrics, interval_coverage

    if not pairs:
        raise UsageError("no forecast origins: expected series long enough for at least one forecast")
    pre = module.pre
    L = pre["input_length"]
    point, lower, upper = module.forecast(prepared, pairs, horizon)
    actual = np.stack([raw[s][o:o + horizon] for s, o in pairs])                  # (N, H, C_t)
    history = [raw[s][:fit_until[s]] for s, _ in pairs]
    m = season or 1
    out = {**forecast_metrics(actual, point, history, season=m)}
    if lower is not None:
        out["interval_coverage"] = interval_coverage(actual, lower, upper)
    base = {"naive": np.stack([naive_forecast(raw[s][:o], horizon) for s, o in pairs])}
    if season:
        if all(o >= season for _, o in pairs):
            base["seasonal_naive"] = np.stack([seasonal_naive_forecast(raw[s][:o], horizon, season)
                                               for s, o in pairs])
    # the past values as independent features: ridge on the flattened window of the
    # scaled targets and past covariates, fitted on windows wholly in the known past
    nt = len(pre["targets"])
    train = [(i, o) for i, p in enumerate(prepared) for o in range(L, fit_until[i] - horizon + 1)]
    if len(train) >= 2:
        def window(s, o):
            p = prepared[s]
            return np.concatenate([p.target[o - L:o], p.past[o - L:o]], axis=1)
        reg = WindowRegression(L, horizon).fit(np.stack([window(s, o) for s, o in train]),
                                               np.stack([prepared[s].target[o:o + horizon] for s, o in train]))
        z = reg.predict(np.stack([window(s, o) for s, o in pairs]))                # (N, H, C_t) scaled
        loc = np.stack([prepared[s].loc[:nt] for s, _ in pairs])[:, None]
        sc = np.stack([prepared[s].scale[:nt] for s, _ in pairs])[:, None]
        base["window_ridge"] = z * sc + loc
    out["baselines"] = {name: {k: v for k, v in forecast_metrics(actual, f, history, season=m).items()
                               if k != "forecasts"} for name, f in base.items()}
    out["_arrays"] = (pairs, actual, point, lower, upper)
    return out


def _horizon(horizon: int | None, pre: dict) -> int:
    """--horizon of evaluate and predict: the trained horizon when not given; checked as
    train checks it (0 is refused, not taken for "not given")."""
    if horizon is None:
        return pre["horizon"]
    if horizon < 1:
        raise UsageError(f"data.horizon: expected a positive number of steps to forecast, got {horizon}")
    return horizon


def _public(m: dict) -> dict:
    return {k: v for k, v in m.items() if not k.startswith("_")}


def plot_forecasts(path: Path, raw, pairs, actual, point, lower, upper, targets, title: str) -> None:
    """The first series' last forecast origin: history, actuals, forecast, interval."""
    from ...io.figures import pyplot, save_figure

    plt = pyplot()
    k = max(i for i, (s, _) in enumerate(pairs) if s == pairs[0][0])
    s, o = pairs[k]
    H = point.shape[1]
    fig, axes = plt.subplots(len(targets), 1, figsize=(8, 2.8 * len(targets)), squeeze=False)
    for c, name in enumerate(targets):
        ax = axes[c, 0]
        start = max(0, o - 4 * H)
        ax.plot(range(start, o), raw[s][start:o, c], color="black", lw=1, label="history")
        steps = range(o, o + H)
        if actual is not None:
            ax.plot(steps, actual[k, :, c], color="black", ls="--", lw=1, label="actual")
        ax.plot(steps, point[k, :, c], color="tab:blue", lw=1.5, label="forecast")
        if lower is not None:
            ax.fill_between(steps, lower[k, :, c], upper[k, :, c], color="tab:blue", alpha=0.25,
                            label="interval")
        ax.set_ylabel(name)
        ax.legend(loc="upper left", fontsize=8)
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel("step")
    save_figure(fig, path)


def _time_strings(times: np.ndarray) -> list[str]:
    """Dates as 2002-01-05 when every time is at midnight, else to the second."""
    if np.issubdtype(times.dtype, np.datetime64):
        days = times.astype("datetime64[D]")
        unit = "D" if (days == times).all() else "s"
        return list(np.datetime_as_string(times, unit=unit))
    return [str(t) for t in times]


INPUT_LENGTHS = {"horizon": (1, 2, 4, 8), "season": (1, 2, 4)}   # multiples tried as input_length


class ForecastSpec(TaskSpec):
    name = "forecast"

    def search_space(self, cfg) -> dict:
        """The declared space, without bidirectional for the autoregressive decoder, and
        input_length among multiples of the horizon and of the season (when given)."""
        space = dict(self.tuning_space)
        if cfg.model.decoder != "direct":
            space.pop("model.bidirectional")
            space.pop("model.window_norm")
        h, s = cfg.data.horizon, cfg.data.season
        if h is not None and h >= 1:
            lengths = {m * h for m in INPUT_LENGTHS["horizon"]}
            lengths |= {m * s for m in INPUT_LENGTHS["season"]} if s is not None and s > 1 else set()
            space["data.input_length"] = ("choice", sorted({max(2, n) for n in lengths}))
        return space

    def data(self, cfg, preprocessing=None, memory=None):
        return ForecastData(cfg, preprocessing, memory)

    def final_metrics(self, module, data) -> dict:
        raw = _raw_targets(data.series, data.targets)
        cut = [len(r) - data.valid_len(len(r)) for r in raw]
        m = backtest(module, data.prepared, raw, data.valid_pairs, data.cfg.data.horizon, cut, data.cfg.data.season)
        data.validation = (raw, m)
        return {"validation": _public(m)}

    def reports(self, module, data, metrics, run) -> None:
        raw, m = data.validation
        pairs, actual, point, lower, upper = m["_arrays"]
        plot_forecasts(run / "plots" / "forecast_validation.png", raw, pairs, actual, point, lower, upper,
                       data.targets, "validation: the last forecast of the first series")

    def _read(self, module, paths, columns):
        from ...data.series import read_series_table

        d = module.cfg.data
        return read_series_table(paths, columns=columns, format=d.format, time_column=d.time_column,
                                 series_column=d.series_column, fill=d.fill)

    def _scales(self, module):
        g = module.pre.get("global_scale")
        return {"global": g} if g else None

    def evaluate(self, module, paths, horizon: int | None = None, backtest_start: int | None = None,
                 season: int | None = None) -> dict:
        targets, past, future = column_groups(module.cfg)
        series = self._read(module, paths, targets + past + future)
        return self.backtest_series(module, series, horizon, backtest_start, season)

    def backtest_series(self, module, series, horizon: int | None = None, backtest_start: int | None = None,
                        season: int | None = None) -> dict:
        """:meth:`evaluate` on series in hand (from
        :func:`~rnnkit.data.series.read_series_table`): forecasts from every origin from
        ``backtest_start`` on, their metrics and the baselines'."""
        pre = module.pre
        horizon = _horizon(horizon, pre)
        targets, past, future = column_groups(module.cfg)
        raw = _raw_targets(series, targets)
        L = pre["input_length"]
        if backtest_start is None:
            raise UsageError("--backtest-start: expected the position of the first forecast origin, got none")
        for s, r in zip(series, raw):
            if backtest_start < L or backtest_start + horizon > len(r):
                raise UsageError(f"--backtest-start: series {s.name!r} in {s.source!r} has {len(r)} steps; expected "
                                 f"a start K with {L} <= K <= {len(r) - horizon} (input length {L}, horizon "
                                 f"{horizon}), got {backtest_start}")
        prepared = prepare(series, module.cfg, fit_until=lambda n: backtest_start, scales=self._scales(module))
        pairs = [(i, o) for i, r in enumerate(raw) for o in range(backtest_start, len(r) - horizon + 1)]
        m = backtest(module, prepared, raw, pairs, horizon, [backtest_start] * len(raw),
                     season or module.cfg.data.season)
        return {"horizon": horizon, "backtest_start": backtest_start, **_public(m)}

    def predict(self, module, paths, out: Path, horizon: int | None = None, future_paths=None) -> int:
        """The next ``horizon`` steps after the end of each series in the history: one
        CSV row per series and step (time continued when there is a time column), the
        forecast of each target and, when the model has them, its interval
        (``_lower``, ``_upper``: 10% and 90%, or the outer quantiles). A plot beside
        ``out`` (same name, .png)."""
        from ...data.series import continue_time

        horizon = _horizon(horizon, module.pre)
        targets, past, future = column_groups(module.cfg)
        series = self._read(module, paths, targets + past + future)
        if future and not future_paths:
            raise UsageError(f"--future: the model reads future covariates ({', '.join(future)}); expected a "
                             f"file with their values for the {horizon} steps ahead, got none")
        ahead = self._read(module, future_paths, future) if future else None
        pairs, point, lower, upper = self.forecast_after(module, series, horizon, ahead)
        has_time = series[0].time is not None
        head = ["series", *(["time"] if has_time else []), "step"]
        for t in targets:
            head += [t] + ([f"{t}_lower", f"{t}_upper"] if lower is not None else [])
        rows = []
        for k, s in enumerate(series):
            times = _time_strings(continue_time(s.time, horizon)) if has_time else None
            for h in range(horizon):
                row = [s.name, *([times[h]] if has_time else []), h + 1]
                for c in range(len(targets)):
                    row.append(f"{point[k, h, c]:.6g}")
                    if lower is not None:
                        row += [f"{lower[k, h, c]:.6g}", f"{upper[k, h, c]:.6g}"]
                rows.append(row)
        write_prediction_table(out, head, rows)
        raw = _raw_targets(series, targets)
        plot_forecasts(Path(out).with_suffix(".png"), raw, pairs, None, point, lower, upper, targets,
                       f"forecast of {series[0].name}")
        return len(series) * horizon

    def forecast_after(self, module, series, horizon: int, ahead=None):
        """Forecasts of the ``horizon`` steps after the end of each of ``series`` (from
        :func:`~rnnkit.data.series.read_series_table`); ``ahead``: series holding the
        future covariates of those steps (by series name), when the model reads them.
        Returns the (series, origin) pairs and the point, lower and upper forecasts
        (N, H, C_t) in the data's units (lower/upper None without intervals)."""
        targets, past, future = column_groups(module.cfg)
        L = module.pre["input_length"]
        for s in series:
            n = len(next(iter(s.columns.values())))
            if n < L:
                raise UsageError(f"data.data: series {s.name!r} in {s.source!r} has {n} steps; expected at least the "
                                 f"input length {L}")
        prepared = prepare(series, module.cfg, scales=self._scales(module))
        fut = None
        if future:
            ahead = {s.name: s for s in ahead}
            fut = []
            for p in prepared:
                if p.name not in ahead:
                    raise UsageError(f"--future: no rows for series {p.name!r}")
                a = np.stack([ahead[p.name].columns[c] for c in future], 1)
                if len(a) < horizon:
                    raise UsageError(f"--future: series {p.name!r} has {len(a)} rows; expected {horizon}")
                nt, npst = len(targets), len(past)
                fut.append(Scaler(p.loc, p.scale).select(slice(nt + npst, None)).transform(a[:horizon]))
        pairs = [(i, len(p.target)) for i, p in enumerate(prepared)]
        point, lower, upper = module.forecast(prepared, pairs, horizon, future=fut)
        return pairs, point, lower, upper

    def describe(self, module) -> list[str]:
        pre, m = module.pre, module.cfg.model
        lines = [f"input: the last {pre['input_length']} steps of {', '.join(pre['targets'])}"
                 + (f"; past covariates {', '.join(pre['past'])}" if pre["past"] else "")
                 + (f"; future covariates {', '.join(pre['future'])}" if pre["future"] else ""),
                 f"output: {pre['horizon']} steps ahead ({m.decoder} decoder), loss {m.loss}"]
        return lines

    # ---- streaming: rows (n, targets + future covariates) -> next step's forecast ----
    def stream_refusal(self, module):
        cfg = module.cfg
        if cfg.model.decoder != "autoregressive":
            return "the direct decoder forecasts from a fixed window, not step by step (train with model.decoder autoregressive)"
        if cfg.data.scale == "series":
            return "each series was scaled by its own training part (data.scale series), unknown on a stream"
        return None

    def stream_width(self, module) -> int:
        return module.net.rnn.input_size

    def stream_values(self, module, x):
        return _stream_scale(module, x, inverse=False)

    def stream_output(self, module, y, n: int):
        from .module import point_and_interval

        m = module.cfg.model
        pt, _, _ = point_and_interval(y[:n].double(), m.loss, m.quantiles)          # (n, targets)
        return _stream_scale(module, pt.cpu().numpy(), inverse=True)

    def stream_empty(self, module):
        return np.zeros((0, len(module.pre["targets"])))


    # ---- export: direct (window -> H steps) or autoregressive (one step at each) ------
    def graph(self, module):
        import torch

        from ...export.graphs import (AutoregressiveForecastGraph, DirectFutureGraph, DirectFutureStateGraph,
                                      DirectStateGraph, DirectWindowGraph, GraphSpec, example_inputs)

        net, ex = module.net, example_inputs(module)
        B, T = ex.B, ex.T
        if net.decoder == "autoregressive":
            x = torch.zeros(B, T, net.n_targets + net.n_future, dtype=ex.dtype)
            return GraphSpec(AutoregressiveForecastGraph(net), (x, ex.lengths, *ex.states),
                             ["x", "lengths", *ex.state_names], ["out", *ex.out_state_names],
                             [{0: "batch", 1: "time"}, {0: "batch"}, *ex.dyn_state], True)
        x = torch.zeros(B, T, ex.rnn.input_size, dtype=ex.dtype)
        inputs, names, dyn = [x], ["x"], [{0: "batch", 1: "time"}]
        if net.n_future:
            inputs.append(torch.zeros(B, net.horizon, net.n_future, dtype=ex.dtype))
            names.append("future")
            dyn.append({0: "batch"})
        why = ("bidirectional: the backward direction reads the window from its end" if ex.bidir else
               "model.window_norm: each window is standardised by its own mean and std" if net.window_norm else None)
        if why is not None:
            graph = DirectFutureGraph(net) if net.n_future else DirectWindowGraph(net)
            return GraphSpec(graph, tuple(inputs), names, ["out"], dyn, False, why)
        graph = DirectFutureStateGraph(net) if net.n_future else DirectStateGraph(net)
        return GraphSpec(graph, (*inputs, *ex.states), names + ex.state_names,
                         ["out", *ex.out_state_names], dyn + ex.dyn_state, True)

    def export_json(self, module, cfg, tokenizer_file):
        from ...export.describe import floats

        pre, m = module.pre, cfg.model
        gs = pre.get("global_scale")
        n_params = {"mse": 1, "mae": 1, "gaussian": 2}.get(m.loss, len(m.quantiles))
        return {"targets": list(pre["targets"]), "past_covariates": list(pre["past"]),
                "future_covariates": list(pre["future"]), "horizon": pre["horizon"],
                "input_length": pre["input_length"], "decoder": m.decoder, "loss": m.loss,
                "quantiles": list(m.quantiles) if m.loss == "quantile" else None, "outputs_per_value": n_params,
                "scale": cfg.data.scale,
                "global_scale": None if gs is None else {"loc": floats(gs[0]), "scale": floats(gs[1])},
                "input_columns": (list(pre["targets"]) + list(pre["future"]) if m.decoder == "autoregressive"
                                  else list(pre["targets"]) + list(pre["past"]) + list(pre["future"]))}

    # ---- baseline verdict: MASE (RMSE without a season) against naive, seasonal naive
    # and the window ridge regression, each under metrics["validation"]["baselines"]
    verdict_metrics = ("mase", "rmse")
    higher_is_better = False

    def baseline_figures(self, metrics):
        return dict((metrics.get("validation") or {}).get("baselines") or {})

    def baseline_suggestions(self, cfg, kind):
        d = cfg.data
        want = {}
        if d.season and d.input_length is not None and d.input_length < 2 * d.season:
            want["data.input_length"] = 2 * d.season
        want["model.loss"] = "mae"
        if cfg.model.decoder == "direct" and cfg.model.window_norm is not None:
            # the other reading of the windows: each standardised alone loses the level a
            # series swings around (lynx, elnino lost to seasonal naive with it on;
            # benchmarks/README.md, "The full benchmark at 120 s")
            want["model.window_norm"] = not cfg.model.window_norm
        return want

def _stream_scale(module, x, inverse: bool):
    """Rows of a stream in the model's units (``inverse``: forecasts back in the
    data's), by the global scale fitted in training; unchanged without one."""
    pre = module.pre
    gs = pre.get("global_scale")
    if gs is None:
        return x
    scaler = Scaler.from_state(gs)
    nt, npst = len(pre["targets"]), len(pre["past"])
    if inverse:
        return scaler.select(slice(0, nt)).inverse(x)
    cols = list(range(nt)) + list(range(nt + npst, len(scaler.mean)))    # targets, then future covariates
    return scaler.select(cols).transform(x, dtype=np.float64)


FORECAST = ForecastSpec()
