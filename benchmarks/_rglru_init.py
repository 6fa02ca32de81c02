"""RGLRU's initial decay range on a character language model: cross-entropy after a fixed
number of Adam steps for each ``decay_init``, beside MinGRU, on the corpora of
``benchmarks/_quality_lm.py``.

    python benchmarks/_rglru_init.py                         # 300 steps, both corpora
    python benchmarks/_rglru_init.py --steps 100 --corpora stdlib

Every configuration: an embedding of 64, two layers of 256, a linear head; Adam 2e-3,
gradient norm clipped at 5, batches of 32 windows of 128 characters drawn at random
from the training text with the same generator; the same seed for the weights. The
figure is the mean training cross-entropy (nats) of the last 20 steps and the
validation cross-entropy on 64 fixed windows, so the ranges are compared at equal
steps, not equal time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

RANGES = [(0.9, 0.999), (0.5, 0.999), (0.0, 0.999)]


def run_one(ids, valid, vocab: int, layer: str, decay_init, steps: int) -> dict:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    import rnnkit

    torch.manual_seed(0)
    kw = {"decay_init": decay_init} if layer == "RGLRU" else {}
    embed, head = nn.Embedding(vocab, 64), nn.Linear(256, vocab)
    rnn = getattr(rnnkit, layer)(64, 256, num_layers=2, batch_first=True, **kw)
    params = [*embed.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, 2e-3)
    g = torch.Generator().manual_seed(1)

    def loss_of(x):
        return F.cross_entropy(head(rnn(embed(x[:, :-1]))[0]).reshape(-1, vocab), x[:, 1:].reshape(-1))

    losses, start = [], time.perf_counter()
    for _ in range(steps):
        i = torch.randint(0, len(ids) - 129, (32,), generator=g)
        loss = loss_of(torch.stack([ids[j:j + 129] for j in i.tolist()]))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        starts = torch.linspace(0, len(valid) - 130, 64).long().tolist()
        val = loss_of(torch.stack([valid[j:j + 129] for j in starts])).item()
    return {"train_last20": round(sum(losses[-20:]) / 20, 4), "valid": round(val, 4),
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--corpora", default="stdlib,fortunes")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    from _quality_lm import write_corpus

    from rnnkit.data.tokenizers import CharTokenizer

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for corpus in [c for c in args.corpora.split(",") if c]:
            folder = Path(tmp) / corpus
            if write_corpus(corpus, folder, 3_000_000, 100_000) is None:
                print(f"{corpus}: skipped (apt-get install fortunes)", file=sys.stderr)
                continue
            train = (folder / "train.txt").read_text(encoding="utf-8")
            tok = CharTokenizer.fit(train)
            ids = tok.encode(train)
            valid = tok.encode((folder / "valid.txt").read_text(encoding="utf-8"))
            rows = {}
            for name, layer, rng in [*((f"rglru {lo:g}-{hi:g}", "RGLRU", (lo, hi)) for lo, hi in RANGES),
                                     ("mingru", "MinGRU", None)]:
                rows[name] = run_one(ids, valid, tok.vocab_size, layer, rng, args.steps)
                print(f"{corpus} {name}: {rows[name]}", file=sys.stderr, flush=True)
            results[corpus] = rows
    print(f"| configuration | " + " | ".join(f"{c} train (last 20) | {c} valid" for c in results) + " |")
    print("|---|" + "---:|---:|" * len(results))
    names = next(iter(results.values())).keys() if results else []
    for name in names:
        print(f"| {name} | " + " | ".join(f"{results[c][name]['train_last20']:.3f} | {results[c][name]['valid']:.3f}"
                                          for c in results) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"steps": args.steps, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
