"""Text-classification training throughput of ``rnnkit train classify`` against three
hand-written PyTorch loops (``torch.nn.LSTM``: shuffled batches packed, as the tutorials
write it; and the same length-bucketed batches as rnnkit, padded or packed), on CPU.

Usage::

    python benchmarks/bench_text.py [--quick] [--repeats N] [--warmup N] [--steps N]
                                    [--threads N] [--deterministic-loops] [--json PATH]

Data: one CSV of ``--examples`` texts (words drawn from a 20,000-word Zipf vocabulary,
lengths log-normal with median 120 words and a long tail, clipped to [5, 1,000]: the
shape of movie-review or news corpora), two classes. Every side reads the same file and
trains the same model on it: embedding 128 -> LSTM 1 x 256 -> the final state -> linear,
Adam (lr 1e-3), gradient-norm clipping at 5, batch 64, dropout 0, no truncation.

* ``rnnkit``: :func:`rnnkit.training.train` on task classify (what ``rnnkit train
  classify`` calls), Lightning included; batches bucketed by length, the LSTM run with
  ``lengths`` (torch's fused kernel on the padded batch, no packing).
* ``packed``: a hand-written loop as PyTorch's tutorials write it: a shuffled
  ``DataLoader`` whose ``collate_fn`` pads, ``pack_padded_sequence(...,
  enforce_sorted=False)`` -> ``torch.nn.LSTM`` -> ``h_n[-1]`` -> ``nn.Linear``.
* ``bucketed padded``: what a careful user writes instead: the same length-bucketed
  batches rnnkit trains on (:func:`rnnkit.data.batching.bucket_plan`, same batch size
  and pools), the padded batch straight through ``torch.nn.LSTM`` (no packing: torch's
  fused kernel), the output gathered at ``lengths - 1`` -> ``nn.Linear``. The final
  states are exact (padding comes after each sequence's last step).
* ``bucketed packed``: the same bucketed batches through ``pack_padded_sequence`` ->
  ``torch.nn.LSTM`` -> ``h_n[-1]``.

The three loops share everything else (vocabulary, model, optimiser, clock).

Measured: sequences per second over ``--steps`` optimiser steps after ``--warmup`` (for
rnnkit, a Lightning callback reads the clock at the end of each batch, so everything
between two batches counts; for the loop, after ``optimizer.step()`` and the loss
read-out). Tokens per second too, since a bucketed epoch and a shuffled one hold the
same tokens but in different batches. ``--repeats`` rounds, every side in each, the
order rotated from round to round; figures are medians; ratios are rnnkit / each
reference (target against ``packed``: at least 2).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, git_state, step_clock, timed_loop, write_json  # noqa: E402

EMB, HID, BATCH, LR, CLIP = 128, 256, 64, 1e-3, 5.0
DETERMINISTIC_LOOPS = False


def make_csv(path: Path, n: int, seed: int = 0) -> list[int]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(20_000)]
    p = 1.0 / np.arange(1, 20_001) ** 1.1
    p /= p.sum()
    lengths = np.clip(rng.lognormal(np.log(120), 0.7, n).astype(int), 5, 1000)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i, n_words in enumerate(lengths):
            ids = rng.choice(20_000, size=n_words, p=p)
            w.writerow([" ".join(words[j] for j in ids), "pos" if i % 2 else "neg"])
    return lengths.tolist()


# ---- the usual PyTorch script -------------------------------------------------------------
class PackedClassifier(nn.Module):
    def __init__(self, vocab: int, classes: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, EMB)
        self.lstm = nn.LSTM(EMB, HID, batch_first=True)
        self.out = nn.Linear(HID, classes)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(self.embed(x), lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.out(h[-1])


class PaddedClassifier(PackedClassifier):
    """The padded batch through the fused kernel; the state at each sequence's last step."""

    def forward(self, x, lengths):
        out, _ = self.lstm(self.embed(x))                              # (B, T, H)
        last = out[torch.arange(len(lengths)), lengths - 1]            # (B, H): step lengths[b] - 1
        return self.out(last)


