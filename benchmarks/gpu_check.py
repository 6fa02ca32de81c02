"""One command that checks rnnkit's layers on a CUDA machine and times them.

    python benchmarks/gpu_check.py                # all checks, then the timing table
    python benchmarks/gpu_check.py --quick        # smaller timing configs, 3 repeats
    python benchmarks/gpu_check.py --json out.json

What it checks (each line prints PASS or FAIL with the largest difference found):

1. parity with torch.nn (cuDNN): RNN (tanh, relu), LSTM, LSTM with ``proj_size``, GRU,
   one and two layers, one and two directions, float32 and float64; outputs, final
   states and the gradients of the input and of every parameter, for ``backend="auto"``,
   ``"fused"`` and ``"unrolled"``, the weights copied from the torch.nn module;
2. ``lengths``: a right-padded batch of mixed lengths against torch.nn run on each
   sequence alone (the definition of exact), through the packed cuDNN kernel that the
   fused path uses on GPU, and through the unrolled path;
3. bf16 autocast: forward and backward under ``torch.autocast("cuda", torch.bfloat16)``
   against float32, within bf16's precision;
4. export on GPU: ``torch.export.export`` of each layer on CUDA tensors, the exported
   program's outputs against eager; ONNX export (``rnnkit.export``) when it is installed;
5. timing: forward + backward, median of repeats with CUDA events, rnnkit's default
   (auto) and unrolled paths against torch.nn, with and without ``lengths``.

Exit status 1 when a check fails, 2 when there is no CUDA device.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
import rnnkit  # noqa: E402

CONFIGS = [  # (name, rnnkit class, torch.nn class, extra kwargs)
    ("rnn_tanh", rnnkit.RNN, nn.RNN, {}),
    ("rnn_relu", rnnkit.RNN, nn.RNN, {"nonlinearity": "relu"}),
    ("lstm", rnnkit.LSTM, nn.LSTM, {}),
    ("lstm_proj", rnnkit.LSTM, nn.LSTM, {"proj_size": 5}),
    ("gru", rnnkit.GRU, nn.GRU, {}),
]
RESULTS: list[dict] = []
DEV = "cuda"  # --device cpu runs the same checks on the CPU (a dry run of this script)


def report(check: str, ok: bool, diff: float, note: str = "") -> None:
    RESULTS.append({"check": check, "ok": bool(ok), "max_abs_diff": diff, "note": note})
    print(f"{'PASS' if ok else 'FAIL'}  {check:<58} max|diff| {diff:.2e} {note}", flush=True)


def pair(ours_cls, ref_cls, kw, layers, bidir, dtype, backend, I=7, H=11):
    torch.manual_seed(0)
    ref = ref_cls(I, H, num_layers=layers, bidirectional=bidir, **kw).to(DEV, dtype)
    ours = ours_cls(I, H, num_layers=layers, bidirectional=bidir, backend=backend, **kw).to(DEV, dtype)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def flat(out):
    y, state = out
    return [y] + (list(state) if isinstance(state, tuple) else [state])


def max_diff(a, b) -> float:
    return max(float((x - y).abs().max()) if x.numel() else 0.0 for x, y in zip(a, b))


def grads(module, x, outs):
    loss = sum((o.float() * (i + 1)).sum() for i, o in enumerate(outs))
    params = [p for p in module.parameters()]
    return list(torch.autograd.grad(loss, [x] + params))


def check_parity():
    for name, ours_cls, ref_cls, kw in CONFIGS:
        for layers, bidir in ((1, False), (2, True)):
            for dtype, tol in ((torch.float32, 1e-4), (torch.float64, 1e-10)):
                for backend in ("auto", "fused", "unrolled"):
                    ours, ref = pair(ours_cls, ref_cls, kw, layers, bidir, dtype, backend)
                    x = torch.randn(13, 4, 7, device=DEV, dtype=dtype, requires_grad=True)
                    o_ref, o = flat(ref(x)), flat(ours(x))
                    d = max(max_diff(o, o_ref), max_diff(grads(ours, x, o), grads(ref, x, o_ref)))
                    report(f"parity {name} L{layers} bi={bidir} {str(dtype)[6:]} {backend}", d < tol, d)


def check_lengths():
    lengths = torch.tensor([13, 1, 7, 0, 13, 4])
    for name, ours_cls, ref_cls, kw in CONFIGS:
        for backend in ("fused", "unrolled"):
            ours, ref = pair(ours_cls, ref_cls, kw, 2, True, torch.float64, backend)
            x = torch.randn(13, 6, 7, device=DEV, dtype=torch.float64)
            y, state = ours(x, lengths=lengths.to(DEV))
            states = list(state) if isinstance(state, tuple) else [state]
            d = 0.0
            for b, n in enumerate(lengths.tolist()):
                if n == 0:  # zero outputs, the initial (zero) state
                    d = max(d, float(y[:, b].abs().max()), *(float(s[:, b].abs().max()) for s in states))
                    continue
                yb, sb = ref(x[:n, b:b + 1])
                sb = list(sb) if isinstance(sb, tuple) else [sb]
                d = max(d, float((y[:n, b:b + 1] - yb).abs().max()), float(y[n:, b].abs().max()) if n < 13 else 0.0,
                        *(float((s[:, b:b + 1] - r).abs().max()) for s, r in zip(states, sb)))
            report(f"lengths {name} L2 bi {backend} (vs per-sequence torch.nn)", d < 1e-10, d)
        # the packed cuDNN kernel as torch.nn users call it, against our padded path
        ours, ref = pair(ours_cls, ref_cls, kw, 1, False, torch.float32, "auto")
        x = torch.randn(13, 6, 7, device=DEV)
        keep = lengths.clamp(min=1)
        packed = pack_padded_sequence(x, keep, enforce_sorted=False)
        yp, _ = pad_packed_sequence(ref(packed)[0], total_length=13)
        y, _ = ours(x, lengths=keep.to(DEV))
        report(f"lengths {name} auto vs torch.nn packed (cuDNN)", max_diff([y], [yp]) < 1e-5, max_diff([y], [yp]))


def check_autocast():
    for name, ours_cls, ref_cls, kw in CONFIGS:
        ours, _ = pair(ours_cls, ref_cls, kw, 2, True, torch.float32, "auto", I=32, H=64)
        x = torch.randn(50, 8, 32, device=DEV, requires_grad=True)
        o32 = flat(ours(x))
        with torch.autocast(DEV, dtype=torch.bfloat16):
            o16 = flat(ours(x, lengths=torch.full((8,), 50, device=DEV)))
        g32, g16 = grads(ours, x, o32), grads(ours, x, o16)
        d = max_diff([o.float() for o in o16], o32)
        rel = max(float((a - b).abs().max() / (b.abs().max() + 1e-6)) for a, b in zip(g16, g32))
        report(f"bf16 autocast {name} (outputs abs, grads rel)", d < 5e-2 and rel < 1e-1, d, f"grad rel {rel:.2e}")


def check_export():
    for name, ours_cls, ref_cls, kw in CONFIGS:
        ours, _ = pair(ours_cls, ref_cls, kw, 1, True, torch.float32, "auto")
        ours.eval()
        x = torch.randn(9, 3, 7, device=DEV)
        lengths = torch.tensor([9, 4, 1], device=DEV)
        for kwargs in ({}, {"lengths": lengths}):
            what = f"torch.export on {DEV} {name}" + (" with lengths" if kwargs else "")
            try:
                ep = torch.export.export(ours, (x,), kwargs)
                d = max_diff(flat(ep.module()(x, **kwargs)), flat(ours(x, **kwargs)))
                report(what, d < 1e-5, d)
            except Exception as e:  # noqa: BLE001 - a failed export is a check result
                report(what, False, float("nan"), f"{type(e).__name__}: {str(e).splitlines()[0][:80]}")
    try:
        import onnxruntime  # noqa: F401
        from rnnkit import export as rx  # noqa: F401
    except ImportError as e:
        print(f"SKIP  ONNX export on GPU: {e}")
        return
    import tempfile
    for name, ours_cls, ref_cls, kw in CONFIGS:
        ours, _ = pair(ours_cls, ref_cls, kw, 1, False, torch.float32, "auto")
        ours.eval()
        x = torch.randn(9, 3, 7, device=DEV)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.onnx"
            try:
                torch.onnx.export(ours, (x,), str(path), dynamo=True)
                sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
                got = sess.run(None, {sess.get_inputs()[0].name: x.cpu().numpy()})
                d = max_diff([torch.from_numpy(g) for g in got], [o.cpu() for o in flat(ours(x))])
                report(f"ONNX export from GPU {name}", d < 1e-4, d)
            except Exception as e:  # noqa: BLE001
                report(f"ONNX export from GPU {name}", False, float("nan"), f"{type(e).__name__}: {str(e).splitlines()[0][:80]}")


def cuda_time(fn, repeats: int) -> float:
    for _ in range(2):
        fn()
    times = []
    if DEV == "cpu":
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(1000 * (time.perf_counter() - t0))
        return statistics.median(times)
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def timing(quick: bool, repeats: int) -> list[dict]:
    sizes = [(32, 100, 64, 128)] if quick else [(64, 200, 64, 256), (16, 1000, 32, 128), (128, 100, 128, 512)]
    rows = []
    print("\n| layer | B | T | H | torch.nn ms | rnnkit auto ms | ratio | unrolled ms | lengths: torch.nn packed ms | rnnkit ms | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, ours_cls, ref_cls, kw in CONFIGS:
        for B, T, I, H in sizes:
            torch.manual_seed(0)
            ref = ref_cls(I, H, **kw).to(DEV)
            auto = ours_cls(I, H, **kw).to(DEV)
            unr = ours_cls(I, H, backend="unrolled", **kw).to(DEV)
            auto.load_state_dict(ref.state_dict())
            unr.load_state_dict(ref.state_dict())
            x = torch.randn(T, B, I, device=DEV, requires_grad=True)
            lengths = torch.randint(T // 4, T + 1, (B,))
            lengths[0] = T

            def fb(m, **k):
                return lambda: sum(o.sum() for o in flat(m(x, **k))).backward()

            def packed():
                p = pack_padded_sequence(x, lengths, enforce_sorted=False)
                y, _ = pad_packed_sequence(ref(p)[0], total_length=T)
                y.sum().backward()

            r = {"layer": name, "B": B, "T": T, "H": H,
                 "torch_nn_ms": cuda_time(fb(ref), repeats), "auto_ms": cuda_time(fb(auto), repeats),
                 "unrolled_ms": cuda_time(fb(unr), repeats), "packed_ms": cuda_time(packed, repeats),
                 "lengths_ms": cuda_time(fb(auto, lengths=lengths.to(DEV)), repeats)}
            rows.append(r)
            print(f"| {name} | {B} | {T} | {H} | {r['torch_nn_ms']:.2f} | {r['auto_ms']:.2f} | "
                  f"{r['auto_ms'] / r['torch_nn_ms']:.2f} | {r['unrolled_ms']:.2f} | {r['packed_ms']:.2f} | "
                  f"{r['lengths_ms']:.2f} | {r['lengths_ms'] / r['packed_ms']:.2f} |", flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one small timing config, 3 repeats")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats (default 20, 3 with --quick)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here as JSON")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                    help="cpu: a dry run of the same checks where there is no GPU")
    args = ap.parse_args(argv)
    global DEV
    DEV = args.device
    if DEV == "cuda" and not torch.cuda.is_available():
        print("gpu_check: expected a CUDA device, found none (torch.cuda.is_available() is False)")
        return 2
    t0 = time.time()
    name = torch.cuda.get_device_name() if DEV == "cuda" else "cpu"
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, {name}")
    for step in (check_parity, check_lengths, check_autocast, check_export):
        try:
            step()
        except Exception as e:  # noqa: BLE001 - report and go on to the next check
            report(step.__name__, False, float("nan"), f"{type(e).__name__}: {str(e).splitlines()[0][:100]}")
    rows = timing(args.quick, args.repeats or (3 if args.quick else 20))
    failed = [r for r in RESULTS if not r["ok"]]
    print(f"\n{len(RESULTS) - len(failed)} passed, {len(failed)} failed, {time.time() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"torch": torch.__version__, "device": name,
                                         "checks": RESULTS, "timing": rows}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
