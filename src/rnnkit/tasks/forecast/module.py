"""Forecasting (many-to-many, unaligned): the next H values of one or more target
series from their past, past covariates and covariates known ahead.

One global model is trained on windows of every series. Each series is scaled by its
own training part (``data.scale=series``; ``global``: one scale over all series; ``none``)
and forecasts are scaled back. Two decoders:

* ``direct`` (multi-horizon head, as MQ-RNN): the recurrent stack reads the last L
  steps (targets, past covariates, future covariates at those steps); its final state
  and the future covariates of the H steps ahead go through one linear layer to all H
  steps at once:  ŷ_{t+1..t+H} = W [h_t ; c_{t+1..t+H}] + b.
* ``autoregressive`` (as DeepAR): the model predicts one step ahead from
  [y_t ; c_{t+1}] at every step (trained on all positions of the window, teacher
  forcing); a forecast feeds its own point prediction back for H steps.

Outputs per target and step: one value (``model.loss=mse`` or ``mae``), a mean and a scale
(``gaussian``, negative log-likelihood) or one value per level of ``model.quantiles``
(``quantile``, pinball loss). The last two give prediction intervals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
from torch import Tensor

from ...config import RunConfig
from ...data.scaling import Scaler, fit_scalers
from ...data.splits import check_fraction, tail_size
from ...errors import UsageError
from ..base import TaskModule
from ..registry import with_task_defaults

from .network import Forecaster, loss_fn, point_and_interval  # noqa: F401  (also rnnkit.tasks.forecast.<name>)


# ---- series, scaling and windows ------------------------------------------------------------
@dataclass
class Prepared:
    """One series as the model sees it: float32 (T, C) blocks, scaled."""

    name: str
    target: np.ndarray      # (T, C_t)
    past: np.ndarray        # (T, C_p)
    future: np.ndarray      # (T, C_f)
    loc: np.ndarray         # (C_t + C_p + C_f,) what was subtracted
    scale: np.ndarray       # (C_t + C_p + C_f,) what it was divided by
    time: np.ndarray | None
    source: str


def column_groups(cfg: RunConfig) -> tuple[list[str], list[str], list[str]]:
    d = cfg.data
    if not d.target:
        raise UsageError("data.target: expected the column(s) to forecast, COL[,COL...], got none")
    targets, past, future = list(d.target), list(d.covariates or []), list(d.future_covariates or [])
    seen = {}
    for group, cols in (("data.target", targets), ("data.covariates", past), ("data.future_covariates", future)):
        for c in cols:
            if c in seen:
                raise UsageError(f"{group}: column {c!r} is already given to {seen[c]}; expected each column once")
            seen[c] = group
    return targets, past, future


def prepare(series, cfg: RunConfig, fit_until=None, scales: dict | None = None) -> list[Prepared]:
    """Series (from :func:`rnnkit.data.series.read_series_table`) as scaled arrays.
    Scales are fitted on each series' first ``fit_until(T)`` steps (its training part),
    or taken from ``scales`` (``{"global": (loc, scale)}``)."""
    targets, past, future = column_groups(cfg)
    cols = targets + past + future
    raw = [np.stack([s.columns[c] for c in cols], axis=1).astype(np.float64) for s in series]   # (T, C)
    upto = [fit_until(len(r)) if fit_until else len(r) for r in raw]
    if scales is not None and "global" in scales:
        g = [Scaler.from_state(scales["global"])] * len(raw)
    else:
        g = fit_scalers([r[:u] for r, u in zip(raw, upto)], cfg.data.scale)
    out = []
    nt, npst = len(targets), len(past)
    for s, r, sc in zip(series, raw, g):
        z = sc.transform(r)
        out.append(Prepared(s.name, z[:, :nt], z[:, nt:nt + npst], z[:, nt + npst:], sc.mean, sc.std, s.time,
                            s.source))
    return out


def window_origins(n: int, L: int, H: int, start: int, end: int, stride: int) -> list[int]:
    """Forecast origins o (the first step forecast) with o - L >= 0, o >= start and o + H <= end."""
    first = max(L, start)
    return list(range(first, end - H + 1, stride))


class Windows(torch.utils.data.Dataset):
    """(series, origin) pairs -> training examples, gathered a batch at a time
    (``__getitems__``) by indexing one tensor of all series: the windows overlap, so
    none is copied out in advance."""

    def __init__(self, prepared: list[Prepared], pairs: list[tuple[int, int]], L: int, H: int, decoder: str):
        self.pairs, self.L, self.H, self.decoder = pairs, L, H, decoder
        lengths = [len(p.target) for p in prepared]
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.starts = torch.tensor([offsets[s] + o for s, o in pairs], dtype=torch.int64)   # global origin
        cat = lambda xs: torch.from_numpy(np.concatenate(xs, axis=0))                          # noqa: E731
        self.target = cat([p.target for p in prepared])                                        # (sum T, C_t)
        self.future = cat([p.future for p in prepared])                                        # (sum T, C_f)
        if decoder == "autoregressive":
            # row t: [y_t ; c_{t+1}] (the last row of each series is never read)
            self.inputs = cat([np.concatenate([p.target, np.roll(p.future, -1, axis=0)], 1) for p in prepared])
        else:
            self.inputs = cat([np.concatenate([p.target, p.past, p.future], 1) for p in prepared])   # (sum T, F)

    def __len__(self):
        return len(self.pairs)

    def __getitems__(self, idx):
        g = self.starts[torch.as_tensor(idx)][:, None]                       # (B, 1) global origins
        L, H = self.L, self.H
        if self.decoder == "autoregressive":
            return {"x": self.inputs[g + torch.arange(-L, H - 1)],           # (B, L+H-1, C_t+C_f)
                    "y": self.target[g + torch.arange(-L + 1, H)]}           # (B, L+H-1, C_t)
        return {"x": self.inputs[g + torch.arange(-L, 0)],                   # (B, L, F)
                "future": self.future[g + torch.arange(0, H)],               # (B, H, C_f)
                "y": self.target[g + torch.arange(0, H)]}                    # (B, H, C_t)

    def __getitem__(self, i):
        return {k: v[0] for k, v in self.__getitems__([i]).items()}


def _batch(items):
    """DataLoader's collate for :class:`Windows`: the batch is gathered already."""
    return items


