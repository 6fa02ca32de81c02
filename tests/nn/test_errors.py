"""Bad input: one ValueError that names what was expected and what was received."""

from __future__ import annotations

import pytest
import torch

import rnnkit


@pytest.fixture(params=["RNN", "LSTM", "GRU"])
def layer(request):
    return getattr(rnnkit, request.param)(3, 4, num_layers=2)


def test_wrong_rank(layer):
    with pytest.raises(ValueError, match=r"expected 2-D .* or 3-D .* got 4-D input of shape \(1, 2, 3, 3\)"):
        layer(torch.randn(1, 2, 3, 3))
    with pytest.raises(ValueError, match=r"got 1-D input"):
        layer(torch.randn(3))


def test_wrong_feature_size(layer):
    with pytest.raises(ValueError, match=r"expected input with 3 features .* got shape \(5, 2, 6\)"):
        layer(torch.randn(5, 2, 6))


def test_lengths_longer_than_time_axis(layer):
    with pytest.raises(ValueError, match=r"expected lengths <= the time axis \(5 steps\), got a length of 6"):
        layer(torch.randn(5, 2, 3), lengths=torch.tensor([6, 2]))


def test_negative_lengths(layer):
    with pytest.raises(ValueError, match=r"expected lengths >= 0, got a length of -1"):
        layer(torch.randn(5, 2, 3), lengths=torch.tensor([-1, 2]))


def test_lengths_not_matching_batch(layer):
    with pytest.raises(ValueError, match=r"expected lengths of shape \(2,\) to match the batch size 2, got shape \(3,\)"):
        layer(torch.randn(5, 2, 3), lengths=torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"expected lengths to be 1-D of shape \(2,\), got shape \(2, 1\)"):
        layer(torch.randn(5, 2, 3), lengths=torch.tensor([[1], [2]]))
    with pytest.raises(ValueError, match=r"expected lengths to be an integer tensor, got dtype torch.float32"):
        layer(torch.randn(5, 2, 3), lengths=torch.tensor([1.0, 2.0]))


def test_lengths_with_unbatched_or_packed_input(layer):
    with pytest.raises(ValueError, match=r"expected lengths=None for an unbatched 2-D input"):
        layer(torch.randn(5, 3), lengths=torch.tensor([5]))
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(5, 2, 3), torch.tensor([5, 3]))
    with pytest.raises(ValueError, match=r"expected lengths=None with a PackedSequence input"):
        layer(packed, lengths=torch.tensor([5, 3]))


def test_hx_of_wrong_shape():
    x = torch.randn(5, 2, 3)
    with pytest.raises(ValueError, match=r"expected hx of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        rnnkit.GRU(3, 4, num_layers=2)(x, torch.zeros(1, 2, 4))
    lstm = rnnkit.LSTM(3, 4, proj_size=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 2, 2\), got \(2, 2, 4\)"):
        lstm(x, (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match=r"expected c_0 of shape \(2, 2, 4\), got \(2, 2, 2\)"):
        lstm(x, (torch.zeros(2, 2, 2), torch.zeros(2, 2, 2)))
    with pytest.raises(ValueError, match=r"expected hx to be a pair \(h_0, c_0\), got Tensor"):
        lstm(x, torch.zeros(2, 2, 2))
    with pytest.raises(ValueError, match=r"expected hx of shape \(1, 4\), got \(1, 2, 4\)"):
        rnnkit.RNN(3, 4)(torch.randn(5, 3), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"expected hx of dtype torch.float32 .* got torch.float64"):
        rnnkit.RNN(3, 4)(x, torch.zeros(1, 2, 4, dtype=torch.float64))


def test_unknown_backend():
    with pytest.raises(ValueError, match=r"expected backend to be one of 'auto', 'fused', 'unrolled', got 'cudnn'"):
        rnnkit.LSTM(3, 4, backend="cudnn")
    layer = rnnkit.GRU(3, 4)
    layer.backend = "fast"
    with pytest.raises(ValueError, match=r"got 'fast'"):
        layer(torch.randn(5, 2, 3))
