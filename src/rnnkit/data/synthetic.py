"""Synthetic long-range tasks: each example's answer depends on inputs far back in the
sequence, with a known trivial baseline, so that what a cell remembers can be measured.

* :func:`adding_problem` (Hochreiter and Schmidhuber 1997; Le et al. 2015): T steps of
  (value, marker); exactly two markers, one in each half; the target is the sum of the
  two marked values. Always answering 1.0 gives MSE = Var(u1 + u2) = 2/12 = 1/6.
* :func:`copy_task` (Hochreiter and Schmidhuber 1997; Arjovsky et al. 2016): k symbols,
  a gap of blanks, a delimiter, then the k symbols to recall. Guessing gives recall
  accuracy 1/n_symbols.
* :func:`selective_copy` (Gu and Dao 2023, "Mamba: Linear-Time Sequence Modeling with
  Selective State Spaces", section 3.1 and appendix E.1): k data symbols at random
  positions among T noise steps, then k marker steps on which the symbols are to be
  output in order. The positions vary from sequence to sequence, so a model cannot
  count steps from the start (as it can on the copy task): it must select what to keep
  by its content. Guessing scores 1/n_symbols.

All are batch-first, ``(batch, time, features)`` or ``(batch, time)``, and the same
``seed`` gives the same data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

ADDING_BASELINE_MSE = 1.0 / 6.0


@dataclass
class SyntheticData:
    """x: inputs; y: targets; baseline: the trivial predictor's score (MSE or accuracy);
    extra: task-specific (for the copy task, the mask of the recall steps)."""

    x: Tensor
    y: Tensor
    baseline: float
    extra: dict


def _generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def adding_problem(n: int, T: int, seed: int = 0) -> SyntheticData:
    """``n`` sequences of length ``T``.

    Shape: x (n, T, 2) float32 (value in [0, 1), marker 0/1); y (n,) float32.
    """
    if T < 2:
        raise ValueError(f"adding_problem: expected T >= 2, got {T}")
    if n < 1:
        raise ValueError(f"adding_problem: expected n >= 1, got {n}")
    g = _generator(seed)
    values = torch.rand(n, T, generator=g)
    half = T // 2
    first = torch.randint(0, half, (n,), generator=g)             # one marker in each half
    second = torch.randint(half, T, (n,), generator=g)
    markers = torch.zeros(n, T)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)                     # (n, T, 2)
    y = values[rows, first] + values[rows, second]                 # (n,)
    return SyntheticData(x, y, ADDING_BASELINE_MSE, {"marker_positions": torch.stack([first, second], 1)})


def copy_task(n: int, T: int, k: int = 10, n_symbols: int = 8, seed: int = 0) -> SyntheticData:
    """``n`` sequences: ``k`` symbols (ids 1..n_symbols), ``T`` blank steps (id 0) whose
    last is the delimiter (id n_symbols + 1), then ``k`` blanks during which the
    symbols are to be recalled. Length T + 2k.

    Shape: x, y (n, T + 2k) int64; y is blank (0) except on the last k steps, where it
    holds the symbols. ``extra["recall"]`` is the (T + 2k,) mask of those steps.
    """
    if T < 1 or k < 1 or n_symbols < 2:
        raise ValueError(f"copy_task: expected T >= 1, k >= 1 and n_symbols >= 2, got T={T}, k={k}, "
                         f"n_symbols={n_symbols}")
    g = _generator(seed)
    L = T + 2 * k
    symbols = torch.randint(1, n_symbols + 1, (n, k), generator=g)
    x = torch.zeros(n, L, dtype=torch.long)
    x[:, :k] = symbols
    x[:, k + T - 1] = n_symbols + 1                                # delimiter: "recall now"
    y = torch.zeros(n, L, dtype=torch.long)
    y[:, -k:] = symbols
    recall = torch.zeros(L, dtype=torch.bool)
    recall[-k:] = True
    # Blanks everywhere and a uniform guess on the recall steps: its cross-entropy per step.
    baseline_ce = k * math.log(n_symbols) / L
    return SyntheticData(x, y, 1.0 / n_symbols, {"recall": recall, "vocab_size": n_symbols + 2,
                                                 "baseline_cross_entropy": baseline_ce})


def selective_copy(n: int, T: int, k: int = 16, n_symbols: int = 8, seed: int = 0) -> SyntheticData:
    """``n`` sequences: ``T`` steps of noise (id 0) among which ``k`` data symbols (ids
    1..n_symbols) sit at ``k`` distinct random positions (drawn afresh per sequence),
    then ``k`` marker steps (id n_symbols + 1) during which the data symbols are to be
    output in the order they came. Length T + k. (Gu and Dao 2023, section 3.1 and
    appendix E.1, train at length 4,096 with 16 data tokens and 16 token ids in all.)

    Shape: x, y (n, T + k) int64; y is blank (0) except on the last k steps, where it
    holds the data symbols in order. ``extra["recall"]`` is the (T + k,) mask of those
    steps and ``extra["positions"]`` the (n, k) sorted positions of the data symbols.
    """
    if T < 1 or k < 1 or n_symbols < 2 or k > T or n < 1:
        raise ValueError(f"selective_copy: expected n >= 1, 1 <= k <= T and n_symbols >= 2, got n={n}, T={T}, "
                         f"k={k}, n_symbols={n_symbols}")
    g = _generator(seed)
    L = T + k
    # k distinct positions per sequence: the k largest of T uniform draws, in time order
    positions = torch.rand(n, T, generator=g).topk(k, dim=1).indices.sort(dim=1).values     # (n, k)
    symbols = torch.randint(1, n_symbols + 1, (n, k), generator=g)                         # (n, k)
    x = torch.zeros(n, L, dtype=torch.long)
    x.scatter_(1, positions, symbols)
    x[:, T:] = n_symbols + 1                                        # markers: "output the data now"
    y = torch.zeros(n, L, dtype=torch.long)
    y[:, T:] = symbols
    recall = torch.zeros(L, dtype=torch.bool)
    recall[T:] = True
    baseline_ce = k * math.log(n_symbols) / L
    return SyntheticData(x, y, 1.0 / n_symbols, {"recall": recall, "vocab_size": n_symbols + 2,
                                                 "positions": positions, "baseline_cross_entropy": baseline_ce})
