"""One trainer for every task, on Lightning: progress bar, gradient-norm clipping,
learning-rate schedule, early stopping on the validation loss, best and last
checkpoints (written atomically), resume, CSV log (TensorBoard when installed),
time and epoch limits, seeded deterministic CPU runs, mixed precision on GPUs, and
DDP over torch.distributed.

Example::

    from rnnkit.config import RunConfig
    from rnnkit.training import train, load_run
    cfg = RunConfig.from_dict({"task": "lm", "data": {"data": ["notes.txt"]},
                               "train": {"max_epochs": 2}})
    metrics = train(cfg, "runs/notes")
    module, cfg = load_run("runs/notes")
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from datetime import timedelta
from pathlib import Path

import torch

from ..config import RunConfig
from ..errors import Interrupted, UsageError
from ..io.atomic import write_atomic
from ..io.lock import DirectoryLock
from ..tasks import get_task
from . import run_dir as rd
from .budget import Budget, BudgetEarlyStopping, resolve_budget
from .checkpoint_io import AtomicCheckpointIO
from .plots import merge_logs, plot_curves, stash_log
from .verdict import baseline_verdict

_NOISE = (".*does not have many workers.*", ".*GPU available but not used.*",
          ".*The number of training batches.*is smaller than the logging interval.*",
          ".*Checkpoint directory .* exists and is not empty.*",
          ".*could not find the monitored key.*",   # a run stopped before its first validation
          ".*Experiment logs directory .* exists and is not empty.*",
          ".*`isinstance\\(treespec, LeafSpec\\)` is deprecated.*",
          # validation sums are reduced over processes before they are logged
          ".*It is recommended to use `self.log\\('val_.*sync_dist=True.*")


def quiet_lightning() -> None:
    """Lightning's start-up banners and hints off; warnings about the user's run stay."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in _NOISE:
        warnings.filterwarnings("ignore", message=pattern)


def resolve_precision(precision: str, accelerator: str) -> str:
    """"auto": bf16 mixed precision on a GPU that has it, else fp16 mixed on GPUs; full
    float32 on CPU (mixed precision there is slower for recurrent layers)."""
    if precision == "32":
        return "32-true"
    if precision == "64":
        return "64-true"
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if not on_gpu:
        return "32-true"
    return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"


