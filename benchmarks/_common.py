"""What the benchmark scripts share: the git state recorded with each result, and
writing the JSON results atomically."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from rnnkit.io.atomic import write_atomic

HERE = Path(__file__).resolve().parent


def git_state() -> dict:
    """The commit and whether src/ has uncommitted changes (others edit it meanwhile)."""
    def git(*cmd):
        return subprocess.run(["git", *cmd], check=False, cwd=HERE, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD") or None,
                "src_dirty": bool(git("status", "--porcelain", "--", "../src"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "src_dirty": None}


def write_json(path: Path, data: dict) -> None:
    """Write atomically (temp file, then rename), as the run directory's files are."""
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def timed_loop(loader, warmup: int, steps: int, step, count) -> list:
    """A plain training loop's timing: ``step(batch)`` (forward, backward, optimiser
    step, loss read-out) ``warmup + steps`` times over ``loader``, started again when it
    runs out; returns ``(seconds, count(batch))`` of each step after the warm-up, the
    clock read after each step (batches are not kept)."""
    it, timed, t0 = iter(loader), [], None
    for i in range(warmup + steps):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        step(batch)
        now = time.perf_counter()
        if i == warmup - 1:
            t0 = now
        elif i >= warmup:
            timed.append((now - t0, count(batch)))
            t0 = now
    return timed


def step_clock(warmup: int, count):
    """A Lightning callback timing the steps after ``warmup`` as :func:`timed_loop`
    does: its ``timed`` holds ``(seconds, count(batch))``, the clock read at the end of
    each batch, so everything Lightning does between two batches counts."""
    import lightning as L

    class StepClock(L.Callback):
        def __init__(self):
            self.t0, self.timed = None, []

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            now = time.perf_counter()
            if trainer.global_step == warmup:          # steps completed
                self.t0 = now
            elif trainer.global_step > warmup:
                self.timed.append((now - self.t0, count(batch)))
                self.t0 = now

    return StepClock()
