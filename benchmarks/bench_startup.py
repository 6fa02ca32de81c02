"""Start-up time of the command line: ``python -m rnnkit --help``, in fresh processes,
against a reference source tree (an older checkout) and against ``import torch``, side
by side in one run.

Usage::

    python benchmarks/bench_startup.py [--baseline-src DIR] [--repeats N]

``--baseline-src`` is the ``src`` folder of another checkout, e.g. the commit before
the command line stopped importing torch::

    mkdir -p /tmp/before && git archive 2479233 src | tar -x -C /tmp/before
    python benchmarks/bench_startup.py --baseline-src /tmp/before/src

Each round runs every command once, in a rotating order; figures are the median and
the fastest of ``--repeats`` rounds (wall-clock seconds of the whole process). Each
child also reports whether torch ended up in ``sys.modules``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

# Runs the command line as `python -m rnnkit --help` does, then says whether torch was loaded.
HELP = ("import runpy, sys; sys.argv = ['rnnkit', '--help']\n"
        "try:\n    runpy.run_module('rnnkit', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('torch loaded' if 'torch' in sys.modules else 'no torch', file=sys.stderr)")


def timed(cmd: list[str], src: Path | None) -> tuple[float, str]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    return time.perf_counter() - t0, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline-src", default=None, help="src folder of the checkout to compare with")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    sides = {"rnnkit --help (this tree)": ([sys.executable, "-c", HELP], SRC)}
    if args.baseline_src:
        sides["rnnkit --help (baseline)"] = ([sys.executable, "-c", HELP], Path(args.baseline_src).resolve())
    sides["python -c 'import torch'"] = ([sys.executable, "-c", "import torch"], None)
    sides["python -c 'pass'"] = ([sys.executable, "-c", "pass"], None)
    names = list(sides)
    times = {n: [] for n in names}
    notes = {}
    for r in range(args.repeats):
        for n in names[r % len(names):] + names[:r % len(names)]:
            t, note = timed(*sides[n])
            times[n].append(t)
            notes[n] = note
    width = max(map(len, names))
    print(f"| {'command':<{width}} | median s | fastest s | torch |")
    print(f"|{'-' * (width + 2)}|---:|---:|---|")
    for n in names:
        print(f"| {n:<{width}} | {statistics.median(times[n]):.3f} | {min(times[n]):.3f} | {notes[n] or '-'} |")
    if args.baseline_src:
        ratio = statistics.median(times[names[1]]) / statistics.median(times[names[0]])
        print(f"\nbaseline / this tree (median): {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
