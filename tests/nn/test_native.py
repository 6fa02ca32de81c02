"""The C kernels' build: no floating-point side effects on the host process, a cache
key without the host name, stale builds removed, concurrent builds safe, a warning
when there is no compiler, a fallback when the cache cannot be written, and
``rnnkit info --system``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rnnkit.nn import native

SRC = str(Path(__file__).resolve().parents[2] / "src")
needs_cc = pytest.mark.skipif(native._compiler() is None, reason="no C compiler here")


def _run(code: str, env_extra: dict | None = None, env: dict | None = None, check=True):
    env = dict(os.environ if env is None else env, **(env_extra or {}))
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert out.returncode == 0, out.stderr
    return out


DENORMALS = """
import threading
import numpy as np
import torch

def state():
    return (float(np.float64(1e-310) * 1.0), float(np.float32(1e-40) * np.float32(1.0)),
            (torch.tensor([1e-40]) * 1.0).item(), (torch.tensor([1e-310], dtype=torch.float64) * 1.0).item())

def in_a_thread():
    box = []
    t = threading.Thread(target=lambda: box.append(state()))
    t.start(); t.join()
    return box[0]

before = state(), in_a_thread()
assert all(v != 0.0 for s in before for v in s), before
"""


@needs_cc
def test_running_every_layer_leaves_denormals_alone(tmp_path):
    """Forward and backward of every layer type on the C kernels change no
    floating-point state of the process (numpy and torch, this thread and a new one)."""
    code = DENORMALS + """
import rnnkit
from rnnkit.nn import native
layers = [rnnkit.GRU(3, 4), rnnkit.RNN(3, 4), rnnkit.RNN(3, 4, nonlinearity="relu"),
          rnnkit.LSTM(3, 4, proj_size=2), rnnkit.LSTM(3, 4), rnnkit.GRU(3, 4, dtype=torch.float64),
          rnnkit.GRU(3, 4, bidirectional=True, backend="unrolled")]
for m in layers:
    x = torch.randn(6, 2, 3, dtype=m.weight_ih_l0.dtype, requires_grad=True)
    y = m(x, lengths=torch.tensor([6, 3]))[0]
    y.sum().backward()
assert native.status()["kernels"] == "native", native.status()
after = state(), in_a_thread()
assert after == before, (before, after)
print("unchanged")
"""
    out = _run(code, {"RNNKIT_CACHE": str(tmp_path)})
    assert out.stdout.strip() == "unchanged"


@needs_cc
def test_the_test_sees_a_library_linked_with_fast_math(tmp_path):
    """The check above can fail: a library linked with -ffast-math (as the kernels
    were before) flushes denormals to zero as soon as it is loaded."""
    code = DENORMALS + f"""
import ctypes
from rnnkit.nn import native
path = native.build(native._compiler(), ["-O3", "-ffast-math", "-fPIC"], ["-shared", "-ffast-math"],
                    {str(tmp_path)!r})
ctypes.CDLL(str(path))
print(state())
"""
    out = _run(code)
    assert "0.0" in out.stdout  # flushed


def test_the_cache_key_ignores_the_host_name_and_follows_compiler_and_cpu(monkeypatch):
    march = native.COMPILE_FLAGS + native.NATIVE_ARCH
    key = lambda flags: native.build_key("cc", flags, native.LINK_FLAGS)  # noqa: E731
    base, tied = key(native.COMPILE_FLAGS), key(march)
    monkeypatch.setattr("platform.node", lambda: "another-container-7f3a")
    assert (key(native.COMPILE_FLAGS), key(march)) == (base, tied)
    monkeypatch.setattr(native, "_cpu_id", lambda: "x86_64|Another CPU|sse2 avx")
    assert key(march) != tied  # code compiled for this CPU follows the CPU
    assert key(native.COMPILE_FLAGS) == base  # the default build does not depend on it
    monkeypatch.setattr(native, "_compiler_version", lambda cc: "gcc 99.1")
    assert key(native.COMPILE_FLAGS) != base


@needs_cc
def test_a_new_build_removes_stale_ones(tmp_path):
    day = 86400
    old = tmp_path / "rnnkit_kernels_0123456789abcdef.so"
    recent = tmp_path / "rnnkit_kernels_fedcba9876543210.so"
    dead_tmp = tmp_path / ".build-abc.so"
    other = tmp_path / "notes.txt"
    for p in (old, recent, dead_tmp, other):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - (native.STALE_DAYS + 1) * day,) * 2)
    os.utime(dead_tmp, (time.time() - 2 * 3600,) * 2)
    os.utime(other, (time.time() - 100 * day,) * 2)
    target = native.build(native._compiler(), native.COMPILE_FLAGS, native.LINK_FLAGS, tmp_path)
    assert target.exists() and recent.exists() and other.exists()
    assert not old.exists() and not dead_tmp.exists()


@needs_cc
def test_threads_building_together_compile_once(tmp_path, monkeypatch):
    calls = []
    real = subprocess.run

    def counting(cmd, *a, **k):
        if "-c" in cmd or "-shared" in cmd:
            calls.append(cmd[0])
            time.sleep(0.3)  # widen the window in which a second builder could start
        return real(cmd, *a, **k)

    monkeypatch.setattr(native.subprocess, "run", counting)
    paths = []
    threads = [threading.Thread(target=lambda: paths.append(
        native.build(native._compiler(), native.COMPILE_FLAGS, native.LINK_FLAGS, tmp_path))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(paths) == 3 and len(set(paths)) == 1
    assert len(calls) == 2  # one compile and one link in all
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", paths[0].name]


@needs_cc
def test_processes_starting_together_load_one_build(tmp_path):
    """Two processes (as DDP ranks do) build into an empty cache at the same moment."""
    go = tmp_path / "go"
    code = f"""
