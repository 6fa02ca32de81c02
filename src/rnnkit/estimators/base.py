"""What every estimator shares: hyperparameters named as the config's fields, the
scikit-learn contract (``get_params`` / ``set_params`` / ``clone``), training through
:func:`rnnkit.training.train` into a run directory, ``save`` and loading back.

An estimator is a thin door into the same house as the command line: ``fit`` turns the
data in memory into the records the task's file readers would return, hands them to the
trainer (:class:`~rnnkit.data.memory.InMemory`) with a :class:`~rnnkit.config.RunConfig`
built from the hyperparameters, and loads the trained run back with
:func:`~rnnkit.training.load_run`, exactly as ``rnnkit predict`` does.

The scikit-learn contract: ``__init__`` stores each hyperparameter as an attribute of the
same name, as given, and does nothing else (unknown names are refused: a ValueError
that lists the known ones); fitted state ends in ``_``; ``fit`` returns ``self``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import re
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from sklearn.base import BaseEstimator

from ..config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ..errors import UsageError, as_params

#: the config sections whose fields are hyperparameters
SECTIONS = (("model", ModelConfig), ("data", DataConfig), ("train", TrainConfig))

#: the file written beside the checkpoints: the estimator's class and what the run
#: directory cannot hold as is (labels that are not strings)
ESTIMATOR_FILE = "estimator.json"


def _defaults(cls) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        else:
            out[f.name] = f.default_factory()
    return out


def hyperparameters(task: str, data_fields: tuple[str, ...]) -> dict[str, tuple[str, Any]]:
    """Name -> (config section, default) of an estimator's hyperparameters: the
    ModelConfig fields ``task`` declares (:func:`rnnkit.tasks.registry.options_of`),
    ``data_fields`` of DataConfig (each one the task declares), every TrainConfig field."""
    from ..tasks.registry import option_keys

    own = option_keys(task)
    model = _defaults(ModelConfig)
    data = _defaults(DataConfig)
    out = {name: ("model", d) for name, d in model.items() if f"model.{name}" in own}
    for name in data_fields:
        if f"data.{name}" not in own:
            raise ValueError(f"estimator of task {task}: data field {name!r} is not an option of the task")
        out[name] = ("data", data[name])
    out.update({name: ("train", d) for name, d in _defaults(TrainConfig).items()})
    return out


def _plain(value):
    """Config values from what users pass: NumPy scalars as Python numbers, tuples as lists."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


_FLAG = re.compile(r"--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)")


@contextlib.contextmanager
def config_keys_in_errors():
    """UsageErrors raised inside re-raised with the library's config keys spelled as the
    estimators' parameter names (:func:`rnnkit.errors.as_params`: ``data.fill`` ->
    ``fill``); the few command-line ``--flags`` the library still names (``--overwrite``)
    as the argument of the same name."""
    try:
        yield
    except UsageError as err:
        message = _FLAG.sub(lambda m: m.group(1).replace("-", "_"), as_params(str(err)))
        raise UsageError(message) from None


