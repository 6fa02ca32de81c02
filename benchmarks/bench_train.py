"""Training throughput of ``rnnkit train lm`` against a minimal PyTorch loop, on CPU.

Usage::

    python benchmarks/bench_train.py [--quick] [--repeats N] [--threads N]
                                     [--warmup N] [--steps N] [--json PATH]

What is measured: characters per second of training, (steps x batch_size x
seq_length) / seconds, for two things doing the same work, side by side in one run:

* ``rnnkit``: :func:`rnnkit.training.train` (what ``rnnkit train lm`` calls) on a
  :class:`~rnnkit.config.RunConfig`, the whole Lightning machinery included (the
  LightningModule's training_step with its ``self.log``, the CSV logger, gradient-norm
  clipping through ``gradient_clip_val``, the checkpoint callbacks, the DataLoader over
  :class:`~rnnkit.data.streams.StreamBatches`); progress bar off, early stopping off,
  ``lr_schedule: none``.
* ``minimal``: a hand-written loop: ``nn.Embedding -> torch.nn.LSTM(batch_first) ->
  nn.Dropout -> nn.Linear``, the same ids cut into the same windows in the same order
  (batch ``i`` is columns ``[i*seq_length, (i+1)*seq_length)`` of the stream cut into
  ``batch_size`` rows), the state carried from batch to batch with ``detach``,
  ``F.cross_entropy`` (mean over the batch's characters), ``torch.optim.Adam`` with the
  same learning rate, ``torch.nn.utils.clip_grad_norm_`` with the same max norm, and
  the same number of optimiser steps. It starts from rnnkit's initial weights.

Timing: each run makes ``--warmup`` + ``--steps`` optimiser steps; the clock runs over
the ``--steps`` complete steps after the warm-up, from the end of the last warm-up
step to the end of the last step (for rnnkit, a Lightning callback passed through
``extra_callbacks`` reads the clock in ``on_train_batch_end``, so everything Lightning
does between two batches is counted; for the minimal loop, after ``optimizer.step()``
and the loss read-out). Both read each step's loss as a Python float. The wall time of
the whole ``train()`` call (reading the corpus, building the module and the Trainer,
Lightning's start-up, the warm-up steps, the last checkpoint, the final train and
validation figures, the plots) is reported too, beside the minimal loop's whole run
(reading the corpus, building the model, all its steps).

Rounds: ``--repeats`` rounds, each running both things once, the order reversed every
other round; figures are medians over rounds, and the ratio is the ratio of the two
medians (target: rnnkit / minimal >= 0.9). Every round's figures are in the JSON.

Checks: the data is the same (the first and last batch rnnkit trains on equal the
minimal loop's), and so is the arithmetic: with the same initial weights and dropout 0
the losses of the first steps must agree to 1e-4, else the script stops.

Validation: rnnkit holds out ``valid_fraction`` (tiny, 1%) of the stream, and the
minimal loop trains on the same first 99%; all steps fit in the first epoch, so no
validation runs during training (the final validation figures of ``train()`` are in
its wall time only).

Noise: where other processes run multi-threaded work on the same cores, steps slow
down unevenly (by up to 1000x on the 2-core development machine). The script warns
when the CPUs are busy just before it starts and when a side's slowest round is over
1.5x its fastest; the table also gives the throughput from the median step time.

Results: a Markdown table on stdout (progress on stderr); with ``--json PATH`` the same
figures, every round's and every step's time, and the environment as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import itertools
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import rnnkit

from _common import git_state, write_json  # benchmarks/, the script's folder, is on sys.path

SEED = 0
TARGET = 0.9  # rnnkit chars/s / minimal chars/s must be at least this
LOSS_TOLERANCE = 1e-4  # max abs difference of the first steps' losses
LOSS_STEPS = 5  # how many first steps are checked against LOSS_TOLERANCE
NOISY = 1.5  # warn when a thing's slowest round is this many times its fastest
BUSY = 0.3  # warn when other processes keep more CPUs than this busy before the start


@dataclass(frozen=True)
class Settings:
    max_chars: int  # the first characters of the default corpus (the stdlib's .py files)
    batch_size: int
    seq_length: int
    hidden_size: int
    num_layers: int
    embedding_size: int
    dropout: float
    lr: float
    gradient_clip: float
    warmup: int  # optimiser steps before the clock starts
    steps: int  # optimiser steps timed
    valid_fraction: float

    @property
    def total_steps(self) -> int:
        return self.warmup + self.steps

    @property
    def chars_per_step(self) -> int:
        return self.batch_size * self.seq_length


FULL = Settings(max_chars=2_000_000, batch_size=32, seq_length=128, hidden_size=256, num_layers=2,
                embedding_size=64, dropout=0.0, lr=2e-3, gradient_clip=5.0, warmup=10, steps=150,
                valid_fraction=0.01)
QUICK = Settings(max_chars=200_000, batch_size=16, seq_length=64, hidden_size=64, num_layers=2,
                 embedding_size=32, dropout=0.0, lr=2e-3, gradient_clip=5.0, warmup=3, steps=30,
                 valid_fraction=0.01)


# -- the data, as the minimal loop makes it -------------------------------------------------


@dataclass
class Data:
    ids: torch.Tensor  # the whole stream, int64
    train_ids: torch.Tensor  # its first (1 - valid_fraction)
    vocab_size: int
    x: torch.Tensor  # (batch_size, per_row): the training stream cut into rows
    y: torch.Tensor  # the next character of each of x's
    batches_per_epoch: int

    def batch(self, i: int, seq_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        window = slice(i * seq_length, (i + 1) * seq_length)
        return self.x[:, window], self.y[:, window]


def make_data(s: Settings) -> Data:
    """The corpus read, the characters numbered and the stream cut, by hand (only the
    reading and the character table are rnnkit's)."""
    from rnnkit.data.text import read_corpus
    from rnnkit.data.tokenizers import CharTokenizer

    text, _ = read_corpus(None, max_chars=s.max_chars)
    tok = CharTokenizer.fit(text)
    ids = tok.encode(text)
    cut = round(len(ids) * (1.0 - s.valid_fraction))
    train_ids = ids[:cut]
    per_row = (len(train_ids) - 1) // s.batch_size
    n = s.batch_size * per_row
    x = train_ids[:n].view(s.batch_size, per_row)
    y = train_ids[1:n + 1].view(s.batch_size, per_row)
    return Data(ids, train_ids, tok.vocab_size, x, y, -(-per_row // s.seq_length))


# -- rnnkit -------------------------------------------------------------------------


def rnnkit_config(s: Settings):
    from rnnkit.config import RunConfig

    return RunConfig.from_dict({
        "task": "lm",
        "model": {"cell": "lstm", "hidden_size": s.hidden_size, "num_layers": s.num_layers,
                  "embedding_size": s.embedding_size, "dropout": s.dropout, "backend": "auto"},
        "data": {"data": None, "valid_fraction": s.valid_fraction, "seq_length": s.seq_length,
                 "max_chars": s.max_chars},
        "train": {"optimizer": "adam", "lr": s.lr, "batch_size": s.batch_size, "max_epochs": 1,
                  "max_steps": s.total_steps, "seed": SEED,
                  "val_every_n_steps": s.total_steps,   # as the minimal loop: no validation between the timed steps
                  "gradient_clip": s.gradient_clip,
                  "lr_schedule": "none", "early_stopping_patience": None, "progress_bar": False,
                  "accelerator": "cpu", "precision": "32"},
    })


def make_timer(s: Settings, data: Data):
    """A Lightning callback that reads the clock around the measured steps and keeps
    the figures the checks need."""
    from lightning.pytorch.callbacks import Callback

    class Timer(Callback):
        def __init__(self):
            self.t = {}
            self.losses: list[float] = []
            self.init_state = None
            self.threads = None
            self.deterministic = None
            self.batches_equal = []
            self.ends: list[float] = []  # clock at the end of every step

        def setup(self, trainer, pl_module, stage):
            self.t.setdefault("setup", time.perf_counter())

        def on_train_start(self, trainer, pl_module):
            self.t["train_start"] = time.perf_counter()
            self.init_state = {k: v.detach().clone() for k, v in pl_module.net.state_dict().items()}
            self.threads = torch.get_num_threads()
            self.deterministic = torch.are_deterministic_algorithms_enabled()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.losses.append(float(outputs["loss"]))
            self.ends.append(time.perf_counter())
            if batch_idx == s.warmup - 1:
                self.t["measure_start"] = time.perf_counter()
            elif batch_idx == s.total_steps - 1:
                self.t["measure_end"] = time.perf_counter()
            if batch_idx in (0, s.total_steps - 1):  # outside the measured steps
                want = data.batch(batch_idx, s.seq_length)
                self.batches_equal.append(all(torch.equal(a, b) for a, b in zip(batch, want)))

        def on_train_end(self, trainer, pl_module):
            self.t["train_end"] = time.perf_counter()

    return Timer()


def run_rnnkit(s: Settings, data: Data, out: Path) -> dict:
    import warnings

    from rnnkit.training import train

    # All steps fit in the first epoch, so no validation runs and the "best" checkpoint
    # (monitoring val_loss) has nothing to go by: Lightning says so once per run.
    warnings.filterwarnings("ignore", message=".*could not find the monitored key.*")

    cfg = rnnkit_config(s)
    timer = make_timer(s, data)
    gc.collect()
    torch.manual_seed(SEED)  # the same initial weights in every round
    start = time.perf_counter()
    metrics = train(cfg, out, extra_callbacks=[timer])
    end = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    t = timer.t
    missing = [k for k in ("setup", "train_start", "measure_start", "measure_end", "train_end") if k not in t]
    if missing or metrics.get("steps") != s.total_steps:
        sys.exit(f"ABORT: rnnkit made {metrics.get('steps')} steps (expected {s.total_steps}); "
                 f"clock readings missing: {missing}")
    measured = t["measure_end"] - t["measure_start"]
    return {
        "measured_s": measured,
        "chars_per_s": s.steps * s.chars_per_step / measured,
        "whole_s": end - start,
        "phases_s": {  # where the whole call's time goes
            "before_fit": t["setup"] - start,  # corpus, tokenizer, module, Trainer
            "fit_startup": t["train_start"] - t["setup"],  # Lightning's own start-up
            "warmup_steps": t["measure_start"] - t["train_start"],
            "measured_steps": measured,
            "after_steps": end - t["measure_end"],  # last checkpoint, final figures, plots
        },
        "losses": timer.losses,
        "step_ms": step_ms(timer.ends),
        "init_state": timer.init_state,
        "threads": timer.threads,
        "deterministic": timer.deterministic,
        "batches_equal": timer.batches_equal,
    }


def step_ms(ends: list[float]) -> list[float]:
    """Milliseconds of every step after the first, from the clock at each step's end."""
    return [round(1e3 * (b - a), 3) for a, b in itertools.pairwise(ends)]


# -- the minimal loop -----------------------------------------------------------------


class MinimalLM(nn.Module):
    """The same shape as rnnkit's CharLM (and the same parameter names)."""

    def __init__(self, s: Settings, vocab_size: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, s.embedding_size)
        self.rnn = nn.LSTM(s.embedding_size, s.hidden_size, s.num_layers, batch_first=True,
                           dropout=s.dropout if s.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(s.dropout)
        self.head = nn.Linear(s.hidden_size, vocab_size)

    def forward(self, ids, state=None):
        y, state = self.rnn(self.drop(self.embed(ids)), state)
        return self.head(self.drop(y)), state


def run_minimal(s: Settings, init_state: dict) -> dict:
    gc.collect()
    start = time.perf_counter()
    data = make_data(s)  # read again, as train() does, for a like-for-like whole run
    model = MinimalLM(s, data.vocab_size)
    model.load_state_dict(init_state)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    state = None
    losses = []
    ends = []  # clock at the end of every step
    t0 = t1 = None
    for i in range(s.total_steps):
        x, y = data.batch(i, s.seq_length)
        logits, state = model(x, state)
        state = tuple(h.detach() for h in state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s.gradient_clip)
        opt.step()
        losses.append(loss.item())
        ends.append(time.perf_counter())
        if i == s.warmup - 1:
            t0 = time.perf_counter()
    t1 = time.perf_counter()
    measured = t1 - t0
    return {"measured_s": measured, "chars_per_s": s.steps * s.chars_per_step / measured,
            "whole_s": t1 - start, "losses": losses, "step_ms": step_ms(ends), "threads": torch.get_num_threads(),
            "deterministic": torch.are_deterministic_algorithms_enabled()}


# -- the rounds -------------------------------------------------------------------------


def loss_gap(a: list[float], b: list[float], n: int) -> float:
    gaps = [abs(x - y) for x, y in zip(a[:n], b[:n])]
    return math.inf if any(math.isnan(g) for g in gaps) else max(gaps)


def run_rounds(s: Settings, repeats: int, threads: int) -> dict:
    data = make_data(s)
    if s.total_steps > data.batches_per_epoch:
        sys.exit(f"ABORT: {s.total_steps} steps need more than the {data.batches_per_epoch} batches of one "
                 f"epoch of {s.max_chars} characters; raise max_chars or lower --steps")
    # Lightning's Trainer(deterministic=True) switches deterministic algorithms on for the
    # whole process and leaves them on; the minimal loop runs with the process's own setting.
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    tmp = Path(tempfile.mkdtemp(prefix="rnnkit-bench-train-"))
    rounds = []
    init_state = None
    try:
        for r in range(repeats):
            order = ("rnnkit", "minimal") if r % 2 == 0 else ("minimal", "rnnkit")
            res = {}
            for name in order:
                print(f"round {r + 1}/{repeats}: {name} ...", file=sys.stderr, flush=True)
                if name == "rnnkit":
                    res[name] = run_rnnkit(s, data, tmp / f"run_{r}")
                    if init_state is None:
                        init_state = res[name]["init_state"]
                    elif not all(torch.equal(init_state[k], v) for k, v in res[name]["init_state"].items()):
                        print("  warning: rnnkit's initial weights differ from round 1's", file=sys.stderr)
                    del res[name]["init_state"]
                else:
                    torch.use_deterministic_algorithms(deterministic_before)
                    res[name] = run_minimal(s, init_state)
            check_round(s, r, res, threads)
            rounds.append(res)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"vocab_size": data.vocab_size, "train_characters": len(data.train_ids),
            "batches_per_epoch": data.batches_per_epoch, "rounds": rounds}


def check_round(s: Settings, r: int, res: dict, threads: int) -> None:
    """Same data, same arithmetic, the threads asked for; stops at the first round that fails."""
    if not all(res["rnnkit"]["batches_equal"]):
        sys.exit("ABORT: the batches rnnkit trained on differ from the minimal loop's windows")
    gap = loss_gap(res["rnnkit"]["losses"], res["minimal"]["losses"], LOSS_STEPS)
    if not gap < LOSS_TOLERANCE:
        sys.exit(f"ABORT: round {r + 1}: the losses of the first {LOSS_STEPS} steps differ by {gap:.3g} "
                 f"(must be < {LOSS_TOLERANCE:g}): rnnkit {res['rnnkit']['losses'][:LOSS_STEPS]}, "
                 f"minimal {res['minimal']['losses'][:LOSS_STEPS]}")
    for name in ("rnnkit", "minimal"):
        if res[name]["threads"] != threads:
            print(f"  warning: {name} ran with {res[name]['threads']} torch threads, not {threads}",
                  file=sys.stderr)


def summarise(s: Settings, result: dict) -> dict:
    rounds = result["rounds"]
    med = lambda name, key: statistics.median(r[name][key] for r in rounds)
    summary = {}
    for key in ("chars_per_s", "measured_s", "whole_s"):
        a, b = med("rnnkit", key), med("minimal", key)
        summary[key] = {"rnnkit": a, "minimal": b, "ratio": a / b}
    # robust to a few steps slowed by other processes: the median measured step of every
    # run (step_ms[k] is step k + 1, so the measured steps are step_ms[warmup - 1:])
    a, b = (statistics.median(statistics.median(r[name]["step_ms"][s.warmup - 1:]) for r in rounds)
            for name in ("rnnkit", "minimal"))
    summary["median_step_ms"] = {"rnnkit": a, "minimal": b, "ratio": a / b}
    ratio = summary["chars_per_s"]["ratio"]
    summary["verdict"] = "PASS" if ratio >= TARGET else "MISS"
    summary["per_round_ratio"] = [r["rnnkit"]["chars_per_s"] / r["minimal"]["chars_per_s"] for r in rounds]
    summary["rnnkit_phases_s"] = {k: statistics.median(r["rnnkit"]["phases_s"][k] for r in rounds)
                                  for k in rounds[0]["rnnkit"]["phases_s"]}
    summary["loss_gap_first_steps"] = max(loss_gap(r["rnnkit"]["losses"], r["minimal"]["losses"], LOSS_STEPS)
                                          for r in rounds)
    summary["loss_gap_all_steps"] = max(loss_gap(r["rnnkit"]["losses"], r["minimal"]["losses"], s.total_steps)
                                        for r in rounds)
    summary["final_loss"] = {name: rounds[0][name]["losses"][-1] for name in ("rnnkit", "minimal")}
    summary["noisy"] = {}
    for name in ("rnnkit", "minimal"):
        ts = [r[name]["measured_s"] for r in rounds]
        if max(ts) > NOISY * min(ts):
            summary["noisy"][name] = max(ts) / min(ts)
    return summary


# -- reporting ------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def busy_cpus(seconds: float = 1.0) -> float | None:
    """How many CPUs were busy (not idle) over ``seconds``, from /proc/stat (None elsewhere)."""
    def sample():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields[:8]), fields[3] + fields[4]  # total, idle + iowait
    try:
        total1, idle1 = sample()
        time.sleep(seconds)
        total2, idle2 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total2 == total1:
        return None
    return (1.0 - (idle2 - idle1) / (total2 - total1)) * (os.cpu_count() or 1)


def environment(args, s: Settings) -> dict:
    import lightning

    return {
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "rnnkit": rnnkit.__version__,
        "git": git_state(),
        "python": platform.python_version(),
        "num_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "busy_cpus_at_start": busy_cpus(),
        "load_average_at_start": os.getloadavg(),
        "command": " ".join([sys.executable, *sys.argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "repeats": args.repeats,
        "seed": SEED,
        "dtype": "float32",
        "settings": dataclasses.asdict(s),
    }


def markdown(s: Settings, result: dict, summary: dict, env: dict) -> str:
    rounds = result["rounds"]
    c, m, w = summary["chars_per_s"], summary["measured_s"], summary["whole_s"]
    ms = summary["median_step_ms"]
    ph = summary["rnnkit_phases_s"]
    det = rounds[0]["rnnkit"]["deterministic"], rounds[0]["minimal"]["deterministic"]
    lines = [
        (f"torch {env['torch']}, lightning {env['lightning']}, {env['num_threads']} threads, "
         f"{env['cpu_model']}; median of {env['repeats']} interleaved rounds"),
        (f"char LM on the first {s.max_chars:,} characters of the stdlib's .py files "
         f"({result['train_characters']:,} trained on, vocabulary {result['vocab_size']}): "
         f"embedding {s.embedding_size} -> LSTM {s.num_layers} x {s.hidden_size} -> linear, "
         f"dropout {s.dropout:g}, batch {s.batch_size} x seq_length {s.seq_length}, Adam lr {s.lr:g}, "
         f"clip norm {s.gradient_clip:g}, float32; {s.warmup} warm-up + {s.steps} measured steps"),
        "",
        "| quantity | rnnkit | minimal | rnnkit/minimal | target | result |",
        "|---|---:|---:|---:|---|---|",
        (f"| training throughput, measured steps (chars/s) | {c['rnnkit']:,.0f} | {c['minimal']:,.0f} | "
         f"{c['ratio']:.3f} | >= {TARGET:g} | {summary['verdict']} |"),
        (f"| time per step (ms) | {1e3 * m['rnnkit'] / s.steps:.1f} | {1e3 * m['minimal'] / s.steps:.1f} | "
         f"{m['ratio']:.3f} | - | info |"),
        (f"| chars/s from the median step (info, robust to a few slow steps) | "
         f"{1e3 * s.chars_per_step / ms['rnnkit']:,.0f} | {1e3 * s.chars_per_step / ms['minimal']:,.0f} | "
         f"{ms['minimal'] / ms['rnnkit']:.3f} | - | info |"),
        (f"| whole run (s): train() call / minimal script | {w['rnnkit']:.2f} | {w['minimal']:.2f} | "
         f"{w['ratio']:.3f} | - | info |"),
        "",
        ("rnnkit's train() call, median seconds: "
         f"before fit (corpus, module, Trainer) {ph['before_fit']:.2f}, "
         f"Lightning fit start-up {ph['fit_startup']:.2f}, "
         f"{s.warmup} warm-up steps {ph['warmup_steps']:.2f}, "
         f"{s.steps} measured steps {ph['measured_steps']:.2f}, "
         f"after the steps (checkpoint, final validation, plots) {ph['after_steps']:.2f}."),
        "",
        ("Per-round throughput ratio: " + ", ".join(f"{v:.3f}" for v in summary["per_round_ratio"])
         + f". Same work: loss gap over the first {LOSS_STEPS} steps {summary['loss_gap_first_steps']:.1e}, "
         f"over all {s.total_steps} steps {summary['loss_gap_all_steps']:.1e}; final loss rnnkit "
         f"{summary['final_loss']['rnnkit']:.4f}, minimal {summary['final_loss']['minimal']:.4f}. "
         f"Deterministic algorithms: rnnkit {det[0]}, minimal {det[1]}."),
    ]
    if summary["noisy"]:
        lines.append("Noisy (slowest / fastest round): "
                     + ", ".join(f"{k} {v:.2f}x" for k, v in summary["noisy"].items()) + ".")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke test: tiny model and corpus, 2 rounds (under 30 s)")
    p.add_argument("--repeats", type=int, default=None,
                   help="rounds of (rnnkit, minimal) (default 3; 2 with --quick)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads for both (default 2)")
    p.add_argument("--warmup", type=int, default=None,
                   help=f"steps before the clock starts (default {FULL.warmup}; {QUICK.warmup} with --quick)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"measured steps (default {FULL.steps}; {QUICK.steps} with --quick)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 3
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    if args.threads < 1:
        p.error("--threads must be at least 1")
    if args.warmup is not None and args.warmup < 1:
        p.error("--warmup must be at least 1 (the clock starts at the end of the last warm-up step)")
    if args.steps is not None and args.steps < 1:
        p.error("--steps must be at least 1")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    s = QUICK if args.quick else FULL
    s = dataclasses.replace(s, warmup=args.warmup or s.warmup, steps=args.steps or s.steps)
    env = environment(args, s)
    busy = env["busy_cpus_at_start"]
    if busy is not None and busy > BUSY:
        print(f"  warning: other processes kept {busy:.1f} CPUs busy just before the start; where they "
              f"compete for the cores, multi-threaded steps slow down unevenly (by up to 1000x here)",
              file=sys.stderr)
    result = run_rounds(s, args.repeats, args.threads)
    summary = summarise(s, result)
    if summary["noisy"]:
        print("  warning: noisy timings (slowest / fastest round: "
              + ", ".join(f"{k} {v:.2f}x" for k, v in summary["noisy"].items()) + ")", file=sys.stderr)
    print(markdown(s, result, summary, env))
    if args.json is not None:
        write_json(args.json, {"environment": env, "summary": summary, "result": result})
        print(f"\nwrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
