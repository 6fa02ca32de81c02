"""Forecasting training throughput of ``rnnkit train forecast`` against a plain PyTorch
script with torch.nn.LSTM on the same windows, on CPU.

Usage::

    python benchmarks/bench_forecast.py [--quick] [--repeats N] [--warmup N] [--steps N] [--json PATH]

Data: one CSV in long layout, ``--series`` series of ``--length`` steps (a seasonal
signal with a trend and noise, one past covariate). Both sides cut the same windows
(input 64 steps of target and covariate, horizon 12), scale each series by its own
training part, and train the same model: LSTM 1 x 128 -> final state -> linear to the
12 steps, MSE, Adam 1e-3, clipping 5, batch 64, dropout 0.

* ``rnnkit``: :func:`rnnkit.training.train` on task forecast (what ``rnnkit train
  forecast`` calls), Lightning included.
* ``plain``: a hand-written loop: a shuffled DataLoader over a tensor of windows,
  ``torch.nn.LSTM(batch_first=True)``, ``h_n[-1]`` -> ``nn.Linear``.

Measured: windows per second over ``--steps`` optimiser steps after ``--warmup`` (for
rnnkit a Lightning callback reads the clock at the end of each batch). ``--repeats``
rounds (5), both sides each round, the order reversed every other round; medians; the
ratio is rnnkit / plain (target: at least 0.9), printed with each round's own ratio
(the spread says how noisy the machine was).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, git_state, step_clock, timed_loop, write_json  # noqa: E402

L, H, HID, BATCH, LR, CLIP, VALID = 64, 12, 128, 64, 1e-3, 5.0, 0.05


def make_csv(path: Path, n_series: int, length: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_series):
        t = np.arange(length)
        cov = np.sin(2 * np.pi * t / 24 + k) + rng.normal(0, 0.1, length)
        y = 0.01 * t + 3 * np.sin(2 * np.pi * t / 24 + 0.3 * k) + 0.5 * cov + rng.normal(0, 0.3, length)
        frames.append(pd.DataFrame({"id": f"s{k}", "y": y, "cov": cov}))
    pd.concat(frames).to_csv(path, index=False)


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, HID, batch_first=True)
        self.out = nn.Linear(HID, H)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.out(h[-1])


def run_plain(path: Path, warmup: int, steps: int, seed: int) -> dict:
    torch.use_deterministic_algorithms(False)     # a plain script runs with torch's defaults
    df = pd.read_csv(path)
    xs, ys = [], []
    for _, g in df.groupby("id", sort=False):
        v = g[["y", "cov"]].to_numpy(np.float64)
        n = len(v)
        cut = n - max(H, int(round(n * VALID)))
        z = ((v - v[:cut].mean(0)) / v[:cut].std(0)).astype(np.float32)
        for o in range(L, cut - H + 1):
            xs.append(z[o - L:o])
            ys.append(z[o:o + H, 0])
    data = torch.utils.data.TensorDataset(torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys)))
    torch.manual_seed(seed)
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    model = Plain()
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def step(batch):
        x, y = batch
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        float(loss.detach())

    timed = timed_loop(loader, warmup, steps, step, lambda b: len(b[0]))
    times = [t for t, _ in timed]
    return {"seconds": sum(times), "windows": sum(n for _, n in timed), "step_times": times, "train_windows": len(xs)}


def run_rnnkit(path: Path, out: Path, warmup: int, steps: int, seed: int) -> dict:
    from rnnkit.config import RunConfig
    from rnnkit.training import train

    cfg = RunConfig.from_dict({
        "task": "forecast",
        "model": {"cell": "lstm", "hidden_size": HID, "num_layers": 1, "dropout": 0.0, "loss": "mse",
                  "decoder": "direct"},
        "data": {"data": [str(path)], "target": ["y"], "covariates": ["cov"], "series_column": "id", "horizon": H,
                 "input_length": L, "valid_fraction": VALID},
        "train": {"lr": LR, "batch_size": BATCH, "max_steps": warmup + steps, "max_epochs": 100,
                  "val_every_n_steps": warmup + steps,   # as the plain loop: no validation between the timed steps
                  "seed": seed,
                  "gradient_clip": CLIP, "lr_schedule": "none", "early_stopping_patience": None,
                  "progress_bar": False, "accelerator": "cpu", "log_every_n_steps": 50}})
    clock = step_clock(warmup, lambda b: len(b["x"]))
    train(cfg, out, overwrite=True, extra_callbacks=[clock])
    times = [t for t, _ in clock.timed]
    return {"seconds": sum(times), "windows": sum(n for _, n in clock.timed), "step_times": times}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--series", type=int, default=20)
    ap.add_argument("--length", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--json", default=str(HERE / "results" / "forecast_cpu.json"))
    args = ap.parse_args(argv)
    if args.quick:
        args.series, args.length, args.repeats, args.warmup, args.steps = 4, 600, 1, 3, 10
    tmp = Path(tempfile.mkdtemp(prefix="bench_forecast_"))
    make_csv(tmp / "series.csv", args.series, args.length)
    rounds = []
    for r in range(args.repeats):
        got = {}
        for side in (["rnnkit", "plain"] if r % 2 == 0 else ["plain", "rnnkit"]):
            got[side] = (run_rnnkit(tmp / "series.csv", tmp / "run", args.warmup, args.steps, r) if side == "rnnkit"
                         else run_plain(tmp / "series.csv", args.warmup, args.steps, r))
            print(f"round {r + 1} {side:<7} {got[side]['windows'] / got[side]['seconds']:9.1f} windows/s",
                  file=sys.stderr)
        rounds.append(got)
    res = {side: {"windows_per_s": statistics.median(rd[side]["windows"] / rd[side]["seconds"] for rd in rounds),
                  "median_step_s": statistics.median(t for rd in rounds for t in rd[side]["step_times"])}
           for side in ("rnnkit", "plain")}
    ratio = res["rnnkit"]["windows_per_s"] / res["plain"]["windows_per_s"]
    per_round = [(rd["rnnkit"]["windows"] / rd["rnnkit"]["seconds"]) / (rd["plain"]["windows"] / rd["plain"]["seconds"])
                 for rd in rounds]
    print("| side | windows/s | median step (s) |")
    print("|---|---|---|")
    for side in ("rnnkit", "plain"):
        print(f"| {side} | {res[side]['windows_per_s']:.1f} | {res[side]['median_step_s']:.4f} |")
    print(f"\nrnnkit / plain (windows per second): {ratio:.2f}  (target >= 0.9)")
    print("each round: " + " ".join(f"{r:.2f}" for r in per_round))
    write_json(Path(args.json), {
        "benchmark": "forecast training throughput", "ratio_rnnkit_over_plain": ratio,
        "ratio_each_round": per_round, "results": res,
        "rounds": rounds, "config": {**vars(args), "input_length": L, "horizon": H, "hidden": HID, "batch": BATCH},
        "environment": {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                        "python": platform.python_version(), **git_state()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
