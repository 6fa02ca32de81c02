"""The parallel-scan recurrences (MinGRU, MinLSTM, RGLRU, QRNN) on CPU, side by side
with torch.nn.GRU and rnnkit.GRU.

Usage::

    python benchmarks/bench_recurrences.py [--quick] [--threads N] [--repeats N]
                                           [--only speed,memory,stream,scan,quality] [--json PATH]

Sections (``--only`` picks some; default: speed, memory, stream, scan, and quality when
``benchmarks/_quality_lm.py`` exists):

* ``speed``: forward + backward time (loss = output.sum() + h_n.sum(), backward to the
  input and every parameter, gradients cleared before each run) of each layer at
  T = 128, 1,024, 4,096 and 16,384 (B = 16, H = 128, input size 128; float32, one
  layer, unidirectional, time-major, no lengths), in rounds: one warm-up round, then
  ``--repeats`` timed rounds, each running every layer once in an order that reverses
  from one round to the next. A ratio is the median over rounds of (torch.nn.GRU's
  time / the layer's time) within a round, so machine noise hits both sides alike.
  Target (the issue "Modern recurrences"): the parallel cells at least 3x faster than
  torch.nn.GRU at T = 4,096. In the same rounds, each new cell's **bound**: the matrix
  products its equations need (forward, and the two of the backward per product, on the
  layer's shapes; QRNN's convolution of width 2 is two products) plus one pass of memory
  over its gate tensors each way (a copy of the pre-activations forward, of their
  gradient backward): no implementation of the cell on these products runs faster, so
  torch.nn.GRU's time / the bound is the most the cell's ratio can reach.
* ``memory``: the peak memory of one forward + backward of each layer, measured in a
  fresh Python process per (layer, T): the resident set's peak (``VmHWM``, reset just
  before the run by writing 5 to ``/proc/self/clear_refs``) minus the resident set then,
  after the model, the input and one warm-up step at T = 8 exist (Linux only). ``tracemalloc`` does not see torch's
  allocations; the resident set does (it counts pages touched, at 4 KiB granularity).
* ``stream``: steps per second of every cell (the classic RNN, LSTM and GRU with their
  default backend, the new ones in ``mode="sequential"``) fed one step at a time at
  batch 1 with its state handed back, under ``torch.no_grad()``, H = 128.
* ``scan``: the design choice of :mod:`rnnkit.nn.scan`: the chunked scan against the
  log-space scan (Heinsen 2023, the form of Feng et al. 2024's code, with the sign of
  b handled by two log-space scans) on random a in (0.5, 1), signed b: the float32
  error against a float64 loop at T = 1,024 / 4,096 / 16,384, and forward + backward
  time at T = 4,096 (B = 16, H = 128), rounds as in ``speed``.
* ``quality``: a character-LM time-to-quality study, from ``benchmarks/_quality_lm.py``
  (``run_quality(args) -> dict``, ``quality_table(dict) -> str``) when that file exists.

Results: a Markdown table per section on stdout; JSON (default
``benchmarks/results/recurrences_cpu.json``, ``recurrences_cpu_quick.json`` with
``--quick``) written atomically, the sections run replacing theirs in an existing file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

import rnnkit

from _common import git_state, write_json  # benchmarks/, the script's folder, is on sys.path

HERE = Path(__file__).resolve().parent
SEED = 0
B, H, I = 16, 128, 128
LENGTHS = (128, 1024, 4096, 16384)
QUICK_LENGTHS = (128, 1024)
NEW = ("MinGRU", "MinLSTM", "RGLRU", "QRNN")
LAYERS = ("torch.nn.GRU", "rnnkit.GRU") + NEW
SECTIONS = ("speed", "memory", "stream", "scan", "quality")
TARGET_T, TARGET = 4096, 3.0
# the matrix products of each new layer, (in, out) widths, and its gate tensors' width (x H)
PRODUCTS = {"MinGRU": ([(I, 2 * H)], 2), "MinLSTM": ([(I, 3 * H)], 3),
            "RGLRU": ([(I, H), (H, 2 * H)], 3), "QRNN": ([(I, 3 * H), (I, 3 * H)], 3)}


def build(name: str, T: int, stream: bool = False):
    """The layer called ``name`` (I -> H, one layer, time-major), seeded."""
    torch.manual_seed(SEED)
    if name == "torch.nn.GRU":
        return nn.GRU(I, H)
    if name.startswith("rnnkit."):
        return getattr(rnnkit, name.split(".", 1)[1])(I, H)
    return getattr(rnnkit, name)(I, H, mode="sequential" if stream else "auto")


def forward_backward(layer, x) -> float:
    for p in layer.parameters():
        p.grad = None
    x.grad = None
    t0 = time.perf_counter()
    y, h = layer(x)
    h = h[0] if isinstance(h, tuple) else h
    (y.sum() + h.sum()).backward()
    return time.perf_counter() - t0


def make_bound(name: str, T: int):
    """A callable timing ``name``'s bound (module docstring, ``speed``): its products
    forward and backward, and one copy of its gate tensors each way."""
    prods, width = PRODUCTS[name]
    g = torch.Generator().manual_seed(SEED)
    ws = [torch.randn(n_out, n_in, generator=g) / n_in ** 0.5 for n_in, n_out in prods]
    bs = [torch.randn(n_out, generator=g) for _, n_out in prods]
    x = torch.randn(T * B, I, generator=g)
    gates = torch.randn(T * B, width * H, generator=g)

    def run() -> float:
        t0 = time.perf_counter()
        with torch.no_grad():
            outs = []
            for k, (w, b) in enumerate(zip(ws, bs)):       # forward (RG-LRU's gates read its u)
                src = outs[-1][1] if (name == "RGLRU" and k) else x
                outs.append((src, torch.addmm(b, src, w.t())))
            gates.clone()                                  # one pass over the gates
            gg = gates.clone()                             # ... and over their gradient
            for w, (inp, out) in zip(ws, outs):            # backward: dx and dW per product
                go = gg[:, :out.shape[1]]
                go.mm(w)
                go.t().mm(inp)
        return time.perf_counter() - t0
    return run


def rounds_for(T: int, repeats: int) -> int:
    """Fewer rounds at the longest length (a torch.nn.GRU run there takes seconds)."""
    return max(3, repeats // 2) if T >= 16384 else repeats


# -- speed ---------------------------------------------------------------------------

def run_speed(args) -> dict:
    out = {}
    for T in args.lengths:
        torch.manual_seed(SEED)
        x = torch.randn(T, B, I, requires_grad=True)
        layers = {n: build(n, T) for n in LAYERS}
        bounds = {n: make_bound(n, T) for n in NEW}
        times = {n: [] for n in LAYERS}
        bound_times = {n: [] for n in NEW}
        n_rounds = rounds_for(T, args.repeats)
        print(f"speed T={T}: {n_rounds} rounds", file=sys.stderr, flush=True)
        for r in range(n_rounds + 1):                       # round 0 is the warm-up
            order = LAYERS if r % 2 == 0 else LAYERS[::-1]
            for n in order:
                t = forward_backward(layers[n], x)
                if r:
                    times[n].append(t)
                if n in bounds:
                    t = bounds[n]()
                    if r:
                        bound_times[n].append(t)
        ref = times["torch.nn.GRU"]
        row = {}
        for n in LAYERS:
            per_round = [a / b for a, b in zip(ref, times[n])]
            row[n] = {"median_ms": 1000 * statistics.median(times[n]),
                      "times_ms": [1000 * t for t in times[n]],
                      "speedup_vs_torch_gru": statistics.median(per_round),
                      "per_round": per_round,
                      "noisy": max(times[n]) > 1.5 * min(times[n])}
            if n in bound_times:
                row[n]["bound_ms"] = 1000 * statistics.median(bound_times[n])
                row[n]["bound_speedup_vs_torch_gru"] = statistics.median(
                    [a / b for a, b in zip(ref, bound_times[n])])
        out[str(T)] = row
    return out


def speed_table(res: dict) -> str:
    Ts = list(res)
    lines = ["forward+backward ms (torch.nn.GRU's time / the layer's, median of per-round ratios); "
             f"B={B}, H={H}, input {I}, float32", "",
             "| layer | " + " | ".join(f"T={int(T):,}" for T in Ts) + " |",
             "|---|" + "---:|" * len(Ts)]
    for n in LAYERS:
        cells = []
        for T in Ts:
            r = res[T][n]
            cells.append(f"{r['median_ms']:.0f} ({r['speedup_vs_torch_gru']:.2f}x){' *' if r['noisy'] else ''}")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines += ["", "bound: the products + one pass over the gate tensors each way, ms (torch.nn.GRU's "
              "time / the bound: the most the layer's ratio can reach)", "",
              "| layer | " + " | ".join(f"T={int(T):,}" for T in Ts) + " |", "|---|" + "---:|" * len(Ts)]
    for n in NEW:
        if all("bound_ms" in res[T][n] for T in Ts):
            lines.append(f"| {n} | " + " | ".join(
                f"{res[T][n]['bound_ms']:.0f} ({res[T][n]['bound_speedup_vs_torch_gru']:.2f}x)" for T in Ts) + " |")
    if str(TARGET_T) in res:
        miss = [n for n in NEW if res[str(TARGET_T)][n]["speedup_vs_torch_gru"] < TARGET]
        lines += ["", f"target: the parallel cells >= {TARGET:g}x torch.nn.GRU at T={TARGET_T:,}: "
                  + ("met by all" if not miss else f"missed by {', '.join(miss)}")]
    lines += ["* a layer whose slowest run took over 1.5x its fastest (noisy)"]
    return "\n".join(lines)


# -- memory --------------------------------------------------------------------------

_CHILD = r"""
import json, sys, torch
sys.path.insert(0, {here!r})
torch.set_num_threads({threads})
from bench_recurrences import build, forward_backward
layer = build({name!r}, {T})
forward_backward(layer, torch.randn(8, {B}, {I}, requires_grad=True))   # warm-up: lazy allocations
x = torch.randn({T}, {B}, {I}, requires_grad=True)
def status(key):
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith(key + ":"))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                  # resets the peak (VmHWM) to the current resident set
before = status("VmRSS")
forward_backward(layer, x)
peak = status("VmHWM")
print(json.dumps({{"peak_delta_mb": (peak - before) / 2**20}}))
"""


def run_memory(args) -> dict:
    out = {}
    for T in args.lengths:
        out[str(T)] = {}
        for n in LAYERS:
            print(f"memory T={T} {n}", file=sys.stderr, flush=True)
            code = _CHILD.format(here=str(HERE), threads=torch.get_num_threads(), name=n, T=T, B=B, I=I)
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(HERE.parent / "src"),
                                                                              os.environ.get("PYTHONPATH")) if p))
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=1800)
            if r.returncode:
                raise SystemExit(f"memory child for {n} at T={T} failed:\n{r.stderr}")
            out[str(T)][n] = json.loads(r.stdout.strip().splitlines()[-1])["peak_delta_mb"]
    return out


def memory_table(res: dict) -> str:
    Ts = list(res)
    lines = ["peak resident-set increase of one forward+backward, MiB (fresh process each)", "",
             "| layer | " + " | ".join(f"T={int(T):,}" for T in Ts) + " |", "|---|" + "---:|" * len(Ts)]
    for n in LAYERS:
        lines.append(f"| {n} | " + " | ".join(f"{res[T][n]:.0f}" for T in Ts) + " |")
    return "\n".join(lines)


# -- stream --------------------------------------------------------------------------

STREAM = ("rnnkit.RNN", "rnnkit.LSTM", "rnnkit.GRU") + NEW


def run_stream(args) -> dict:
    steps = 300 if args.quick else 3000
    out = {}
    for n in STREAM:
        layer = build(n, 1, stream=True).eval()
        xs = torch.randn(steps, 1, 1, I)
        rates = []
        with torch.no_grad():
            for r in range(3):
                h = None
                t0 = time.perf_counter()
                for t in range(steps):
                    _, h = layer(xs[t], h)
                rates.append(steps / (time.perf_counter() - t0))
        out[n] = {"steps_per_s": statistics.median(rates), "runs": rates}
        print(f"stream {n}: {out[n]['steps_per_s']:.0f} steps/s", file=sys.stderr, flush=True)
    return out


def stream_table(res: dict) -> str:
    lines = [f"streaming, batch 1, one step per call, state handed back, H={H}, input {I}, no_grad", "",
             "| layer | steps/s |", "|---|---:|"]
    lines += [f"| {n}{' (sequential)' if n in NEW else ''} | {r['steps_per_s']:,.0f} |" for n, r in res.items()]
    return "\n".join(lines)


# -- scan: the chunked scan against the log-space scan -------------------------------

def log_space_scan(a, b, h0):
    """h_t = a_t h_{t-1} + b_t in log space (Heinsen 2023): h = exp(A) (h0 + sum_s b_s
    exp(-A_s)), A = cumsum(log a), with positive and negative b (and h0) scanned apart."""
    tiny = torch.finfo(a.dtype).tiny
    A = torch.cumsum(torch.log(a), 0)                                       # (T, B, H)
    A0 = torch.cat([torch.zeros_like(A[:1]), A])                            # A before each term
    parts = []
    for sign in (1, -1):
        v = torch.cat([(sign * h0).unsqueeze(0), sign * b])                 # (T+1, B, H)
        logv = torch.log(torch.relu(v) + tiny)
        parts.append(torch.exp(A + torch.logcumsumexp(logv - A0, 0)[1:]))
    return parts[0] - parts[1]


def run_scan(args) -> dict:
    from rnnkit.nn.scan import parallel_scan, sequential_scan
    out = {"float32_max_rel_error": {}, "time_ms": {}}
    g = torch.Generator().manual_seed(SEED)
    for T in ((1024, 4096) if args.quick else (1024, 4096, 16384)):
        a = 0.5 + 0.5 * torch.rand(T, 4, 32, generator=g, dtype=torch.float64)
        b = torch.randn(T, 4, 32, generator=g, dtype=torch.float64)
        h0 = torch.randn(4, 32, generator=g, dtype=torch.float64)
        with torch.no_grad():
            want = sequential_scan(a, b, h0)
            row = {}
            for name, fn in (("chunked", parallel_scan), ("log-space", log_space_scan)):
                got = fn(a.float(), b.float(), h0.float()).double()
                row[name] = ((got - want).abs() / want.abs().clamp(min=1)).max().item()
        out["float32_max_rel_error"][str(T)] = row
    T = 4096
    a = (0.5 + 0.5 * torch.rand(T, B, H, generator=g)).requires_grad_(True)
    b = torch.randn(T, B, H, generator=g).requires_grad_(True)
    h0 = torch.zeros(B, H)
    fns = {"chunked": parallel_scan, "log-space": log_space_scan}
    times = {n: [] for n in fns}
    for r in range(args.repeats + 1):
        for n in (list(fns) if r % 2 == 0 else list(fns)[::-1]):
            a.grad = b.grad = None
            t0 = time.perf_counter()
            fns[n](a, b, h0).sum().backward()
            if r:
                times[n].append(time.perf_counter() - t0)
    out["time_ms"] = {n: 1000 * statistics.median(v) for n, v in times.items()}
    out["log_space_over_chunked"] = statistics.median(x / y for x, y in zip(times["log-space"], times["chunked"]))
    return out


def scan_table(res: dict) -> str:
    Ts = list(res["float32_max_rel_error"])
    lines = ["h_t = a_t h_{t-1} + b_t, a in (0.5, 1), signed b: float32 max relative error against a "
             "float64 loop (B=4, H=32), and forward+backward ms at T=4,096 (B=16, H=128)", "",
             "| scan | " + " | ".join(f"error T={int(T):,}" for T in Ts) + " | fwd+bwd ms |",
             "|---|" + "---:|" * (len(Ts) + 1)]
    for n in ("chunked", "log-space"):
        lines.append(f"| {n} | " + " | ".join(f"{res['float32_max_rel_error'][T][n]:.1e}" for T in Ts)
                     + f" | {res['time_ms'][n]:.0f} |")
    lines += ["", f"log-space / chunked time: {res['log_space_over_chunked']:.2f}x (median of per-round ratios)"]
    return "\n".join(lines)


# -- quality (another script's study, plugged in when present) -------------------------

def quality_module():
    if not (HERE / "_quality_lm.py").is_file():
        return None
    import _quality_lm
    return _quality_lm


# -- the run -------------------------------------------------------------------------

def environment(args) -> dict:
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), platform.machine())
    except OSError:
        cpu = platform.machine()
    return {"torch": torch.__version__, "rnnkit": rnnkit.__version__, "git": git_state(),
            "python": platform.python_version(), "num_threads": torch.get_num_threads(),
            "platform": platform.platform(), "cpu_model": cpu, "cpu_count": os.cpu_count(),
            "loadavg_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "command": " ".join([sys.executable, *sys.argv]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "quick": args.quick, "repeats": args.repeats, "seed": SEED, "dtype": "float32",
            "B": B, "H": H, "input_size": I}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke test: T = 128 and 1,024 only, 2 repeats")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds (default 5; 2 with --quick)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--only", default=None,
                   help=f"comma-separated sections among {', '.join(SECTIONS)} (default: all available)")
    p.add_argument("--json", type=Path, default=None,
                   help="output JSON (default benchmarks/results/recurrences_cpu.json, "
                        "recurrences_cpu_quick.json with --quick)")
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    if args.repeats < 1:
        p.error(f"--repeats: expected at least 1, got {args.repeats}")
    if args.only is None:
        args.sections = [s for s in SECTIONS if s != "quality" or quality_module() is not None]
    else:
        args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
        bad = [s for s in args.sections if s not in SECTIONS]
        if bad or not args.sections:
            p.error(f"--only: expected sections among {', '.join(SECTIONS)}, got {args.only!r}")
        if "quality" in args.sections and quality_module() is None:
            p.error("--only quality: expected benchmarks/_quality_lm.py (the quality study), which is not here")
    args.lengths = QUICK_LENGTHS if args.quick else LENGTHS
    if args.json is None:
        args.json = HERE / "results" / ("recurrences_cpu_quick.json" if args.quick else "recurrences_cpu.json")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    runners = {"speed": (run_speed, speed_table), "memory": (run_memory, memory_table),
               "stream": (run_stream, stream_table), "scan": (run_scan, scan_table)}
    if "quality" in args.sections:
        q = quality_module()
        runners["quality"] = (q.run_quality, q.quality_table)
    data = {}
    if args.json.is_file():
        try:
            data = json.loads(args.json.read_text())
        except (OSError, ValueError):
            data = {}
    env = environment(args)
    print(f"torch {env['torch']}, {env['num_threads']} threads, {env['cpu_model']}, "
          f"load average at start {env['loadavg_at_start']}")
    for s in args.sections:
        run, table = runners[s]
        res = run(args)
        data[s] = {"environment": env, "results": res}
        print(f"\n### {s}\n\n{table(res)}", flush=True)
        write_json(args.json, data)                     # after each section: a long run keeps what it measured
    print(f"\nwrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
