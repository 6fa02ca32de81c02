"""Bad use of the command line: one line on stderr, exit status 2, no traceback, nothing
written."""

import subprocess
import sys

import pytest

from rnnkit.cli import main
from tests.conftest import TINY, cli_fails as _fails


@pytest.fixture
def files(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1"))
    (tmp_path / "wrong.yaml").write_text("model:\n  hidden_size: large\n")
    (tmp_path / "unknown.yaml").write_text("train:\n  learning_rate: 0.1\n")
    return tmp_path


@pytest.mark.parametrize("args, message", [
    (["--data", "{d}/missing.txt"], "missing.txt' does not exist"),
    (["--data", "{d}/empty.txt"], "empty.txt' is empty"),
    (["--data", "{d}/binary.bin"], "binary.bin' looks binary (NUL byte at offset 0)"),
    (["--data", "{d}/latin1.txt"], "latin1.txt' is not UTF-8 text (byte 0xe9 at line 1, offset 3)"),
    (["--data", "{d}/*.nothing"], "matches no files"),
    (["--config", "{d}/wrong.yaml"], "model.hidden_size expected an integer, got 'large' (str)"),
    (["--config", "{d}/unknown.yaml"], "unknown config key 'train.learning_rate'"),
    (["--hidden-size", "ten"], "command line: --hidden-size expected an integer, got ten"),
    (["--cell", "transformer"], "command line: --cell expected one of 'rnn', 'lstm', 'gru'"),
    (["--max-time", "soon"], "command line: --max-time expected a number or null, got soon"),
    (["--lr", "-1"], "lr: expected a positive number, got -1.0"),
    (["--bidirectional"], "--bidirectional is not an option of task lm; it belongs to classify, tag and forecast"),
    (["--learning-rate", "0.1"], "unrecognized arguments: --learning-rate 0.1"),
    (["--batch-size", "100000"], "too few for 100000 rows"),
    (["--devices", "0"], "cannot train with accelerator='cpu', devices=0"),
    (["--strategy", "foo"], "invalid strategy name"),
])
def test_bad_train_input_writes_nothing(capsys, files, corpus, args, message):
    argv = ["train", "lm", "--out", str(files / "run")]
    if "--data" not in args and "--config" not in args:
        argv += ["--data", str(corpus)]
    argv += TINY + [a.format(d=files) for a in args]  # the last flag given wins
    _fails(capsys, argv, message)
    assert not (files / "run").exists()


def test_unknown_task_and_command(capsys):
    _fails(capsys, ["train", "speech", "--out", "x"], "argument TASK: invalid choice: 'speech'")
    _fails(capsys, ["fly"], "invalid choice: 'fly'")
    _fails(capsys, ["train", "forecast", "--out", "x"], "--data: expected a CSV, Parquet or NumPy file of series, got none")


def test_existing_run_is_not_overwritten(capsys, trained_run, corpus):
    before = sorted((p.name, p.stat().st_mtime_ns) for p in trained_run.rglob("*"))
    _fails(capsys, ["train", "lm", "--data", str(corpus), "--out", str(trained_run), *TINY],
           "already exists; pass --overwrite")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in trained_run.rglob("*")) == before


def test_overwrite_replaces_the_run(tmp_path, corpus):
    run = tmp_path / "run"
    run.mkdir()
    (run / "stale.txt").write_text("old")
    assert main(["train", "lm", "--data", str(corpus), "--out", str(run), "--overwrite", *TINY]) == 0
    assert not (run / "stale.txt").exists() and (run / "metrics.json").is_file()


def test_commands_on_a_missing_or_empty_run(capsys, tmp_path, corpus):
    _fails(capsys, ["evaluate", str(tmp_path / "nope"), "--data", str(corpus)], "does not exist")
    (tmp_path / "empty").mkdir()
    _fails(capsys, ["generate", str(tmp_path / "empty")], "has no best or last checkpoint")
    _fails(capsys, ["train", "lm", "--out", str(tmp_path / "nope"), "--resume"], "nothing to resume")


def test_commands_on_bad_data_and_options(capsys, trained_run, files):
    _fails(capsys, ["evaluate", str(trained_run), "--data", str(files / "binary.bin")], "looks binary")
    _fails(capsys, ["generate", str(trained_run), "--temperature", "0"], "--temperature: expected a positive")
    _fails(capsys, ["generate", str(trained_run), "--length", "many"], "expected an integer, got 'many'")
    out = files / "pred.csv"
    _fails(capsys, ["predict", str(trained_run), "--data", str(files / "empty.txt"), "--out", str(out)],
           "is empty")
    assert not out.exists()


def test_no_traceback_from_the_console_script(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rnnkit", "train", "lm", "--data", str(tmp_path / "none.txt"),
                           "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert proc.stdout == "" and not (tmp_path / "run").exists()
