"""Stopping a run honestly on SIGINT (Ctrl-C) and SIGTERM (what SLURM, Kubernetes and
systemd send before they kill).

Lightning's own handling is not enough: it answers SIGTERM by raising ``SystemExit``
with no code at the end of the batch (exit status 0, a pipeline records a success) and
Ctrl-C by catching KeyboardInterrupt and calling ``sys.exit(1)``. rnnkit instead:

* :class:`~rnnkit.signals.SignalStop` installs handlers for both signals while a ``with`` block runs
  (main thread only) and restores the previous ones after. A signal raises
  :class:`~rnnkit.errors.Interrupted` at once, unless the training loop has asked to
  *defer*: then the first signal is only recorded, and a second one raises at once.
* :class:`StopOnSignal`, a Lightning callback, defers while the training loop runs and
  acts at the next safe point, the end of a training batch or of an epoch (a signal
  during validation takes effect when validation ends): it writes
  ``checkpoints/last.ckpt`` there (the same checkpoint a periodic one at that step
  would be, so ``--resume`` continues with the next batch) and raises
  :class:`~rnnkit.errors.Interrupted`. Over several processes (DDP) the decision is
  reduced over them at every batch end, so all stop at the same step.
* :class:`RunClock` keeps the seconds of training in the checkpoint, so that a resumed
  run's ``seconds`` counts every part of it.
"""

from __future__ import annotations

import time

from lightning.pytorch.callbacks import Callback

from ..errors import Interrupted
from ..signals import SignalStop

__all__ = ["SignalStop", "StopOnSignal", "RunClock"]


class StopOnSignal(Callback):
    """Stop training at the next safe point after SIGINT or SIGTERM (see the module
    docstring): write ``last_path`` (when given) and raise Interrupted.

    After the stop, ``saved`` says whether the checkpoint was written and ``step`` /
    ``epoch`` where the run stopped."""

    def __init__(self, stop: SignalStop, last_path=None):
        self.stop = stop
        self.last_path = last_path
        self.saved = False
        self.step: int | None = None
        self.epoch: int | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        # Lightning registered its own SIGTERM handler just before the loop started;
        # ours takes its place (Lightning puts back the one it found when it tears down)
        self.stop.install()
        self.stop.deferring = True
        if self.stop.signum is not None:   # a signal while the trainer was being set up
            self._stop(trainer, self.stop.signum, save=False)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._check(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._check(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        self.stop.deferring = False

    def on_exception(self, trainer, pl_module, exception) -> None:
        self.stop.deferring = False

    def _check(self, trainer) -> None:
        signum = self.stop.signum or 0
        if trainer.world_size > 1:
            import torch
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                flag = torch.tensor([signum], device=trainer.strategy.root_device)
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                signum = int(flag.item())
        if signum:
            self._stop(trainer, signum, save=True)

    def _stop(self, trainer, signum: int, save: bool) -> None:
        self.stop.deferring = False      # from here a further signal stops at once
        self.step, self.epoch = trainer.global_step, trainer.current_epoch
        if save and self.last_path is not None:
            trainer.save_checkpoint(self.last_path)
            self.saved = True
        raise Interrupted(signum)


class RunClock(Callback):
    """Seconds of training, summed over every part of a resumed run: the time already
    spent is kept in each checkpoint and restored from it."""

    def __init__(self):
        self.before = 0.0
        self._start: float | None = None

    def start(self) -> None:
        self._start = time.perf_counter()

    def seconds(self) -> float:
        now = time.perf_counter()
        return self.before + (now - self._start if self._start is not None else 0.0)

    def state_dict(self) -> dict:
        return {"seconds": self.seconds()}

    def load_state_dict(self, state_dict) -> None:
        self.before = float(state_dict.get("seconds", 0.0))
