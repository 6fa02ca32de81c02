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

__all__ = ["baseline_verdict", "MAIN_METRIC"]

# task -> (metric, higher is better)
MAIN_METRIC = {"classify": ("accuracy", True), "tag": ("event_f1", True), "forecast": ("mase", False)}


def _baseline_figures(task: str, metrics: dict) -> dict[str, dict]:
    """name -> the baseline's validation figures."""
    if task == "forecast":
        return dict((metrics.get("validation") or {}).get("baselines") or {})
    b = metrics.get("baseline") or {}
    if isinstance(b.get("validation"), dict):
        return {b.get("model", "baseline"): b["validation"]}
    return {}


def _suggestions(task: str, cfg: RunConfig, kind: str | None) -> dict:
    """Settings that help where a baseline wins, leaving out what the run already has.
    Values are config values; ``train.max_time`` None means "more time" (no value)."""
    m, d = cfg.model, cfg.data
    want: dict = {}
    if task == "classify" and kind == "text":
        # the recipe that took a 5-topic news set from 0.28 to 0.967 (README, issue 12)
        want = {"model.bidirectional": True, "model.head": "max", "data.lowercase": True, "data.min_freq": 2,
                "model.dropout": 0.3}
    elif task == "classify":
        want = {"data.normalize": True, "model.cell": "gru"}
    elif task == "tag":
        want = {"model.bidirectional": True}
    elif task == "forecast":
        if d.season and d.input_length is not None and d.input_length < 2 * d.season:
            want["data.input_length"] = 2 * d.season
        want["model.loss"] = "mae"
    out = {}
    for key, value in want.items():
        section, name = key.split(".")
        current = getattr(getattr(cfg, section), name)
        if key == "model.bidirectional" and current is None:
            current = task == "tag"
        if key == "data.min_freq" and current >= value:
            continue
        if current != value:
            out[key] = value
    out["train.max_time"] = None
    return out


def baseline_verdict(task: str, metrics: dict, cfg: RunConfig, kind: str | None = None) -> dict | None:
    """The best baseline's figure against the RNN's on validation when the baseline
    wins, else None (also when the task or the run has no baseline to compare with).

    Returns ``{"baseline": name, "metric": name, "rnn": value, "baseline_value":
    value, "higher_is_better": bool, "try": {config key: value or None}}``.
    """
    if task not in MAIN_METRIC:
        return None
    metric, higher = MAIN_METRIC[task]
    rnn = (metrics.get("validation") or {}).get(metric)
    if rnn is None and task == "forecast":
        metric = "rmse"
        rnn = (metrics.get("validation") or {}).get(metric)
    if not isinstance(rnn, (int, float)):
        return None
    scored = {name: f[metric] for name, f in _baseline_figures(task, metrics).items()
              if isinstance(f.get(metric), (int, float)) and f[metric] == f[metric]}   # not NaN
    if not scored:
        return None
    best = (max if higher else min)(scored, key=scored.get)
    value = scored[best]
    if (value <= rnn) if higher else (value >= rnn):
        return None
    return {"baseline": best, "metric": metric, "rnn": rnn, "baseline_value": value,
            "higher_is_better": higher, "try": _suggestions(task, cfg, kind)}
