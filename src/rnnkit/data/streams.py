"""Batches for truncated backpropagation through time (char-rnn, AWD-LSTM): the token
stream is cut into ``streams`` parallel rows, and batch ``i`` is the window
``[i * seq_length, (i + 1) * seq_length)`` of every row, so the recurrent state left by
one batch is the right start for the next.

Scale-out: the global number of rows is ``batch_size * world_size``; each process
takes its own contiguous block of rows. The gradient averaged over processes is then
the gradient of one process with the global batch (every process has the same number
of tokens per batch).
"""

from __future__ import annotations

from torch import Tensor
from torch.utils.data import Dataset

from ..errors import UsageError


class StreamBatches(Dataset):
    """Item ``i`` is ``(x, y)``, each (rows, window) int64, ``y`` the next tokens of ``x``.

    Args:
        ids: the token stream, 1-D int64.
        batch_size: rows per process.
        seq_length: window length (the truncation of backpropagation through time).
        rank, world_size: this process's block of rows among ``world_size`` blocks.
    """

    def __init__(self, ids: Tensor, batch_size: int, seq_length: int, rank: int = 0,
                 world_size: int = 1, what: str = "data"):
        rows = batch_size * world_size
        per_row = (len(ids) - 1) // rows
        if per_row < 2:
            raise UsageError(f"{what}: {len(ids)} tokens are too few for {rows} rows of at least 2 "
                             f"tokens (batch size {batch_size} x {world_size} processes); "
                             f"use a smaller --batch-size or more data")
        n = rows * per_row
        x = ids[:n].view(rows, per_row)          # (rows, per_row)
        y = ids[1:n + 1].view(rows, per_row)     # next token of each x
        block = slice(rank * batch_size, (rank + 1) * batch_size)
        self.x, self.y = x[block], y[block]
        self.seq_length = seq_length
        self.tokens_per_row = per_row

    def __len__(self) -> int:
        return -(-self.tokens_per_row // self.seq_length)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        window = slice(i * self.seq_length, (i + 1) * self.seq_length)
        return self.x[:, window], self.y[:, window]


class ResumableBatches:
    """The items of a :class:`StreamBatches` in order, one pass per epoch, with
    Lightning's stateful-loader protocol (``state_dict`` / ``load_state_dict``), so a
    run resumed from a checkpoint taken in the middle of an epoch continues with the
    next batch instead of starting the epoch over.

    Args:
        dataset: the batches.
        progress: returns how many batches of the current epoch have been trained
            (read when a checkpoint is written).
    """

    def __init__(self, dataset: StreamBatches, progress):
        self.dataset = dataset
        self._progress = progress
        self._start = 0

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self):
        start, self._start = self._start, 0
        if start >= len(self.dataset):  # the checkpoint was taken at the end of an epoch
            start = 0
        for i in range(start, len(self.dataset)):
            yield self.dataset[i]

    def state_dict(self) -> dict:
        return {"next": int(self._progress())}

    def load_state_dict(self, state: dict) -> None:
        self._start = int(state.get("next", 0))
