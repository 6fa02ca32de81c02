"""Where an export may write. The files themselves are written together through
:func:`rnnkit.io.atomic.write_files_atomic` (all of them or none)."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError

# what a run directory holds (rnnkit.training.run_dir): never overwritten by an export
_RUN_FILES = ("config.yaml", "metrics.json")
_RUN_FOLDERS = ("checkpoints", "logs", "plots", "tensorboard")


def check_output_path(path, *, overwrite: bool, run=None, what: str = "--out") -> Path:
    """``path`` as a Path, after checking that it may be written: its folder exists, it
    is not a folder, it does not exist unless ``overwrite``, and it is none of the
    run directory's own files (config, metrics, checkpoints, logs, plots)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{what}: {str(path)!r} is a folder; expected a file name")
    if not path.parent.is_dir():
        raise UsageError(f"{what}: the folder {str(path.parent)!r} does not exist; expected an existing folder")
    if run is not None:
        run = Path(run).resolve()
        target = path.resolve()
        inside = target.parent == run or run in target.parents
        if inside:
            rel = target.relative_to(run)
            if str(rel) in _RUN_FILES or rel.parts[0] in _RUN_FOLDERS:
                raise UsageError(f"{what}: {str(path)!r} is a file of the run directory itself; expected "
                                 f"another file name")
    if path.exists() and not overwrite:
        raise UsageError(f"{what}: {str(path)!r} exists; expected a new file name (or --overwrite)")
    return path
