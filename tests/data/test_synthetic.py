"""The synthetic long-range tasks: shapes, seeds, and their trivial baselines."""

import math

import pytest
import torch

from rnnkit.data.synthetic import ADDING_BASELINE_MSE, adding_problem, copy_task


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
])
def test_bad_sizes(call, message):
    with pytest.raises(ValueError, match=message):
        call()
