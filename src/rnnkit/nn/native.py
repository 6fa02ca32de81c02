"""Loader of the pointwise C kernels (``_kernels.c``) used by the unrolled path and by
the parallel-scan layers (:mod:`rnnkit.nn.scan_native`).

How they are built (benchmarks/README.md, "Kernels: how they are built", has the
measurements behind each choice):

* at first use, with the system C compiler, into a per-user cache (``$RNNKIT_CACHE``,
  else ``$XDG_CACHE_HOME/rnnkit``, else ``~/.cache/rnnkit``; when that cannot be
  written, ``<tempdir>/rnnkit-<uid>``);
* compiled with ``-O3 -ffast-math`` (the vectorised ``exp``/``tanh`` of the C library
  need ``-ffast-math``; the inputs to ``exp`` are clamped in the source, so nothing
  relies on infinities or NaN) but LINKED without it: GCC links ``crtfastmath.o`` into
  any object linked with ``-ffast-math``, whose constructor turns on flush-to-zero /
  denormals-are-zero for the whole process. The library loaded here changes no
  floating-point state of its host;
* for the architecture's baseline, not ``-march=native``, which measured no faster:
  a build runs on any CPU of the architecture;
* under a name that hashes the source, the flags, the compiler's version and the
  architecture (and the CPU's model and features if the flags ever name
  ``-march=native``), not the host name, so containers reuse their build;
* written to a temporary file and renamed into place, under a file lock, so that
  processes starting together (DDP ranks) build once and never load a half-written
  library; builds of the cache not used for ``STALE_DAYS`` days are removed when a
  new one is made.

Without a compiler, or when the build fails, :func:`kernels` returns None, one
warning says why, and the torch-op version of the same math runs instead (slower);
``RNNKIT_NATIVE=0`` turns the kernels off without a warning. :func:`describe` says
which kernels are in use (``rnnkit info --system``).
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
import time
import warnings
from pathlib import Path

import torch

__all__ = ["kernels", "enabled", "available", "call", "describe", "status"]

_SOURCE = Path(__file__).with_name("_kernels.c")
COMPILE_FLAGS = ["-O3", "-ffast-math", "-fPIC"]
NATIVE_ARCH = ["-march=native"]  # measured no faster (benchmarks/README.md): not used by default
LINK_FLAGS = ["-shared"]  # no -ffast-math here: it would link crtfastmath.o
STALE_DAYS = 7
_PREFIX = "rnnkit_kernels_"

_lib = None
_tried = False
_status: dict = {"kernels": "not loaded yet"}


def _cache_dirs() -> list[Path]:
    """Where builds go, in order of preference."""
    env = os.environ.get("RNNKIT_CACHE")
    if env:
        first = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        try:
            base = Path(xdg) if xdg else Path.home() / ".cache"
        except (RuntimeError, KeyError):  # no home directory
            base = None
        first = None if base is None else base / "rnnkit"
    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    fallback = Path(tempfile.gettempdir()) / f"rnnkit-{uid}"
    return [d for d in (first, fallback) if d is not None]


def _compiler():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()[0]
    return shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")


def _compiler_version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0].strip() if out.stdout else cc
    except (OSError, subprocess.SubprocessError):
        return cc


def _cpu_id() -> str:
    """The CPU's model and feature flags (what ``-march=native`` compiles for)."""
    model, flags = "", ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = value.strip()
                if model and flags:
                    break
    except OSError:
        pass
    return f"{platform.machine()}|{model or platform.processor()}|{flags}"


def build_key(cc: str, compile_flags: list[str], link_flags: list[str]) -> str:
    """The cache key of a build: source, flags, compiler version, CPU when the code is
    compiled for it."""
    parts = [_SOURCE.read_bytes(), " ".join(compile_flags).encode(), " ".join(link_flags).encode(),
             _compiler_version(cc).encode(), platform.machine().encode()]
    if any(f.startswith("-march=native") or f.startswith("-mcpu=native") for f in compile_flags):
        parts.append(_cpu_id().encode())
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


class _Lock:
    """An exclusive lock on ``path`` (fcntl; a no-op where fcntl is missing)."""

    def __init__(self, path: Path):
        self.path, self.fd = path, None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            import fcntl
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
        return False


def _remove_stale(out_dir: Path, keep: Path) -> None:
    """Remove builds not used for STALE_DAYS days, and temporary files of builds that
    died more than an hour ago."""
    now = time.time()
    for p in out_dir.iterdir():
        try:
            if p == keep:
                continue
            age = now - p.stat().st_mtime
            if ((p.name.startswith(_PREFIX) and p.suffix == ".so" and age > STALE_DAYS * 86400)
                    or (p.name.startswith(".build-") and age > 3600)):
                p.unlink()
        except OSError:
            continue


