"""The error every user-facing layer raises for bad use: a wrong flag, a config value of
the wrong type, a data file that is missing, empty or not text. The command line turns
it into one line on stderr and exit status 2."""


class UsageError(ValueError):
    """Bad input from the user, with a one-line message that says what was expected and
    what was received."""


class Interrupted(BaseException):
    """The process received SIGINT (Ctrl-C) or SIGTERM (what schedulers send before they
    kill). Like KeyboardInterrupt it is not an :class:`Exception`, so ``except
    Exception`` does not swallow it; unlike it, Lightning passes it through untouched
    (Lightning turns a KeyboardInterrupt into ``sys.exit(1)``).

    ``train()`` raises it after stopping at a safe point, writing the last checkpoint and
    a metrics.json marked ``"interrupted"``; the command line prints :attr:`message` on
    one line and exits with :attr:`exit_code` (128 + the signal's number: 130 for
    SIGINT, 143 for SIGTERM)."""

    def __init__(self, signum: int, message: str = ""):
        import signal

        self.signum = int(signum)
        try:
            self.signal_name = signal.Signals(self.signum).name
        except ValueError:
            self.signal_name = f"signal {self.signum}"
        self.message = message or f"interrupted: {self.signal_name}"
        super().__init__(self.message)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