class ForecastTask(TaskModule):
    """The LightningModule of ``rnnkit train forecast``."""

    def __init__(self, config: dict, preprocessing: dict):
        super().__init__(config, preprocessing)
        self.pre = preprocessing
        m = self.cfg.model
        if m.bidirectional is None:
            m = dataclasses.replace(m, bidirectional=False)
        self.net = Forecaster(m, len(preprocessing["targets"]), len(preprocessing["past"]),
                              len(preprocessing["future"]), preprocessing["horizon"])

    def _loss(self, batch):
        m = self.cfg.model
        if m.decoder == "autoregressive":
            out, _ = self.net(batch["x"])
            # the loss of the whole window (all positions), as DeepAR trains
            return loss_fn(out.float(), batch["y"], m.loss, m.quantiles)
        out = self.net(batch["x"], batch.get("future"))
        return loss_fn(out.float(), batch["y"], m.loss, m.quantiles)

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log_train_loss(loss, len(batch["x"]))
        return loss

    def validation_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("val_loss", loss, on_epoch=True, prog_bar=True, batch_size=len(batch["x"]), sync_dist=True)

    @torch.no_grad()
    def forecast(self, prepared: list[Prepared], origins: list[tuple[int, int]], horizon: int,
                 future: list[np.ndarray] | None = None, batch_size: int = 256):
        """Forecasts from each (series, origin): point, lower, upper, each (N, H, C_t) in
        the data's units (lower/upper None without intervals). ``future``: per pair,
        the scaled future covariates of the H steps ahead when they are not in the
        series itself (forecasting past its end)."""
        self.eval()
        m, pre = self.cfg.model, self.pre
        L = pre["input_length"]
        if m.decoder == "direct" and horizon > pre["horizon"]:
            raise UsageError(f"data.horizon: the direct decoder was trained for {pre['horizon']} steps; expected at "
                             f"most {pre['horizon']}, got {horizon} (train with model.decoder autoregressive to "
                             f"forecast further)")
        points, lows, highs = [], [], []
        for b in range(0, len(origins), batch_size):
            chunk = origins[b:b + batch_size]
            futs = [self._future(prepared[s], o, horizon, None if future is None else future[b + i])
                    for i, (s, o) in enumerate(chunk)]
            if m.decoder == "autoregressive":
                out = self._rollout(prepared, chunk, futs, horizon, L)
            else:
                x = torch.stack([torch.from_numpy(np.concatenate(
                    [prepared[s].target[o - L:o], prepared[s].past[o - L:o], prepared[s].future[o - L:o]], 1))
                    for s, o in chunk])
                fut = torch.stack([torch.from_numpy(np.pad(f, ((0, pre["horizon"] - horizon), (0, 0))))
                                   for f in futs])
                out = self.net(x.to(self.device), fut.to(self.device)).float().cpu()[:, :horizon]
            pt, lo, hi = point_and_interval(out, m.loss, m.quantiles)
            nt = len(pre["targets"])
            loc = torch.tensor(np.stack([prepared[s].loc[:nt] for s, _ in chunk]), dtype=torch.float64)[:, None]
            sc = torch.tensor(np.stack([prepared[s].scale[:nt] for s, _ in chunk]), dtype=torch.float64)[:, None]
            points.append((pt.double() * sc + loc).numpy())
            if lo is not None:
                lows.append((lo.double() * sc + loc).numpy())
                highs.append((hi.double() * sc + loc).numpy())
        cat = (lambda xs: np.concatenate(xs)) if points else (lambda xs: np.zeros((0, horizon, 0)))
        return cat(points), (cat(lows) if lows else None), (cat(highs) if highs else None)

    @staticmethod
    def _future(p: Prepared, o: int, horizon: int, given):
        if given is not None:
            return np.asarray(given, dtype=np.float32)
        f = p.future[o:o + horizon]
        if len(f) < horizon and p.future.shape[1]:
            raise UsageError(f"--future: the model reads future covariates; expected their values for the "
                             f"{horizon} steps after the history of series {p.name!r}, got {len(f)}")
        return np.zeros((horizon, p.future.shape[1]), dtype=np.float32) if not p.future.shape[1] else f

    def _rollout(self, prepared, chunk, futs, horizon: int, L: int) -> Tensor:
        m = self.cfg.model
        nt = len(self.pre["targets"])
        # warm up on the history: inputs [y_t ; c_{t+1}] for t in [o-L, o-1)
        x = torch.stack([torch.from_numpy(np.concatenate(
            [prepared[s].target[o - L:o - 1], prepared[s].future[o - L + 1:o]], 1)) for s, o in chunk])
        _, state = self.net(x.to(self.device))
        last = torch.stack([torch.from_numpy(prepared[s].target[o - 1]) for s, o in chunk]).to(self.device)
        outs = []
        for h in range(horizon):
            c = torch.stack([torch.from_numpy(f[h]) for f in futs]).to(self.device)
            out, state = self.net(torch.cat([last, c], 1)[:, None], state)     # (B, 1, C_t, P)
            outs.append(out[:, 0])
            pt, _, _ = point_and_interval(out[:, 0], m.loss, m.quantiles)
            last = pt.reshape(len(chunk), nt).to(last.dtype)
        return torch.stack(outs, 1).float().cpu()                             # (B, H, C_t, P)


