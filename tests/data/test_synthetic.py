"""The synthetic long-range tasks: shapes, seeds, and their trivial baselines."""

import math

import pytest
import torch

from rnnkit.data.synthetic import ADDING_BASELINE_MSE, adding_problem, copy_task, selective_copy


def test_adding_problem_shapes_and_targets():
    d = adding_problem(64, 30, seed=1)
    assert d.x.shape == (64, 30, 2) and d.y.shape == (64,)
    markers = d.x[..., 1]
    assert torch.equal(markers.sum(1), torch.full((64,), 2.0))
    pos = d.extra["marker_positions"]
    assert bool((pos[:, 0] < 15).all()) and bool((pos[:, 1] >= 15).all())
    torch.testing.assert_close(d.y, (d.x[..., 0] * markers).sum(1))


def test_adding_problem_trivial_baseline_is_one_sixth():
    d = adding_problem(200_000, 10, seed=0)
    mse = float(((d.y - 1.0) ** 2).mean())
    assert ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    assert mse == pytest.approx(1 / 6, abs=0.003)   # 200k samples: standard error about 0.0004


def test_seeds():
    a, b, c = adding_problem(8, 12, seed=3), adding_problem(8, 12, seed=3), adding_problem(8, 12, seed=4)
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    assert torch.equal(copy_task(4, 5, seed=2).x, copy_task(4, 5, seed=2).x)


def test_copy_task_layout():
    d = copy_task(32, T=20, k=5, n_symbols=6, seed=0)
    L = 20 + 10
    assert d.x.shape == d.y.shape == (32, L)
    symbols = d.x[:, :5]
    assert bool(((symbols >= 1) & (symbols <= 6)).all())
    assert bool((d.x[:, 5:24] == 0).all()) and bool((d.x[:, 24] == 7).all()) and bool((d.x[:, 25:] == 0).all())
    assert torch.equal(d.y[:, -5:], symbols) and bool((d.y[:, :-5] == 0).all())
    assert d.extra["recall"].sum() == 5 and bool(d.extra["recall"][-5:].all())
    assert d.baseline == pytest.approx(1 / 6) and d.extra["vocab_size"] == 8
    # a uniform guess over the symbols on the recall steps, blanks elsewhere
    assert d.extra["baseline_cross_entropy"] == pytest.approx(5 * math.log(6) / L)


def test_copy_task_guessing_reaches_chance():
    d = copy_task(20_000, T=3, k=4, n_symbols=5, seed=0)
    guess = torch.randint(1, 6, d.y[:, -4:].shape, generator=torch.Generator().manual_seed(9))
    assert float((guess == d.y[:, -4:]).float().mean()) == pytest.approx(d.baseline, abs=0.01)


@pytest.mark.parametrize("call, message", [
    (lambda: adding_problem(4, 1), "expected T >= 2, got 1"),
    (lambda: copy_task(4, 0), "expected T >= 1"),
    (lambda: selective_copy(4, 3, k=4), "expected n >= 1, 1 <= k <= T and n_symbols >= 2, got n=4, T=3, k=4"),
    (lambda: selective_copy(4, 3, k=1, n_symbols=1), "got n=4, T=3, k=1, n_symbols=1"),
])
def test_bad_sizes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_selective_copy_layout_and_answer_recoverable_from_the_input():
    d = selective_copy(64, T=30, k=4, n_symbols=5, seed=0)
    assert d.x.shape == d.y.shape == (64, 34)
    body = d.x[:, :30]
    data = body != 0                                             # noise is id 0
    assert torch.equal(data.sum(1), torch.full((64,), 4))       # exactly k data symbols per sequence
    assert bool(((body[data] >= 1) & (body[data] <= 5)).all())
    assert bool((d.x[:, 30:] == 6).all())                       # k markers (n_symbols + 1)
    # the answer, read back from the input alone: the data symbols in time order
    for row in range(64):
        assert d.y[row, 30:].tolist() == body[row][data[row]].tolist()
        assert d.extra["positions"][row].tolist() == data[row].nonzero().flatten().tolist()
    assert bool((d.y[:, :30] == 0).all())
    assert d.extra["recall"].tolist() == [False] * 30 + [True] * 4
    assert d.baseline == pytest.approx(1 / 5) and d.extra["vocab_size"] == 7
    assert d.extra["baseline_cross_entropy"] == pytest.approx(4 * math.log(5) / 34)


def test_selective_copy_positions_are_random_and_uniform():
    d = selective_copy(4000, T=20, k=3, n_symbols=4, seed=1)
    pos = d.extra["positions"]
    assert len({tuple(p) for p in pos.tolist()}) > 900          # of C(20, 3) = 1140 possible sets
    # every step holds a data symbol with probability k / T = 0.15 (4000 draws: sd about 0.006)
    freq = (d.x[:, :20] != 0).float().mean(0)
    assert float((freq - 0.15).abs().max()) < 0.03
    # the symbols are uniform over 1..n_symbols and independent of the position
    counts = torch.bincount(d.y[:, 20:].flatten(), minlength=5)[1:].float() / (4000 * 3)
    torch.testing.assert_close(counts, torch.full((4,), 0.25), atol=0.02, rtol=0)


def test_selective_copy_seeds():
    a, b, c = selective_copy(8, 12, k=3, seed=3), selective_copy(8, 12, k=3, seed=3), selective_copy(8, 12, k=3, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and not torch.equal(a.x, c.x)
