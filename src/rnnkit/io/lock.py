"""A lock on a folder (a run directory) held by the one process that writes it.

The lock is an operating-system lock on the file ``FOLDER/.rnnkit.lock``
(:func:`fcntl.flock` on Linux and macOS, :func:`msvcrt.locking` on Windows), taken
without waiting: a second writer is refused at once with a one-line
:class:`~rnnkit.errors.UsageError` naming the process that holds it (its pid and
command line, which the holder writes into the file). The kernel releases the lock when
the holding process ends, however it ends (SIGKILL included), so a killed run never
leaves a stale lock; the file itself stays (an empty or stale file is no lock).

The file lives inside the folder and is never deleted: ``train --overwrite`` takes the
lock first, then removes everything else in the run directory (see
:func:`rnnkit.training.run_dir.prepare_new_run`), so a second ``--overwrite`` is refused
for the whole time the first one runs. Readers (evaluate, predict, generate, info
reading a checkpoint) take no lock: checkpoints and metrics are replaced atomically, so
they read a whole file, old or new.

Example::

    from rnnkit.io.lock import DirectoryLock
    with DirectoryLock("runs/notes").acquire():   # UsageError if another process holds it
        ...                                        # write into runs/notes
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from ..errors import UsageError

LOCK_NAME = ".rnnkit.lock"
_WIN_OFFSET = 1 << 20   # the byte msvcrt locks

try:
    import fcntl
except ImportError:   # Windows
    fcntl = None


def _try_lock(fd: int) -> bool:
    """Take the lock on ``fd`` without waiting; False when another process holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError as err:   # EACCES / EAGAIN on some systems
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
    import msvcrt

    os.lseek(fd, _WIN_OFFSET, os.SEEK_SET)   # past the text, which stays readable
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except OSError:
        return False


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return
    import msvcrt

    os.lseek(fd, _WIN_OFFSET, os.SEEK_SET)
    msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _command_line() -> str:
    words = [Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]]
    if words and words[0] in ("__main__.py", "-m", "-c"):
        words[0] = "rnnkit"
    text = " ".join(" ".join(words).split())   # one line
    return text if len(text) <= 120 else text[:117] + "..."


class DirectoryLock:
    """The write lock of ``folder`` (see the module docstring). Re-entrant within one
    object: :meth:`acquire` on a lock already held is a no-op."""

    def __init__(self, folder, what: str = "run directory"):
        self.folder = Path(folder)
        self.what = what
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, create: bool = True) -> "DirectoryLock":
        """Take the lock, or raise UsageError naming the process that holds it.

        ``create``: create the folder and the lock file when missing; with False, a
        missing lock file means there is nothing to lock yet and nothing is written
        (returns with :attr:`held` false)."""
        if self._fd is not None:
            return self
        if create:
            self.folder.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            return self
        flags = os.O_RDWR | (os.O_CREAT if create else 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(self.path, flags, 0o666)
        except FileNotFoundError:
            if create:
                raise
            return self
        if not _try_lock(fd):
            holder = _read_holder(fd)
            os.close(fd)
            raise UsageError(f"{self.what} {str(self.folder)!r} is being written by another process "
                             f"({holder}); wait for it to end or stop it")
        try:   # who holds it, for the message of the next one
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"pid {os.getpid()}: {_command_line()}\n".encode("utf-8", "replace"))
        except OSError:
            pass
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> "DirectoryLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self):
        try:
            self.release()
        except Exception:
            pass


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 512).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    text = " ".join(text.split())
    return text or "pid unknown"
