"""Where an export may write, and writing it atomically.

A small local version of the shared atomic writer: every file is written to a
temporary file in its own folder and moved into place with ``os.replace`` only once
all of them are complete, so a failed export leaves nothing half-written (an old file
of the same name stays as it was).
"""

from __future__ import annotations

import os
import tempfile
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


def _temp_beside(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def write_files_atomically(writers: dict) -> None:
    """``writers``: {final path: function(temporary path) that writes the file}. Every
    file is written to a temporary file beside its final path; only when all are
    written are they moved into place (``os.replace``), with the usual permissions of
    a new file (the umask's). On any error the temporary files are removed."""
    temps = {}
    try:
        for final, write in writers.items():
            final = Path(final)
            tmp = _temp_beside(final)
            temps[final] = tmp
            write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        for final, tmp in temps.items():
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, final)
        temps = {}
    finally:
        for tmp in temps.values():
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
