"""How the unrolled path's pointwise kernels are built and called: speed of each choice.

Usage::

    python benchmarks/bench_kernels.py [--quick] [--repeats N] [--threads N] [--before REV] [--json PATH]
    python benchmarks/bench_kernels.py --build-costs

For GRU, RNN (tanh) and LSTM with ``proj_size`` (the layers that ``backend="auto"``
sends to the unrolled path on CPU float32), at a few sizes, forward + backward
(loss = output.sum() + h_n.sum(), backward to the input and every parameter), one
layer, float32; the ``tiny`` size (one step of one sequence, 50 runs per timing)
shows the fixed cost of a call. Every variant runs once per round, one warm-up round then
``--repeats`` timed rounds, the order reversed every other round; each figure is the
median over rounds of (variant's time / the default's time) in that round, so that
machine noise hits both alike. The default (``op``) is what a user gets today:
the custom operator over the C kernels built with the default flags.

Variants:

* ``op``           the default: ``rnnkit::unrolled_forward`` over the C kernels compiled
                   ``-O3 -ffast-math`` and linked without ``-ffast-math``
* ``function``     the same loop and kernels under a plain autograd.Function (what the
                   custom operator costs)
* ``before``       the unrolled module of git revision ``--before`` (the ctypes path as it
                   was before the custom operators; needs git), same kernels
* ``no_fastmath``  kernels compiled ``-O3 -fno-math-errno -fno-trapping-math`` (no
                   vectorised exp/tanh from libmvec)
* ``march_native`` kernels compiled ``-O3 -ffast-math -march=native`` (tied to this CPU)
* ``torch_ops``    no C kernels: the same math in torch ops (what runs without a compiler)
* ``torch_nn``     torch.nn's own layer (its composite CPU implementation)
* ``crtfastmath``  kernels built as before (linked with ``-ffast-math``): measured last,
                   since loading it turns on flush-to-zero for the process

Results: a Markdown table on stdout, JSON (default ``benchmarks/results/kernels_cpu.json``,
``kernels_cpu_quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import gc
import importlib.util
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import rnnkit
from rnnkit.nn import layers, native, ops

from _common import git_state, write_json  # benchmarks/, the script's folder, is on sys.path

HERE = Path(__file__).resolve().parent
CONFIGS = {"tiny": (1, 1, 2, 2), "small": (32, 100, 32, 128), "mid": (64, 100, 64, 256),
           "long": (16, 1000, 8, 64)}  # B, T, I, H
INNER = {"tiny": 50}  # forward + backward runs per timing: "tiny" shows the fixed cost of a call
QUICK = ["tiny", "small"]
CELLS = ["GRU", "RNN", "LSTM-proj"]
FLAGS = {
    "op": (native.COMPILE_FLAGS, native.LINK_FLAGS),
    "march_native": (native.COMPILE_FLAGS + native.NATIVE_ARCH, native.LINK_FLAGS),
    "no_fastmath": (["-O3", "-fno-math-errno", "-fno-trapping-math", "-fPIC"], ["-shared"]),
    "crtfastmath": (native.COMPILE_FLAGS, ["-shared", "-ffast-math"]),
}


def load_before(rev: str):
    """The unrolled module of git revision ``rev``, inside the rnnkit.nn package."""
    src = subprocess.run(["git", "show", f"{rev}:src/rnnkit/nn/unrolled.py"], cwd=HERE, check=True,
                         capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("rnnkit.nn._unrolled_before", loader=None)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "rnnkit.nn"
    exec(compile(src, f"{rev}:unrolled.py", "exec"), mod.__dict__)
    return mod


def build_libs(tmp: str) -> dict:
    cc = native._compiler()
    return {name: str(native.build(cc, cf, lf, Path(tmp))) for name, (cf, lf) in FLAGS.items()}


def use_lib(path: str | None) -> None:
    """Swap the loaded kernels (None: no kernels, the torch-op math)."""
    native._lib = None if path is None else ctypes.CDLL(path)
    native._tried = True
    native._functions.clear()


def make_case(cell: str, B: int, T: int, I: int, H: int):
    torch.manual_seed(0)
    kw = {"proj_size": H // 2} if cell == "LSTM-proj" else {}
    cls = {"GRU": (nn.GRU, rnnkit.GRU), "RNN": (nn.RNN, rnnkit.RNN), "LSTM-proj": (nn.LSTM, rnnkit.LSTM)}[cell]
    ref = cls[0](I, H, **kw)
    ours = cls[1](I, H, backend="unrolled", **kw)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(T, B, I, requires_grad=True)
    return ref, ours, x


def fwd_bwd(module, x, inner: int = 1) -> float:
    """Seconds for one forward + backward (the mean over ``inner`` runs)."""
    start = time.perf_counter()
    for _ in range(inner):
        x.grad = None
        for p in module.parameters():
            p.grad = None
        y, state = module(x)
        h = state[0] if isinstance(state, tuple) else state
        (y.sum() + h.sum()).backward()
    return (time.perf_counter() - start) / inner


class Variants:
    """name -> a function of no arguments that times one forward + backward."""

    def __init__(self, libs: dict, before, ref, ours, x, inner: int = 1):
        self.libs, self.before, self.ref, self.ours, self.x = libs, before, ref, ours, x
        self.inner = inner

    def run(self, name: str) -> float:
        real_supports, real_layer = ops.supports, layers.unrolled_layer
        try:
            if name in ("op", "function", "before", "no_fastmath", "march_native", "crtfastmath"):
                use_lib(self.libs["op" if name in ("function", "before") else name])
            elif name == "torch_ops":
                use_lib(None)
            if name == "function":
                ops.supports = lambda math: False
            if name == "before":
                layers.unrolled_layer = self.before.unrolled_layer
            return fwd_bwd(self.ref if name == "torch_nn" else self.ours, self.x, self.inner)
        finally:
            ops.supports, layers.unrolled_layer = real_supports, real_layer


def time_case(variants: Variants, names: list[str], repeats: int) -> dict:
    for n in names:
        variants.run(n)
    times = {n: [] for n in names}
    gc.collect()
    gc.disable()
    try:
        for r in range(repeats):
            for n in (names if r % 2 == 0 else names[::-1]):
                times[n].append(variants.run(n))
    finally:
        gc.enable()
    return times


NUMBA_GRU_FWD = """
import numpy as np
from numba import njit

