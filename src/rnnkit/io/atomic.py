"""The one atomic writer: every file rnnkit writes (checkpoints, config.yaml,
metrics.json, logs, plots, predictions, exported datasets) goes through it.

The bytes go to a temporary file in the destination's folder, are flushed to disk, and
the file is renamed over the destination (:func:`os.replace`, atomic within one file
system); the rename itself is made durable by syncing the folder. A kill at any moment
leaves either the old file or the new one, whole; an error or an interruption removes
the temporary file. The file gets the permissions of any new file, ``0o666`` less the
process's umask (the temporary file is created with :func:`os.open` and mode ``0o666``,
so the kernel applies the umask; :func:`tempfile.mkstemp` would give ``0o600``).

Example::

    from rnnkit.io.atomic import write_atomic, atomic_open, check_output_path
    write_atomic("out/metrics.json", '{"loss": 0.1}\\n')              # str (UTF-8) or bytes
    write_atomic("out/model.pt", lambda f: torch.save(state, f))       # a callback writing to a binary file
    with atomic_open("out/rows.csv", "w", newline="") as f:           # a stream written as it goes
        f.write("a,b\\n")
    save_torch_atomic(state, "out/model.pt")                           # torch.save, streamed
    copy_atomic("trial/best.ckpt", "run/best.ckpt")                    # a copy, streamed
    write_files_atomic({"m.onnx": write_model, "m.json": write_json})  # several files, all or none
    out = check_output_path("preds.csv", inputs=["in.csv"], overwrite=False)   # before reading anything
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator, Union

from ..errors import UsageError

Data = Union[bytes, bytearray, memoryview, str, Callable]

_TMP_SUFFIX = ".tmp"


def _create_temporary(folder: Path, name: str) -> tuple[int, Path]:
    """A new file ``.NAME.RANDOM.tmp`` in ``folder``, opened for writing with mode 0o666
    (less the umask, applied by the kernel)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}{_TMP_SUFFIX}"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file for {name!r} in {str(folder)!r}")


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb", *, encoding: str | None = None, newline: str | None = None,
                durable: bool = True) -> Iterator:
    """Open a temporary file beside ``path`` for writing; on a clean exit of the block it
    is flushed, synced (``durable``) and renamed to ``path``; on any exception
    (KeyboardInterrupt and signals included) it is removed and ``path`` is untouched.

    Args:
        path: the destination; its folder is created when missing.
        mode: ``"wb"`` (bytes) or ``"w"`` (text: ``encoding`` defaults to UTF-8).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: expected mode 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path.parent, path.name)
    try:
        if mode == "w":
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
        else:
            f = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    try:
        with f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
        _sync_folder(path.parent)


def write_atomic(path, data: Data, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring): either the old
    file or the new one, whole, with the umask's permissions.

    Args:
        path: the destination (its folder is created when missing).
        data: bytes; a str (written as UTF-8, no newline translation); or a callable
            that writes to the binary file object it is given (``torch.save``,
            ``fig.savefig``, ``np.savez``, ``shutil.copyfileobj``...), so large files
            are streamed rather than held in memory.
    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    if not (callable(data) or isinstance(data, (bytes, bytearray, memoryview, str))):
        raise TypeError(f"write_atomic: expected bytes, str or a callable writing to a file, "
                        f"got {type(data).__name__}")
    with atomic_open(path, "wb", durable=durable) as f:
        if callable(data):
            data(f)
        else:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def save_torch_atomic(obj, path, *, durable: bool = True) -> Path:
    """``torch.save(obj)`` to ``path`` atomically, streamed to the temporary file."""
    import torch

    return write_atomic(path, lambda f: torch.save(obj, f), durable=durable)


def copy_atomic(src, dst, *, durable: bool = True) -> Path:
    """The file ``src`` copied to ``dst`` atomically (streamed, 1 MiB at a time): either
    the old ``dst`` or a whole copy, with the umask's permissions (not ``src``'s)."""
    src = Path(src)

    def copy(f):
        with src.open("rb") as fh:
            shutil.copyfileobj(fh, f, 1 << 20)

    return write_atomic(dst, copy, durable=durable)


def write_files_atomic(writers: dict, *, durable: bool = True) -> list[Path]:
    """Several files together: ``writers`` maps each destination to a function that
    writes the file at the temporary path it is given (for writers that take a path,
    such as an ONNX or ``torch.export`` save). Every file is written to a temporary
    file beside its destination; only when all are written are they renamed into
    place, with the umask's permissions. On any error (or interruption) while writing,
    every temporary file is removed and no destination is touched.

    Returns:
        the destinations, as Paths, in the order given.
    """
    temps: dict[Path, Path] = {}
    umask = os.umask(0)
    os.umask(umask)
    try:
        for final, write in writers.items():
            final = Path(final)
            final.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _create_temporary(final.parent, final.name)
            os.close(fd)
            temps[final] = tmp
            write(tmp)
        for tmp in temps.values():
            os.chmod(tmp, 0o666 & ~umask)                   # a writer may have made the file anew
            if durable:
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        for final, tmp in list(temps.items()):
            os.replace(tmp, final)
            del temps[final]
    finally:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
    if durable:
        for folder in {Path(f).parent for f in writers}:
            _sync_folder(folder)
    return [Path(f) for f in writers]


# ---- output paths ----------------------------------------------------------------------
def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: the same path once resolved, or (both
    existing) the same file through a symbolic or hard link."""
    try:
        if a.resolve() == b.resolve():
            return True
    except OSError:
        pass
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def _input_matches(out: Path, spec) -> Path | None:
    """The input named by ``spec`` (a file, a folder or a glob, as ``--data`` takes them)
    that ``out`` would overwrite, or None."""
    spec_path = Path(spec)
    if spec_path.is_dir():
        return spec_path if _inside(out, spec_path) else None
    if not spec_path.exists() and glob.has_magic(str(spec)):
        for match in glob.glob(str(spec), recursive=True):
            if _same_file(out, Path(match)):
                return Path(match)
        return None
    return spec_path if _same_file(out, spec_path) else None


