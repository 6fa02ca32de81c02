"""``rnnkit tune``: a hyperparameter search with Optuna within a time budget, whose
result is an ordinary run directory.

    RUN/                      the best trial's run directory (config.yaml, checkpoints/,
                              metrics.json, logs/, plots/, ...): evaluate, predict and info
                              use it as they use any run
    RUN/tune/study.db         the Optuna study (SQLite): every trial's parameters, state,
                              reported values, and the seconds the search has spent
    RUN/tune/trial-0000/      each trial's own run directory
    RUN/tune/trials.csv       one row per trial: number, state, value, seconds, max_time,
                              the parameters, a note (why it was pruned or failed)
    RUN/tune/trials.png       the objective of each trial, and the best so far
    RUN/tune/best.json        which trial RUN's top level holds, and its files

The table, the plot and the printed summary are in :mod:`rnnkit.training.tune_report`.

What is searched: the task's declared space (``TaskSpec.search_space``, from its
``tuning_space``) less the keys the caller fixed (``fixed``: on the command line, the
flags the user gave). The objective is the validation loss ``val_loss``, minimised, for
every task: the figure the best checkpoint of a run is chosen by, so RUN's weights are
the ones the trial was ranked by.

The budget: ``max_time`` seconds of wall time for the whole search (reading data,
training, final figures, all trials). Each trial is given the trainer's ``max_time`` =
(budget left) / (trials left) less the overhead measured on earlier trials (the time a
trial spends outside training), and at least ``min_trial_time``; a new trial starts only
while at least ``min_trial_time`` seconds are left. The seconds spent are kept in the
study (``seconds_spent``, updated at every validation), so a resumed search goes on with
what is left of the same budget.

Pruning: a trial reports its validation loss at every validation
(:class:`PruningCallback`); Optuna's median rule stops a trial whose loss is worse than
the median of the earlier trials at the same validation (after 3 complete trials, and
from the trial's second validation on).

Resuming (``resume=True``, ``rnnkit tune ... --resume``): the study is loaded from
``RUN/tune/study.db``; completed and pruned trials are kept; a trial that was running
when the process died is marked failed and run again (a new trial with the same
parameters); RUN's top level is made the study's best trial again if a kill interrupted
its copy. A trial stopped by Ctrl-C (or any exception that ends the process) is marked
failed and queued again the same way, before the exception goes on.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

from ..config import RunConfig
from ..errors import UsageError
from ..io.atomic import copy_atomic, write_atomic
from ..tasks import get_task
from . import run_dir as rd
from .budget import monitored_value
from .tune_report import OBJECTIVE, TUNE_DIR, counts, format_summary, plot_trials, show, trial_rows, write_table

__all__ = ["tune", "format_summary", "PruningCallback", "check_space", "suggest", "trial_time", "default_trials"]

STUDY_NAME = "rnnkit-tune"
STUDY_DB = "study.db"
MIN_TRIAL_TIME = 10.0           # seconds: the least a trial is given
MAX_DEFAULT_TRIALS = 20
SECONDS_PER_DEFAULT_TRIAL = 60.0
USAGE_ERRORS_BEFORE_ABORT = 3   # trials failing on bad input, with none complete, before the search stops
_KINDS = ("int", "float", "choice")
_now = time.monotonic            # the search's clock (tests replace it)


def _optuna():
    """Optuna, or a one-line error saying how to install it."""
    from .._optional import require

    optuna = require("optuna", for_what="hyperparameter search (rnnkit tune)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# ---- the search space ----------------------------------------------------------------------
def check_space(space: dict) -> None:
    """Every entry a distribution spec (see :attr:`rnnkit.tasks.spec.TaskSpec.tuning_space`)
    on a dotted config key; raises ValueError naming the first bad one."""
    for key, spec in space.items():
        if "." not in key or not isinstance(spec, (tuple, list)) or not spec or spec[0] not in _KINDS:
            raise ValueError(f"tuning space {key!r}: expected ('int'|'float', low, high[, 'log']) or "
                             f"('choice', [values]) on a dotted config key, got {spec!r}")
        if spec[0] == "choice":
            if len(spec) != 2 or not isinstance(spec[1], (list, tuple)) or not spec[1]:
                raise ValueError(f"tuning space {key!r}: expected ('choice', [values]), got {spec!r}")
            continue
        if len(spec) not in (3, 4) or (len(spec) == 4 and spec[3] != "log") or not spec[1] <= spec[2]:
            raise ValueError(f"tuning space {key!r}: expected ({spec[0]!r}, low, high[, 'log']) with "
                             f"low <= high, got {spec!r}")
        if len(spec) == 4 and spec[1] <= 0:
            raise ValueError(f"tuning space {key!r}: a log scale needs low > 0, got {spec!r}")


def suggest(trial, key: str, spec) -> object:
    """The value of ``key`` for ``trial``, drawn from ``spec``."""
    kind = spec[0]
    if kind == "choice":
        return trial.suggest_categorical(key, list(spec[1]))
    log = len(spec) == 4
    if kind == "int":
        return trial.suggest_int(key, int(spec[1]), int(spec[2]), log=log)
    return trial.suggest_float(key, float(spec[1]), float(spec[2]), log=log)


# ---- pruning through Lightning ---------------------------------------------------------------
def _callback_base():
    from lightning.pytorch.callbacks import Callback

    return Callback


class PruningCallback(_callback_base()):
    """Reports ``monitor`` to an Optuna trial at every validation (step = the
    validation's index: 0, 1, ...) and raises :class:`optuna.TrialPruned` when the
    study's pruner says the trial should stop. ``on_report`` is called after each report
    (the tuner saves the seconds spent there)."""

    def __init__(self, trial, monitor: str = OBJECTIVE, on_report=None):
        super().__init__()
        self.trial, self.monitor, self.on_report = trial, monitor, on_report
        self.values: list[float] = []

    @property
    def best(self) -> float | None:
        """The lowest finite value reported (the best checkpoint's), or None."""
        finite = [v for v in self.values if math.isfinite(v)]
        return min(finite) if finite else None

    def on_validation_end(self, trainer, pl_module) -> None:
        value = monitored_value(trainer, self.monitor)
        if value is None:
            return
        step = len(self.values)
        self.values.append(value)
        self.trial.report(value, step)
        if self.on_report is not None:
            self.on_report()
        if self.trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"pruned at validation {step + 1}: {self.monitor} {value:.4g}, worse than "
                                     f"the median of earlier trials there")


# ---- the budget ------------------------------------------------------------------------------
def default_trials(max_time: float) -> int:
    """One trial per minute of budget, from 1 to 20."""
    return int(max(1, min(MAX_DEFAULT_TRIALS, max_time // SECONDS_PER_DEFAULT_TRIAL)))


def trial_time(remaining: float, trials_left: int, overhead: float, floor: float) -> float:
    """The trainer's ``max_time`` for the next trial: an equal share of what is left,
    less the time a trial spends outside training, at least ``floor``."""
    return max(floor, remaining / max(1, trials_left) - overhead)


def _overhead(trials) -> float:
    """Mean seconds a complete trial spent outside training (data, final figures)."""
    gaps = [t.user_attrs["seconds"] - t.user_attrs["train_seconds"] for t in trials
            if "seconds" in t.user_attrs and "train_seconds" in t.user_attrs]
    return max(0.0, sum(gaps) / len(gaps)) if gaps else 0.0


def _done(trials) -> int:
    """Trials that used their share of the budget: complete, pruned, failed (not the
    ones stopped by a kill or an interrupt and run again)."""
    c = counts(trials)
    return c["complete"] + c["pruned"] + c["failed"]


# ---- the run directory -----------------------------------------------------------------------
def publish_best(run: Path, trial_dir: Path, number: int, value: float) -> None:
    """Make ``run``'s top level the run directory of trial ``number``: its files copied
    one by one (each atomically, the best checkpoint last), the previous best's files
    that this one lacks removed, then ``tune/best.json`` written. A kill part-way leaves
    every file whole, and a resumed search copies again (best.json is written last)."""
    files = sorted((p.relative_to(trial_dir) for p in trial_dir.rglob("*")
                    if p.is_file() and not any(part.startswith(".") for part in p.relative_to(trial_dir).parts)),
                   key=lambda rel: (rel == Path("checkpoints") / "best.ckpt", str(rel)))
    for rel in files:
        copy_atomic(trial_dir / rel, run / rel)
    best_json = run / TUNE_DIR / "best.json"
    previous = json.loads(best_json.read_text(encoding="utf-8")).get("files", []) if best_json.is_file() else []
    keep = {str(rel) for rel in files}
    for rel in previous:
        if rel not in keep and (run / rel).is_file():
            (run / rel).unlink()
    write_atomic(best_json, json.dumps({"trial": number, "value": value, "dir": trial_dir.name,
                                             "files": sorted(keep)}, indent=2) + "\n")


def _published(run: Path) -> int | None:
    path = run / TUNE_DIR / "best.json"
    if not path.is_file():
        return None
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["trial"])
    except (ValueError, KeyError, TypeError):
        return None


def trial_dir(run: Path, number: int) -> Path:
    return Path(run) / TUNE_DIR / f"trial-{number:04d}"


# ---- the search ------------------------------------------------------------------------------
def _storage_url(db: Path) -> str:
    return f"sqlite:///{db.resolve()}"


def _flat_keys(cfg: RunConfig) -> dict:
    return {f"{section}.{k}": v for section, values in cfg.to_dict().items() if isinstance(values, dict)
            for k, v in values.items()}


def _check_fixed(fixed) -> list[str]:
    known = _flat_keys(RunConfig())
    fixed = sorted(set(fixed))
    for key in fixed:
        if key not in known:
            raise UsageError(f"fixed: unknown config key {key!r}")
    return fixed


def _check_budget(max_time, trials, floor) -> None:
    if floor is None or not (isinstance(floor, (int, float)) and math.isfinite(floor) and floor > 0):
        raise UsageError(f"min_trial_time: expected a positive number of seconds, got {floor}")
    if max_time is None:
        raise UsageError("max_time: expected the whole search's budget in seconds, got none")
    number = isinstance(max_time, (int, float)) and not isinstance(max_time, bool)
    if not number or not math.isfinite(max_time) or max_time < floor:
        raise UsageError(f"max_time: expected at least {floor:g} s, the least one trial is given "
                         f"(min_trial_time {floor:g}), got {f'{max_time:g} s' if number else repr(max_time)}")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise UsageError(f"trials: expected a positive number of trials, got {trials}")


def _new_setup(cfg: RunConfig, fixed: list[str]) -> tuple[RunConfig, dict]:
    """The config the trials start from and the space searched, checked."""
    from .trainer import _check_limits

    if cfg.model.model != "rnn":
        raise UsageError(f"model: tune searches a recurrent network's options; expected model rnn, "
                         f"got {cfg.model.model}")
    t = cfg.train
    if str(t.devices) != "1" or t.num_nodes != 1:
        raise UsageError(f"devices: tune runs each trial in one process; expected devices 1 and num_nodes 1, "
                         f"got devices {t.devices!r} and num_nodes {t.num_nodes}")
    if "train.progress_bar" not in fixed:
        cfg = cfg.override({"train.progress_bar": False})
    _check_limits(cfg.override({"train.max_time": MIN_TRIAL_TIME}))
    declared = get_task(cfg.task).search_space(cfg)
    check_space(declared)
    space = {k: v for k, v in declared.items() if k not in fixed}
    if not space:
        raise UsageError(f"fixed: every option tune searches for task {cfg.task} is fixed "
                         f"({', '.join(declared)}); nothing is left to search")
    return cfg, space


def make_pruner():
    """The pruner of every search: the median rule, after 3 complete trials, from a
    trial's second validation on."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)


def tune(cfg: RunConfig, out, max_time: float | None = None, trials: int | None = None, fixed=(), *,
         resume: bool = False, overwrite: bool = False, min_trial_time: float | None = None,
         log=None) -> dict:
    """Search ``cfg.task``'s hyperparameters within ``max_time`` seconds over ``trials``
    trials, into the run directory ``out``, which ends as the best trial's run directory
    (the trials inside it, in ``out/tune``). Returns the best trial's metrics (its
    metrics.json) with a ``"tune"`` entry: the best trial, its value and parameters, the
    trials' counts and rows, the seconds spent (only that entry, without ``best_trial``,
    when no trial completed).

    Args:
        cfg: the configuration every trial starts from.
        out: the run directory (must not exist unless ``overwrite`` or ``resume``).
        max_time: seconds for the whole search (with ``resume``: default, the study's).
        trials: trials to run in all (default: one per minute of budget, 1 to 20; with
            ``resume``, the study's).
        fixed: dotted config keys (``"model.cell"``) taken from ``cfg`` and not searched.
        resume: continue the study in ``out/tune/study.db``; the keys in ``fixed`` must
            hold the values the study was started with.
        min_trial_time: the least ``max_time`` a trial is given, in seconds (default
            10; with ``resume``, the study's).
        log: called with one line of progress per trial (default: silent).

    Example::

        from rnnkit.config import RunConfig
        from rnnkit.training.tune import tune
        cfg = RunConfig.from_dict({"task": "lm", "data": {"data": ["notes.txt"]}})
        best = tune(cfg, "runs/notes-tuned", max_time=600, trials=10, fixed=["model.num_layers"])
        best["tune"]["params"], best["validation"]
    """
    optuna = _optuna()
    search = _Search.resume(cfg, Path(out), max_time, trials, _check_fixed(fixed), min_trial_time, overwrite) \
        if resume else _Search.create(cfg, Path(out), max_time, trials, _check_fixed(fixed), min_trial_time,
                                      overwrite)
    search.say = log or (lambda line: None)
    # the sampler and the pruner are not stored in the study: made again on every start
    search.study = optuna.load_study(study_name=STUDY_NAME, storage=_storage_url(search.db),
                                     sampler=optuna.samplers.TPESampler(seed=search.base.train.seed),
                                     pruner=make_pruner())
    if resume:
        _recover(search.study, search.run, search.say)
    search.start()
    while search.next_trial():
        search.record()
    search.record()
    return _result(search.study, search.run, list(search.space), search.trials, search.max_time)


class _Search:
    """One start of a search: the study, the config the trials start from, the space,
    the budget, and the clock of the seconds spent."""

    def __init__(self, study, run: Path, base: RunConfig, space: dict, max_time: float, trials: int,
                 floor: float, created: bool):
        self.study, self.run, self.base, self.space = study, run, base, space
        self.max_time, self.trials, self.floor, self.created = max_time, trials, floor, created
        self.db = run / TUNE_DIR / STUDY_DB
        self.say = lambda line: None
        self.usage_errors = 0

    @classmethod
    def create(cls, cfg, run: Path, max_time, trials, fixed, min_trial_time, overwrite) -> "_Search":
        """A new study in ``run``: everything checked before anything is written."""
        import optuna

        floor = MIN_TRIAL_TIME if min_trial_time is None else min_trial_time
        _check_budget(max_time, trials, floor)
        trials = default_trials(max_time) if trials is None else trials
        base, space = _new_setup(cfg, fixed)
        rd.check_new_run(run, overwrite)
        rd.prepare_new_run(run, overwrite)
        (run / TUNE_DIR).mkdir(parents=True, exist_ok=True)
        study = optuna.create_study(study_name=STUDY_NAME, storage=_storage_url(run / TUNE_DIR / STUDY_DB),
                                    direction="minimize", load_if_exists=True)
        study.set_user_attr("rnnkit", {"task": base.task, "config": base.to_dict(), "fixed": fixed,
                                       "space": {k: list(v) for k, v in space.items()}, "max_time": max_time,
                                       "trials": trials, "min_trial_time": floor, "objective": OBJECTIVE})
        study.set_user_attr("seconds_spent", 0.0)
        return cls(study, run, base, space, max_time, trials, floor, created=True)

    @classmethod
    def resume(cls, cfg, run: Path, max_time, trials, fixed, min_trial_time, overwrite) -> "_Search":
        """The study in ``run``, with the budget and trial count given now (or its own);
        the keys fixed now must hold the values it was started with."""
        import optuna

        db = run / TUNE_DIR / STUDY_DB
        if overwrite:
            raise UsageError("resume and overwrite exclude each other")
        if not db.is_file():
            raise UsageError(f"resume: {str(db)!r} does not exist; nothing to resume")
        study = optuna.load_study(study_name=STUDY_NAME, storage=_storage_url(db))
        setup = study.user_attrs.get("rnnkit")
        if not setup:
            raise UsageError(f"resume: {str(db)!r} holds no rnnkit study")
        base = RunConfig.from_dict(setup["config"], source=str(db))
        if cfg.task != base.task:
            raise UsageError(f"resume: run directory {str(run)!r} holds a study of task {base.task!r}, "
                             f"got {cfg.task!r}")
        given, stored = _flat_keys(cfg), _flat_keys(base)
        for key in fixed:
            if key in setup["space"]:
                raise UsageError(f"resume: {key} is searched in this study; it cannot be fixed now")
            if given[key] != stored[key]:
                raise UsageError(f"resume: {key} is {given[key]!r} but the study was started with "
                                 f"{stored[key]!r}")
        floor = float(setup["min_trial_time"]) if min_trial_time is None else min_trial_time
        max_time = setup["max_time"] if max_time is None else max_time
        trials = setup["trials"] if trials is None else trials
        _check_budget(max_time, trials, floor)
        study.set_user_attr("rnnkit", {**setup, "max_time": max_time, "trials": trials, "min_trial_time": floor})
        space = {k: tuple(v) for k, v in setup["space"].items()}
        return cls(study, run, base, space, max_time, trials, floor, created=False)

    # ---- the clock -------------------------------------------------------------------
    def start(self) -> None:
        self.spent0, self.started = float(self.study.user_attrs.get("seconds_spent", 0.0)), _now()

    def spent(self) -> float:
        return self.spent0 + _now() - self.started

    def save_spent(self) -> None:
        self.study.set_user_attr("seconds_spent", round(self.spent(), 3))

    def record(self) -> None:
        """The seconds spent, trials.csv and trials.png, as they stand."""
        self.save_spent()
        rows = trial_rows(self.study, list(self.space))
        write_table(rows, list(self.space), self.run / TUNE_DIR / "trials.csv")
        plot_trials(rows, self.run / TUNE_DIR / "trials.png")

    # ---- one trial -------------------------------------------------------------------
    def next_trial(self) -> bool:
        """Run the next trial if the trial count and the budget allow; False when done."""
        import optuna

        past = self.study.get_trials()
        done, remaining = _done(past), self.max_time - self.spent()
        if done >= self.trials:
            return False
        if remaining < self.floor:
            self.say(f"budget spent: {self.spent():.0f} s of {self.max_time:g} s, {done} of {self.trials} "
                     f"trials run")
            return False
        seconds = trial_time(remaining, self.trials - done, _overhead(past), self.floor)
        trial = self.study.ask()
        params = {k: suggest(trial, k, spec) for k, spec in self.space.items()}
        trial.set_user_attr("max_time", round(seconds, 3))
        shown = ", ".join(f"{k.split('.')[-1]} {show(v)}" for k, v in params.items())
        self.say(f"trial {trial.number} ({done + 1}/{self.trials}, {seconds:.0f} s): {shown}")
        pruning = PruningCallback(trial, on_report=self.save_spent)
        t0 = _now()
        try:
            metrics = get_train()(self.base.override({**params, "train.max_time": seconds}),
                                  trial_dir(self.run, trial.number), overwrite=True, extra_callbacks=[pruning])
        except optuna.TrialPruned as err:
            trial.set_user_attr("seconds", round(_now() - t0, 3))
            trial.set_user_attr("note", str(err))
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            self.say(f"trial {trial.number}: {err}")
        except UsageError as err:
            self._usage_error(trial, t0, err)
        except Exception as err:   # a fault of this trial's settings (NaN, memory, ...): the search goes on
            first = (str(err).strip().splitlines() or [""])[0]
            _fail(self.study, trial, t0, f"{type(err).__name__}: {first}")
            self.say(f"trial {trial.number} failed: {type(err).__name__}: {first}")
        except BaseException:
            # Ctrl-C, a stop signal's handler, SystemExit: the trial is queued to run again
            _fail(self.study, trial, t0, "stopped (interrupted)")
            self.study.enqueue_trial(params, user_attrs={"retry_of": trial.number})
            self.record()
            raise
        else:
            self._complete(trial, t0, pruning.best, metrics, seconds)
        return True

    def _usage_error(self, trial, t0: float, err: UsageError) -> None:
        """A trial refused its input: recorded, and the search goes on, unless the first
        trials all fail so (bad data, not bad luck): then the error goes on, and a
        search created here leaves nothing on disk."""
        _fail(self.study, trial, t0, str(err))
        self.say(f"trial {trial.number} failed: {err}")
        self.usage_errors += 1
        c = counts(self.study.get_trials())
        if self.usage_errors >= USAGE_ERRORS_BEFORE_ABORT and c["complete"] + c["pruned"] == 0:
            if self.created:
                shutil.rmtree(self.run, ignore_errors=True)
            else:
                self.record()
            raise err

    def _complete(self, trial, t0: float, value, metrics, seconds: float) -> None:
        """Tell the study the trial's value (the best val_loss it reported); RUN's top
        level becomes this trial's run directory when it is the best so far."""
        if value is None and isinstance(metrics, dict):
            value = metrics.get("validation", {}).get("loss")
        if value is None or not math.isfinite(value):
            _fail(self.study, trial, t0, f"no finite {OBJECTIVE}: no validation ran within max_time "
                                         f"{seconds:.0f} s, or the loss diverged")
            self.say(f"trial {trial.number} failed: no finite {OBJECTIVE}")
            return
        trial.set_user_attr("seconds", round(_now() - t0, 3))
        if isinstance(metrics, dict) and isinstance(metrics.get("seconds"), (int, float)):
            trial.set_user_attr("train_seconds", metrics["seconds"])
        self.study.tell(trial, value)
        best = self.study.best_trial
        self.say(f"trial {trial.number}: {OBJECTIVE} {value:.4f}"
                 + (" (best so far)" if best.number == trial.number else f" (best: {best.value:.4f})"))
        if best.number == trial.number:
            publish_best(self.run, trial_dir(self.run, trial.number), trial.number, value)


def get_train():
    """The trainer's ``train`` (looked up at call time, so that tests can wrap it)."""
    from .trainer import train

    return train


def _fail(study, trial, t0: float, note: str) -> None:
    import optuna

    trial.set_user_attr("seconds", round(_now() - t0, 3))
    trial.set_user_attr("note", note)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)


def _recover(study, run: Path, say) -> None:
    """After a kill: running trials marked failed and queued again with their
    parameters; RUN's top level made the best trial's again if its copy was cut short."""
    import optuna

    for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
        say(f"trial {t.number} was stopped while running; it runs again")
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    if complete:
        best = study.best_trial
        if _published(run) != best.number or not rd.checkpoint_path(run, "best").is_file():
            publish_best(run, trial_dir(run, best.number), best.number, best.value)


def _result(study, run: Path, keys: list[str], trials: int, max_time: float) -> dict:
    import optuna

    rows = trial_rows(study, keys)
    summary = {"counts": counts(study.get_trials()), "trials": trials, "max_time": max_time,
               "seconds_spent": float(study.user_attrs.get("seconds_spent", 0.0)), "objective": OBJECTIVE,
               "rows": rows, "run": str(run)}
    if not study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        return {"tune": summary}
    best = study.best_trial
    path = run / rd.METRICS
    metrics = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    summary.update({"best_trial": best.number, "value": best.value, "params": dict(best.params)})
    return {**metrics, "tune": summary}
