"""Streaming prediction over long records: memory and throughput of ``rnnkit predict``
with a unidirectional tagger, on CPU.

Usage::

    python benchmarks/bench_stream.py [--sizes 1000000,10000000] [--hidden-size 128] [--layers 1]
                                      [--threads 1] [--json PATH]
                                      [--steps 20000] [--chunks 1,16,256] [--only-steps]

Model: a 1-channel tagger, LSTM (``--layers`` x ``--hidden-size``, unidirectional) ->
linear to 3 labels, weights as initialised (the time and memory of a pass do not
depend on their values), saved as a run directory. Records: one ``.npy`` of float32
noise per size (10M samples = 40 MB), written with ``np.save``.

Each size runs in a fresh process, which imports rnnkit, loads the run, labels a
1,000-sample record (so that every module and kernel is loaded), reads its peak
resident memory (``ru_maxrss``: the baseline), then labels the record exactly as
``rnnkit predict RUN --data REC --out labels.csv`` does (chunks of
``rnnkit.tasks.tag.STREAM_CHUNK`` samples, state carried, a CSV row per sample with
the label and each label's probability written as it goes), and reads the peak again.

Measured: samples per second of the whole call (reading, the network, the CSV), and
the peak memory above the baseline. Constant memory means the figure for 10M samples
is about that for 1M: the script prints their ratio.

Linux keeps ``ru_maxrss`` across ``execve``, so a child would start from its parent's
peak: this script's own process imports neither numpy nor torch, and the run and the
records are made in child processes too.

Then, side by side in one child process: ``rnnkit.Stream`` against a plain torch.nn
loop doing the same (``nn.LSTM`` and ``nn.Linear`` with the run's weights, the state
carried, softmax to label probabilities as numpy), at batch 1, feeding ``--steps``
samples in chunks of each size of ``--chunks`` (1: one sample per call, the latency
case). Printed: steps per second of each and their ratio, after checking that both
give the same probabilities. ``--only-steps`` runs this part alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAGS = ["none", "event_a", "event_b"]


def make_run(run: Path, hidden: int, layers: int) -> None:
    import numpy as np
    import torch

    from rnnkit.tasks.tag import TagTask

    config = {"task": "tag", "model": {"cell": "lstm", "hidden_size": hidden, "num_layers": layers,
                                       "bidirectional": False, "dropout": 0.0}}
    pre = {"kind": "signal", "channels": ["0"], "tags": TAGS, "background": "none", "scale": None, "window": None}
    torch.manual_seed(0)
    task = TagTask(config, pre)
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"hyper_parameters": dict(task.hparams), "state_dict": task.state_dict()},
               run / "checkpoints" / "best.ckpt")
    np.save(run / "warm.npy", np.random.default_rng(1).normal(size=1000).astype(np.float32))


def make_record(path: Path, n: int) -> None:
    """float32 noise, written in pieces of 1M samples (little memory)."""
    import numpy as np

    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n,))
    for s in range(0, n, 1_000_000):
        out[s:s + 1_000_000] = rng.normal(size=min(1_000_000, n - s)).astype(np.float32)
    out.flush()
    del out


def child(run: str, record: str, warm: str, out: str, threads: int) -> None:
    """One measurement, in this (fresh) process; prints one JSON line."""
    import resource

    import torch

    torch.set_num_threads(threads)
    from rnnkit.tasks import get_task
    from rnnkit.tasks.tag import STREAM_CHUNK
    from rnnkit.training import load_run

    module, cfg = load_run(run)
    task = get_task("tag")
    task.predict(module, [warm], Path(out))               # load every module and kernel once
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    rows = task.predict(module, [record], Path(out))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "baseline_mb": base / 1024, "peak_mb": peak / 1024,
                      "output_mb": os.path.getsize(out) / 2**20, "chunk": STREAM_CHUNK}))


def child_steps(run: str, steps: int, chunks: str, threads: int) -> None:
    """rnnkit.Stream against a plain torch.nn loop at batch 1; prints one JSON line."""
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    import rnnkit
    from rnnkit.training import load_run

    module, _ = load_run(run)
    rnn, head = module.net.encoder.rnn, module.net.head
    ref = nn.LSTM(rnn.input_size, rnn.hidden_size, rnn.num_layers, batch_first=True)
    ref.load_state_dict(nn.LSTM.state_dict(rnn))
    ref_head = nn.Linear(head.in_features, head.out_features)
    ref_head.load_state_dict(head.state_dict())
    ref.eval()
    x = np.random.default_rng(0).normal(size=(steps, 1)).astype(np.float32)

    def torch_loop(size):
        state, out = None, []
        with torch.no_grad():
            for s in range(0, steps, size):
                y, state = ref(torch.from_numpy(x[s:s + size])[None], state)
                out.append(torch.softmax(ref_head(y[0]), -1).numpy())
        return out

    def stream(size):
        st = rnnkit.Stream(module)
        return [st.feed(x[s:s + size]) for s in range(0, steps, size)]

    rows = []
    for size in [int(c) for c in chunks.split(",")]:
        a, b = np.concatenate(stream(size)), np.concatenate(torch_loop(size))
        assert np.abs(a - b).max() < 1e-5, np.abs(a - b).max()
        best = {}
        for name, fn in (("stream", stream), ("torch_nn", torch_loop)) * 3:   # interleaved, best of 3
            start = time.perf_counter()
            fn(size)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
        rows.append({"chunk": size, "stream_steps_per_s": steps / best["stream"],
                     "torch_nn_steps_per_s": steps / best["torch_nn"],
                     "ratio": best["torch_nn"] / best["stream"]})
    print(json.dumps(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="record lengths in samples, comma-separated")
    ap.add_argument("--hidden-size", type=int, default=128)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the network runs at batch 1)")
    ap.add_argument("--json", default=str(HERE / "results" / "stream_cpu.json"))
    ap.add_argument("--child", nargs=4, metavar=("RUN", "RECORD", "WARM", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--make-run", metavar="RUN", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=20000, help="samples fed to rnnkit.Stream and the torch.nn loop")
    ap.add_argument("--chunks", default="1,16,256", help="chunk sizes (samples per call), comma-separated")
    ap.add_argument("--only-steps", action="store_true", help="only the rnnkit.Stream / torch.nn comparison")
    ap.add_argument("--child-steps", metavar="RUN", help=argparse.SUPPRESS)
    ap.add_argument("--make-record", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child, args.threads)
    if args.child_steps:
        return child_steps(args.child_steps, args.steps, args.chunks, args.threads)
    if args.make_run:
        return make_run(Path(args.make_run), args.hidden_size, args.layers)
    if args.make_record:
        return make_record(Path(args.make_record[0]), int(args.make_record[1]))

    def call(*flags):
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        return subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--hidden-size",
                               str(args.hidden_size), "--layers", str(args.layers), *flags],
                              check=True, capture_output=True, text=True, env=env).stdout

    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_stream_") as tmp:
        tmp = Path(tmp)
        call("--make-run", str(tmp / "run"))
        steps = json.loads(call("--child-steps", str(tmp / "run"), "--steps", str(args.steps), "--chunks",
                                args.chunks).strip().splitlines()[-1])
        print(f"\nrnnkit.Stream against a plain torch.nn loop, LSTM {args.layers} x {args.hidden_size} tagger, "
              f"batch 1, {args.threads} thread(s), {args.steps:,} samples\n")
        print("| chunk (samples per call) | rnnkit.Stream steps/s | torch.nn loop steps/s | Stream / torch.nn |")
        print("|---:|---:|---:|---:|")
        for r in steps:
            print(f"| {r['chunk']:,} | {r['stream_steps_per_s']:,.0f} | {r['torch_nn_steps_per_s']:,.0f} | "
                  f"{r['ratio']:.2f} |")
        if args.only_steps:
            sys.path.insert(0, str(HERE))
            from _common import git_state, write_json

            path = Path(args.json).with_name("stream_steps_cpu.json")
            write_json(path, {"benchmark": "stream_steps", "git": git_state(), "threads": args.threads,
                              "steps": args.steps, "model": {"cell": "lstm", "hidden_size": args.hidden_size,
                                                             "num_layers": args.layers}, "results": steps})
            print(f"wrote {path}")
            return
        for n in sizes:
            record = tmp / f"record_{n}.npy"
            call("--make-record", str(record), str(n))
            done = call("--child", str(tmp / "run"), str(record), str(tmp / "run" / "warm.npy"),
                        str(tmp / "labels.csv"))
            r = json.loads(done.strip().splitlines()[-1])
            assert r["rows"] == n, r
            r.update(samples=n, record_mb=record.stat().st_size / 2**20, samples_per_s=n / r["seconds"],
                     extra_mb=r["peak_mb"] - r["baseline_mb"])
            results.append(r)
            record.unlink()
            print(f"{n:>12,} samples  {r['seconds']:8.1f} s  {r['samples_per_s']:>10,.0f} samples/s  "
                  f"peak {r['peak_mb']:7.1f} MB  baseline {r['baseline_mb']:7.1f} MB  extra {r['extra_mb']:6.1f} MB",
                  file=sys.stderr, flush=True)
    chunk = results[0]["chunk"]
    ratio = results[-1]["extra_mb"] / results[0]["extra_mb"] if len(results) > 1 and results[0]["extra_mb"] else None
    print(f"\nrnnkit predict, 1-channel LSTM tagger {args.layers} x {args.hidden_size} (unidirectional), batch 1, "
          f"{args.threads} thread(s), chunks of {chunk:,} samples, .npy record -> CSV row per sample\n")
    print("| samples | record MB | seconds | samples/s | baseline MB | peak MB | peak above baseline MB | "
          "output CSV MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['samples']:,} | {r['record_mb']:.1f} | {r['seconds']:.1f} | {r['samples_per_s']:,.0f} | "
              f"{r['baseline_mb']:.1f} | {r['peak_mb']:.1f} | {r['extra_mb']:.1f} | {r['output_mb']:.0f} |")
    if ratio is not None:
        print(f"\npeak above baseline, {results[-1]['samples']:,} / {results[0]['samples']:,} samples: {ratio:.2f}")
    sys.path.insert(0, str(HERE))
    from _common import git_state, write_json      # imports torch: only now, after the children

    write_json(Path(args.json), {
        "benchmark": "stream", "git": git_state(), "machine": platform.machine(), "python": platform.python_version(),
        "cpus": os.cpu_count(), "threads": args.threads, "chunk": chunk,
        "model": {"cell": "lstm", "hidden_size": args.hidden_size, "num_layers": args.layers,
                  "bidirectional": False, "channels": 1, "labels": len(TAGS)},
        "results": results, "extra_ratio_last_first": ratio})
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
