"""Faults: a run killed with SIGKILL resumes from its last checkpoint and finishes with
the figures of a run that was never interrupted; a kill during a checkpoint write
leaves the previous checkpoint whole."""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from rnnkit.cli import main
from tests.conftest import TINY

EPOCHS = 6


def _flags():
    flags = list(TINY)
    flags[flags.index("--max-epochs") + 1] = str(EPOCHS)
    return flags + ["--dropout", "0", "--early-stopping-patience", "null"]


def _metrics(run):
    m = json.loads((run / "metrics.json").read_text())
    m.pop("seconds")
    m.get("baseline", {}).pop("seconds", None)    # the n-gram baseline's fitting time
    return m


def _kill_after_first_checkpoint(run, args):
    """Start ``rnnkit train lm`` in a process, SIGKILL it once last.ckpt exists."""
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "train", "lm", "--out", str(run), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "training finished before it could be killed"
    assert not (run / "metrics.json").exists()
    return last


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_run_resumes_and_finishes(tmp_path, corpus):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert main(["train", "lm", "--data", str(corpus), "--out", str(whole), *_flags()]) == 0

    last = _kill_after_first_checkpoint(killed, ["--data", str(corpus), *_flags()])
    epoch_at_kill = torch.load(last, weights_only=True)["epoch"]
    assert epoch_at_kill < EPOCHS - 1

    assert main(["train", "lm", "--out", str(killed), "--resume", "--no-progress-bar"]) == 0
    resumed, reference = _metrics(killed), _metrics(whole)
    assert resumed["epochs"] == EPOCHS and resumed["steps"] == reference["steps"]
    for split in ("train", "validation"):
        for key in ("loss", "bits_per_char", "perplexity"):
            assert resumed[split][key] == pytest.approx(reference[split][key], rel=1e-5), (split, key)
    # the log of the killed part and of the resumed part are one log, as if never killed
    assert _logged_steps(killed) == _logged_steps(whole)
    assert not list((killed / "logs").glob("metrics.part-*"))


def _logged_steps(run):
    with open(run / "logs" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return ([int(r["step"]) for r in rows if r.get("train_loss_step")],
            [int(r["step"]) for r in rows if r.get("val_loss")])


def _logged(run, key):
    with open(run / "logs" / "metrics.csv", newline="") as f:
        return [float(r[key]) for r in csv.DictReader(f) if r.get(key)]


def test_resume_refuses_a_different_task_and_overwrite(tmp_path, trained_run, capsys):
    assert main(["train", "lm", "--out", str(trained_run), "--resume", "--overwrite"]) == 2
    assert "exclude each other" in capsys.readouterr().err


WRITER = textwrap.dedent("""
    import sys, torch
    from rnnkit.training.checkpoint_io import AtomicCheckpointIO
    io = AtomicCheckpointIO()
    path = sys.argv[1]
    io.save_checkpoint({"state_dict": {"w": torch.arange(10.0)}, "step": 1}, path)
    print("first", flush=True)
    io.save_checkpoint({"state_dict": {"w": torch.zeros(150_000_000)}, "step": 2}, path)  # 600 MB
    print("second", flush=True)
""")


def test_kill_during_checkpoint_write_keeps_the_old_checkpoint(tmp_path):
    path = tmp_path / "ckpts" / "last.ckpt"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "first"
    deadline = time.monotonic() + 60
    # kill once the second checkpoint's bytes are going to disk
    while time.monotonic() < deadline and proc.poll() is None:
        tmp = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
        if tmp and tmp[0].stat().st_size > 0:
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the write finished before it could be killed"
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["step"] == 1 and torch.equal(ckpt["state_dict"]["w"], torch.arange(10.0))


def test_failed_write_removes_its_temporary_file(tmp_path, monkeypatch):
    from rnnkit.io import atomic
    from rnnkit.training import checkpoint_io

    path = tmp_path / "last.ckpt"
    checkpoint_io.AtomicCheckpointIO().save_checkpoint({"step": 1}, path)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        checkpoint_io.AtomicCheckpointIO().save_checkpoint({"step": 2}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    assert torch.load(path, weights_only=True)["step"] == 1
    assert os.path.getsize(path) > 0


def test_kill_in_the_middle_of_an_epoch_resumes_with_the_next_batch(tmp_path, corpus):
    """Checkpoints every 40 steps of a ~300-step epoch, killed after the first: the
    resumed run continues with the next batch and the carried recurrent state, and
    ends with the weights of a run never interrupted."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    flags = list(TINY)
    flags[flags.index("--max-epochs") + 1] = "2"
    flags += ["--dropout", "0", "--checkpoint-every-n-steps", "40"]
    assert main(["train", "lm", "--data", str(corpus), "--out", str(whole), *flags]) == 0
    last = _kill_after_first_checkpoint(killed, ["--data", str(corpus), *flags])
    ckpt = torch.load(last, weights_only=True)
    assert ckpt["global_step"] % 40 == 0 and ckpt["epoch"] == 0 and "lm_carried_state" in ckpt
    assert main(["train", "lm", "--out", str(killed), "--resume"]) == 0
    resumed, reference = _metrics(killed), _metrics(whole)
    assert resumed["steps"] == reference["steps"]
    for key in ("loss", "bits_per_char", "perplexity"):
        assert resumed["validation"][key] == pytest.approx(reference["validation"][key], rel=1e-5), key
    # the epoch's mean training loss counts the batches before the kill too
    epoch_loss = [_logged(run, "train_loss_epoch") for run in (whole, killed)]
    assert len(epoch_loss[0]) == 2 and epoch_loss[1] == pytest.approx(epoch_loss[0], rel=1e-5)
    w1, w2 = (torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"] for run in (whole, killed))
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-5, atol=1e-6)
