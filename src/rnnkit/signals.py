"""SIGINT and SIGTERM turned into :class:`~rnnkit.errors.Interrupted`, for the duration
of a ``with`` block (no torch here: the command line installs it for every command).

Example::

    from rnnkit.signals import SignalStop
    with SignalStop():          # SIGTERM now raises Interrupted(15), like Ctrl-C raises Interrupted(2)
        ...

The training loop sets :attr:`SignalStop.deferring` to act on the first signal at its
next safe point (see :mod:`rnnkit.training.signals`).
"""

from __future__ import annotations

import signal
import threading

from .errors import Interrupted

SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class SignalStop:
    """SIGINT and SIGTERM handlers for the duration of a ``with`` block (see the module
    docstring). ``signum`` is the first signal received (None before)."""

    def __init__(self):
        self.signum: int | None = None
        self.deferring = False
        self._previous: dict = {}

    def handler(self, signum, frame) -> None:
        if self.deferring and self.signum is None:
            self.signum = signum          # acted on at the next safe point
            return
        if self.signum is None:
            self.signum = signum
        self.deferring = False
        raise Interrupted(signum)

    def install(self) -> None:
        """(Re)install the handlers; the first call remembers the previous ones."""
        if not _main_thread():
            return
        for s in SIGNALS:
            previous = signal.signal(s, self.handler)
            self._previous.setdefault(s, previous)

    def restore(self) -> None:
        if not _main_thread():
            return
        for s, previous in self._previous.items():
            signal.signal(s, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}

    def __enter__(self) -> "SignalStop":
        self.install()
        return self

    def __exit__(self, *exc) -> None:
        self.deferring = False
        self.restore()
