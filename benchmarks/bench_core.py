"""Core CPU benchmark of rnnkit's RNN / LSTM / GRU layers against torch.nn.

Usage::

    python benchmarks/bench_core.py [--quick] [--repeats N] [--threads N] [--json PATH]

Every figure is a RATIO of two things measured side by side in the same run, on
forward + backward (loss = output.sum() + h_n.sum() [+ c_n.sum()], backward to the
input and every parameter; gradients cleared before every run). For each
(configuration, cell) all the things below are timed in rounds: one warm-up round,
then ``--repeats`` timed rounds, each round running every thing once, in an order
that reverses from one round to the next, so that neither side of a ratio always goes
first and (but for unrolled/fused) the two sides run one right after the other. A
ratio is the median over rounds of (time of A / time of B) within a round, so machine
noise hits both sides alike; it need not equal the quotient of the two median times.
A thing whose slowest run is over 1.5x its fastest is flagged as noisy.

Ratios (A / B), per configuration and cell:

* ``fused/torch``    ours backend="fused", padded batch / torch.nn, same batch (<= 1.05)
* ``packed/lengths`` torch.nn via pack_padded_sequence -> module -> pad_packed_sequence
                     / ours (default backend="auto") with ``lengths=`` (>= 5)
* ``lengths/padded`` ours with lengths / ours on the padded batch, both "auto" (info, ~1)
* ``torch/auto``     torch.nn / ours with the default backend, padded batch (info)
* ``loop/unrolled``  Python autograd loop over torch.nn.*Cell / ours backend="unrolled"
                     on the padded batch (>= 3)
* ``unrolled/fused`` ours unrolled / ours fused, padded batch (info)
* ``unrolled/floor`` ours backend="unrolled", padded batch / floor_padded (<= 1.25)
* ``lengths/floor``  ours with lengths (default backend) / floor_lengths (<= 1.25)

Bounds: each round also times ``floor_padded`` and ``floor_lengths``, the matrix
products of one forward + backward and nothing else (the input projection, one
product with W_hh per step forward and one backward, the input and weight gradients),
through torch.mm into buffers made in advance, on the padded batch and on the
sequences still running at each step. No step-by-step implementation on torch's
matrix product can take less, so ``bound`` = A / floor (median over rounds) is the
highest A / B that the machine allows for ``loop/unrolled`` and ``packed/lengths`` (for
the latter B may also run the padded batch fused: the bound uses the faster of that
and the floor). ``unrolled/floor`` and ``lengths/floor`` state our own two paths
against that bound directly: the aim is within 1.25x of the matrix products alone.

Before timing, the packed torch.nn run and ours with lengths must agree (outputs,
h_n, c_n, input gradient) to < 1e-4 max abs difference, else the script aborts.
The other pairs are compared too and their differences reported.

Results: a Markdown table on stdout and JSON (default
``benchmarks/results/core_cpu.json``; ``core_cpu_quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit

from _common import git_state, write_json  # benchmarks/, the script's folder, is on sys.path

HERE = Path(__file__).resolve().parent
SEED = 0
TOLERANCE = 1e-4  # max abs difference allowed between packed torch.nn and ours with lengths
CHECKED = ("output", "h_n", "c_n", "grad_input")  # what TOLERANCE applies to
NOISY = 1.5  # warn when a thing's slowest timed run is this many times its fastest


@dataclass(frozen=True)
class Config:
    name: str
    B: int  # batch
    T: int  # time steps
    I: int  # input features
    H: int  # hidden size


CONFIGS = [
    Config("big", B=64, T=200, I=64, H=256),
    Config("small", B=32, T=100, I=32, H=128),
    Config("long", B=16, T=1000, I=8, H=64),
]
QUICK_CONFIGS = ["small"]

# cell name -> (torch.nn layer, torch.nn cell, rnnkit layer, extra constructor kwargs)
CELLS = {
    "LSTM": (nn.LSTM, nn.LSTMCell, rnnkit.LSTM, {}),
    "GRU": (nn.GRU, nn.GRUCell, rnnkit.GRU, {}),
    "RNN": (nn.RNN, nn.RNNCell, rnnkit.RNN, {"nonlinearity": "tanh"}),
}

# ratio name -> (thing A, thing B, target kind, target value); kind None = info only
RATIOS = {
    "fused/torch": ("ours_fused", "torch", "<=", 1.05),
    "packed/lengths": ("torch_packed", "ours_lengths", ">=", 5.0),
    "lengths/padded": ("ours_lengths", "ours_auto", None, None),
    "torch/auto": ("torch", "ours_auto", None, None),
    "loop/unrolled": ("torch_loop", "ours_unrolled", ">=", 3.0),
    "unrolled/fused": ("ours_unrolled", "ours_fused", None, None),
    "unrolled/floor": ("ours_unrolled", "floor_padded", "<=", 1.25),
    "lengths/floor": ("ours_lengths", "floor_lengths", "<=", 1.25),
}

# the order of one round, odd rounds run it reversed: the two sides of every ratio but
# unrolled/fused are neighbours
THINGS = ["ours_auto", "torch", "ours_fused", "ours_lengths", "torch_packed", "torch_loop",
          "ours_unrolled", "floor_padded", "floor_lengths"]
FLOORS = ("floor_padded", "floor_lengths")   # timed without autograd: nothing to backpropagate
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# targeted ratio -> (A, the floors B cannot beat): bound = A / min(those B-side times)
BOUNDS = {"loop/unrolled": ("torch_loop", ("floor_padded",)),
          "packed/lengths": ("torch_packed", ("floor_lengths", "ours_auto"))}


# -- the things measured -------------------------------------------------------------
# Each is a function of no arguments returning (output (T, B, H), h_n (1, B, H),
# c_n (1, B, H) or None), built over one shared input x (T, B, I) with requires_grad.


def build_case(cfg: Config, cell: str):
    """Build the modules, input, lengths and the six things for one (config, cell).

    Returns (things: name -> fn, owners: name -> the module whose parameters it uses,
    x, params: every parameter of every module)."""
    torch_layer_cls, torch_cell_cls, our_cls, extra = CELLS[cell]
    torch.manual_seed(SEED)
    ref = torch_layer_cls(cfg.I, cfg.H, **extra)  # single layer, unidirectional, time-major
    fused = our_cls(cfg.I, cfg.H, backend="fused", **extra)
    fused.load_state_dict(ref.state_dict())
    unrolled = our_cls(cfg.I, cfg.H, backend="unrolled", **extra)
    unrolled.load_state_dict(ref.state_dict())
    auto = our_cls(cfg.I, cfg.H, **extra)  # backend="auto": what a user gets by default
    auto.load_state_dict(ref.state_dict())
    cell_mod = torch_cell_cls(cfg.I, cfg.H, **extra)
    copy_layer_to_cell(ref, cell_mod)

    x = torch.randn(cfg.T, cfg.B, cfg.I, requires_grad=True)  # (T, B, I), padding is random too
    lengths = make_lengths(cfg.B, cfg.T)  # (B,) int64 in [T/2, T], at least one equals T

    things = {
        "torch": lambda: split(ref(x)),
        "ours_fused": lambda: split(fused(x)),
        "ours_lengths": lambda: split(auto(x, lengths=lengths)),
        "ours_auto": lambda: split(auto(x)),
        "torch_packed": lambda: run_packed(ref, x, lengths),
        "torch_loop": lambda: run_cell_loop(cell_mod, x, cell == "LSTM"),
        "ours_unrolled": lambda: split(unrolled(x)),
        "floor_padded": matmul_floor(cfg, cell, None),
        "floor_lengths": matmul_floor(cfg, cell, lengths),
    }
    owners = {"torch": ref, "torch_packed": ref, "ours_fused": fused, "ours_lengths": auto,
              "ours_auto": auto, "ours_unrolled": unrolled, "torch_loop": cell_mod}
    params = [p for m in (ref, fused, unrolled, auto, cell_mod) for p in m.parameters()]
    return things, owners, x, params


def make_lengths(B: int, T: int) -> torch.Tensor:
    """(B,) int64, uniform in [T // 2, T], one random entry forced to T."""
    lengths = torch.randint(T // 2, T + 1, (B,), dtype=torch.int64)
    lengths[torch.randint(B, ())] = T
    return lengths


def matmul_floor(cfg: Config, cell: str, lengths: torch.Tensor | None):
    """A function running only the matrix products of one layer's forward + backward,
    into buffers made here: x W_ih^T for every step at once; per step, h W_hh^T over the
    rows still running (forward) and dgates W_hh (backward); dX, dW_ih and dW_hh as one
    product each over all rows. ``lengths`` None: every row runs all T steps."""
    B, T, I, H = cfg.B, cfg.T, cfg.I, cfg.H
    G = GATES[cell] * H
    sizes = [B] * T if lengths is None else [int((lengths > t).sum()) for t in range(T)]
    sizes = [n for n in sizes if n > 0]
    N = sum(sizes)
    r = lambda *shape: torch.randn(*shape)  # noqa: E731
    X, XP, dXP, dX, Hs = r(N, I), r(N, G), r(N, G), r(N, I), r(N, H)
    w_ih, w_hh, dw_ih, dw_hh = r(G, I), r(G, H), r(G, I), r(G, H)
    h, gates, dgates, dh = r(B, H), r(B, G), r(B, G), r(B, H)

    def run():
        torch.mm(X, w_ih.t(), out=XP)
        for n in sizes:
            torch.mm(h[:n], w_hh.t(), out=gates[:n])
        for n in reversed(sizes):
            torch.mm(dgates[:n], w_hh, out=dh[:n])
        torch.mm(dXP, w_ih, out=dX)
        torch.mm(dXP.t(), X, out=dw_ih)
        torch.mm(dXP.t(), Hs, out=dw_hh)

    return run


def copy_layer_to_cell(layer: nn.RNNBase, cell: nn.Module) -> None:
    """weight_ih_l0 -> weight_ih, weight_hh_l0 -> weight_hh, and the biases."""
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(layer, name + "_l0"))


def split(result):
    """torch.nn-style (output, h_n) or (output, (h_n, c_n)) -> (output, h_n, c_n or None)."""
    y, state = result
    return (y, *state) if isinstance(state, tuple) else (y, state, None)


def run_packed(module: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor):
    """torch.nn on a packed batch, padded back to (T, B, H); h_n, c_n in batch order."""
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    y, state = module(packed)
    y, _ = pad_packed_sequence(y, total_length=x.shape[0])
    return split((y, state))


def run_cell_loop(cell: nn.Module, x: torch.Tensor, is_lstm: bool):
    """A plain Python autograd loop over a torch.nn cell: x (T, B, I) -> y (T, B, H)."""
    h = x.new_zeros(x.shape[1], cell.hidden_size)  # (B, H)
    c = x.new_zeros(x.shape[1], cell.hidden_size) if is_lstm else None
    outs = []
    for x_t in x.unbind(0):  # x_t: (B, I)
        if is_lstm:
            h, c = cell(x_t, (h, c))
        else:
            h = cell(x_t, h)
        outs.append(h)
    y = torch.stack(outs, 0)  # (T, B, H)
    return y, h.unsqueeze(0), (c.unsqueeze(0) if is_lstm else None)


# -- running and timing ---------------------------------------------------------------


def clear_grads(x: torch.Tensor, params) -> None:
    x.grad = None
    for p in params:
        p.grad = None


def forward_backward(fn):
    """One forward + backward of ``fn``; returns its outputs."""
    outs = fn()
    loss = sum(t.sum() for t in outs if t is not None)
    loss.backward()
    return outs


def timed(fn, x, params, products_only: bool = False) -> float:
    """Seconds for one forward + backward (clearing the gradients before it is not
    timed), or for one call of a matmul floor (``products_only``)."""
    clear_grads(x, params)
    start = time.perf_counter()
    if products_only:
        fn()
    else:
        forward_backward(fn)
    return time.perf_counter() - start


def time_rounds(things: dict, x, params, repeats: int) -> dict[str, list[float]]:
    """One warm-up round, then ``repeats`` timed rounds; every thing once per round,
    the order reversed every other round. Returns name -> list of seconds per round."""
    for name in THINGS:
        timed(things[name], x, params, name in FLOORS)
    times = {name: [] for name in THINGS}
    gc.collect()
    gc.disable()
    try:
        for r in range(repeats):
            for name in (THINGS if r % 2 == 0 else THINGS[::-1]):
                times[name].append(timed(things[name], x, params, name in FLOORS))
    finally:
        gc.enable()
    return times


def max_diff(things: dict, owners: dict, a: str, b: str, x, params) -> dict[str, float]:
    """Max abs differences between two things: outputs, h_n, c_n, the input gradient,
    and, not checked against TOLERANCE, the parameter gradients relative to their size
    (they sum over every step and sequence, so they run into the thousands).

    Parameters are in the same order in a layer and its cell (weight_ih, weight_hh,
    bias_ih, bias_hh)."""
    results = {}
    for name in (a, b):
        clear_grads(x, params)
        outs = forward_backward(things[name])
        results[name] = ([None if t is None else t.detach().clone() for t in outs]
                         + [x.grad.clone(), [p.grad.clone() for p in owners[name].parameters()]])
    *tensors_a, grads_a = results[a]
    *tensors_b, grads_b = results[b]
    diffs = {}
    for key, ta, tb in zip(CHECKED, tensors_a, tensors_b):
        if ta is not None:
            diffs[key] = float((ta - tb).abs().max())
    diffs["grad_params_rel"] = max(float((ga - gb).abs().max() / ga.abs().max().clamp(min=1e-30))
                                   for ga, gb in zip(grads_a, grads_b))
    clear_grads(x, params)
    return diffs


def worst(diffs: dict[str, float]) -> float:
    """The largest difference among the checked quantities (NaN counts as infinite)."""
    values = [v for k, v in diffs.items() if k in CHECKED]
    return math.inf if any(math.isnan(v) for v in values) else max(values)


def ratio_stats(times: dict[str, list[float]]) -> dict:
    """Each ratio as the median over rounds of A/B, with its target verdict."""
    out = {}
    for name, (a, b, kind, target) in RATIOS.items():
        per_round = [ta / tb for ta, tb in zip(times[a], times[b])]
        value = statistics.median(per_round)
        if kind is None:
            verdict = "info"
        else:
            verdict = "PASS" if (value <= target if kind == "<=" else value >= target) else "MISS"
        out[name] = {"a": a, "b": b, "value": value,
                     "target": None if kind is None else f"{kind} {target:g}", "verdict": verdict,
                     "per_round": per_round}
        if name in BOUNDS:
            top, floors = BOUNDS[name]
            out[name]["bound"] = statistics.median(
                times[top][i] / min(times[f][i] for f in floors) for i in range(len(times[top])))
            if verdict == "MISS" and out[name]["bound"] < target:
                out[name]["verdict"] = "MISS (bound)"
    return out


def run_case(cfg: Config, cell: str, repeats: int) -> dict:
    """Check exactness, time, and summarise one (config, cell)."""
    things, owners, x, params = build_case(cfg, cell)
    checks = {name: max_diff(things, owners, RATIOS[name][0], RATIOS[name][1], x, params)
              for name in ("packed/lengths", "fused/torch", "loop/unrolled")}
    gap = worst(checks["packed/lengths"])
    if not gap < TOLERANCE:
        sys.exit(f"ABORT: {cfg.name}/{cell}: ours with lengths differs from packed torch.nn by "
                 f"{gap:.3g} (must be < {TOLERANCE:g}): {checks['packed/lengths']}")
    times = time_rounds(things, x, params, repeats)
    noisy = {n: max(ts) / min(ts) for n, ts in times.items() if max(ts) > NOISY * min(ts)}
    if noisy:
        print(f"  warning: noisy timings in {cfg.name} {cell} (slowest / fastest run: "
              + ", ".join(f"{n} {v:.1f}x" for n, v in noisy.items()) + ")", file=sys.stderr)
    from rnnkit.nn.layers import auto_backend

    mode = "RNN_TANH" if cell == "RNN" else cell
    return {
        "config": cfg.name, "cell": cell, "auto_backend": auto_backend(mode, 0, x),
        "shape": {"B": cfg.B, "T": cfg.T, "I": cfg.I, "H": cfg.H},
        "ratios": ratio_stats(times),
        "median_ms": {n: 1e3 * statistics.median(ts) for n, ts in times.items()},
        "times_ms": {n: [1e3 * t for t in ts] for n, ts in times.items()},
        "noisy": noisy,
        "max_abs_diff": checks,
    }


# -- reporting ------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def native_kernels() -> bool | None:
    """Whether the unrolled path's compiled C kernels load here (None: unknown)."""
    try:
        from rnnkit.nn import native
        return native.kernels() is not None
    except Exception:  # an internal module that may change: report, never fail
        return None


def environment(args, repeats: int) -> dict:
    return {
        "torch": torch.__version__,
        "rnnkit": rnnkit.__version__,
        "git": git_state(),
        "native_kernels": native_kernels(),
        "python": platform.python_version(),
        "num_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "command": " ".join([sys.executable, *sys.argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "repeats": repeats,
        "warmup": 1,
        "seed": SEED,
        "dtype": "float32",
        "tolerance": TOLERANCE,
    }


def markdown(results: list[dict], env: dict) -> str:
    lines = [
        f"torch {env['torch']}, {env['num_threads']} threads, {env['cpu_model']}; "
        f"forward+backward, float32, median of {env['repeats']} interleaved runs",
        "",
        "| config | cell | ratio | A ms | B ms | A/B | bound | target | result |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for res in results:
        for name, r in res["ratios"].items():
            ms = res["median_ms"]
            if "ours_auto" in (r["a"], r["b"]) or "ours_lengths" in (r["a"], r["b"]):
                name = f"{name} (auto: {res['auto_backend']})"
            bound = f"{r['bound']:.2f}" if "bound" in r else "-"
            lines.append(f"| {res['config']} | {res['cell']} | {name} | {ms[r['a']]:.2f} | "
                         f"{ms[r['b']]:.2f} | {r['value']:.2f} | {bound} | {r['target'] or '-'} | {r['verdict']} |")
    lines += ["", "bound: A over the matrix products alone (floor_padded; for packed/lengths the "
              "faster of floor_lengths and the padded batch), the highest A/B this machine allows. "
              "MISS (bound): the target is above it. unrolled/floor and lengths/floor: our path over "
              "the bound itself (floor_padded, floor_lengths), aim <= 1.25.",
              "", "| config | cell | floor_padded ms | floor_lengths ms |", "|---|---|---:|---:|"]
    lines += [f"| {res['config']} | {res['cell']} | {res['median_ms']['floor_padded']:.2f} | "
              f"{res['median_ms']['floor_lengths']:.2f} |" for res in results]
    lines += ["", "Max abs difference, worst of output, h_n, c_n and input gradient "
              f"(packed vs lengths must be < {TOLERANCE:g}); relative parameter-gradient differences in the JSON:", "",
              "| config | cell | packed vs lengths | fused vs torch | loop vs unrolled |",
              "|---|---|---:|---:|---:|"]
    for res in results:
        d = {k: worst(v) for k, v in res["max_abs_diff"].items()}
        lines.append(f"| {res['config']} | {res['cell']} | {d['packed/lengths']:.2e} | "
                     f"{d['fused/torch']:.2e} | {d['loop/unrolled']:.2e} |")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke test: only the small config, 3 repeats")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed runs per thing (default 7; 3 with --quick; at least 5 otherwise)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads (default: torch's own choice)")
    p.add_argument("--json", type=Path, default=None,
                   help="output JSON (default benchmarks/results/core_cpu.json, "
                        "core_cpu_quick.json with --quick)")
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    if args.repeats < (1 if args.quick else 5):
        p.error("--repeats must be at least 5 (use --quick for a smoke test)")
    if args.json is None:
        args.json = HERE / "results" / ("core_cpu_quick.json" if args.quick else "core_cpu.json")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    configs = [c for c in CONFIGS if not args.quick or c.name in QUICK_CONFIGS]
    env = environment(args, args.repeats)
    results = []
    for cfg in configs:
        for cell in CELLS:
            print(f"running {cfg.name} {cell} ...", file=sys.stderr, flush=True)
            results.append(run_case(cfg, cell, args.repeats))
    print(markdown(results, env))
    write_json(args.json, {"environment": env, "results": results})
    print(f"\nwrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
