"""Loader of the pointwise C kernels (``_kernels.c``) used by the unrolled path.

The source is compiled at first use with the system C compiler into a per-user cache
(``$RNNKIT_CACHE`` or ``$XDG_CACHE_HOME/rnnkit`` or ``~/.cache/rnnkit``), under a name
that hashes the source, the flags and the machine, written to a temporary file and
renamed into place, so a half-written library is never loaded. Without a compiler (or
with ``RNNKIT_NATIVE=0``) :func:`kernels` returns None and the torch-op version of the
same math runs instead.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

import torch

__all__ = ["kernels", "available", "call"]

_SOURCE = Path(__file__).with_name("_kernels.c")
# -ffast-math lets the compiler use the vectorised exp/tanh of the C library; inputs
# to exp are clamped in the source, so nothing relies on infinities
_FLAGS = ["-O3", "-ffast-math", "-fPIC", "-shared"]
_NATIVE_ARCH = ["-march=native"]

_lib = None
_tried = False


def _cache_dir() -> Path:
    root = os.environ.get("RNNKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "rnnkit")
    return Path(root)


def _compiler():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()[0]
    return shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")


def _build(cc: str, flags: list[str]) -> Path:
    src = _SOURCE.read_bytes()
    key = hashlib.sha256(src + " ".join([cc] + flags).encode() + platform.machine().encode()
                         + platform.node().encode()).hexdigest()[:16]
    out_dir = _cache_dir()
    target = out_dir / f"rnnkit_kernels_{key}.so"
    if target.exists():
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out_dir)
    os.close(fd)
    try:
        subprocess.run([cc, *flags, "-o", tmp, str(_SOURCE), "-lm"], check=True,
                       capture_output=True, timeout=120)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _load():
    if os.environ.get("RNNKIT_NATIVE", "1") == "0":
        return None
    cc = _compiler()
    if cc is None or not _SOURCE.exists():
        return None
    for flags in (_FLAGS + _NATIVE_ARCH, _FLAGS):
        try:
            return ctypes.CDLL(str(_build(cc, flags)))
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def kernels():
    """The loaded library, or None when the kernels cannot be built here."""
    global _lib, _tried
    if not _tried:
        _tried = True
        _lib = _load()
    return _lib


_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


def available(*tensors) -> bool:
    """Whether the kernels can run on these tensors (CPU, float32/64, contiguous)."""
    if kernels() is None:
        return False
    t0 = tensors[0]
    if t0.dtype not in _SUFFIX:
        return False
    return all(t is None or (t.device.type == "cpu" and t.dtype == t0.dtype and t.is_contiguous())
               for t in tensors)


# kernel name -> (number of pointer arguments, trailing integer argument types)
_SIGNATURES = {
    "lstm_fwd": (4, [ctypes.c_long, ctypes.c_long]),
    "lstm_bwd": (7, [ctypes.c_long, ctypes.c_long]),
    "gru_fwd": (4, [ctypes.c_long, ctypes.c_long]),
    "gru_bwd": (8, [ctypes.c_long, ctypes.c_long]),
    "elman_bwd": (4, [ctypes.c_long, ctypes.c_int]),
}
_functions: dict = {}


def _function(name: str, dtype):
    key = (name, dtype)
    fn = _functions.get(key)
    if fn is None:
        fn = getattr(kernels(), f"{name}_{_SUFFIX[dtype]}")
        n_ptr, ints = _SIGNATURES[name]
        fn.argtypes = [ctypes.c_void_p] * n_ptr + ints
        fn.restype = None
        _functions[key] = fn
    return fn


def call(name: str, dtype, *args) -> None:
    """Call kernel ``name`` for ``dtype``: tensors go by pointer (None as NULL), then
    the integer arguments."""
    _function(name, dtype)(*[a.data_ptr() if isinstance(a, torch.Tensor) else a for a in args])
