"""How long a run trains, how often it validates, when it stops early and how its
learning rate moves: all from the data's size and the time the user gave.

A run has one budget:

* ``max_time`` given (and no step or epoch limit): the time. Training goes on until
  the time is up or validation has clearly stopped improving.
* ``max_steps`` or ``max_epochs`` given: those.
* none of them: a budget in optimiser steps that follows the data,
  ``clamp(DEFAULT_EPOCHS x steps per epoch, MIN_STEPS, max(MAX_STEPS, one epoch))``:
  small data gets at least ``MIN_STEPS`` steps (NeuralForecast's default budget is 1,000
  steps), large data about ``DEFAULT_EPOCHS`` epochs, never more than ``MAX_STEPS``
  unless a single epoch is longer.

What scales with the budget (each unless set by hand):

* validation: about ``VALIDATIONS`` times over a step budget, counted in steps across
  epochs (tiny epochs are not each validated); under a time budget every epoch, at
  least every ``MIN_VALIDATION_STEPS`` and at most every ``MAX_VALIDATION_STEPS``
  steps; the last checkpoint is written at each validation when validations are
  further apart than an epoch;
* early stopping (``early_stopping_patience: auto``): stop when the validation loss has
  not improved for at least ``MIN_PATIENCE`` validations *and* for at least
  ``STOP_FRACTION`` of the budget (its steps, or its time), and, where the task knows
  the loss of a model that has learned nothing (a classifier predicting the training
  split's class frequencies: ``chance_loss``), once the best validation loss is at
  least ``CHANCE_MARGIN`` below it: a run that has not left chance yet trains on, as
  there is nothing to overfit yet;
* the learning rate (``lr_schedule: cosine``): a linear warm-up over the first
  ``WARMUP_FRACTION`` of the budget (at most ``MAX_WARMUP_STEPS`` steps), then a cosine
  decay to ``FINAL_LR_FRACTION`` of ``lr`` at the end of the budget, the budget's
  progress being the larger of its steps and its time spent.

Example::

    b = resolve_budget(cfg.train, steps_per_epoch=9)
    b.max_steps, b.val_every_n_steps, b.patience       # 1000, 20, 'auto'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lightning.pytorch.callbacks import Callback, Timer

from ..config import TrainConfig

__all__ = ["Budget", "resolve_budget", "DEFAULT_EPOCHS", "MIN_STEPS", "MAX_STEPS"]

DEFAULT_EPOCHS = 10
MIN_STEPS = 1_000
MAX_STEPS = 20_000
VALIDATIONS = 50
MIN_VALIDATION_STEPS = 20
MAX_VALIDATION_STEPS = 500
MIN_PATIENCE = 5
STOP_FRACTION = 0.25
CHANCE_MARGIN = 0.02
WARMUP_FRACTION = 0.02
MAX_WARMUP_STEPS = 200
FINAL_LR_FRACTION = 0.05


@dataclass(frozen=True)
class Budget:
    """A run's resolved limits. ``max_steps`` / ``max_epochs`` -1: no limit of that
    kind; ``max_time`` None: no time limit. ``val_every_n_steps`` None: every epoch."""

    max_steps: int
    max_epochs: int
    max_time: float | None
    val_every_n_steps: int | None
    checkpoint_every_n_steps: int | None
    patience: int | str | None
    planned_steps: int | None         # the steps the budget allows, when it is counted in steps

    def progress(self, step: int, seconds: float) -> float:
        """How much of the budget is spent, in [0, 1]: the larger of steps and time."""
        parts = []
        if self.planned_steps:
            parts.append(step / self.planned_steps)
        if self.max_time:
            parts.append(seconds / self.max_time)
        return min(1.0, max(parts)) if parts else 0.0


    def lr_factor(self, trainer) -> float:
        """The cosine schedule's multiplier of the learning rate, now."""
        return cosine_factor(budget_progress(trainer, self), trainer.global_step, self.planned_steps)


