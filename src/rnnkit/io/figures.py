"""Figures as PNG files: matplotlib on the Agg backend, written atomically. Used by the
trainer's curves, the tasks' plots (forecasts, confusion matrices), tune and lab.

Example::

    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    save_figure(fig, "out/curve.png")
"""

from __future__ import annotations

import io
from pathlib import Path

from .atomic import write_atomic


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no screen needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path) -> None:
    """Lay out, render as PNG, close, and write atomically."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(Path(path), buf.getvalue())
