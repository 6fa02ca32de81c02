"""``lengths`` against packing, the two fused strategies against each other and the
fused path against the unrolled one, on batches bigger than the property test's."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .reference import CELLS, loss_of, make_pair, states

F32 = dict(rtol=1e-5, atol=1e-5)
F64 = dict(rtol=1e-10, atol=1e-10)


def _run(module, x, lengths, cot=None, **kw):
    """Outputs, final states and gradients (input, every parameter) of one run."""
    module.zero_grad()
    x = x.clone().requires_grad_(True)
    y, h = module(x, lengths=lengths, **kw) if lengths is not None else module(x, **kw)
    finals = states(h)
    if cot is None:
        g = torch.Generator().manual_seed(7)
        cot = [torch.randn(t.shape, generator=g, dtype=t.dtype) for t in [y] + finals]
    loss_of(y, finals, cot).backward()
    grads = [x.grad] + [p.grad for p in module.parameters()]
    return [y] + finals, grads, cot


def _packed_reference(ref, x, lengths, cot, T):
    ref.zero_grad()
    x = x.clone().requires_grad_(True)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    y, h = ref(packed)
    y, _ = pad_packed_sequence(y, total_length=T)
    finals = states(h)
    loss_of(y, finals, cot).backward()
    return [y] + finals, [x.grad] + [p.grad for p in ref.parameters()]


def _assert_all_close(a, b, tol):
    for i, (u, v) in enumerate(zip(a, b)):
        torch.testing.assert_close(u, v, **tol, msg=lambda m: f"tensor {i}: {m}")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("strategy", ["mask", "pack"])
@pytest.mark.parametrize("backend", ["fused", "unrolled"])
def test_lengths_equal_packing(cell, bidirectional, strategy, backend):
    if backend == "unrolled" and strategy == "pack":
        pytest.skip("the strategy only concerns the fused path")
    T, B, I, H = 23, 9, 5, 7
    ours, ref = make_pair(cell, I, H, num_layers=2, bidirectional=bidirectional,
                          proj_size=3 if cell == "lstm" else 0, dtype=torch.float64, seed=3)
    ours.backend, ours._lengths_strategy = backend, strategy
    g = torch.Generator().manual_seed(1)
    x = torch.randn(T, B, I, generator=g, dtype=torch.float64)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    lengths[0] = T
    outs, grads, cot = _run(ours, x, lengths)
    outs_ref, grads_ref = _packed_reference(ref, x, lengths, cot, T)
    _assert_all_close(outs, outs_ref, F64)
    _assert_all_close(grads, grads_ref, F64)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, F32), (torch.float64, F64)])
def test_fused_equals_unrolled(cell, dtype, tol):
    """Both paths, same module, same batch: outputs within 1e-5 (float32) / 1e-10
    (float64); the weight gradients, sums over the 640 steps of the batch in another
    order on each path, within 1e-4 in float32 (2.7e-5 apart seen on one Xeon)."""
    T, B, I, H = 40, 16, 8, 12
    ours, _ = make_pair(cell, I, H, num_layers=3, bidirectional=True, dtype=dtype, seed=5,
                        batch_first=True)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(B, T, I, generator=g, dtype=dtype)
    lengths = torch.randint(0, T + 1, (B,), generator=g)
    lengths[:2] = torch.tensor([0, T])
    for lens in (None, lengths):
        ours.backend = "fused"
        outs_f, grads_f, cot = _run(ours, x, lens)
        ours.backend = "unrolled"
        outs_u, grads_u, _ = _run(ours, x, lens, cot)
        _assert_all_close(outs_f, outs_u, tol)
        _assert_all_close(grads_f, grads_u, tol if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-4))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("backend", ["fused", "unrolled"])
def test_padding_values_never_leak(cell, backend):
    """Whatever sits in the padding (NaN, huge values) changes nothing."""
    T, B, I, H = 10, 4, 3, 5
    ours, _ = make_pair(cell, I, H, bidirectional=True, num_layers=2, seed=9, backend=backend)
    x = torch.randn(T, B, I)
    lengths = torch.tensor([10, 6, 0, 3])
    dirty = x.clone()
    for b, n in enumerate(lengths.tolist()):
        dirty[n:, b] = float("nan") if b % 2 else 1e30
    outs_clean, grads_clean, cot = _run(ours, x * (torch.arange(T)[:, None, None] < lengths[None, :, None]), lengths)
    outs_dirty, grads_dirty, _ = _run(ours, dirty, lengths, cot)
    _assert_all_close(outs_clean, outs_dirty, F32)
    # input gradients at padded steps are zero, parameter gradients identical
    torch.testing.assert_close(grads_dirty[0], grads_clean[0])
    _assert_all_close(grads_clean[1:], grads_dirty[1:], F32)


def test_lstm_cell_state_exact_with_large_weights():
    """The saturated gates that carry c through padded steps hold for any weights."""
    T, B, I, H = 12, 5, 3, 4
    ours, ref = make_pair("lstm", I, H, dtype=torch.float64, seed=4)
    with torch.no_grad():
        for p in list(ours.parameters()) + list(ref.parameters()):
            p.mul_(300.0)
    ours._lengths_strategy = "mask"
    x = torch.randn(T, B, I, dtype=torch.float64)
    lengths = torch.tensor([12, 1, 7, 3, 12])
    outs, grads, cot = _run(ours, x, lengths)
    outs_ref, grads_ref = _packed_reference(ref, x, lengths, cot, T)
    _assert_all_close(outs, outs_ref, dict(rtol=1e-9, atol=1e-9))
    _assert_all_close(grads, grads_ref, dict(rtol=1e-9, atol=1e-7))


@pytest.mark.parametrize("backend", ["fused", "unrolled"])
def test_zero_length_gives_initial_state_and_zero_outputs(backend):
    ours, _ = make_pair("lstm", 3, 4, num_layers=2, bidirectional=True, backend=backend)
    x = torch.randn(5, 3, 3)
    h0, c0 = torch.randn(4, 3, 4), torch.randn(4, 3, 4)
    y, (h, c) = ours(x, (h0, c0), lengths=torch.tensor([5, 0, 2]))
    assert torch.count_nonzero(y[:, 1]) == 0
    assert torch.count_nonzero(y[2:, 2]) == 0
    torch.testing.assert_close(h[:, 1], h0[:, 1])
    torch.testing.assert_close(c[:, 1], c0[:, 1])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("backend", ["fused", "unrolled"])
def test_packed_sequence_in_packed_sequence_out(cell, backend):
    T, B, I, H = 8, 5, 3, 4
    ours, ref = make_pair(cell, I, H, bidirectional=True, dtype=torch.float64, seed=2, backend=backend)
    x = torch.randn(T, B, I, dtype=torch.float64)
    lengths = torch.tensor([3, 8, 8, 1, 5])
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    D, P = 2, H
    h0 = torch.randn(D, B, P, dtype=torch.float64)
    hx = (h0, torch.randn(D, B, H, dtype=torch.float64)) if cell == "lstm" else h0
    y, h = ours(packed, hx)
    y_ref, h_ref = ref(packed, hx)
    assert isinstance(y, type(packed))
    assert torch.equal(y.batch_sizes, y_ref.batch_sizes)
    assert torch.equal(y.sorted_indices, y_ref.sorted_indices)
    assert torch.equal(y.unsorted_indices, y_ref.unsorted_indices)
    torch.testing.assert_close(y.data, y_ref.data, **F64)
    for a, b in zip(states(h), states(h_ref)):
        torch.testing.assert_close(a, b, **F64)


def test_lengths_equal_to_time_axis_take_the_plain_path():
    ours, ref = make_pair("gru", 3, 4, seed=1)
    x = torch.randn(6, 2, 3)
    y, h = ours(x, lengths=torch.tensor([6, 6]))
    y_ref, h_ref = ref(x)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(h, h_ref)


def test_dropout_between_layers_matches_torch_at_the_extremes():
    """p=1 zeroes every layer's input after the first in both; in eval mode dropout is off."""
    ours, ref = make_pair("lstm", 3, 4, num_layers=3, dropout=1.0, seed=6)
    x = torch.randn(7, 2, 3)
    lengths = torch.tensor([7, 4])
    for train in (True, False):
        ours.train(train)
        ref.train(train)
        for backend in ("fused", "unrolled"):
            ours.backend = backend
            y, (h, c) = ours(x, lengths=lengths)
            p = pack_padded_sequence(x, lengths)
            y_ref, (h_ref, c_ref) = ref(p)
            y_ref, _ = pad_packed_sequence(y_ref, total_length=7)
            torch.testing.assert_close(y, y_ref)
            torch.testing.assert_close(h, h_ref)
            torch.testing.assert_close(c, c_ref)


def test_dropout_is_active_in_training():
    ours, _ = make_pair("gru", 3, 8, num_layers=2, dropout=0.5, seed=6)
    x = torch.randn(7, 2, 3)
    ours.train()
    a, _ = ours(x, lengths=torch.tensor([7, 5]))
    b, _ = ours(x, lengths=torch.tensor([7, 5]))
    assert not torch.allclose(a, b)
    ours.eval()
    a, _ = ours(x, lengths=torch.tensor([7, 5]))
    b, _ = ours(x, lengths=torch.tensor([7, 5]))
    torch.testing.assert_close(a, b)
