"""rnnkit.tasks: model = input layer -> recurrent stack -> task head, with its loss,
metrics and data. Knows nothing of the command line.

Each task is a :class:`TaskSpec` in :data:`TASKS`; the trainer and the command line
reach a task only through it.
"""

from __future__ import annotations

from ..config import TASKS as TASK_NAMES
from ..errors import UsageError
from .spec import TaskSpec


def get_task(name: str) -> TaskSpec:
    from .classify_spec import CLASSIFY
    from .forecast_spec import FORECAST
    from .lm_spec import LM
    from .tag_spec import TAG

    available = {"lm": LM, "classify": CLASSIFY, "tag": TAG, "forecast": FORECAST}
    if name not in TASK_NAMES:
        raise UsageError(f"unknown task {name!r}; expected one of {', '.join(TASK_NAMES)}")
    if name not in available:
        raise UsageError(f"task {name!r} is not available in this release; available: "
                         f"{', '.join(available)}")
    return available[name]


__all__ = ["TaskSpec", "get_task", "TASK_NAMES"]