import os, time
from rnnkit.nn import native
while not os.path.exists({str(go)!r}):
    time.sleep(0.01)
assert native.kernels() is not None, native.status()
print(native.status()["path"])
"""
    env = dict(os.environ, RNNKIT_CACHE=str(tmp_path / "cache"), PYTHONPATH=SRC)
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(1.0)
    go.touch()
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert outs[0][0] == outs[1][0]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [".lock", Path(outs[0][0].strip()).name]


def test_a_missing_compiler_warns_once_and_the_layers_still_run(tmp_path):
    code = """
import warnings, torch, rnnkit
from rnnkit.nn import native
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    m = rnnkit.GRU(3, 4, backend="unrolled")
    for _ in range(3):
        y, h = m(torch.randn(5, 2, 3))
mine = [str(w.message) for w in caught if "rnnkit" in str(w.message)]
print(len(mine)); print(mine[0] if mine else ""); print(native.status()["reason"]); print(tuple(y.shape))
"""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CC"}
    env.update(PATH=str(empty), RNNKIT_CACHE=str(tmp_path / "cache"))
    lines = _run(code, env=env).stdout.splitlines()
    assert lines[0] == "1"
    assert "no C compiler found" in lines[1] and "RNNKIT_NATIVE=0" in lines[1] and "install" in lines[1].lower()
    assert "no C compiler" in lines[2]
    assert lines[3] == "(5, 2, 4)"
    # RNNKIT_NATIVE=0 turns the kernels off without a warning
    env["RNNKIT_NATIVE"] = "0"
    lines = _run(code, env=env).stdout.splitlines()
    assert lines[0] == "0" and "RNNKIT_NATIVE=0" in lines[2]


@needs_cc
def test_an_unwritable_cache_falls_back_to_the_temporary_directory(tmp_path):
    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("not a directory")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("RNNKIT_CACHE", "XDG_CACHE_HOME")}
    env.update(HOME=str(blocker / "home"), TMPDIR=str(tmp))
    code = "from rnnkit.nn import native; assert native.kernels() is not None, native.status(); print(native.status()['path'])"
    path = Path(_run(code, env=env).stdout.strip())
    assert path.parent.parent == tmp and path.parent.name.startswith("rnnkit-") and path.exists()


def test_info_system_says_which_kernels_are_in_use(capsys, monkeypatch):
    from rnnkit.cli.main import main

    assert main(["info", "--system"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("torch:      ") and "threads" in text
    assert "denormals:  kept" in text
    st = native.status()
    if st["kernels"] == "native":
        assert f"kernels:    native C, {st['path']}" in text and "-ffast-math" in text
    monkeypatch.setattr(native, "_status", {"kernels": "torch", "reason": "turned off by RNNKIT_NATIVE=0"})
    monkeypatch.setattr(native, "kernels", lambda: None)
    assert main(["info", "--system"]) == 0
    assert "kernels:    torch ops (fallback, slower): turned off by RNNKIT_NATIVE=0" in capsys.readouterr().out


@pytest.mark.parametrize("argv,what", [(["info"], "neither"), (["info", "RUN", "--system"], "both")])
def test_info_wants_a_run_or_system(argv, what, capsys):
    from rnnkit.cli.main import main

    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == f"error: info: expected either a run directory or --system, got {what}"
