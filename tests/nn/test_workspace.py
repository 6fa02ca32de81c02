"""The unrolled path frees its graph and reuses its buffers, without ever handing out a
buffer that is still in use."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

import rnnkit
from rnnkit.nn import workspace


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_the_graph_is_freed_with_its_outputs(kind):
    m = getattr(rnnkit, kind)(3, 5, backend="unrolled")
    x = torch.randn(7, 2, 3, requires_grad=True)
    y, h = m(x, lengths=torch.tensor([7, 4]))
    node = weakref.ref(y.grad_fn)  # the unrolled layer's autograd node
    (y.sum() + (h[0] if kind == "LSTM" else h).sum()).backward()
    del y, h
    gc.collect()
    assert node() is None, "the unrolled layer's graph outlived its outputs"


def test_repeated_steps_reuse_a_bounded_set_of_buffers():
    workspace.clear()
    m = rnnkit.GRU(4, 6, backend="unrolled")
    x = torch.randn(9, 3, 4, requires_grad=True)
    sizes = []
    for _ in range(12):
        y, h = m(x)
        (y.sum() + h.sum()).backward()
        sizes.append(sum(len(v) for v in workspace._pool.values()))
    assert max(sizes[4:]) == sizes[-1] <= 6  # steady, not growing with the steps


def test_pool_takes_back_and_hands_out_distinct_buffers(monkeypatch):
    workspace.clear()
    like = torch.zeros(1)
    a, b = torch.empty(2, 3), torch.empty(2, 3)
    workspace.give(a, a, b)  # a given twice counts once
    got = {id(workspace.take((2, 3), like)) for _ in range(3)}
    assert id(a) in got and id(b) in got and len(got) == 3  # the third is new
    monkeypatch.setenv("RNNKIT_WORKSPACE_MB", "0")
    workspace.give(torch.empty(2, 3))
    assert workspace._bytes == 0 and not workspace._pool


def test_outputs_can_be_modified_in_place_and_kept():
    """The output is the caller's own tensor: in-place changes are allowed and later
    steps (which reuse the buffers) do not change it."""
    m = rnnkit.LSTM(3, 4, backend="unrolled")
    x = torch.randn(6, 2, 3, requires_grad=True)
    y1, _ = m(x)
    kept = y1.detach().clone()
    y1.sum().backward()
    for _ in range(3):
        y, _ = m(x * 2)
        y.sum().backward()
    torch.testing.assert_close(y1.detach(), kept)
    y2, _ = m(x)
    torch.relu_(y2)  # allowed on the output of a layer
    y2.sum().backward()
