"""The tasks rnnkit knows: one line per task, naming the module that holds its
declaration (a :class:`~rnnkit.tasks.declare.Task` called ``TASK``).

Everything that lists tasks derives from here: :data:`rnnkit.config.TASKS`, the
config's ``task`` check, the command line's ``rnnkit train TASK`` / ``tune TASK``
with each task's own options, which config keys belong to which task. A task
defined elsewhere (a plug-in, a test) joins with :func:`register`.
"""

from __future__ import annotations

import functools
import importlib

from ..errors import UsageError
from .declare import UNSET, Option, Task

BUILTIN = (
    "rnnkit.tasks.lm",
    "rnnkit.tasks.classify",
    "rnnkit.tasks.tag",
    "rnnkit.tasks.forecast",
)

_TASKS: dict[str, Task] = {}


def _loaded() -> dict[str, Task]:
    if not _TASKS:
        for path in BUILTIN:
            task = importlib.import_module(path).TASK
            _TASKS[task.name] = task
    return _TASKS


def register(task: Task) -> Task:
    """Add ``task`` (or replace the task of that name); returns it."""
    if not isinstance(task, Task):
        raise TypeError(f"register: expected a rnnkit.tasks.declare.Task, got {type(task).__name__}")
    _check_options(task)
    _loaded()[task.name] = task
    return task


def unregister(name: str) -> None:
    """Remove the task ``name`` (a task registered for a test)."""
    _loaded().pop(name, None)


def task_names() -> tuple[str, ...]:
    return tuple(_loaded())


def declaration(name: str) -> Task:
    """The declaration of task ``name``; UsageError naming the known tasks otherwise."""
    tasks = _loaded()
    if name not in tasks:
        raise UsageError(f"unknown task {name!r}; expected one of {', '.join(tasks)}")
    return tasks[name]


def common_options() -> tuple[Option, ...]:
    from .options import COMMON

    return COMMON


def options_of(name: str) -> tuple[Option, ...]:
    """Every option task ``name`` reads: the common ones, then its own."""
    return common_options() + declaration(name).options


def option_keys(name: str) -> set[str]:
    return {o.key for o in options_of(name)}


def owners(key: str) -> list[str]:
    """The tasks that declare the config key ``key`` (every task for a common one)."""
    if key in {o.key for o in common_options()}:
        return list(task_names())
    return [t.name for t in _loaded().values() if any(o.key == key for o in t.options)]


def all_options() -> dict[str, Option]:
    """Every declared option by key: the common ones, then each task's (the first
    declaration of a shared key)."""
    out = {o.key: o for o in common_options()}
    for task in _loaded().values():
        for o in task.options:
            out.setdefault(o.key, o)
    return out


def _field(option: Option):
    import dataclasses

    from ..config import DataConfig, ModelConfig, TrainConfig

    cls = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}[option.section]
    return cls, next((f for f in dataclasses.fields(cls) if f.name == option.name), None)


@functools.lru_cache(maxsize=None)
def _hints(cls) -> dict:
    import typing

    return typing.get_type_hints(cls)


def option_type(option: Option):
    """The option's type: declared, or its config field's."""
    if option.type is not None:
        return option.type
    cls, f = _field(option)
    if f is None:
        raise ValueError(f"option {option.key!r}: no config field of that name; expected a declared type")
    return _hints(cls)[option.name]


def option_default(option: Option):
    """The option's default: declared, or its config field's."""
    import dataclasses

    from .declare import UNSET

    if option.default is not UNSET:
        return option.default
    _, f = _field(option)
    if f is None:
        raise ValueError(f"option {option.key!r}: no config field of that name; expected a declared default")
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _check_options(task: Task) -> None:
    """A task's options are in a config section and do not repeat a common one."""
    common = {o.key for o in common_options()}
    for o in task.options:
        if o.section not in ("model", "data", "train") or not o.name:
            raise ValueError(f"task {task.name}: option {o.key!r}: expected a key in the model, data or train "
                             f"section (e.g. 'data.horizon')")
        if o.key in common:
            raise ValueError(f"task {task.name}: option {o.key!r} is common to every task already")
        if _field(o)[1] is None and (o.type is None or o.default is UNSET):
            raise ValueError(f"task {task.name}: option {o.key!r} is no config field; expected its type and "
                             f"default in the declaration")


def task_default(task: str, kind: str, key: str):
    """The value of ``key`` (one of :data:`~rnnkit.tasks.declare.DATA_DEFAULTS`) that
    task ``task`` chooses for input of ``kind`` (``"text"`` or ``"values"``)."""
    from .declare import DATA_DEFAULTS

    return declaration(task).defaults.get(kind, {}).get(key, DATA_DEFAULTS[key])


def with_task_defaults(cfg, kind: str):
    """``cfg`` (a :class:`~rnnkit.config.RunConfig`) with each key of
    :data:`~rnnkit.tasks.declare.DATA_DEFAULTS` that its task reads and it leaves null
    set to the task's choice for input of ``kind``; a value given is kept. The same
    object when nothing is null.

    Example::

        cfg = with_task_defaults(RunConfig(task="classify"), "text")
        cfg.model.head, cfg.model.num_layers               # 'max', 1
    """
    import dataclasses

    from .declare import DATA_DEFAULTS, INPUT_KINDS

    if kind not in INPUT_KINDS:
        raise ValueError(f"with_task_defaults: expected kind among {', '.join(INPUT_KINDS)}, got {kind!r}")
    changes: dict[str, dict] = {}
    own = option_keys(cfg.task)
    for key in DATA_DEFAULTS:
        if key not in own:
            continue                      # another task's key: stays null, as the task ignores it
        section, name = key.split(".")
        if getattr(getattr(cfg, section), name) is None:
            changes.setdefault(section, {})[name] = task_default(cfg.task, kind, key)
    if not changes:
        return cfg
    return dataclasses.replace(cfg, **{section: dataclasses.replace(getattr(cfg, section), **values)
                                       for section, values in changes.items()})
