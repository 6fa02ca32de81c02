"""Whether a trained run beats the baseline fitted beside it, judged on validation.

Every task that fits a baseline (classify: the bag of words or the window logistic
regression; tag on signals: the window logistic regression; forecast: naive, seasonal
naive and the window ridge regression) writes its figures into ``metrics.json``. When
the best baseline is better than the RNN on the task's main validation metric,
:func:`baseline_verdict` says by how much and which settings are worth trying, as
config keys (the command line shows them as flags).

Example::

    v = baseline_verdict("classify", metrics, cfg)
    v["baseline"], v["metric"], v["rnn"], v["baseline_value"], v["try"]
    # 'bow', 'accuracy', 0.28, 0.95, {'model.bidirectional': True, 'model.head': 'max', ...}
"""

from __future__ import annotations

from ..config import RunConfig

__all__ = ["baseline_verdict"]


def _spec(task: str):
    """The task's TaskSpec, or None for a task rnnkit does not know."""
    from ..tasks.registry import declaration, task_names

    return declaration(task).spec if task in task_names() else None


def _suggestions(spec, cfg: RunConfig, kind: str | None) -> dict:
    """Settings that help where a baseline wins (the task's
    :meth:`~rnnkit.tasks.spec.TaskSpec.baseline_suggestions`), leaving out what the run
    already has. Values are config values; ``train.max_time`` None means "more time"
    (no value)."""
    from ..tasks.declare import DATA_DEFAULTS, input_kind
    from ..tasks.registry import task_default

    out = {}
    for key, value in spec.baseline_suggestions(cfg, kind).items():
        section, name = key.split(".")
        current = getattr(getattr(cfg, section), name)
        if current is None and key in DATA_DEFAULTS:
            current = task_default(spec.name, input_kind(kind), key)
        elif current is None:
            continue            # resolved by the task's data module for a new run (data.word_dropout, ...)
        if key == "data.min_freq" and current >= value:
            continue
        if current != value:
            out[key] = value
    out["train.max_time"] = None
    return out


def baseline_verdict(task: str, metrics: dict, cfg: RunConfig, kind: str | None = None) -> dict | None:
    """The best baseline's figure against the RNN's on validation when the baseline
    wins, else None (also when the task or the run has no baseline to compare with).

    The task says what is compared (:attr:`~rnnkit.tasks.spec.TaskSpec.verdict_metrics`:
    the first of them the run has; a task without them has no verdict), where the
    baselines' figures are (:meth:`~rnnkit.tasks.spec.TaskSpec.baseline_figures`) and
    what to try.

    Returns ``{"baseline": name, "metric": name, "rnn": value, "baseline_value":
    value, "higher_is_better": bool, "try": {config key: value or None}}``.
    """
    spec = _spec(task)
    if spec is None or not spec.verdict_metrics:
        return None
    higher = spec.higher_is_better
    validation = metrics.get("validation") or {}
    for metric in spec.verdict_metrics:
        rnn = validation.get(metric)
        if rnn is not None:
            break
    if not isinstance(rnn, (int, float)):
        return None
    scored = {name: f[metric] for name, f in spec.baseline_figures(metrics).items()
              if isinstance(f.get(metric), (int, float)) and f[metric] == f[metric]}   # not NaN
    if not scored:
        return None
    best = (max if higher else min)(scored, key=scored.get)
    value = scored[best]
    if (value <= rnn) if higher else (value >= rnn):
        return None
    return {"baseline": best, "metric": metric, "rnn": rnn, "baseline_value": value,
            "higher_is_better": higher, "try": _suggestions(spec, cfg, kind)}
