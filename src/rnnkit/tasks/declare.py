"""What a task declares, as data: :class:`Option` (a config key with its help),
:class:`Arg` (an argument of evaluate or predict that only some tasks take) and
:class:`Task` (everything about one task the rest of rnnkit consults).

A declaration imports nothing heavy: its model and behaviour are named by import
path (``"rnnkit.tasks.lm.model:LMTask"``) and loaded when first used, so the config,
the command line's help and the registry cost no torch import.

Example (a task's folder, ``tasks/toy/__init__.py``)::

    TASK = Task(
        name="toy", about="regress the sum of a row of numbers",
        options=(Option("data.columns", "columns to read", type=Optional[list[str]], default=None),),
        reads=("csv",), model="mypkg.toy:ToyModule", behaviour="mypkg.toy:TOY",
        metrics=("loss", "mae"), capabilities=frozenset(),
        tuning_space={"train.lr": ("float", 1e-4, 1e-2, "log")})
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import flag_of

#: what a task reads: texts (tokens) or real values (series, signals, tables)
INPUT_KINDS = ("text", "values")

def input_kind(data_kind: str | None) -> str:
    """The kind of :attr:`Task.defaults` for a data module's ``kind``: ``"signal"``
    (real values, as classify and tag name them in their preprocessing) is ``"values"``,
    anything else ``"text"``."""
    return "values" if data_kind == "signal" else "text"


#: the config keys whose null means "the task's choice for its input"
#: (:attr:`Task.defaults`), and the value where the task makes none
DATA_DEFAULTS = {
    "model.num_layers": 2,
    "model.embedding_size": 64,
    "model.dropout": 0.1,
    "model.bidirectional": False,
    "model.head": "last",
    "data.lowercase": False,
    "data.min_freq": 1,
}


class _Unset:
    def __repr__(self):
        return "UNSET"


#: an Option's default when the config dataclass field gives it
UNSET = _Unset()

#: the capabilities a task may declare, and what each lets the command line do
CAPABILITIES = {
    "baseline": "evaluate --baseline: a baseline fitted on the same training split, side by side",
    "generate": "rnnkit generate: sample from the model",
    "intervals": "prediction intervals (lower and upper columns)",
    "streaming": "rnnkit.Stream: feed a stream chunk by chunk, the state carried",
    "export": "rnnkit export: an ONNX / pt2 graph with the preprocessing as JSON",
    "predict_plot": "predict writes a plot beside --out (FILE.png)",
    "inspect": "rnnkit inspect: gradient flow and effective memory over windows of its text",
}


@dataclass(frozen=True)
class Option:
    """A config key a task reads: ``key`` is dotted (``"data.horizon"``), the flag is
    its last part (``--horizon``). ``type`` and ``default`` are taken from the config
    section's dataclass field of that name when not given; an option that is no such
    field (a task added outside rnnkit) gives both."""

    key: str
    help: str
    type: Any = None
    default: Any = UNSET

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    @property
    def flag(self) -> str:
        return flag_of(self.key)


@dataclass(frozen=True)
class Arg:
    """An argument of ``evaluate`` or ``predict`` that some tasks take
    (forecast's ``--horizon``): passed to the task's method as the keyword ``name``.
    ``kind``: ``"int"``, ``"paths"`` (one or more) or ``"flag"`` (true when given);
    ``keyword``: the method's keyword when it is not ``name``."""

    name: str
    help: str
    kind: str = "int"
    metavar: str = "N"
    keyword: str = ""

    @property
    def flag(self) -> str:
        return flag_of(self.name)


def load(path: str):
    """The object an import path ``"package.module:attribute"`` names."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def module_names(package: str):
    """A module ``__getattr__`` for a task's package: the names of its ``module.py`` (the
    TaskModule and its helpers) reached as ``package.<name>``, imported on first use."""

    def __getattr__(name: str):
        try:
            return getattr(importlib.import_module(f"{package}.module"), name)
        except AttributeError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

    return __getattr__


@dataclass(frozen=True)
class Task:
    """One task, declared once.

    Attributes:
        name: the command line's TASK (``rnnkit train NAME``) and the config's ``task``.
        about: one line for ``rnnkit train --help``.
        options: the config keys it reads beyond :data:`rnnkit.tasks.options.COMMON`,
            with their help (a key shared with other tasks is declared by each).
        reads: what its data files are (kinds and extensions), for the help.
        model: import path of its :class:`~rnnkit.tasks.base.TaskModule` subclass.
        behaviour: import path of its :class:`~rnnkit.tasks.spec.TaskSpec` instance
            (data, final metrics, evaluate, predict, describe).
        metrics: the figures ``evaluate`` shows, in order.
        table: true when ``evaluate`` shows :attr:`metrics` as a table (beside the
            baseline's) even without a baseline.
        curves: training curves plotted into RUN/plots: (file stem, [logged keys]).
        capabilities: names from :data:`CAPABILITIES`.
        tuning_space: what ``rnnkit tune`` searches: dotted config key ->
            ``("int", low, high)``, ``("float", low, high)`` (either with a fourth
            item ``"log"``) or ``("choice", [values])``; the objective is ``val_loss``.
        evaluate_args, predict_args: the :class:`Arg` s its evaluate / predict take.
        defaults: the values of the keys of :data:`DATA_DEFAULTS` that the task
            chooses from its input, by kind (``"text"`` or ``"values"``): where the
            config leaves such a key null, :func:`rnnkit.tasks.registry.with_task_defaults`
            fills it from here, else from :data:`DATA_DEFAULTS`.
        info: ``(label, config key)`` pairs shown on ``rnnkit info``'s training line.
    """

    name: str
    about: str
    options: tuple = ()
    reads: tuple = ()
    model: str = ""
    behaviour: str = ""
    metrics: tuple = ("loss",)
    table: bool = False
    curves: tuple = (("loss", ("train_loss_step", "train_loss_epoch", "val_loss")),)
    capabilities: frozenset = frozenset()
    tuning_space: dict = field(default_factory=dict)
    evaluate_args: tuple = ()
    predict_args: tuple = ()
    defaults: dict = field(default_factory=dict)
    info: tuple = ()

    def __post_init__(self):
        unknown = sorted(set(self.capabilities) - set(CAPABILITIES))
        if unknown:
            raise ValueError(f"task {self.name}: unknown capability {unknown[0]!r}; expected among "
                             f"{', '.join(CAPABILITIES)}")
        for kind, values in self.defaults.items():
            if kind not in INPUT_KINDS or not set(values) <= set(DATA_DEFAULTS):
                raise ValueError(f"task {self.name}: defaults expected kinds among {', '.join(INPUT_KINDS)} and "
                                 f"keys among {', '.join(DATA_DEFAULTS)}, got {kind!r}: {sorted(values)}")
        keys = [o.key for o in self.options]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"task {self.name}: option {twice[0]!r} declared twice")

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    @property
    def module(self) -> type:
        """The TaskModule class (imported on first use)."""
        return load(self.model)

    @property
    def spec(self):
        """The TaskSpec instance (imported on first use)."""
        return load(self.behaviour)
