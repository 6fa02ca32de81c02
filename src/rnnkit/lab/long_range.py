"""The long-range lab: train each cell at each sequence length under the same budget on a
task whose answer lies far back (the adding problem, the copy task, the selective copy
task) and report what it reached against the trivial baseline, how many steps it took,
and how far back its gradient reaches.

Every run uses Lightning (the same loop as ``rnnkit train``) on fresh batches drawn
from a seeded generator, validates every ``val_every`` steps on a fixed set, and is
tested on a separate fixed set at the end.

The sizes that cost time in proportion to the length (the batch, the validation, test
and generalisation sets, the steps between validations) follow T past 256 steps so
that a run at T = 5,000 still fits its budget (:func:`sizes_for`); every run at one
length gets the same ones, whatever its cell.

Example::

    results = run_lab(LabConfig(task="adding", cells=["rnn", "lstm"], lengths=[25, 100], max_time=20))
    print(format_table(results))
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Optional

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import IterableDataset

from ..config import ModelConfig
from ..data.synthetic import adding_problem, copy_task, selective_copy
from ..diagnostics import effective_memory, gradient_flow
from ..errors import UsageError
from ..nn.registry import CELL_NAMES
from ..tasks.base import recurrent_stack

TASKS = ("adding", "copy", "selective-copy")
SYMBOLIC = ("copy", "selective-copy")      # tasks of symbols: an embedding in, a symbol out at every step
# name -> (model overrides, gradient clip norm). A variant applies to the cells whose
# layer builds with its overrides (:func:`applies`): "orthogonal" to those with a
# recurrent matrix W_hh, "irnn" to the plain RNN, "forget_bias" to the LSTM.
VARIANTS = {
    "default": ({}, 1.0),
    "noclip": ({}, None),
    "orthogonal": ({"recurrent_init": "orthogonal"}, 1.0),
    "irnn": ({"recurrent_init": "identity", "nonlinearity": "relu"}, 1.0),
    "forget_bias": ({"forget_bias": 1.0}, 1.0),
}
# "solved": test MSE under a tenth of the baseline's (adding); recall accuracy >= 0.9 (copy, selective copy)
SOLVED_FRACTION_OF_BASELINE_MSE = 0.1
SOLVED_RECALL_ACCURACY = 0.9
# Sizes by length: these hold up to T = SIZE_LENGTH and shrink as 1 / T past it, down to a floor
SIZE_LENGTH = 256
EVAL_TOKENS = 1 << 18          # sequences x steps per forward pass when evaluating (bounds the memory)


@functools.lru_cache(maxsize=None)
def applies(variant: str, cell: str) -> bool:
    """Whether ``variant`` applies to ``cell``: a one-unit layer of that cell builds with
    the variant's model overrides (rnnkit.tasks.base.recurrent_stack refuses those that
    do not fit the cell, e.g. an orthogonal W_hh for a layer without one)."""
    overrides = VARIANTS[variant][0]
    try:
        recurrent_stack(ModelConfig(**{**dict(cell=cell, hidden_size=2, num_layers=1, dropout=0.0), **overrides}), 1)
    except (UsageError, ValueError):
        return False
    return True


@dataclass
class LabConfig:
    """The lab's settings. The sizes left at None follow the length (:func:`sizes_for`)."""

    task: str = "adding"
    cells: list = field(default_factory=lambda: list(CELL_NAMES))
    lengths: list = field(default_factory=lambda: [25, 50, 100, 200])
    variants: list = field(default_factory=lambda: ["default"])
    max_time: float = 30.0          # seconds of training per run
    max_steps: int = 20_000
    hidden_size: int = 64
    batch_size: Optional[int] = None       # 64 up to T = 256, then 16384 / T, at least 16
    lr: float = 1e-3
    val_every: Optional[int] = None        # 50 steps, fewer (at least 10) when a batch holds over 16384 steps
    n_val: Optional[int] = None            # 512 up to T = 256, then 131072 / T, at least 64
    n_test: Optional[int] = None           # 1024 up to T = 256, then 262144 / T, at least 128
    copy_k: int = 5
    copy_symbols: int = 8
    generalise: list = field(default_factory=lambda: [2, 4, 8])   # also tested at 2T, 4T, 8T
    n_generalise: Optional[int] = None     # 256 up to T = 256, then 65536 / T, at least 16
    seed: int = 0