def check_output_path(out, inputs: Iterable = (), overwrite: bool = False, flag: str = "--out", *,
                      folder_must_exist: bool = False, refuse: Callable[[Path], str | None] | None = None) -> Path:
    """Check an output file before anything is read or written; returns it as a Path.
    Every command that writes a file it is given (predict, export, datasets) runs it.

    Refused with a one-line :class:`~rnnkit.errors.UsageError` naming ``flag``:

    * ``out`` is a folder;
    * ``folder_must_exist`` and ``out``'s folder does not exist;
    * ``refuse(out)`` gives a reason (e.g. a file of the run directory itself);
    * ``out`` is one of ``inputs`` (files, folders or globs, as the command reads them:
      the same path once resolved, or the same file through a symbolic or hard link, or
      a file inside an input folder), with or without ``overwrite``: a command never
      writes over what it reads;
    * ``out`` exists and ``overwrite`` is false.
    """
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"{flag}: {str(out)!r} is a folder; expected a file name")
    if folder_must_exist and not out.parent.is_dir():
        raise UsageError(f"{flag}: the folder {str(out.parent)!r} does not exist; expected an existing folder")
    reason = refuse(out) if refuse is not None else None
    if reason:
        raise UsageError(f"{flag}: {str(out)!r} {reason}")
    for spec in inputs:
        hit = _input_matches(out, spec)
        if hit is not None and (out.exists() or out.is_symlink()):
            raise UsageError(f"{flag}: {str(out)!r} is also an input ({str(hit)!r}); a command never writes over "
                             f"what it reads, choose another file")
    if (out.exists() or out.is_symlink()) and not overwrite:
        raise UsageError(f"{flag}: {str(out)!r} already exists; pass --overwrite to replace it")
    return out