class RNNEstimator(BaseEstimator):
    """Base of :class:`~rnnkit.Classifier`, :class:`~rnnkit.LanguageModel`,
    :class:`~rnnkit.Forecaster` and :class:`~rnnkit.Tagger`.

    A subclass sets ``task`` and ``data_fields`` (its DataConfig fields); its
    constructor's signature (keyword-only, the config's defaults) is derived from them.
    """

    task: str = ""
    data_fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        params = hyperparameters(cls.task, cls.data_fields)
        cls._hyperparameters = params

        def __init__(self, **given):
            unknown = sorted(set(given) - set(params))
            if unknown:
                raise ValueError(f"{cls.__name__}: unknown parameter {unknown[0]!r}; known: "
                                 f"{', '.join(params)}")
            for name, (_, default) in params.items():
                setattr(self, name, given[name] if name in given else _fresh(default))

        __init__.__signature__ = inspect.Signature(
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
               for name, (_, default) in params.items()])
        __init__.__qualname__ = f"{cls.__name__}.__init__"
        __init__.__doc__ = (f"Hyperparameters, each the config field of the same name (``rnnkit train "
                            f"{cls.task} --help``): {', '.join(params)}.")
        cls.__init__ = __init__

    # ---- configuration --------------------------------------------------------------
    def run_config(self, **data) -> RunConfig:
        """The RunConfig of these hyperparameters; ``data``: DataConfig values fixed by
        the data (e.g. the forecast's target columns when not given)."""
        values: dict = {"task": self.task, "model": {}, "data": {}, "train": {}}
        for name, (section, _) in self._hyperparameters.items():
            values[section][name] = _plain(getattr(self, name))
        values["data"].update({k: _plain(v) for k, v in data.items()})
        return RunConfig.from_dict(values, source=type(self).__name__)

    @classmethod
    def _params_of(cls, cfg: RunConfig) -> dict:
        return {name: getattr(getattr(cfg, section), name) for name, (section, _) in cls._hyperparameters.items()}

    # ---- training -------------------------------------------------------------------
    def _train(self, memory, run_dir=None, overwrite: bool = False, extra: dict | None = None, **data) -> dict:
        """Train on ``memory`` into ``run_dir`` (a new temporary folder when None, removed
        with the estimator), then load the run back; returns metrics.json's figures.
        When training fails, the estimator keeps its previous fitted state (and folder)."""
        from ..training import load_run, train

        with config_keys_in_errors():
            cfg = self.run_config(**data)
        temporary = None
        if run_dir is None:
            run = Path(tempfile.mkdtemp(prefix="rnnkit-run-"))
            temporary = weakref.finalize(self, shutil.rmtree, str(run), ignore_errors=True)
        else:
            run = Path(run_dir)
        try:
            with config_keys_in_errors():
                metrics = train(cfg, run, overwrite=overwrite, memory=memory)
            _write_estimator_file(run, type(self).__name__, extra or {})
            module, _ = load_run(run)
        except BaseException:
            if temporary is not None:
                temporary()
            raise
        previous = getattr(self, "_temporary", None)
        if previous is not None:
            previous()                      # the folder of the previous fit
        self._temporary = temporary
        self.module_, self.run_dir_, self.metrics_ = module, run, metrics
        return metrics

    def _check_fitted(self) -> None:
        if getattr(self, "module_", None) is None:
            from sklearn.exceptions import NotFittedError     # a ValueError

            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: expected fit() (or rnnkit.load) "
                             f"before using it")

    # ---- run directories ------------------------------------------------------------
    def save(self, path, overwrite: bool = False) -> Path:
        """Write the run directory (config.yaml, checkpoints, metrics.json, plots, and
        the estimator's labels) to ``path``: ``rnnkit evaluate / predict / info /
        export`` use it as is, and :func:`rnnkit.load` gives this estimator back.
        ``path`` must not exist, or be empty, unless ``overwrite``."""
        from ..io.lock import LOCK_NAME

        self._check_fitted()
        path = Path(path)
        src = Path(self.run_dir_)
        if path.exists() and path.resolve() == src.resolve():
            return path
        if path.exists() and not path.is_dir():
            raise ValueError(f"save: expected a folder path, got the file {str(path)!r}")
        if path.is_dir() and any(path.iterdir()):
            if not overwrite:
                raise ValueError(f"save: expected a new or empty folder, got {str(path)!r} with files in it "
                                 f"(pass overwrite=True to replace them)")
            shutil.rmtree(path)
        tmp = path.with_name(path.name + ".saving")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, ignore=shutil.ignore_patterns(LOCK_NAME))
        if path.is_dir():
            path.rmdir()
        tmp.rename(path)                  # nothing half-written under ``path``
        return path

    @classmethod
    def _from_run(cls, module, cfg, run: Path, extra: dict):
        est = cls(**cls._params_of(cfg))
        est.module_, est.run_dir_ = module, Path(run)
        metrics = Path(run) / "metrics.json"
        est.metrics_ = json.loads(metrics.read_text(encoding="utf-8")) if metrics.is_file() else None
        est._restore(extra)
        return est

    def _restore(self, extra: dict) -> None:
        """Fitted attributes other than the module, from a loaded run (subclasses)."""

    # ---- pickling: the module travels, the temporary folder does not ----------------
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_temporary", None)
        return state


def _fresh(default):
    return list(default) if isinstance(default, list) else default


def _write_estimator_file(run: Path, name: str, extra: dict) -> None:
    from ..io.atomic import write_atomic

    write_atomic(Path(run) / ESTIMATOR_FILE, json.dumps({"estimator": name, **extra}, indent=2) + "\n")


def read_estimator_file(run: Path) -> dict:
    path = Path(run) / ESTIMATOR_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
