"""rnnkit.tasks: model = input layer -> recurrent stack -> task head, with its loss,
metrics and data. Knows nothing of the command line.

Each task is declared once (:class:`~rnnkit.tasks.declare.Task`: its options, what it
reads, its model, metrics, capabilities and tuning space) and registered in
:mod:`rnnkit.tasks.registry`; its behaviour (data, evaluate, predict) is a
:class:`TaskSpec`. The trainer and the command line reach a task only through them.
"""

from __future__ import annotations

from .declare import Arg, Option, Task
from .registry import declaration, register, task_names, unregister
from .spec import TaskSpec


def get_task(name: str) -> TaskSpec:
    """The behaviour (:class:`TaskSpec`) of the registered task ``name``."""
    return declaration(name).spec


def __getattr__(name: str):
    if name == "TASK_NAMES":       # the registered tasks' names
        return task_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Arg", "Option", "Task", "TaskSpec", "declaration", "get_task", "register", "task_names",
           "unregister", "TASK_NAMES"]
