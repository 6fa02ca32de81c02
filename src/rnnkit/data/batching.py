"""Batches of whole sequences of different lengths: padded on the right, with a 1-D
``lengths`` tensor, and bucketed so that the sequences of one batch have similar
lengths (little padding, nothing truncated).

Bucketing (as torchtext's BucketIterator and AllenNLP's bucket sampler do): the
shuffled examples are cut into pools of ``pool_batches`` batches, each pool is sorted
by length and cut into batches, and the order of all batches is shuffled. Every epoch
draws a new order from ``(seed, epoch)``, so a run is repeatable and a resumed run sees
the same batches.

Scale-out: with ``world_size`` processes, batch ``i`` of the shuffled list goes to
process ``i % world_size``; the list is first filled up to a multiple of
``world_size`` by repeating its first batches, so that every process takes the same
number of steps. Evaluation batches are never repeated.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

IGNORE = -100   # the target at padded steps (torch's cross-entropy ignore_index)


def pad_batch(seqs: Sequence[Tensor], value=0) -> tuple[Tensor, Tensor]:
    """Right-pad sequences of shape (T_i, ...) to (B, max T_i, ...); returns the padded
    batch and ``lengths`` (B,) int64.

    Example::

        x, lengths = pad_batch([torch.tensor([1, 2, 3]), torch.tensor([4])])
        # x = [[1, 2, 3], [4, 0, 0]], lengths = [3, 1]
    """
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    longest = max(1, int(lengths.max())) if len(seqs) else 1
    first = seqs[0]
    out = torch.full((len(seqs), longest, *first.shape[1:]), value, dtype=first.dtype)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out, lengths


def collate_sequences(items) -> dict:
    """Items ``(ids, target)`` -> ``{"x": (B, T), "lengths": (B,), "y": ...}``: ``y`` is
    (B,) for one target per sequence, or (B, T) padded with :data:`IGNORE` for a target
    per step."""
    xs = [x for x, _ in items]
    x, lengths = pad_batch(xs)
    targets = [y for _, y in items]
    if isinstance(targets[0], Tensor) and targets[0].dim() >= 1:
        y, _ = pad_batch(targets, IGNORE)
    else:
        y = torch.as_tensor(targets, dtype=torch.int64)
    return {"x": x, "lengths": lengths, "y": y}


def bucket_plan(lengths: Sequence[int], batch_size: int, *, shuffle: bool, seed: int = 0, epoch: int = 0,
                pool_batches: int = 50) -> list[list[int]]:
    """Lists of example indices, one per batch, covering every example once.

    ``shuffle`` False: examples sorted by length (stable), for evaluation.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size].tolist() for i in range(0, n, batch_size)]
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(n)
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, n, pool):
        chunk = perm[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


class BucketBatches:
    """An iterable of collated batches, one pass per epoch, bucketed by length, with
    Lightning's stateful-loader protocol (``state_dict`` / ``load_state_dict``) so that
    a run resumed in the middle of an epoch continues with the next batch.

    Args:
        items: the examples, indexable (``items[i]`` -> whatever ``collate`` takes).
        lengths: the length of each example.
        batch_size: examples per batch (per process).
        collate: list of items -> batch.
        shuffle: bucketed random order (training) or sorted by length (evaluation).
        epoch: returns the current epoch (the order of batches depends on it).
        progress: returns how many batches of this epoch have been trained (read when
            a checkpoint is written).
    """

    def __init__(self, items, lengths, batch_size: int, collate: Callable = collate_sequences, *,
                 shuffle: bool = True, seed: int = 0, rank: int = 0, world_size: int = 1,
                 epoch: Callable[[], int] = lambda: 0, progress: Callable[[], int] | None = None):
        self.items, self.lengths = items, list(lengths)
        self.batch_size, self.collate, self.shuffle, self.seed = batch_size, collate, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self._epoch, self._progress = epoch, progress
        self._start = 0

    def plan(self, epoch: int | None = None) -> list[list[int]]:
        """This process's batches (lists of example indices) for ``epoch``."""
        batches = bucket_plan(self.lengths, self.batch_size, shuffle=self.shuffle, seed=self.seed,
                              epoch=self._epoch() if epoch is None else epoch)
        if self.world_size > 1:
            if self.shuffle and len(batches) % self.world_size:
                fill = self.world_size - len(batches) % self.world_size
                batches = batches + [batches[i % len(batches)] for i in range(fill)]
            batches = batches[self.rank::self.world_size]
        return batches

    def __len__(self) -> int:
        n = -(-len(self.lengths) // self.batch_size)
        if self.world_size > 1:
            return -(-n // self.world_size) if self.shuffle else len(self.plan(0))
        return n

    def __iter__(self):
        start, self._start = self._start, 0
        batches = self.plan()
        if start >= len(batches):
            start = 0
        for idx in batches[start:]:
            yield self.collate([self.items[i] for i in idx])

    def state_dict(self) -> dict:
        return {"next": int(self._progress()) if self._progress else 0}

    def load_state_dict(self, state: dict) -> None:
        self._start = int(state.get("next", 0))


class WordDropout:
    """Training examples ``(ids, target)`` whose rare words are read as unknown now and
    then: a word seen ``n`` times in the training examples is replaced with
    probability ``alpha / (alpha + n)`` (Kiperwasser and Goldberg 2016) by the id it
    would have were it unknown: 0, or its entry of ``unknown`` (one id tensor per
    example, e.g. the word's shape class, :meth:`WordTokenizer.unknown_of
    <rnnkit.data.tokenizers.WordTokenizer.unknown_of>`). The unknown ids' embeddings
    thus learn from the words they will stand for at prediction time (the rare ones),
    while every word keeps its own. Ids below ``unknown_ids`` are unknown already and
    never replaced.

    Indexable like the list it wraps (``items[i]``, ``len``), for
    :class:`BucketBatches`; the draws of example ``i`` in an epoch come from ``(seed,
    epoch, i)``, so a resumed run and every process see the same words dropped.

    Example::

        items = [(torch.tensor([1, 2, 2]), 0)]
        WordDropout(items, vocab_size=3, alpha=0.25)[0]   # id 1 (seen once) -> 0 with p 0.2
    """

    def __init__(self, items, vocab_size: int, alpha: float, *, seed: int = 0,
                 epoch: Callable[[], int] = lambda: 0, unknown: list[Tensor] | None = None,
                 unknown_ids: int = 1):
        if not alpha > 0:
            raise ValueError(f"WordDropout: expected alpha > 0, got {alpha}")
        if unknown is not None and len(unknown) != len(items):
            raise ValueError(f"WordDropout: expected one unknown-id tensor per example ({len(items)}), "
                             f"got {len(unknown)}")
        self.items, self.unknown, self.seed, self._epoch = items, unknown, int(seed), epoch
        ids = torch.cat([x.reshape(-1) for x, _ in items]) if len(items) else torch.zeros(0, dtype=torch.int64)
        counts = torch.bincount(ids, minlength=vocab_size).double()
        p = alpha / (alpha + counts)
        p[:unknown_ids] = 0.0
        self.p = p.numpy()

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        x, y = self.items[i]
        rng = np.random.default_rng([self.seed, int(self._epoch()), int(i)])
        drop = rng.random(len(x)) < self.p[x.numpy()]
        if not drop.any():
            return x, y
        mask = torch.from_numpy(drop)
        if self.unknown is None:
            return x.masked_fill(mask, 0), y
        return torch.where(mask, self.unknown[i], x), y
