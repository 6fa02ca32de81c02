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


# ---- naming options ----------------------------------------------------------------------
# The library names an option by its dotted config key (``data.fill``, ``model.hidden_size``,
# ``data.data`` for the training files): ``f"data.fill: expected one of ffill, interpolate,
# zero, got {fill!r}"``. Each door renders the keys in its own language: the command line
# as flags (:func:`as_flags`), the Python estimators as their parameter names (:func:`as_params`).

_SECTIONS = ("model", "data", "train")


def config_keys() -> frozenset[str]:
    """Every dotted key ``section.field`` of the config's ModelConfig, DataConfig and
    TrainConfig, read from the dataclasses, and the options the registered tasks declare
    beyond them (a task added outside rnnkit: :func:`rnnkit.tasks.registry.all_options`)."""
    import dataclasses

    from . import config
    from .tasks.registry import all_options

    classes = {"model": config.ModelConfig, "data": config.DataConfig, "train": config.TrainConfig}
    fields = {f"{s}.{f.name}" for s in _SECTIONS for f in dataclasses.fields(classes[s])}
    return frozenset(fields | {key for key in all_options() if key.split(".", 1)[0] in _SECTIONS})


def _key_pattern():
    import re

    # a whole word: not part of a path, a file name or a longer dotted name
    # (``runs/data.fill``, ``'data.test'``, ``data.data.csv``, ``my_model.dropout``), and
    # not in quotes (a quoted name is a value: a file called data.test)
    return re.compile(r"(?<![\w.\-/\\'\"`])(model|data|train)\.([a-z][a-z0-9_]*)(?![\w'\"`]|[.\-/]\w)")


def _render(message: str, spell) -> str:
    keys = config_keys()
    return _key_pattern().sub(
        lambda m: spell(m.group(2)) if f"{m.group(1)}.{m.group(2)}" in keys else m.group(0), message)


def flag_of(key: str) -> str:
    """The command line's flag of a dotted config key (or a bare name): ``data.fill`` ->
    ``--fill``, ``model.hidden_size`` -> ``--hidden-size``, ``data.data`` -> ``--data``."""
    return "--" + key.rpartition(".")[2].replace("_", "-")


def as_flags(message: str) -> str:
    """``message`` with every config key spelled as the command line's flag
    (:func:`flag_of`); anything that is not a key (``model.pt``, ``data.csv``, a
    quoted name) is left as it is. A message about a config file (it starts with the
    file's name, ``PATH.yaml:`` or ``PATH.yml:``) names that file's keys as they are
    written in it and is returned unchanged.

    >>> as_flags("data.fill: expected one of ffill, interpolate, zero, got 'x'")
    "--fill: expected one of ffill, interpolate, zero, got 'x'"
    >>> as_flags("model.hidden_size expected an integer; see data.csv")
    '--hidden-size expected an integer; see data.csv'
    """
    head = message.split(": ", 1)[0]
    if head.endswith((".yaml", ".yml")) and len(head) < len(message):
        return message
    return _render(message, flag_of)


def as_params(message: str) -> str:
    """``message`` with every config key spelled as the estimators' parameter (the
    field's name): ``data.fill`` -> ``fill``, ``model.hidden_size`` -> ``hidden_size``,
    ``data.data`` -> ``data`` (the data given to ``fit``)."""
    return _render(message, lambda name: name)