def resolve_budget(t: TrainConfig, steps_per_epoch: int) -> Budget:
    """The budget of a run whose training data makes ``steps_per_epoch`` optimiser
    steps per epoch (per process)."""
    spe = max(1, int(steps_per_epoch))
    steps_given = t.max_steps is not None and t.max_steps > 0
    epochs_given = t.max_epochs is not None and t.max_epochs > 0
    max_steps = t.max_steps if steps_given else -1
    max_epochs = t.max_epochs if epochs_given else -1
    if not (steps_given or epochs_given or t.max_time is not None):
        max_steps = min(max(DEFAULT_EPOCHS * spe, MIN_STEPS), max(MAX_STEPS, spe))
    planned = None
    if max_steps > 0:
        planned = max_steps if max_epochs < 0 else min(max_steps, max_epochs * spe)
    elif max_epochs > 0:
        planned = max_epochs * spe

    val = t.val_every_n_steps
    if val is None:
        if epochs_given and not steps_given:
            val = None                                    # epochs asked for: validate each one
        elif planned is not None:
            val = max(1, planned // VALIDATIONS)
        else:                                             # a time budget
            val = min(max(spe, MIN_VALIDATION_STEPS), MAX_VALIDATION_STEPS)
        if val is not None and val == spe:
            val = None
    ckpt = t.checkpoint_every_n_steps
    if ckpt is None and val is not None and val > spe:
        ckpt = val                                        # a tiny epoch is not worth a checkpoint each
    return Budget(max_steps=max_steps, max_epochs=max_epochs, max_time=t.max_time, val_every_n_steps=val,
                  checkpoint_every_n_steps=ckpt, patience=t.early_stopping_patience, planned_steps=planned)


def cosine_factor(progress: float, step: int, planned_steps: int | None) -> float:
    """The learning rate's multiplier at ``progress`` of the budget (step ``step``):
    linear warm-up, then cosine decay to :data:`FINAL_LR_FRACTION`."""
    warmup = MAX_WARMUP_STEPS if planned_steps is None else \
        max(1, min(MAX_WARMUP_STEPS, int(WARMUP_FRACTION * planned_steps)))
    if step < warmup:
        return (step + 1) / warmup
    return FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _elapsed(trainer) -> float:
    """Seconds of training so far, a resumed run's earlier parts included (Lightning's
    Timer keeps them in its checkpoint state; it exists when there is a time limit)."""
    for cb in trainer.callbacks:
        if isinstance(cb, Timer):
            return float(cb.time_elapsed("train"))
    return 0.0


def monitored_value(trainer, monitor: str) -> float | None:
    """The validation figure ``monitor`` just logged, or None (during Lightning's sanity
    check, or when it was not logged)."""
    if trainer.sanity_checking:
        return None
    value = trainer.callback_metrics.get(monitor)
    return None if value is None else float(value)


def budget_progress(trainer, budget: Budget) -> float:
    return budget.progress(trainer.global_step, _elapsed(trainer))


class BudgetEarlyStopping(Callback):
    """Early stopping that scales with the budget: stop when the validation loss has
    not improved for at least :data:`MIN_PATIENCE` validations and for at least
    :data:`STOP_FRACTION` of the budget, once it is below ``chance_loss`` (when given)
    by :data:`CHANCE_MARGIN`. Its state goes into checkpoints."""

    def __init__(self, budget: Budget, monitor: str = "val_loss", chance_loss: float | None = None):
        self.budget, self.monitor, self.chance_loss = budget, monitor, chance_loss
        self.best = math.inf
        self.best_progress = 0.0
        self.since = 0

    def on_validation_end(self, trainer, pl_module) -> None:
        value = monitored_value(trainer, self.monitor)
        if value is None:
            return
        progress = budget_progress(trainer, self.budget)
        if value < self.best:
            self.best, self.best_progress, self.since = value, progress, 0
        else:
            self.since += 1
        stop = (self.since >= MIN_PATIENCE and progress - self.best_progress >= STOP_FRACTION - 1e-9
                and self.left_chance())
        if trainer.strategy.reduce_boolean_decision(stop, all=False):
            trainer.should_stop = True

    def left_chance(self) -> bool:
        """Whether the best validation loss is clearly below the loss of chance
        (always, when the task gives none)."""
        return self.chance_loss is None or self.best < (1 - CHANCE_MARGIN) * self.chance_loss

    def state_dict(self) -> dict:
        return {"best": self.best, "best_progress": self.best_progress, "since": self.since}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_progress, self.since = state["best"], state["best_progress"], state["since"]
