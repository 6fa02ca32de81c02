"""Training curves as PNG, drawn from the CSV log."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ..io.atomic import write_atomic
from ..io.figures import pyplot, save_figure


def read_log(path: Path) -> list[dict]:
    if not Path(path).is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def stash_log(log_csv: Path) -> None:
    """Before a resumed run starts its log afresh: keep the current log as the next
    ``metrics.part-N.csv`` beside it, for :func:`merge_logs`."""
    log_csv = Path(log_csv)
    if log_csv.is_file():
        n = len(list(log_csv.parent.glob("metrics.part-*.csv")))
        log_csv.rename(log_csv.parent / f"metrics.part-{n:03d}.csv")


def merge_logs(log_csv: Path) -> None:
    """One log again: the stashed parts, each cut where the next one starts (a killed
    run logged steps that its resumption repeats), then the current log."""
    log_csv = Path(log_csv)
    parts = sorted(log_csv.parent.glob("metrics.part-*.csv"))
    if not parts:
        return
    segments = [read_log(p) for p in parts] + [read_log(log_csv)]
    rows = []
    for i, seg in enumerate(segments):
        later = [_step(r) for s in segments[i + 1:] for r in s if _step(r) is not None]
        cut = min(later) if later else None
        rows.extend(r for r in seg if cut is None or (_step(r) is not None and _step(r) < cut))
    keys = sorted({k for r in rows for k in r})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_atomic(log_csv, buf.getvalue().encode("utf-8"))
    for p in parts:
        p.unlink()


def _step(row):
    value = row.get("step")
    return None if value in (None, "") else int(float(value))


def _series(rows, key):
    xs, ys = [], []
    for row in rows:
        value, step = row.get(key), row.get("step")
        if value not in (None, "") and step not in (None, ""):
            v = float(value)
            if math.isfinite(v):
                xs.append(int(float(step)))
                ys.append(v)
    return xs, ys


def plot_curves(log_csv: Path, out_dir: Path, metrics: list[tuple[str, list[str]]]) -> list[Path]:
    """One PNG per (name, keys): each key of the log drawn against the training step."""
    plt = pyplot()

    rows = read_log(log_csv)
    written = []
    for name, keys in metrics:
        series = [(k, *_series(rows, k)) for k in keys]
        series = [s for s in series if s[1]]
        if not series:
            continue
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        for key, xs, ys in series:
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, label=key)
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
        path = Path(out_dir) / f"{name}.png"
        save_figure(fig, path)
        written.append(path)
    return written
