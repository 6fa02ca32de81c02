"""The record of a search (see :mod:`rnnkit.training.tune`): the trials' table
(``RUN/tune/trials.csv``), their plot (``RUN/tune/trials.png``) and the summary
``rnnkit tune`` prints at the end."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from ..io.atomic import write_atomic

OBJECTIVE = "val_loss"          # minimised, for every task
TUNE_DIR = "tune"


def retried(trials) -> dict[int, int]:
    """{number of a stopped trial: number of the trial that runs it again}."""
    return {t.user_attrs["retry_of"]: t.number for t in trials if "retry_of" in t.user_attrs}


def counts(trials) -> dict[str, int]:
    """Trials complete, pruned, failed, and stopped by a kill or an interrupt (run again)."""
    again = retried(trials)
    out = {"complete": 0, "pruned": 0, "failed": 0, "retried": 0}
    for t in trials:
        name = t.state.name
        if name == "COMPLETE":
            out["complete"] += 1
        elif name == "PRUNED":
            out["pruned"] += 1
        elif name == "FAIL":
            out["retried" if t.number in again else "failed"] += 1
    return out


def trial_rows(study, keys: list[str]) -> list[dict]:
    """One dict per trial: number, state, value, seconds, max_time, the parameters, note."""
    trials = study.get_trials()
    again = retried(trials)
    rows = []
    for t in trials:
        state = t.state.name
        note = t.user_attrs.get("note", "")
        if t.number in again:
            note = f"stopped (killed or interrupted); run again as trial {again[t.number]}"
        if state == "WAITING" and "retry_of" in t.user_attrs:
            note = f"queued: runs trial {t.user_attrs['retry_of']} again"
        if state == "PRUNED" and not note:
            note = f"pruned after {len(t.intermediate_values)} validation(s)"
        value = t.value if t.value is not None else (
            t.intermediate_values[t.last_step] if state == "PRUNED" and t.last_step is not None else None)
        row = {"number": t.number, "state": state, "value": value, "seconds": t.user_attrs.get("seconds"),
               "max_time": t.user_attrs.get("max_time")}
        row.update({k: t.params.get(k) for k in keys})
        row["note"] = note
        rows.append(row)
    return rows


def write_table(rows: list[dict], keys: list[str], path: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["number", "state", "value", "seconds", "max_time", *keys, "note"],
                       lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)) for k, v in r.items()})
    write_atomic(path, buf.getvalue())


def plot_trials(rows: list[dict], path: Path) -> None:
    """The validation loss of each complete trial (dots), of each pruned one at its last
    validation (crosses), and the best so far (a step line)."""
    from ..io.figures import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    done = [(r["number"], r["value"]) for r in rows if r["state"] == "COMPLETE" and finite(r["value"])]
    pruned = [(r["number"], r["value"]) for r in rows if r["state"] == "PRUNED" and finite(r["value"])]
    if done:
        ax.plot(*zip(*done), "o", label="complete")
        best, xs, ys = math.inf, [], []
        for n, v in sorted(done):
            best = min(best, v)
            xs.append(n)
            ys.append(best)
        ax.step(xs, ys, where="post", label="best so far")
    if pruned:
        ax.plot(*zip(*pruned), "x", label="pruned (last validation)")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation loss ({OBJECTIVE})")
    ax.grid(alpha=0.3)
    if done or pruned:
        ax.legend()
    save_figure(fig, path)


def finite(v) -> bool:
    return v is not None and math.isfinite(v)


def show(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def format_summary(result: dict) -> list[str]:
    """Lines for the end of ``rnnkit tune``: the trials (best first), the best
    trial's parameters, where everything is."""
    s = result["tune"]
    c = s["counts"]
    again = f", {c['retried']} stopped and run again" if c["retried"] else ""
    lines = [f"trials: {c['complete']} complete, {c['pruned']} pruned, {c['failed']} failed{again} "
             f"({s['trials']} asked); {s['seconds_spent']:.0f} s of {s['max_time']:g} s"]
    ranked = sorted(s["rows"], key=lambda r: (r["state"] != "COMPLETE",
                                              r["value"] if finite(r["value"]) else math.inf))
    keys = list(s["params"])
    table = [["trial", "state", OBJECTIVE, "seconds", *(k.split(".")[-1] for k in keys)]]
    for r in ranked[:10]:
        table.append([str(r["number"]), r["state"].lower(), f"{r['value']:.4f}" if finite(r["value"]) else "-",
                      f"{r['seconds']:.1f}" if r["seconds"] is not None else "-",
                      *(show(r[k]) if r[k] is not None else "-" for k in keys)])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines += ["  ".join(cell.rjust(w) if i != 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
              for row in table]
    if len(ranked) > 10:
        lines.append(f"... {len(ranked) - 10} more in trials.csv")
    lines.append(f"best: trial {s['best_trial']}, {OBJECTIVE} {s['value']:.4f}: "
                 + ", ".join(f"{k} {show(v)}" for k, v in s["params"].items()))
    run = s["run"]
    lines.append(f"run directory: {run} (the best trial's; every trial, trials.csv and trials.png in "
                 f"{os.path.join(run, TUNE_DIR)})")
    return lines