def build_trainer(cfg: RunConfig, run: Path, extra_callbacks=(), budget: Budget | None = None,
                  chance_loss: float | None = None):
    """The Lightning Trainer of a run; ``budget`` (from :func:`resolve_budget`) sets its
    limits, validation interval, checkpoint interval and early stopping (which waits
    for the validation loss to leave ``chance_loss``, when given)."""
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, TQDMProgressBar
    from lightning.pytorch.loggers import CSVLogger

    t = cfg.train
    if budget is None:
        budget = resolve_budget(t, 1)
    ckpt_dir = run / "checkpoints"
    best = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val_loss", mode="min", save_top_k=1,
                           save_last=False, enable_version_counter=False, auto_insert_metric_name=False)
    every = budget.checkpoint_every_n_steps
    last = ModelCheckpoint(dirpath=ckpt_dir, filename="last", monitor=None, save_top_k=1,
                           every_n_train_steps=every, every_n_epochs=None if every else 1,
                           enable_version_counter=False, save_on_train_epoch_end=True)
    callbacks = [best, last, LearningRateMonitor(logging_interval="epoch"), *extra_callbacks]
    if budget.patience == "auto":
        callbacks.append(BudgetEarlyStopping(budget, chance_loss=chance_loss))
    elif budget.patience is not None:
        callbacks.append(EarlyStopping(monitor="val_loss", mode="min", patience=budget.patience,
                                       check_on_train_epoch_end=False, strict=False))
    if t.progress_bar:
        callbacks.append(TQDMProgressBar(refresh_rate=max(1, t.log_every_n_steps // 2)))
    loggers = [CSVLogger(save_dir=run, name="logs", version="")]
    try:
        from lightning.pytorch.loggers import TensorBoardLogger
        import tensorboard  # noqa: F401  (only when installed)
        loggers.append(TensorBoardLogger(save_dir=run, name="tensorboard", version=""))
    except ImportError:
        pass
    precision = resolve_precision(t.precision, t.accelerator)
    on_cpu = t.accelerator == "cpu" or (t.accelerator == "auto" and not torch.cuda.is_available())
    return L.Trainer(
        default_root_dir=run, accelerator=t.accelerator, devices=t.devices, strategy=t.strategy,
        num_nodes=t.num_nodes, precision=precision, max_epochs=budget.max_epochs, max_steps=budget.max_steps,
        max_time=timedelta(seconds=t.max_time) if t.max_time is not None else None,
        gradient_clip_val=t.gradient_clip, gradient_clip_algorithm="norm",
        val_check_interval=budget.val_every_n_steps if budget.val_every_n_steps else 1.0,
        check_val_every_n_epoch=None if budget.val_every_n_steps else 1,
        log_every_n_steps=t.log_every_n_steps, callbacks=callbacks, logger=loggers,
        enable_progress_bar=t.progress_bar, enable_model_summary=False, num_sanity_val_steps=0,
        deterministic=True if on_cpu else "warn", plugins=[AtomicCheckpointIO()],
        use_distributed_sampler=False)


def _check_limits(cfg: RunConfig) -> None:
    t = cfg.train
    for name, value in (("train.batch_size", t.batch_size), ("train.num_nodes", t.num_nodes),
                        ("train.log_every_n_steps", t.log_every_n_steps), ("data.seq_length", cfg.data.seq_length),
                        ("model.hidden_size", cfg.model.hidden_size), ("model.num_layers", cfg.model.num_layers),
                        ("model.embedding_size", cfg.model.embedding_size)):
        if value is not None and value < 1:        # None: the task's choice, made with the data
            raise UsageError(f"{name}: expected a positive integer, got {value}")
    if t.max_epochs is not None and t.max_epochs < 1:
        raise UsageError(f"train.max_epochs: expected a positive integer (or null: from the budget), got {t.max_epochs}")
    if t.max_steps < 1 and t.max_steps != -1:
        raise UsageError(f"train.max_steps: expected a positive integer (or -1: from the budget), got {t.max_steps}")
    if isinstance(t.early_stopping_patience, int) and t.early_stopping_patience < 1:
        raise UsageError(f"train.early_stopping_patience: expected a positive integer, auto or null, "
                         f"got {t.early_stopping_patience}")
    if t.val_every_n_steps is not None and t.val_every_n_steps < 1:
        raise UsageError(f"train.val_every_n_steps: expected a positive integer, got {t.val_every_n_steps}")
    if t.lr <= 0 or not math.isfinite(t.lr):
        raise UsageError(f"train.lr: expected a positive number, got {t.lr}")
    if cfg.model.dropout is not None and not 0.0 <= cfg.model.dropout < 1.0:
        raise UsageError(f"model.dropout: expected a number in [0, 1), got {cfg.model.dropout}")
    if t.max_time is not None and t.max_time <= 0:
        raise UsageError(f"train.max_time: expected a positive number of seconds, got {t.max_time}")


def train(cfg: RunConfig, out, *, overwrite: bool = False, resume: bool = False, extra_callbacks=(),
          memory=None) -> dict:
    """Train ``cfg`` into the run directory ``out``; returns the figures of metrics.json.

    ``memory`` (a :class:`~rnnkit.data.memory.InMemory`) gives the data in memory, as
    the records the task's readers would return, instead of the files of ``cfg.data``.

    Bad input (config, data, an existing run directory without ``overwrite``) raises
    :class:`~rnnkit.errors.UsageError` before anything is written. ``resume`` continues
    from ``out/checkpoints/last.ckpt`` (epoch, step, optimiser, schedule, callbacks,
    time spent) with the preprocessing state saved in it.

    While it writes the run directory the process holds its lock
    (:class:`~rnnkit.io.lock.DirectoryLock`): another writer is refused with a
    UsageError naming this process. SIGINT and SIGTERM stop training at the next safe
    point (the end of a batch): ``last.ckpt`` is written, metrics.json is marked
    ``"interrupted"`` and :class:`~rnnkit.errors.Interrupted` is raised (see
    :mod:`rnnkit.training.signals`). Every process-wide torch setting the run changes
    (deterministic algorithms, random generators, ...) is restored on return
    (:mod:`rnnkit.training.global_state`).
    """
    from . import global_state
    from ..signals import SignalStop

    run = Path(out)
    lock = DirectoryLock(run) if rd.launcher_rank_is_zero() else None
    try:
        with global_state.preserved(), SignalStop() as stop:
            return _train(cfg, run, overwrite, resume, extra_callbacks, stop, lock, memory)
    finally:
        if lock is not None:
            lock.release()


def _train(cfg: RunConfig, run: Path, overwrite: bool, resume: bool, extra_callbacks, stop, lock,
           memory=None) -> dict:
    from .signals import RunClock, StopOnSignal

    quiet_lightning()
    _check_limits(cfg)
    task = get_task(cfg.task)
    if lock is not None and (resume or overwrite):
        lock.acquire(create=False)   # refuse early when a writer holds it; nothing is written
    if cfg.model.model == "bow":
        return _train_bow(cfg, task, run, overwrite, resume, lock, memory)
    preprocessing = None
    ckpt_path = None
    if resume:
        ckpt_path = rd.check_run(run, "last")
        preprocessing = torch.load(ckpt_path, map_location="cpu", weights_only=True)["hyper_parameters"][
            "preprocessing"]
    elif lock is not None:
        rd.check_new_run(run, overwrite)
    data = task.data(cfg, preprocessing, memory)          # reads and checks the data
    cfg = getattr(data, "cfg", cfg)   # with the task's choices for its input (tasks.registry.with_task_defaults)
    import lightning as L

    L.seed_everything(cfg.train.seed, workers=True, verbose=False)   # before the weights exist
    module = task.module(cfg.to_dict(), data.preprocessing())
    clock, stopper = RunClock(), StopOnSignal(stop, rd.checkpoint_path(run, "last"))
    module.budget = budget = resolve_budget(cfg.train, _steps_per_epoch(cfg, data))
    chance = data.chance_loss() if hasattr(data, "chance_loss") else None
    trainer = _trainer_or_usage_error(cfg, run, [*extra_callbacks, clock, stopper], budget,   # before anything is
                                      chance)                                                 # written
    prepared = False
    try:
        if lock is not None:
            lock.acquire()     # before anything in the run directory is written or removed
            if not resume:
                rd.prepare_new_run(run, overwrite)
            else:
                stash_log(run / "logs" / "metrics.csv")   # Lightning starts the CSV log afresh
            prepared = True
            write_atomic(run / rd.CONFIG, cfg.to_yaml())
        if cfg.train.accelerator == "cpu" or not torch.cuda.is_available():
            # Deterministic mode also fills every new tensor with NaN to expose reads of
            # uninitialised memory: 5-6% of a CPU LSTM step, and no effect on the result.
            # (Put back by train() with the other global settings.)
            torch.utils.deterministic.fill_uninitialized_memory = False
        clock.start()
        trainer.fit(module, datamodule=data, ckpt_path=str(ckpt_path) if ckpt_path else None)
        if not any(rd.checkpoint_path(run, w).is_file() for w in ("best", "last")):
            # the step budget ended before the first validation and the first epoch's end
            trainer.save_checkpoint(rd.checkpoint_path(run, "last"))
        if not trainer.is_global_zero:
            return {}
        return finish_run(trainer, task, module, data, run, clock.seconds())
    except Interrupted as err:
        raise _interrupted(err, cfg, run, prepared and trainer.is_global_zero, trainer, stopper, clock) from None


def _interrupted(err: Interrupted, cfg: RunConfig, run: Path, write: bool, trainer, stopper, clock) -> Interrupted:
    """After SIGINT / SIGTERM: metrics.json marked ``"interrupted"`` (on the first
    process, once the run directory is prepared) and the one line the CLI prints."""
    name, last = err.signal_name, rd.checkpoint_path(run, "last")
    resume = f"rnnkit train {cfg.task} --out {run} --resume"
    if not write:
        return Interrupted(err.signum, f"interrupted: {name} before training started; nothing was written"
                           if trainer.global_step == 0 and not last.is_file() else f"interrupted: {name}")
    done = trainer.state.status.value == "finished"
    epoch = stopper.epoch if stopper.epoch is not None else trainer.current_epoch
    step = stopper.step if stopper.step is not None else trainer.global_step
    metrics = {"task": cfg.task, "interrupted": name, "epochs": epoch, "steps": step,
               "checkpoint": "last" if last.is_file() else None, "seconds": round(clock.seconds(), 3),
               "resume": resume if last.is_file() else None}
    if done:
        metrics["note"] = "training finished; the final figures were not computed (--resume computes them)"
    elif stopper.saved:
        metrics["note"] = f"stopped at a safe point; checkpoints/last.ckpt holds step {step}"
    elif last.is_file():
        metrics["note"] = "stopped at once (a second signal); checkpoints/last.ckpt is the last periodic checkpoint"
    else:
        metrics["note"] = "stopped before the first checkpoint; nothing to resume"
    write_atomic(run / rd.METRICS, json.dumps(metrics, indent=2) + "\n")
    if not last.is_file():
        return Interrupted(err.signum, f"interrupted: {name} at step {step} before the first checkpoint; nothing "
                                       f"to resume, train again with --overwrite")
    if done:
        return Interrupted(err.signum, f"interrupted: {name} after training, before the final figures; "
                                       f"resume with --resume to compute them ({resume})")
    where = (f"checkpoint written at epoch {epoch}, step {step}" if stopper.saved
             else "stopped at once; the last periodic checkpoint is kept")
    return Interrupted(err.signum, f"interrupted: {name}; {where}; resume with --resume ({resume})")


def _train_bow(cfg: RunConfig, task, run: Path, overwrite: bool, resume: bool, lock, memory=None) -> dict:
    """``model.model=bow``: the bag-of-words baseline, fitted in one go (no epochs, no
    checkpoints): RUN/config.yaml, the model, metrics.json."""
    if not hasattr(task, "train_bow"):
        raise UsageError(f"model.model: bow (the bag-of-words baseline) expected task classify, got task {cfg.task!r}")
    if resume:
        raise UsageError("--resume: a bow model is fitted in one go; there is nothing to resume")
    if lock is not None:
        rd.check_new_run(run, overwrite)
    prepared = []

    def prepare(resolved: RunConfig):
        """Called by the task once the data is read: ``resolved`` is the config with
        the task's choices for its input, written as config.yaml."""
        if lock is not None:
            lock.acquire()
        rd.prepare_new_run(run, overwrite)
        prepared.append(True)
        write_atomic(run / rd.CONFIG, resolved.to_yaml())

    try:
        metrics = task.train_bow(cfg, run, prepare, memory)
    except Interrupted as err:
        if prepared:
            write_atomic(run / rd.METRICS, json.dumps({"task": cfg.task, "model": "bow", "interrupted":
                                                       err.signal_name}, indent=2) + "\n")
        raise Interrupted(err.signum, f"interrupted: {err.signal_name} while fitting the bag-of-words model "
                                      f"(there is nothing to resume){'; train again with --overwrite' if prepared else ''}"
                          ) from None
    write_atomic(run / rd.METRICS, json.dumps(metrics, indent=2) + "\n")
    return metrics


def _steps_per_epoch(cfg: RunConfig, data) -> int:
    """Optimiser steps in one epoch of each process: the training loader's batches,
    shared among the processes when there are several."""
    t = cfg.train
    world = (t.devices if isinstance(t.devices, int) and t.devices > 0 else 1) * max(1, t.num_nodes)
    return max(1, math.ceil(len(data.train_dataloader()) / world))


def _trainer_or_usage_error(cfg: RunConfig, run: Path, extra_callbacks, budget: Budget | None = None,
                            chance_loss: float | None = None):
    """The Trainer, or a one-line UsageError when Lightning refuses the hardware
    settings (devices, strategy, accelerator, precision, num_nodes)."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        return build_trainer(cfg, run, extra_callbacks, budget, chance_loss)
    except (MisconfigurationException, ValueError, RuntimeError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        t = cfg.train
        raise UsageError(f"cannot train with accelerator={t.accelerator!r}, devices={t.devices!r}, "
                         f"strategy={t.strategy!r}, precision={t.precision!r}, num_nodes={t.num_nodes}: "
                         f"{first}") from None


def finish_run(trainer, task, module, data, run: Path, elapsed: float) -> dict:
    """metrics.json and plots, with the best weights (the last when no validation ran)."""
    best = rd.checkpoint_path(run, "best")
    which = "best" if best.is_file() else "last"
    state = torch.load(rd.checkpoint_path(run, which), map_location=module.device, weights_only=True)
    module.load_state_dict(state["state_dict"])
    metrics = {"task": task.name, **task.final_metrics(module, data),
               "epochs": trainer.current_epoch, "steps": trainer.global_step, "checkpoint": which,
               "seconds": round(elapsed, 3)}
    task.reports(module, data, metrics, run)
    verdict = baseline_verdict(task.name, metrics, module.cfg, getattr(data, "kind", None))
    if verdict is not None:
        metrics["baseline_wins"] = verdict
    write_atomic(run / rd.METRICS, json.dumps(metrics, indent=2) + "\n")
    merge_logs(run / "logs" / "metrics.csv")
    plot_curves(run / "logs" / "metrics.csv", run / "plots", task.curves)
    return metrics


def load_run(run, which: str = "best", map_location="cpu"):
    """The trained module of a run directory (``best``, falling back to ``last``, or
    ``last``) in eval mode, and its config. Needs nothing outside the directory.
    A ``model.model=bow`` run gives its fitted baseline instead of a module."""
    run = Path(run)
    if (run / rd.CONFIG).is_file() and not rd.checkpoint_path(run, "best").is_file() \
            and not rd.checkpoint_path(run, "last").is_file():
        cfg = RunConfig.from_yaml(run / rd.CONFIG)
        if cfg.model.model == "bow":
            model = get_task(cfg.task).load_bow(run, cfg)
            model.run_dir = run
            return model, cfg
    path = rd.check_run(run, which)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
        hp = ckpt["hyper_parameters"]
        cfg = RunConfig.from_dict(hp["config"], source=str(path))
    except UsageError:
        raise
    except Exception as err:  # a truncated or foreign file
        raise UsageError(f"checkpoint {str(path)!r} cannot be read: {type(err).__name__}") from None
    task = get_task(cfg.task)
    module = task.module(hp["config"], hp["preprocessing"])
    module.load_state_dict(ckpt["state_dict"])
    module.eval()
    module.run_dir = run
    return module, cfg
