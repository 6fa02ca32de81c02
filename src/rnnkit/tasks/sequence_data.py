"""What the whole-sequence tasks (classify, tag) share: examples held as
``(ids, target)`` pairs, length-bucketed loaders for training and validation, the
training and validation steps, and prediction in the input's order.

A subclass's data module fills ``train_items``, ``valid_items`` and ``test_items``
(lists of ``(x, y)``: ``x`` a 1-D id tensor, ``y`` a class index or a tensor of one
target per step) in its constructor, so bad data fails before anything is written.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from ..config import DEFAULT_VALID_FRACTION, RunConfig
from ..data.batching import IGNORE, BucketBatches, bucket_plan, collate_sequences
from ..errors import UsageError
from .base import TaskModule


# without valid_fraction: 5% of the examples, but at least VALID_FLOOR of them (200
# examples put a standard error of at most 3.5 points on an accuracy, enough to rank
# checkpoints) as long as that is at most VALID_CAP of the data
VALID_FLOOR = 200
VALID_CAP = 0.2


def validation_size(n: int, fraction: float | None) -> int:
    """How many of ``n`` labelled examples are held out for validation: ``fraction``
    of them when given, else ``max(5% of n, min(VALID_FLOOR, VALID_CAP x n))``."""
    if fraction is not None:
        return int(round(n * fraction))
    return max(int(round(n * DEFAULT_VALID_FRACTION)), min(VALID_FLOOR, int(round(n * VALID_CAP))))


def split_items(n: int, fraction: float | None, seed: int, strata=None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a random split into training and validation examples
    (:func:`validation_size` of them); stratified by ``strata`` (the labels) when every
    class has at least two examples."""
    if fraction is not None and not 0.0 < fraction < 1.0:
        raise UsageError(f"--valid-fraction: expected a fraction strictly between 0 and 1, got {fraction}")
    n_valid = validation_size(n, fraction)
    fraction = n_valid / max(n, 1) if fraction is None else fraction
    if n_valid < 1 or n - n_valid < 1:
        raise UsageError(f"--valid-fraction {fraction} of {n} examples leaves an empty split; "
                         f"pass --valid or more data")
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    stratify = None
    if strata is not None:
        _, counts = np.unique(np.asarray(strata), return_counts=True)
        if counts.min() >= 2 and n_valid >= len(counts) and n - n_valid >= len(counts):
            stratify = strata
    train, valid = train_test_split(idx, test_size=n_valid, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(valid)


class SequenceData(L.LightningDataModule):
    """Bucketed loaders over ``train_items`` / ``valid_items`` (set by subclasses)."""

    def __init__(self, cfg: RunConfig):
        super().__init__()
        self.cfg = cfg
        self.batch_size, self.seed = cfg.train.batch_size, cfg.train.seed
        self.train_items: list = []
        self.valid_items: list = []
        self.test_items: list | None = None
        self.world_size, self.rank = 1, 0

    def setup(self, stage=None):
        if self.trainer is not None:
            self.world_size, self.rank = self.trainer.world_size, self.trainer.global_rank

    def _loader(self, items, shuffle: bool, progress=None):
        trainer = self.trainer
        return BucketBatches(items, [len(x) for x, _ in items], self.batch_size, collate_sequences,
                             shuffle=shuffle, seed=self.seed, rank=self.rank, world_size=self.world_size,
                             epoch=lambda: trainer.current_epoch if trainer is not None else 0,
                             progress=progress)

    def train_dataloader(self):
        return self._loader(self.train_items, True, self._batches_trained)

    def _batches_trained(self) -> int:
        return self.trainer.fit_loop.epoch_loop.batch_progress.current.processed

    def val_dataloader(self):
        return self._loader(self.valid_items, False)


def truncate(ids: torch.Tensor, max_length: int | None) -> torch.Tensor:
    return ids if max_length is None else ids[:max_length]


class SequenceTaskModule(TaskModule):
    """Training and validation steps for a net ``(x, lengths) -> logits`` whose
    logits are (B, C) (a class per sequence) or (B, T, C) (a class per step, padded
    steps' targets :data:`IGNORE`). Logs ``train_loss_step``/``train_loss_epoch``, ``val_loss`` (mean
    cross-entropy per target) and ``val_accuracy``."""

    def forward(self, x, lengths):
        return self.net(x, lengths)

    def _sums(self, batch):
        logits = self.net(batch["x"], batch["lengths"])
        y = batch["y"]
        flat, target = logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1)
        nll = F.cross_entropy(flat, target, ignore_index=IGNORE, reduction="sum")
        counted = target != IGNORE
        correct = (flat.argmax(-1) == target)[counted].sum()
        return nll, correct, counted.sum()

    def training_step(self, batch, batch_idx):
        nll, _, count = self._sums(batch)
        loss = nll / count.clamp(min=1)
        self.log_train_loss(loss, count)
        return loss

    def on_validation_epoch_start(self):
        self._val = torch.zeros(3, dtype=torch.float64, device=self.device)

    def validation_step(self, batch, batch_idx):
        nll, correct, count = self._sums(batch)
        self._val += torch.stack([nll.detach().double(), correct.double(), count.double()])

    def on_validation_epoch_end(self):
        s = self.trainer.strategy.reduce(self._val, reduce_op="sum")
        count = max(float(s[2]), 1.0)
        self.log("val_loss", float(s[0]) / count, prog_bar=True)
        self.log("val_accuracy", float(s[1]) / count, prog_bar=True)


@torch.no_grad()
def predict_logits(net, xs: list[torch.Tensor], batch_size: int) -> list[torch.Tensor]:
    """``net``'s logits for each sequence in ``xs``, in the order given; read in
    batches sorted by length. Each result is (C,) or (T_i, C), float32 on the CPU."""
    net.eval()
    device = next(net.parameters()).device
    out: list = [None] * len(xs)
    for idx in bucket_plan([len(x) for x in xs], batch_size, shuffle=False):
        b = collate_sequences([(xs[i], 0) for i in idx])
        logits = net(b["x"].to(device), b["lengths"]).float().cpu()
        for row, i in enumerate(idx):
            out[i] = logits[row] if logits.dim() == 2 else logits[row, :len(xs[i])]
    return out
