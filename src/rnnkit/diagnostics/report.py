"""``rnnkit inspect``: how far back a trained model looks, read from its run directory
and some data: gradient flow through time, effective memory length, the spectra of the
recurrent weights and gate saturation, as a JSON summary and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import UsageError
from ..io.atomic import write_atomic
from ..nn.registry import LAYERS
from ..io.figures import pyplot, save_figure
from .gradients import effective_memory, gradient_flow
from .weights import gate_saturation, recurrent_spectrum

FRACTIONS = (0.1, 0.01)


def _lm_windows(module, paths, length: int, n: int):
    """Up to ``n`` windows of ``length + 1`` token ids from the data, evenly spaced."""
    from ..data.text import read_corpus

    text, _ = read_corpus(paths, "data.data")
    ids = module.tokenizer.encode(text)
    if len(ids) < length + 1:
        unit = "characters" if module.tokenizer.kind == "char" else "tokens"
        raise UsageError(f"data.data: expected at least {length + 1} {unit} for windows of {length} steps, "
                         f"got {len(ids)}; use a smaller --length")
    starts = torch.linspace(0, len(ids) - length - 1, steps=min(n, len(ids) - length)).long()
    return torch.stack([ids[s:s + length + 1] for s in starts.tolist()])        # (n, length + 1)


def inspect_run(module, cfg, paths, out: Path, length: int = 200, n: int = 32) -> dict:
    """Write ``out/inspect.json`` and ``out/gradient_flow.png``; return the summary.

    The loss is the model's own on the last step of each window (the next character
    after ``length`` characters), so dL/dx_t says how much each earlier character
    still counts for that prediction.
    """
    from ..tasks.registry import declaration, task_names

    if not declaration(cfg.task).can("inspect"):
        able = [t for t in task_names() if declaration(t).can("inspect")]
        names = ", ".join(able[:-1]) + " or " + able[-1] if len(able) > 1 else (able or ["none"])[0]
        raise UsageError(f"inspect: expected a run of task {names}, got task {cfg.task!r}")
    if length < 2:
        raise UsageError(f"--length: expected at least 2 steps, got {length}")
    net = module.net.eval()
    windows = _lm_windows(module, paths, length, n)
    x, target = windows[:, :-1], windows[:, -1]
    emb = net.embed(x).detach()                                                    # (n, T, E)
    flow = gradient_flow(net.rnn, emb, lambda y, h_n: F.cross_entropy(net.logits(y[:, -1]), target))
    summary = {
        "task": cfg.task, "cell": cfg.model.cell, "windows": int(x.shape[0]), "length": length,
        "effective_memory": {f"{f:g}": effective_memory(flow.x_norm, f) for f in FRACTIONS},
        "gradient_norm_input": flow.x_norm.tolist(),
        "gradient_norm_state": [h.tolist() for h in flow.h_norm],
        "spectrum": recurrent_spectrum(net.rnn),
        "gate_saturation": gate_saturation(net.rnn, emb),
    }
    write_atomic(out / "inspect.json", json.dumps(summary, indent=2) + "\n")
    _plot(flow, out / "gradient_flow.png", cfg.model.cell, summary["effective_memory"])
    return summary


def _plot(flow, path: Path, cell: str, memory: dict) -> None:
    plt = pyplot()

    T = len(flow.x_norm)
    back = list(range(T - 1, -1, -1))                   # steps before the prediction
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(back, flow.x_norm.tolist(), label="||dL/dx_t||")
    for k, h in enumerate(flow.h_norm):
        ax.plot(back, h.tolist(), label=f"||dL/dh_t|| layer {k}", alpha=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("steps before the predicted character")
    ax.set_ylabel("gradient norm")
    ax.set_title(f"{LAYERS.get(cell, cell)}: effective memory {memory['0.01']} steps (1%)")
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path)
