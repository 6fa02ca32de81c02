"""Where an export may write: the shared output-path check
(:func:`rnnkit.io.atomic.check_output_path`) with an export's own rules: the folder
must exist, and none of the run directory's own files is ever written. The files
themselves are written together through :func:`rnnkit.io.atomic.write_files_atomic`
(all of them or none)."""

from __future__ import annotations

from pathlib import Path

from ..io import atomic

# what a run directory holds (rnnkit.training.run_dir): never overwritten by an export
_RUN_FILES = ("config.yaml", "metrics.json")
_RUN_FOLDERS = ("checkpoints", "logs", "plots", "tensorboard")


def _run_file(path: Path, run) -> str | None:
    """Why ``path`` may not be written: it is one of ``run``'s own files (None if not)."""
    if run is None:
        return None
    run = Path(run).resolve()
    target = path.resolve()
    if target.parent == run or run in target.parents:
        rel = target.relative_to(run)
        if str(rel) in _RUN_FILES or rel.parts[0] in _RUN_FOLDERS:
            return "is a file of the run directory itself; expected another file name"
    return None


def check_output_path(path, *, overwrite: bool, run=None, what: str = "--out") -> Path:
    """``path`` as a Path, after checking that it may be written: it is not a folder,
    its folder exists, it is none of the run directory's own files (config, metrics,
    checkpoints, logs, plots), and it does not exist unless ``overwrite``."""
    return atomic.check_output_path(path, overwrite=overwrite, flag=what, folder_must_exist=True,
                                    refuse=lambda p: _run_file(p, run))
