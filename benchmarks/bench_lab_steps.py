"""The long-range lab's cost per training step at long sequences: what
``rnnkit.lab.long_range.sizes_for`` (the batch and set sizes by length) was chosen from.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_lab_steps.py [--cells rnn,lstm,gru] [--lengths 1000,5000]
                                                           [--batches 16,64] [--hidden-size 64] [--json PATH]

For each cell, length T and batch size B: the lab's own model (the adding task: 2
features in, the last output to a number; ``LongRangeModule``) takes 3 Adam steps on
one batch of the adding task, and the best of them is reported (forward, backward,
update), with one evaluation pass over the same batch (no gradient) and the process's
peak resident memory so far (``ru_maxrss``: it only grows, so read it in the order
printed, smallest configurations first).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path


def measure(cell: str, T: int, B: int, hidden: int) -> dict:
    import torch

    from rnnkit.config import ModelConfig
    from rnnkit.data.synthetic import adding_problem
    from rnnkit.lab.long_range import LongRangeModule

    torch.manual_seed(0)
    module = LongRangeModule("adding", ModelConfig(cell=cell, hidden_size=hidden, num_layers=1, dropout=0.0), 1e-3)
    module.log = lambda *a, **k: None                  # no trainer here
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    d = adding_problem(B, T, 1)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        loss = module.training_step((d.x, d.y), 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        start = time.perf_counter()
        module.metric(d.x, d.y)
        ev = time.perf_counter() - start
    return {"cell": cell, "length": T, "batch": B, "train_step_s": round(min(times), 4), "eval_s": round(ev, 4),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="rnn,lstm,gru")
    ap.add_argument("--lengths", default="1000,5000")
    ap.add_argument("--batches", default="16,64")
    ap.add_argument("--hidden-size", type=int, default=64)
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the rows as JSON")
    args = ap.parse_args()
    import torch

    rows = []
    print(f"threads {torch.get_num_threads()}, hidden {args.hidden_size}")
    print("| cell | T | batch | train step (s) | eval pass (s) | peak RSS so far (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for cell in args.cells.split(","):
        for T in map(int, args.lengths.split(",")):
            for B in map(int, args.batches.split(",")):
                r = measure(cell, T, B, args.hidden_size)
                rows.append(r)
                print(f"| {cell} | {T} | {B} | {r['train_step_s']:.3f} | {r['eval_s']:.3f} | {r['peak_rss_mb']} |",
                      flush=True)
    if args.json:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _common import git_state, write_json

        write_json(Path(args.json), {"benchmark": "lab_steps", "git": git_state(), "threads": torch.get_num_threads(),
                                     "hidden_size": args.hidden_size, "rows": rows})


if __name__ == "__main__":
    main()
