"""The long-range initialisations, against their definitions."""

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.config import ModelConfig
from rnnkit.errors import UsageError
from rnnkit.nn.init import forget_gate_bias_, identity_recurrent_, orthogonal_recurrent_
from rnnkit.tasks.base import recurrent_stack


@pytest.mark.parametrize("cls, gates", [(rnnkit.LSTM, 4), (rnnkit.GRU, 3), (rnnkit.RNN, 1), (nn.GRU, 3)])
def test_orthogonal_blocks(cls, gates):
    torch.manual_seed(0)
    layer = orthogonal_recurrent_(cls(5, 7, num_layers=2, bidirectional=True))
    for name, w in layer.named_parameters():
        if name.startswith("weight_hh"):
            for g in range(gates):
                block = w[g * 7:(g + 1) * 7].double()
                torch.testing.assert_close(block @ block.T, torch.eye(7, dtype=torch.float64), atol=1e-6, rtol=0)
                sv = torch.linalg.svdvals(block)
                assert torch.allclose(sv, torch.ones(7, dtype=torch.float64), atol=1e-6)


def test_identity_rnn_copies_its_state_at_zero_input():
    layer = identity_recurrent_(rnnkit.RNN(3, 6, nonlinearity="relu", batch_first=True))
    assert torch.equal(layer.weight_hh_l0, torch.eye(6))
    assert layer.bias_ih_l0.abs().sum() == 0 and layer.bias_hh_l0.abs().sum() == 0
    assert layer.weight_ih_l0.std() < 0.01
    h0 = torch.rand(1, 2, 6)
    _, h = layer(torch.zeros(2, 50, 3), h0)
    torch.testing.assert_close(h, h0)     # relu(I h + 0) = h for h >= 0, 50 steps on


def test_forget_bias_sets_the_forget_gate():
    layer = forget_gate_bias_(rnnkit.LSTM(3, 4, num_layers=2), 1.0)
    for k in range(2):
        total = getattr(layer, f"bias_ih_l{k}") + getattr(layer, f"bias_hh_l{k}")
        torch.testing.assert_close(total[4:8], torch.ones(4))
    # only the forget slice changed: the others are torch's uniform init, not 0.5
    assert not torch.allclose(layer.bias_ih_l0[:4], torch.full((4,), 0.5))


def test_wrong_cells_are_refused():
    with pytest.raises(ValueError, match="expected a plain RNN layer"):
        identity_recurrent_(rnnkit.GRU(2, 3))
    with pytest.raises(ValueError, match="expected an LSTM layer, got GRU"):
        forget_gate_bias_(rnnkit.GRU(2, 3))
    with pytest.raises(ValueError, match="expected an LSTM with bias=True"):
        forget_gate_bias_(rnnkit.LSTM(2, 3, bias=False))
    with pytest.raises(ValueError, match="expected an RNN, LSTM or GRU layer, got Linear"):
        orthogonal_recurrent_(nn.Linear(2, 3))


def test_config_options_reach_the_layer():
    layer = recurrent_stack(ModelConfig(cell="lstm", hidden_size=4, num_layers=1, recurrent_init="orthogonal",
                                        forget_bias=2.0), 3)
    block = layer.weight_hh_l0[:4]
    torch.testing.assert_close(block @ block.T, torch.eye(4), atol=1e-5, rtol=0)
    torch.testing.assert_close((layer.bias_ih_l0 + layer.bias_hh_l0)[4:8], torch.full((4,), 2.0))
    irnn = recurrent_stack(ModelConfig(cell="rnn", nonlinearity="relu", hidden_size=4, num_layers=1,
                                       recurrent_init="identity"), 3)
    assert torch.equal(irnn.weight_hh_l0, torch.eye(4))
    with pytest.raises(UsageError, match="identity \\(IRNN\\) expected cell rnn, got cell gru"):
        recurrent_stack(ModelConfig(cell="gru", recurrent_init="identity"), 3)
    with pytest.raises(UsageError, match="forget_bias: expected cell lstm"):
        recurrent_stack(ModelConfig(cell="gru", forget_bias=1.0), 3)
