"""What the whole-sequence tasks (classify, tag) share: examples held as
``(ids, target)`` pairs, length-bucketed loaders for training and validation, the
training and validation steps, and prediction in the input's order.

A subclass's data module fills ``train_items``, ``valid_items`` and ``test_items``
(lists of ``(x, y)``: ``x`` a 1-D id tensor, ``y`` a class index or a tensor of one
target per step) in its constructor, so bad data fails before anything is written.
"""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..data.batching import IGNORE, BucketBatches, WordDropout, bucket_plan, collate_sequences
from ..errors import UsageError
from .base import TaskModule


class SequenceData(L.LightningDataModule):
    """Bucketed loaders over ``train_items`` / ``valid_items`` (set by subclasses)."""

    def __init__(self, cfg: RunConfig):
        super().__init__()
        self.cfg = cfg
        self.batch_size, self.seed = cfg.train.batch_size, cfg.train.seed
        self.train_items: list = []
        self.valid_items: list = []
        self.test_items: list | None = None
        self.train_unknown: list | None = None    # word dropout: the id of each training word were it unknown
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
        items = self.train_items
        alpha = self.cfg.data.word_dropout
        if alpha:
            items = WordDropout(items, self.tokenizer.vocab_size, alpha, seed=self.seed,
                                epoch=lambda: self.trainer.current_epoch if self.trainer is not None else 0,
                                unknown=self.train_unknown, unknown_ids=self.tokenizer.unknown_ids)
        return self._loader(items, True, self._batches_trained)

    def with_words(self, cfg: RunConfig, tokenizer: str | None, saved: dict | None, dropout: float,
                   shapes: bool) -> RunConfig:
        """``cfg`` with ``data.word_dropout`` and ``data.word_shapes`` set: the values
        given (checked), else the task's choice (``dropout``, ``shapes``) for the words
        of a new run; off for real values (``tokenizer`` None), other tokenizers and
        a run saved before the options (``saved``: its tokenizer's state, whose
        ``shapes`` it keeps)."""
        import dataclasses
        import math

        d = cfg.data
        a, shaped = d.word_dropout, d.word_shapes
        if a is not None and (isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a)
                              or a < 0):
            raise UsageError(f"data.word_dropout: expected a number >= 0, got {a!r}")
        got = "real values" if tokenizer is None else f"tokenizer {tokenizer}"
        for key, value in (("data.word_dropout", a), ("data.word_shapes", shaped)):
            if value and tokenizer != "word":
                raise UsageError(f"{key}: works on the words of the word tokenizer; expected no {key} with "
                                 f"{got}, got {value}")
        words, new_run = tokenizer == "word", saved is None
        if a is None:
            a = dropout if words and new_run else 0.0
        if saved is not None:
            shaped = bool(saved.get("shapes", False))
        elif shaped is None:
            shaped = shapes and words
        return dataclasses.replace(cfg, data=dataclasses.replace(d, word_dropout=float(a), word_shapes=bool(shaped)))

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
