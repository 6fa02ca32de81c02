"""What each regulariser costs a training step: forward+backward of a 2 x 256
rnnkit.LSTM (batch 32, 128 steps, 64 inputs, train mode) with each regulariser alone,
side by side in one run, the median of the last 3 of 4 rounds, and its ratio to the
plain layer.

    OMP_NUM_THREADS=1 python benchmarks/_regularisers_speed.py

Weight drop and locked dropout between layers stay on the fused / unrolled paths;
zoneout and layer norm change the step and run on the step-by-step path
(rnnkit.nn.stepwise, a Python loop under autograd).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import torch  # noqa: E402

import rnnkit  # noqa: E402

CASES = [("plain", {}), ("weight_drop 0.5", {"weight_drop": 0.5}),
         ("locked dropout between layers", {"dropout": 0.25, "locked_dropout": True}),
         ("zoneout 0.1", {"zoneout": 0.1}), ("layer_norm", {"layer_norm": True})]


def main() -> int:
    torch.manual_seed(0)
    x = torch.randn(32, 128, 64)
    res = {}
    for name, kw in CASES:
        m = rnnkit.LSTM(64, 256, num_layers=2, batch_first=True, **kw).train()
        ts = []
        for _ in range(4):
            t = time.perf_counter()
            y, _ = m(x)
            y.sum().backward()
            ts.append(time.perf_counter() - t)
        res[name] = sorted(ts[1:])[1]
    print("| LSTM 2 x 256, B 32, T 128 | forward+backward | / plain |\n|---|---:|---:|")
    for name, v in res.items():
        print(f"| {name} | {v * 1000:.0f} ms | {v / res['plain']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