def _by_length(at_most: int, floor: int, T: int) -> int:
    """``at_most`` up to T = SIZE_LENGTH, then in proportion to 1 / T, at least ``floor``."""
    return min(at_most, max(floor, at_most * SIZE_LENGTH // T))


def sizes_for(cfg: LabConfig, T: int) -> dict:
    """The batch size, the validation / test / generalisation set sizes and the steps
    between validations of every run at length ``T`` (the config's own where set).

    Measured on one thread at H = 64 (benchmarks in the README's lab section): an LSTM
    training step on 64 sequences of 5,000 steps takes 2.9 s and 2.2 GB, so a 30 s run
    would make 10 steps; on 16 sequences, 0.6 s. Each size keeps its work per step
    (sequences x steps) at its T = 256 value past 256 steps, down to a floor.
    """
    batch = cfg.batch_size or _by_length(64, 16, T)
    if cfg.val_every:
        val_every = cfg.val_every
    else:
        val_every = max(10, min(50, 50 * 16384 // (batch * T)))
    return {"batch_size": batch, "val_every": val_every,
            "n_val": cfg.n_val or _by_length(512, 64, T),
            "n_test": cfg.n_test or _by_length(1024, 128, T),
            "n_generalise": cfg.n_generalise or _by_length(256, 16, T)}


class _Fresh(IterableDataset):
    """Endless fresh batches of the task, seeded: batch i comes from seed + 1000 + i."""

    def __init__(self, make, batch_size: int, seed: int):
        self.make, self.batch_size, self.seed = make, batch_size, seed

    def __iter__(self):
        i = 0
        while True:
            d = self.make(self.batch_size, self.seed + 1000 + i)
            yield d.x, d.y
            i += 1


class LongRangeModule(L.LightningModule):
    """adding: the last output -> a number (MSE). copy, selective copy: each step's
    output -> a symbol (cross-entropy over all steps; the metric is accuracy on the
    recall steps, the last k)."""

    def __init__(self, task: str, model_cfg: ModelConfig, lr: float, vocab: int = 0, recall=None):
        super().__init__()
        self.task, self.lr = task, lr
        self.symbolic = task in SYMBOLIC
        if self.symbolic:
            self.embed = nn.Embedding(vocab, 16)
            self.rnn = recurrent_stack(model_cfg, 16)
            self.head = nn.Linear(model_cfg.hidden_size, vocab)
            self.k = int(recall.sum())                                   # recall = the last k steps
        else:
            self.rnn = recurrent_stack(model_cfg, 2)
            self.head = nn.Linear(model_cfg.hidden_size, 1)
        self.history: list[tuple[int, float]] = []     # (step, validation metric)

    def features(self, x):
        return self.embed(x) if self.symbolic else x                   # (B, T, F)

    def loss_from_output(self, y, target):
        if self.symbolic:
            logits = self.head(y)                                       # (B, T, V)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        return F.mse_loss(self.head(y[:, -1]).squeeze(-1), target)

    def metric(self, x, target) -> float:
        """Recall accuracy or MSE over every sequence, run in slices of at most
        EVAL_TOKENS steps in all (the memory of one pass over 256 sequences at 8 x 5,000
        steps would be gigabytes)."""
        rows = max(1, EVAL_TOKENS // x.shape[1])
        total, count = 0.0, 0
        for i in range(0, len(x), rows):
            xs, ts = x[i:i + rows], target[i:i + rows]
            y, _ = self.rnn(self.features(xs))
            if self.symbolic:
                pred = self.head(y[:, -self.k:]).argmax(-1)             # (b, k)
                total += float((pred == ts[:, -self.k:]).sum())
                count += pred.numel()
            else:
                total += float(F.mse_loss(self.head(y[:, -1]).squeeze(-1), ts, reduction="sum"))
                count += len(xs)
        return total / count

    def training_step(self, batch, batch_idx):
        x, target = batch
        y, _ = self.rnn(self.features(x))
        loss = self.loss_from_output(y, target)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.history.append((self.global_step, self.metric(*batch)))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def _maker(cfg: LabConfig, T: int):
    if cfg.task == "adding":
        return lambda n, seed: adding_problem(n, T, seed)
    if cfg.task == "selective-copy":
        return lambda n, seed: selective_copy(n, T, cfg.copy_k, cfg.copy_symbols, seed)
    return lambda n, seed: copy_task(n, T, cfg.copy_k, cfg.copy_symbols, seed)


def _solved(task: str, value: float, baseline: float) -> bool:
    if task == "adding":
        return value < SOLVED_FRACTION_OF_BASELINE_MSE * baseline
    return value >= SOLVED_RECALL_ACCURACY


def run_one(cfg: LabConfig, cell: str, T: int, variant: str) -> dict:
    overrides, clip = VARIANTS[variant]
    make = _maker(cfg, T)
    size = sizes_for(cfg, T)
    val, test = make(size["n_val"], cfg.seed + 1), make(size["n_test"], cfg.seed + 2)
    L.seed_everything(cfg.seed, verbose=False)
    model_cfg = ModelConfig(**{**dict(cell=cell, hidden_size=cfg.hidden_size, num_layers=1, dropout=0.0),
                               **overrides})
    module = LongRangeModule(cfg.task, model_cfg, cfg.lr, vocab=test.extra.get("vocab_size", 0),
                             recall=test.extra.get("recall"))
    train_loader = torch.utils.data.DataLoader(_Fresh(make, size["batch_size"], cfg.seed), batch_size=None)
    val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(val.x, val.y),
                                             batch_size=size["n_val"])
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=cfg.max_steps, max_time={"seconds": cfg.max_time},
                        val_check_interval=size["val_every"], check_val_every_n_epoch=None,
                        limit_train_batches=size["val_every"] * 1000, gradient_clip_val=clip,
                        enable_checkpointing=False, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, deterministic=True)
    start = time.perf_counter()
    trainer.fit(module, train_loader, val_loader)
    seconds = time.perf_counter() - start
    module.eval()
    with torch.no_grad():
        value = module.metric(test.x, test.y)
    # length generalisation: the same weights on longer sequences (they are shared by every step)
    longer = {}
    for m in cfg.generalise:
        d = _maker(cfg, m * T)(size["n_generalise"], cfg.seed + 3 + m)
        with torch.no_grad():
            longer[f"{m}T"] = module.metric(d.x, d.y)
    solved_at = next((step for step, v in module.history if _solved(cfg.task, v, test.baseline)), None)
    # gradient flow on 64 test sequences, the task's own loss
    n = min(64, size["n_test"])
    flow = gradient_flow(module.rnn, module.features(test.x[:n]).detach(),
                         lambda y, h_n: module.loss_from_output(y, test.y[:n]))
    return {"task": cfg.task, "cell": cell, "length": T, "variant": variant,
            "metric": "mse" if cfg.task == "adding" else "recall_accuracy", "test": value,
            "baseline": test.baseline, "solved": _solved(cfg.task, value, test.baseline),
            "steps": int(trainer.global_step), "steps_to_solve": solved_at,
            "effective_memory": effective_memory(flow.x_norm, 0.01), "generalisation": longer,
            "seconds": round(seconds, 1), "sizes": size}


def run_lab(cfg: LabConfig, progress=None) -> list[dict]:
    """Every (variant, cell, length) that applies (:func:`applies`), in that order."""
    if cfg.task not in TASKS:
        raise UsageError(f"--task: expected one of {', '.join(TASKS)}, got {cfg.task!r}")
    bad = [c for c in cfg.cells if c not in CELL_NAMES]
    if bad:
        raise UsageError(f"--cells: expected names among {', '.join(CELL_NAMES)}, got {bad[0]!r}")
    bad = [v for v in cfg.variants if v not in VARIANTS]
    if bad:
        raise UsageError(f"--variants: expected names among {', '.join(VARIANTS)}, got {bad[0]!r}")
    if not cfg.lengths or min(cfg.lengths) < 2:
        raise UsageError(f"--lengths: expected lengths of at least 2, got {cfg.lengths}")
    if cfg.task == "selective-copy" and min(cfg.lengths) < cfg.copy_k:
        raise UsageError(f"--lengths: expected lengths of at least {cfg.copy_k} for the selective copy task "
                         f"(room for its {cfg.copy_k} data symbols), got {min(cfg.lengths)}")
    if cfg.max_time <= 0:
        raise UsageError(f"--max-time: expected a positive number of seconds, got {cfg.max_time}")
    for name in ("batch_size", "val_every", "n_val", "n_test", "n_generalise"):
        value = getattr(cfg, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')}: expected a positive integer, got {value}")
    results = []
    for variant in cfg.variants:
        for cell in cfg.cells:
            if not applies(variant, cell):
                continue
            for T in cfg.lengths:
                r = run_one(cfg, cell, T, variant)
                results.append(r)
                if progress:
                    progress(r)
    return results


def format_row(r: dict) -> str:
    steps = "-" if r["steps_to_solve"] is None else str(r["steps_to_solve"])
    longer = " / ".join(f"{v:.3f}" for v in r.get("generalisation", {}).values()) or "-"
    return (f"| {r['variant']} | {r['cell']} | {r['length']} | {r['test']:.4f} | {r['baseline']:.4f} | "
            f"{'yes' if r['solved'] else 'no'} | {steps} | {r['steps']} | {r['effective_memory']} | "
            f"{longer} | {r['seconds']:.0f} |")


def format_table(results: list[dict]) -> str:
    metric = results[0]["metric"] if results else "metric"
    longer = " / ".join(results[0].get("generalisation", {})) if results else ""
    head = (f"| variant | cell | T | test {metric} | baseline | solved | steps to solve | steps | "
            f"effective memory | at {longer or 'longer T'} | seconds |\n"
            f"|---|---|---:|---:|---:|---|---:|---:|---:|---|---:|")
    return "\n".join([head] + [format_row(r) for r in results])


def format_solved(results: list[dict]) -> str:
    """Which cells solve which lengths under the budget: one row per (variant, cell), one
    column per length, "yes" or "no" with the test metric (and the metric at the longest
    generalisation length)."""
    if not results:
        return ""
    lengths = sorted({r["length"] for r in results})
    keys = list(dict.fromkeys((r["variant"], r["cell"]) for r in results))
    by = {(r["variant"], r["cell"], r["length"]): r for r in results}
    longest = list(results[0].get("generalisation", {}))[-1:] or [""]
    lines = [f"| variant | cell | {' | '.join(f'T = {T}' for T in lengths)} |",
             "|---|---|" + "---|" * len(lengths)]
    for variant, cell in keys:
        cells = []
        for T in lengths:
            r = by.get((variant, cell, T))
            if r is None:
                cells.append("")
                continue
            at = r.get("generalisation", {}).get(longest[0])
            cells.append(f"{'yes' if r['solved'] else 'no'} ({r['test']:.3f}"
                         + (f"; {longest[0]}: {at:.3f})" if at is not None else ")"))
        lines.append(f"| {variant} | {cell} | {' | '.join(cells)} |")
    return "\n".join(lines)


def plot_results(results: list[dict], path) -> None:
    """Test metric against length, one line per (cell, variant), with the baseline."""
    from ..io.figures import pyplot, save_figure

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    keys = sorted({(r["cell"], r["variant"]) for r in results})
    for cell, variant in keys:
        rows = sorted((r for r in results if r["cell"] == cell and r["variant"] == variant), key=lambda r: r["length"])
        label = cell if variant == "default" else f"{cell} ({variant})"
        ax.plot([r["length"] for r in rows], [r["test"] for r in rows], marker="o", label=label)
    if results:
        ax.axhline(results[0]["baseline"], color="gray", linestyle="--", label="trivial baseline")
        ax.set_ylabel(f"test {results[0]['metric']}")
        if results[0]["metric"] == "mse":
            ax.set_yscale("log")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("sequence length T")
    ax.set_title(f"{results[0]['task'] if results else ''}: same training budget per run")
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path)


__all__ = ["LabConfig", "run_lab", "run_one", "sizes_for", "applies", "format_table", "format_solved",
           "plot_results", "VARIANTS", "TASKS"]
