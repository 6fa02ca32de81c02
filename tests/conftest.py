"""Fixtures shared by the training and command-line tests: a small real corpus and a
small trained run."""

import sysconfig
from pathlib import Path

import pytest

from rnnkit.cli import main
from rnnkit.errors import UsageError

# A model and a run small enough to train in about a second on 2 cores.
TINY = ["--hidden-size", "16", "--num-layers", "1", "--embedding-size", "8", "--seq-length", "16",
        "--batch-size", "4", "--max-epochs", "2", "--no-progress-bar", "--accelerator", "cpu"]


def tiny(task: str) -> list[str]:
    """TINY without the flags ``task`` does not declare (``--seq-length`` is lm's):
    another task's flag is an error."""
    from rnnkit.tasks.registry import option_keys

    own = {"--" + k.split(".")[1].replace("_", "-") for k in option_keys(task)}
    out, i = [], 0
    while i < len(TINY):
        takes_value = i + 1 < len(TINY) and not TINY[i + 1].startswith("--")
        if TINY[i] in own or TINY[i].startswith("--no-"):
            out += TINY[i:i + 1 + takes_value]
        i += 1 + takes_value
    return out


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """About 20 kB of real text: a module of Python's standard library."""
    src = Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py"
    path = tmp_path_factory.mktemp("corpus") / "textwrap.txt"
    path.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, corpus) -> Path:
    run = tmp_path_factory.mktemp("runs") / "lm"
    assert main(["train", "lm", "--data", str(corpus), "--out", str(run), *TINY]) == 0
    return run


def one_line_error(fn, *args, **kwargs) -> str:
    """The message of the UsageError ``fn(*args, **kwargs)`` raises, checked to be one line."""
    with pytest.raises(UsageError) as err:
        fn(*args, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    return message


def cli_fails(capsys, argv, message):
    """``rnnkit argv`` exits 2 with one line on stderr, ``error: ...``, holding ``message``."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err, err
    return err
