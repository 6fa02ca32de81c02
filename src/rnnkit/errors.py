"""The error every user-facing layer raises for bad use: a wrong flag, a config value of
the wrong type, a data file that is missing, empty or not text. The command line turns
it into one line on stderr and exit status 2."""


class UsageError(ValueError):
    """Bad input from the user, with a one-line message that says what was expected and
    what was received."""