@njit(fastmath=True, cache=False)
def gru_fwd(xp, hp, h_prev, h):
    n, H = h_prev.shape
    for r in range(n):
        for k in range(H):
            a = xp[r, k] + hp[r, k]
            a = min(max(a, -88.0), 88.0)
            rr = 1.0 / (1.0 + np.exp(-a))
            b = xp[r, H + k] + hp[r, H + k]
            b = min(max(b, -88.0), 88.0)
            z = 1.0 / (1.0 + np.exp(-b))
            nn = np.tanh(xp[r, 2 * H + k] + rr * hp[r, 2 * H + k])
            xp[r, k] = rr
            xp[r, H + k] = z
            xp[r, 2 * H + k] = nn
            h[r, k] = nn + z * (h_prev[r, k] - nn)
"""

CPP_OP = """
#include <torch/extension.h>
torch::Tensor twice(torch::Tensor x) { return x * 2; }
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("twice", &twice); }
"""


def build_costs() -> list[str]:
    """First-use costs of each way to build the kernels, and one GRU forward kernel
    call (B=32, H=128, float32) through ctypes (C) and numba, in a fresh directory."""
    lines = []
    cc = native._compiler()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        native.build(cc, native.COMPILE_FLAGS, native.LINK_FLAGS, Path(tmp))
        lines.append(f"C kernels, cold build (compile + link): {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        try:
            from torch.utils.cpp_extension import load_inline
            load_inline("rnnkit_probe", CPP_OP, build_directory=tmp, verbose=False)
            lines.append(f"torch.utils.cpp_extension, cold build of a one-line op: {time.perf_counter() - t:.2f} s")
        except Exception as err:  # a probe: report, never fail
            lines.append(f"torch.utils.cpp_extension: failed ({type(err).__name__}: {str(err)[:80]})")
    B, H = 32, 128
    g = torch.Generator().manual_seed(0)
    xp, hp, h_prev = (torch.randn(B, 3 * H, generator=g), torch.randn(B, 3 * H, generator=g),
                      torch.randn(B, H, generator=g))
    h = torch.empty(B, H)
    native.kernels()
    use_lib(str(native.build(cc, native.COMPILE_FLAGS, native.LINK_FLAGS)))

    def per_call(fn, n=2000):
        fn()
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t) / n * 1e6

    x0 = xp.clone()
    c_us = per_call(lambda: native.call("gru_fwd", torch.float32, x0.copy_(xp), hp, h_prev, h, B, H))
    lines.append(f"GRU forward kernel, one step (B={B}, H={H}), C via ctypes: {c_us:.1f} us per call")
    try:
        t = time.perf_counter()
        ns: dict = {}
        exec(NUMBA_GRU_FWD, ns)
        imported = time.perf_counter() - t
        t = time.perf_counter()
        ns["gru_fwd"](x0.numpy(), hp.numpy(), h_prev.numpy(), h.numpy())
        compiled = time.perf_counter() - t
        nb_us = per_call(lambda: ns["gru_fwd"](x0.copy_(xp).numpy(), hp.numpy(), h_prev.numpy(), h.numpy()))
        lines.append(f"numba: import {imported:.2f} s, first call (compile) {compiled:.2f} s, "
                     f"then {nb_us:.1f} us per call ({nb_us / c_us:.2f}x the C kernel)")
    except ImportError:
        lines.append("numba: not installed")
    return lines


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke test: the small size, 3 repeats")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds (default 7; 3 with --quick)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--before", default="2479233", metavar="REV",
                   help="git revision of the ctypes path before the custom operators ('' to skip)")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--build-costs", action="store_true",
                   help="only print the first-use cost of each way to build the kernels "
                        "(C, torch.utils.cpp_extension, numba) and one kernel call through each")
    args = p.parse_args(argv)
    if args.build_costs:
        print("\n".join(build_costs()))
        return
    repeats = args.repeats or (3 if args.quick else 7)
    if args.threads:
        torch.set_num_threads(args.threads)
    if native._compiler() is None:
        sys.exit("bench_kernels: needs a C compiler (the variants are builds of the kernels)")
    json_path = args.json or HERE / "results" / ("kernels_cpu_quick.json" if args.quick else "kernels_cpu.json")
    before = None
    if args.before:
        try:
            before = load_before(args.before)
        except (OSError, subprocess.CalledProcessError) as err:
            print(f"no 'before' variant: {err}", file=sys.stderr)
    names = ["op", "function"] + (["before"] if before else []) + ["no_fastmath", "march_native", "torch_ops", "torch_nn"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        libs = build_libs(tmp)
        # crtfastmath last: loading it flushes denormals for the rest of the process
        for phase in (names, ["op", "crtfastmath"]):
            for cfg in (QUICK if args.quick else list(CONFIGS)):
                for cell in CELLS:
                    print(f"running {cfg} {cell} {phase[-1]} ...", file=sys.stderr, flush=True)
                    ref, ours, x = make_case(cell, *CONFIGS[cfg])
                    times = time_case(Variants(libs, before, ref, ours, x, INNER.get(cfg, 1)), phase, repeats)
                    for n in phase[1:]:
                        ratio = statistics.median(a / b for a, b in zip(times[n], times["op"]))
                        results.append({"config": cfg, "cell": cell, "variant": n, "ratio": ratio,
                                        "ms": statistics.median(times[n]) * 1e3,
                                        "op_ms": statistics.median(times["op"]) * 1e3})
    env = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": platform.processor(),
           "platform": platform.platform(), "date": datetime.date.today().isoformat(),
           "repeats": repeats, "command": " ".join(sys.argv), **git_state()}
    print(f"torch {env['torch']}, {env['threads']} threads; forward+backward float32, one layer; "
          f"ratio = variant time / op time (median of {repeats} interleaved rounds; > 1: op is faster)\n")
    print("| config (B, T, I, H) | cell | variant | variant ms | op ms | variant / op |")
    print("|---|---|---|---:|---:|---:|")
    for r in results:
        B, T, I, H = CONFIGS[r["config"]]
        print(f"| {r['config']} ({B}, {T}, {I}, {H}) | {r['cell']} | {r['variant']} | {r['ms']:.2f} | "
              f"{r['op_ms']:.2f} | {r['ratio']:.2f} |")
    write_json(json_path, {"environment": env, "results": results})
    print(f"\nwrote {json_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
