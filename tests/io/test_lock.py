"""The run-directory lock: a second writer refused with the holder's pid; released when
the holder dies, however it dies."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from rnnkit.io.lock import LOCK_NAME, DirectoryLock
from rnnkit.training import run_dir as rd
from tests.conftest import one_line_error

HOLDER = textwrap.dedent("""
    import sys, time
    from rnnkit.io.lock import DirectoryLock
    lock = DirectoryLock(sys.argv[1]).acquire()
    print("held", flush=True)
    time.sleep(600)
""")


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path):
    run = tmp_path / "run"
    first = DirectoryLock(run).acquire()
    assert first.held and (run / LOCK_NAME).is_file()
    message = one_line_error(DirectoryLock(run).acquire)
    assert f"pid {os.getpid()}" in message and str(run) in message and "another process" in message
    first.release()
    with DirectoryLock(run) as again:       # free once released
        assert again.held


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert f"pid {proc.pid}" in one_line_error(DirectoryLock(run).acquire)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with DirectoryLock(run) as lock:        # the kernel released it with the process
        assert lock.held


def test_acquire_without_create_writes_nothing(tmp_path):
    run = tmp_path / "run"
    lock = DirectoryLock(run).acquire(create=False)
    assert not lock.held and not run.exists()


def test_overwrite_keeps_the_lock_file_and_removes_the_rest(tmp_path):
    run = tmp_path / "run"
    with DirectoryLock(run):
        (run / "checkpoints").mkdir()
        (run / "checkpoints" / "best.ckpt").write_text("x")
        (run / "config.yaml").write_text("x")
        assert "already exists" in one_line_error(rd.check_new_run, run, False)
        rd.prepare_new_run(run, overwrite=True)
        assert [p.name for p in run.iterdir()] == [LOCK_NAME]
        assert "is being written" in one_line_error(DirectoryLock(run).acquire)
    rd.check_new_run(run, overwrite=False)      # only the lock file: an empty run directory