def auto_input_length(horizon: int, season: int | None, train_steps: int) -> int:
    """The input length when none is given: three horizons or two seasons, whichever is
    longer (at least 8 steps), but at most half of the shortest series' training part,
    so that windows remain to learn from."""
    want = max(3 * horizon, 2 * season if season else 0, 8)
    return max(1, min(want, (train_steps - horizon) // 2))


class ForecastData(L.LightningDataModule):
    """Series read and checked, scaled by their training part, cut into windows; the
    last ``max(horizon, valid_fraction x T)`` steps of every series are validation
    forecasts (their inputs may reach back into the training part). ``memory``
    (:class:`~rnnkit.data.memory.InMemory` whose ``train`` is a list of
    :class:`~rnnkit.data.series.Series`) gives the series instead of the files of ``data``."""

    def __init__(self, cfg: RunConfig, preprocessing: dict | None = None, memory=None):
        super().__init__()
        from ...data.series import read_series_table

        d = cfg.data
        self.cfg = cfg = with_task_defaults(cfg, "values")
        if not d.data and memory is None:
            raise UsageError("data.data: expected a CSV, Parquet or NumPy file of series, got none")
        if d.horizon is None or d.horizon < 1:
            raise UsageError(f"data.horizon: expected a positive number of steps to forecast, got {d.horizon}")
        for name, v in (("input_length", d.input_length), ("stride", d.stride)):
            if v is not None and v < 1:
                raise UsageError(f"--{name.replace('_', '-')}: expected a positive integer, got {v}")
        if d.season is not None and d.season < 1:
            raise UsageError(f"data.season: expected a positive integer, got {d.season}")
        check_fraction(d.valid_fraction)
        self.targets, self.past, self.future = column_groups(cfg)
        if cfg.model.decoder == "autoregressive" and self.past:
            raise UsageError("data.covariates: the autoregressive decoder needs every input ahead, and past "
                             "covariates are unknown there; expected model.decoder direct, got autoregressive")
        if cfg.model.decoder == "autoregressive" and cfg.model.bidirectional:
            raise UsageError("model.bidirectional: the autoregressive decoder reads left to right; expected "
                             "bidirectional false, got true")
        if cfg.model.window_norm is None and preprocessing is None:
            # on with the direct decoder: mean MASE over 8 series 0.653 against 1.090 without
            # (benchmarks/README.md, "The full benchmark at 120 s"); a run saved before the
            # option (null in its config) was trained without it
            self.cfg = cfg = dataclasses.replace(cfg, model=dataclasses.replace(
                cfg.model, window_norm=cfg.model.decoder == "direct"))
        H = d.horizon
        self.files = [] if memory is not None else None      # None: the series' sources
        if memory is not None:
            self.series = list(memory.train)
        else:
            self.series = read_series_table(d.data, columns=self.targets + self.past + self.future,
                                            format=d.format, time_column=d.time_column,
                                            series_column=d.series_column, fill=d.fill)
        if preprocessing is not None:
            L = preprocessing["input_length"]
        elif d.input_length is not None:
            L = d.input_length
        else:
            shortest = min(len(next(iter(s.columns.values()))) for s in self.series)
            L = auto_input_length(H, d.season, shortest - self.valid_len(shortest))
        self.input_length = L
        for s in self.series:
            n = len(next(iter(s.columns.values())))
            need = L + H + self.valid_len(n)
            if n < need:
                raise UsageError(f"data.data: series {s.name!r} in {s.source!r} has {n} steps; expected at least "
                                 f"{need} (input length {L} + horizon {H} for training, and the last "
                                 f"{self.valid_len(n)} steps held out for validation)")
        self.prepared = prepare(self.series, cfg, fit_until=lambda n: n - self.valid_len(n))
        train_pairs, valid_pairs = [], []
        for i, p in enumerate(self.prepared):
            n = len(p.target)
            cut = n - self.valid_len(n)
            train_pairs += [(i, o) for o in window_origins(n, L, H, 0, cut, d.stride)]
            valid_pairs += [(i, o) for o in window_origins(n, L, H, cut, n, 1)]
        self.train_pairs, self.valid_pairs = train_pairs, valid_pairs
        self.batch_size, self.seed = cfg.train.batch_size, cfg.train.seed
        if cfg.data.scale == "global":
            self.global_scale = (self.prepared[0].loc.tolist(), self.prepared[0].scale.tolist())
        else:
            self.global_scale = None

    def valid_len(self, n: int) -> int:
        return tail_size(n, self.cfg.data.valid_fraction, at_least=self.cfg.data.horizon)

    def preprocessing(self) -> dict:
        s0 = self.series[0]
        time_kind = None if s0.time is None else str(s0.time.dtype)
        files = self.files if self.files is not None else sorted({s.source for s in self.series})
        return {"targets": self.targets, "past": self.past, "future": self.future,
                "horizon": self.cfg.data.horizon, "input_length": self.input_length,
                "global_scale": self.global_scale, "time_dtype": time_kind,
                "data": {"files": len(files), "first_files": files[:3],
                         "series": len(self.series), "train_windows": len(self.train_pairs),
                         "valid_forecasts": len(self.valid_pairs)}}

    def train_dataloader(self):
        ds = Windows(self.prepared, self.train_pairs, self.input_length, self.cfg.data.horizon,
                     self.cfg.model.decoder)
        g = torch.Generator().manual_seed(self.seed)
        return torch.utils.data.DataLoader(ds, batch_size=self.batch_size, shuffle=True, generator=g,
                                           collate_fn=_batch)

    def val_dataloader(self):
        ds = Windows(self.prepared, self.valid_pairs, self.input_length, self.cfg.data.horizon,
                     self.cfg.model.decoder)
        return torch.utils.data.DataLoader(ds, batch_size=max(self.batch_size, 256), shuffle=False,
                                           collate_fn=_batch)
