"""SIGTERM and SIGINT sent to a real `rnnkit train` process: it stops at a safe point,
writes last.ckpt and a metrics.json marked interrupted, prints one line, exits with
128 + the signal, and --resume continues, counting the time already spent. Two writers
of one run directory: the second is refused, naming the first; readers are not."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from rnnkit.cli import main
from tests.conftest import TINY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _flags(seed=0):
    flags = list(TINY)
    flags[flags.index("--max-epochs") + 1] = "1000"     # far more than the test waits for
    return flags + ["--checkpoint-every-n-steps", "10", "--seed", str(seed)]


def _start(run, corpus, *extra, seed=0):
    """`rnnkit train lm` in a child process, returned once it is training (its first
    checkpoint exists, and with it the lock)."""
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "train", "lm", "--data", str(corpus), "--out", str(run),
                             *_flags(seed), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()
    return proc, last


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_at_a_safe_point_and_resume_continues(tmp_path, corpus, capsys, sig):
    run = tmp_path / "run"
    proc, last = _start(run, corpus)
    time.sleep(0.5)
    proc.send_signal(sig)
    code = proc.wait(timeout=300)
    err = proc.stderr.read()
    assert code == 128 + sig, err
    lines = [line for line in err.splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1 and lines == err.strip().splitlines()[-1:], err
    assert lines[0].startswith(f"interrupted: {sig.name}; checkpoint written at epoch ")
    assert "resume with --resume" in lines[0]

    stopped = json.loads((run / "metrics.json").read_text())
    assert stopped["interrupted"] == sig.name and stopped["checkpoint"] == "last"
    ckpt = torch.load(last, weights_only=True)
    assert ckpt["global_step"] == stopped["steps"] > 0     # written at the step it stopped
    assert f"step {stopped['steps']}" in lines[0]
    assert not list(run.rglob("*.tmp"))

    # info reads the interrupted run; --resume continues from the step it stopped at
    assert main(["info", str(run)]) == 0
    assert f"interrupted by {sig.name}" in capsys.readouterr().out
    more = stopped["steps"] + 5
    assert main(["train", "lm", "--out", str(run), "--resume", "--max-steps", str(more)]) == 0
    done = json.loads((run / "metrics.json").read_text())
    assert "interrupted" not in done and done["steps"] == more
    # the seconds before the interruption count: 5 more steps take far less than they did
    assert done["seconds"] >= stopped["seconds"] > 0


def test_a_second_overwrite_is_refused_and_the_first_run_stays_whole(tmp_path, corpus, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "old.txt").write_text("an earlier run")
    first, last = _start(run, corpus, "--overwrite", seed=0)
    try:
        # a second writer, in this process: refused at once, naming the first
        assert main(["train", "lm", "--data", str(corpus), "--out", str(run), *_flags(seed=7), "--overwrite"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert f"pid {first.pid}" in err and "is being written by another process" in err
        assert main(["train", "lm", "--out", str(run), "--resume"]) == 2
        assert f"pid {first.pid}" in capsys.readouterr().err
        # readers are not blocked
        assert main(["info", str(run)]) == 0
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=300) == 143
    assert not (run / "old.txt").exists()
    config = yaml.safe_load((run / "config.yaml").read_text())
    ckpt = torch.load(last, weights_only=True)
    assert config["train"]["seed"] == ckpt["hyper_parameters"]["config"]["train"]["seed"] == 0
    # the lock went with the process: a new writer may start
    from rnnkit.io.lock import DirectoryLock

    with DirectoryLock(run) as lock:
        assert lock.held