class Bucketed:
    """The bucketed batches rnnkit's trainer draws (same plan, batch size and pools),
    one pass per epoch, a new order each epoch, collated by ``collate``."""

    def __init__(self, data, seed: int, collate):
        self.data, self.seed, self.collate, self.epoch = data, seed, collate, 0
        self.lengths = [len(x) for x, _ in data]

    def __iter__(self):
        from rnnkit.data.batching import bucket_plan

        plan = bucket_plan(self.lengths, BATCH, shuffle=True, seed=self.seed, epoch=self.epoch)
        self.epoch += 1
        for idx in plan:
            yield self.collate([self.data[i] for i in idx])


# The hand-written loops: model class, and whether batches are shuffled or bucketed.
LOOPS = {"packed": (PackedClassifier, "shuffled"), "bucketed padded": (PaddedClassifier, "bucketed"),
         "bucketed packed": (PackedClassifier, "bucketed")}


def run_packed(path: Path, warmup: int, steps: int, seed: int, loop: str = "packed") -> dict:
    # A plain script runs with torch's defaults: rnnkit's train() in this process leaves
    # deterministic algorithms on, which would slow the loop down (not what a user gets).
    # --deterministic-loops turns them on here too, to measure what they cost.
    torch.use_deterministic_algorithms(DETERMINISTIC_LOOPS)
    start_all = time.perf_counter()
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts.append(row["text"].split())
            labels.append(row["label"])
    vocab = {"<unk>": 0}
    for t in texts:
        for w in t:
            vocab.setdefault(w, len(vocab))
    classes = sorted(set(labels))
    data = [(torch.tensor([vocab[w] for w in t]), classes.index(y)) for t, y in zip(texts, labels)]

    def collate(items):
        xs = [x for x, _ in items]
        lengths = torch.tensor([len(x) for x in xs])
        return nn.utils.rnn.pad_sequence(xs, batch_first=True), lengths, torch.tensor([y for _, y in items])

    torch.manual_seed(seed)
    model_class, batches = LOOPS[loop]
    if batches == "shuffled":
        loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True, collate_fn=collate,
                                             generator=torch.Generator().manual_seed(seed))
    else:
        loader = Bucketed(data, seed, collate)
    model = model_class(len(vocab), len(classes))
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def step(batch):
        x, lengths, y = batch
        loss = F.cross_entropy(model(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        float(loss.detach())

    timed = timed_loop(loader, warmup, steps, step, lambda b: (len(b[2]), int(b[1].sum())))
    times = [t for t, _ in timed]
    return {"seconds": sum(times), "sequences": sum(c[0] for _, c in timed),
            "tokens": sum(c[1] for _, c in timed), "step_times": times,
            "wall": time.perf_counter() - start_all}


# ---- rnnkit ---------------------------------------------------------------------------------
def run_rnnkit(path: Path, out: Path, warmup: int, steps: int, seed: int) -> dict:

    from rnnkit.config import RunConfig
    from rnnkit.training import train

    cfg = RunConfig.from_dict({
        "task": "classify",
        "model": {"cell": "lstm", "hidden_size": HID, "num_layers": 1, "embedding_size": EMB, "dropout": 0.0,
                  "bidirectional": False, "head": "last"},
        "data": {"data": [str(path)], "valid_fraction": 0.01, "tokenizer": "word"},
        "train": {"lr": LR, "batch_size": BATCH, "max_steps": warmup + steps, "max_epochs": 100,
                  "val_every_n_steps": warmup + steps,   # as the plain loop: no validation between the timed steps
                  "seed": seed,
                  "gradient_clip": CLIP, "lr_schedule": "none", "early_stopping_patience": None,
                  "progress_bar": False, "accelerator": "cpu", "log_every_n_steps": 50}})
    clock = step_clock(warmup, lambda b: (len(b["y"]), int(b["lengths"].sum())))
    start = time.perf_counter()
    train(cfg, out, overwrite=True, extra_callbacks=[clock])
    times = [t for t, _ in clock.timed]
    return {"seconds": sum(times), "sequences": sum(c[0] for _, c in clock.timed),
            "tokens": sum(c[1] for _, c in clock.timed), "step_times": times,
            "wall": time.perf_counter() - start}


def check_references(seed: int = 0) -> float:
    """The padded reference computes what the packed one does: same weights, one
    mixed-length batch, the largest difference of their logits (printed, and checked)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([7, 3, 5, 1])
    x = torch.randint(1, 50, (4, 7), generator=g) * (torch.arange(7) < lengths[:, None])    # padded with 0
    packed = PackedClassifier(50, 2)
    padded = PaddedClassifier(50, 2)
    padded.load_state_dict(packed.state_dict())
    with torch.no_grad():
        diff = float((packed(x, lengths) - padded(x, lengths)).abs().max())
    assert diff < 1e-5, f"padded and packed references disagree by {diff}"
    return diff


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer examples and steps (a smoke run)")
    ap.add_argument("--examples", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default=str(HERE / "results" / "text_cpu.json"))
    ap.add_argument("--deterministic-loops", action="store_true",
                    help="run the hand-written loops with torch's deterministic algorithms on, as rnnkit's train() does")
    args = ap.parse_args(argv)
    global DETERMINISTIC_LOOPS
    DETERMINISTIC_LOOPS = args.deterministic_loops
    if args.quick:
        args.examples, args.repeats, args.warmup, args.steps = 800, 1, 2, 8
    if args.threads:
        torch.set_num_threads(args.threads)
    diff = check_references()
    tmp = Path(tempfile.mkdtemp(prefix="bench_text_"))
    lengths = make_csv(tmp / "texts.csv", args.examples)
    print(f"data: {len(lengths)} texts, median {int(np.median(lengths))} words, max {max(lengths)}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; padded vs packed logits differ by "
          f"{diff:.1e}", file=sys.stderr)
    sides = ["rnnkit", *LOOPS]
    rounds = []
    for r in range(args.repeats):
        order = sides[r % len(sides):] + sides[:r % len(sides)]
        got = {}
        for side in order:
            if side == "rnnkit":
                got[side] = run_rnnkit(tmp / "texts.csv", tmp / "run", args.warmup, args.steps, r)
            else:
                got[side] = run_packed(tmp / "texts.csv", args.warmup, args.steps, r, loop=side)
            g = got[side]
            print(f"round {r + 1} {side:<15} {g['sequences'] / g['seconds']:8.1f} seq/s "
                  f"{g['tokens'] / g['seconds']:10.0f} tokens/s", file=sys.stderr)
        rounds.append(got)

    def med(side, key):
        return statistics.median(rd[side][key] / rd[side]["seconds"] for rd in rounds)

    res = {side: {"sequences_per_s": med(side, "sequences"), "tokens_per_s": med(side, "tokens"),
                  "median_step_s": statistics.median(t for rd in rounds for t in rd[side]["step_times"]),
                  "tokens_per_sequence": statistics.median(rd[side]["tokens"] / rd[side]["sequences"]
                                                           for rd in rounds)}
           for side in sides}
    ratios = {side: res["rnnkit"]["sequences_per_s"] / res[side]["sequences_per_s"] for side in LOOPS}
    ratio = ratios["packed"]
    print("| side | sequences/s | tokens/s | tokens/sequence | median step (s) | rnnkit / side (seq/s) |")
    print("|---|---|---|---|---|---|")
    for side in sides:
        r = res[side]
        mark = "-" if side == "rnnkit" else f"{ratios[side]:.2f}"
        print(f"| {side} | {r['sequences_per_s']:.1f} | {r['tokens_per_s']:.0f} | {r['tokens_per_sequence']:.0f} "
              f"| {r['median_step_s']:.3f} | {mark} |")
    print(f"\nrnnkit / packed (sequences per second): {ratio:.2f}  (target >= 2)")
    print(f"rnnkit / bucketed padded: {ratios['bucketed padded']:.2f}  "
          f"rnnkit / bucketed packed: {ratios['bucketed packed']:.2f}")
    write_json(Path(args.json), {
        "benchmark": "text classification training throughput", "ratio_rnnkit_over_packed": ratio,
        "ratios_rnnkit_over": ratios,
        "results": res, "rounds": rounds, "config": {**vars(args), "emb": EMB, "hidden": HID, "batch": BATCH},
        "data": {"texts": len(lengths), "median_words": float(np.median(lengths)), "max_words": int(max(lengths))},
        "environment": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                        "cpus": os.cpu_count(), "python": platform.python_version(), **git_state()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
