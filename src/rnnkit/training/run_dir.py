"""The run directory: everything one training run leaves, and all that evaluate,
predict and generate need.

    RUN/config.yaml              the resolved configuration
    RUN/checkpoints/best.ckpt    lowest validation loss (model + preprocessing state)
    RUN/checkpoints/last.ckpt    the latest state, for --resume
    RUN/metrics.json             final train / validation / test figures
    RUN/logs/metrics.csv         every logged value (TensorBoard too when installed)
    RUN/plots/*.png              training curves
    RUN/.rnnkit.lock             the write lock (see :mod:`rnnkit.io.lock`); never removed
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import UsageError
from ..io.lock import LOCK_NAME

CONFIG = "config.yaml"
METRICS = "metrics.json"


def checkpoint_path(run: Path, which: str) -> Path:
    return Path(run) / "checkpoints" / f"{which}.ckpt"


def launcher_rank_is_zero() -> bool:
    """Whether this process is the first of a (possibly) distributed launch, read from
    the variables torchrun, SLURM and Lightning's own launcher set. Only that process
    prepares the run directory; the others read data and train."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK"):
        value = os.environ.get(var)
        if value not in (None, "", "0"):
            return False
    return True


def check_new_run(run: Path, overwrite: bool) -> None:
    """A run directory must not exist (or be empty) unless --overwrite."""
    run = Path(run)
    if run.exists() and not run.is_dir():
        raise UsageError(f"--out: {str(run)!r} exists and is not a folder")
    if run.is_dir() and any(p.name != LOCK_NAME for p in run.iterdir()) and not overwrite:
        raise UsageError(f"--out: run directory {str(run)!r} already exists; pass --overwrite to replace it "
                         f"or --resume to continue it")


def prepare_new_run(run: Path, overwrite: bool) -> None:
    """An empty run directory (with --overwrite: everything in it removed but the lock
    file, which the caller holds, so that no other writer can start meanwhile)."""
    run = Path(run)
    check_new_run(run, overwrite)
    if run.is_dir() and overwrite:
        for entry in run.iterdir():
            if entry.name == LOCK_NAME:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    run.mkdir(parents=True, exist_ok=True)


def check_run(run: Path, need: str = "best") -> Path:
    """The checkpoint to use from an existing run directory: ``best`` (falling back to
    ``last``) or ``last``."""
    run = Path(run)
    if not run.is_dir():
        raise UsageError(f"run directory {str(run)!r} does not exist")
    order = ["best", "last"] if need == "best" else ["last"]
    for which in order:
        path = checkpoint_path(run, which)
        if path.is_file():
            return path
    raise UsageError(f"run directory {str(run)!r} has no {' or '.join(order)} checkpoint "
                     f"(expected {str(checkpoint_path(run, order[0]))!r})")