def build(cc: str, compile_flags: list[str], link_flags: list[str] = LINK_FLAGS,
          out_dir: Path | None = None) -> Path:
    """Build the library (or find it built) and return its path. Raises OSError when
    the directory cannot be written, subprocess.CalledProcessError when the compiler
    fails."""
    key = build_key(cc, compile_flags, link_flags)
    out_dir = Path(out_dir) if out_dir is not None else _cache_dirs()[0]
    target = out_dir / f"{_PREFIX}{key}.so"
    if target.exists():
        _touch(target)
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    with _Lock(out_dir / ".lock"):
        if target.exists():  # another process built it while we waited
            return target
        fd, obj = tempfile.mkstemp(prefix=".build-", suffix=".o", dir=out_dir)
        os.close(fd)
        fd, tmp = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=out_dir)
        os.close(fd)
        try:
            # compile and link in two steps: only the compile step sees -ffast-math
            subprocess.run([cc, *compile_flags, "-c", "-o", obj, str(_SOURCE)], check=True,
                           capture_output=True, timeout=300)
            subprocess.run([cc, *link_flags, "-o", tmp, obj, "-lm"], check=True,
                           capture_output=True, timeout=300)
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)
        finally:
            for p in (obj, tmp):
                if os.path.exists(p):
                    os.unlink(p)
        _remove_stale(out_dir, target)
    return target


def _touch(path: Path) -> None:
    """Mark a build as used (at most once a day), so that it is not removed as stale."""
    try:
        if time.time() - path.stat().st_mtime > 86400:
            os.utime(path)
    except OSError:
        pass


def _warn(message: str) -> None:
    warnings.warn(f"rnnkit: {message} The unrolled path (GRU, RNN, LSTM with proj_size or "
                  f"float64, on CPU) and the parallel-scan layers (MinGRU, MinLSTM, RGLRU, QRNN) run "
                  f"their torch-op version instead, about 1.5-3x slower. Install "
                  f"a C compiler (e.g. apt install gcc) or set RNNKIT_NATIVE=0 to silence this "
                  f"warning.", RuntimeWarning, stacklevel=4)


def _load():
    global _status
    if os.environ.get("RNNKIT_NATIVE", "1") == "0":
        _status = {"kernels": "torch", "reason": "turned off by RNNKIT_NATIVE=0"}
        return None
    if not _SOURCE.exists():
        _status = {"kernels": "torch", "reason": f"the kernel source {_SOURCE} is missing"}
        _warn(f"the kernel source {_SOURCE} is missing from the installation.")
        return None
    cc = _compiler()
    if cc is None:
        _status = {"kernels": "torch", "reason": "no C compiler found (tried $CC, cc, gcc)"}
        _warn("no C compiler found (tried $CC, cc and gcc on PATH) to build the C kernels.")
        return None
    errors = []
    for compile_flags in (COMPILE_FLAGS,):
        for out_dir in _cache_dirs():
            try:
                path = build(cc, compile_flags, LINK_FLAGS, out_dir)
                lib = ctypes.CDLL(str(path))
            except subprocess.CalledProcessError as err:
                msg = (err.stderr or b"").decode(errors="replace").strip().splitlines()
                errors.append(f"{cc} failed: {msg[-1] if msg else err}")
                break  # another directory will not help; try the next flags
            except (OSError, subprocess.SubprocessError) as err:
                errors.append(f"{out_dir}: {err}")
                continue
            _status = {"kernels": "native", "path": str(path), "compiler": _compiler_version(cc),
                       "flags": f"compile {' '.join(compile_flags)}; link {' '.join(LINK_FLAGS)} "
                                "(no -ffast-math: no crtfastmath.o)"}
            return lib
    _status = {"kernels": "torch", "reason": "; ".join(errors)}
    _warn(f"the C kernels could not be built ({errors[-1] if errors else 'unknown error'}).")
    return None


def kernels():
    """The loaded library, or None when the kernels cannot be built here."""
    global _lib, _tried
    if not _tried:
        _tried = True
        _lib = _load()
    return _lib


@torch.compiler.assume_constant_result
def enabled() -> bool:
    """Whether the C kernels are loaded (a constant to torch.compile)."""
    return kernels() is not None


def status() -> dict:
    """What :func:`kernels` found: ``kernels`` "native" (with ``path``, ``compiler``,
    ``flags``) or "torch" (with ``reason``)."""
    kernels()
    return dict(_status)


def denormals_kept() -> bool:
    """Whether denormal numbers survive arithmetic in this thread (no flush-to-zero)."""
    return bool((torch.tensor([1e-40], dtype=torch.float32) * 1.0).item() != 0.0)


def describe() -> list[str]:
    """Lines saying how this process runs rnnkit's layers (``rnnkit info --system``)."""
    st = status()
    lines = [f"torch:      {torch.__version__}, {torch.get_num_threads()} threads "
             f"(interop {torch.get_num_interop_threads()})"]
    if st["kernels"] == "native":
        lines.append(f"kernels:    native C, {st['path']}")
        lines.append(f"            built by {st['compiler']}; flags {st['flags']}")
    else:
        lines.append(f"kernels:    torch ops (fallback, slower): {st['reason']}")
    lines.append("denormals:  " + ("kept (no flush-to-zero)" if denormals_kept()
                                    else "FLUSHED TO ZERO in this process (something set FTZ/DAZ)"))
    return lines


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
for _cell in ("mingru", "minlstm", "rglru", "qrnn"):   # the parallel-scan cells (rnnkit.nn.scan_native)
    _SIGNATURES[f"{_cell}_scan_fwd"] = (7, [ctypes.c_long] * 3)
    _SIGNATURES[f"{_cell}_scan_bwd"] = (12, [ctypes.c_long] * 3)
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
