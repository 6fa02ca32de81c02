"""Stream batches for truncated backpropagation through time."""

import pytest
import torch

from rnnkit.data.streams import StreamBatches
from rnnkit.errors import UsageError


def test_windows_tile_each_row_and_targets_are_the_next_token():
    ids = torch.arange(103)
    ds = StreamBatches(ids, batch_size=4, seq_length=7)
    per_row = 102 // 4
    assert len(ds) == -(-per_row // 7)
    xs = torch.cat([ds[i][0] for i in range(len(ds))], dim=1)
    ys = torch.cat([ds[i][1] for i in range(len(ds))], dim=1)
    for r in range(4):  # row r is the r-th contiguous block of the stream
        assert xs[r].tolist() == list(range(r * per_row, (r + 1) * per_row))
        assert ys[r].tolist() == list(range(r * per_row + 1, (r + 1) * per_row + 1))
    assert ds[len(ds) - 1][0].shape[1] == per_row - 7 * (len(ds) - 1)
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_processes_take_blocks_of_the_global_rows():
    ids = torch.arange(1000)
    whole = StreamBatches(ids, batch_size=6, seq_length=9)
    parts = [StreamBatches(ids, batch_size=2, seq_length=9, rank=r, world_size=3) for r in range(3)]
    assert all(len(p) == len(whole) for p in parts)
    for i in range(len(whole)):
        assert torch.equal(torch.cat([p[i][0] for p in parts]), whole[i][0])
        assert torch.equal(torch.cat([p[i][1] for p in parts]), whole[i][1])


def test_too_little_data_and_bad_fraction():
    with pytest.raises(UsageError, match="10 tokens are too few for 8 rows"):
        StreamBatches(torch.arange(10), batch_size=4, seq_length=3, world_size=2, what="--data")
    # the stream's validation tail: rnnkit.data.splits.split_tail (tests/data/test_splits.py)
