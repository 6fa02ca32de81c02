"""Spectra and gate saturation against closed forms."""

import math

import pytest
import torch

import rnnkit
from rnnkit.diagnostics.weights import gate_saturation, recurrent_spectrum


def test_spectrum_of_known_matrices():
    rnn = rnnkit.RNN(2, 4, num_layers=2)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(0.5 * torch.eye(4))
        rnn.weight_hh_l1.copy_(torch.diag(torch.tensor([3.0, 1.0, 0.5, 0.25])))
    s = recurrent_spectrum(rnn)
    assert [(d["layer"], d["gate"]) for d in s] == [("l0", "tanh"), ("l1", "tanh")]
    assert s[0]["spectral_radius"] == pytest.approx(0.5) and s[0]["min_singular"] == pytest.approx(0.5)
    assert s[1]["spectral_radius"] == pytest.approx(3.0) and s[1]["max_singular"] == pytest.approx(3.0)
    assert s[1]["min_singular"] == pytest.approx(0.25)
    lstm = rnnkit.nn.orthogonal_recurrent_(rnnkit.LSTM(2, 6, bidirectional=True))
    s = recurrent_spectrum(lstm)
    assert len(s) == 8 and {d["layer"] for d in s} == {"l0", "l0_reverse"}
    for d in s:
        assert d["max_singular"] == pytest.approx(1.0) and d["min_singular"] == pytest.approx(1.0)
        assert d["spectral_radius"] == pytest.approx(1.0)


def test_saturation_with_constant_gates():
    lstm = rnnkit.LSTM(3, 4, batch_first=True)
    with torch.no_grad():
        for p in lstm.parameters():
            p.zero_()
        lstm.bias_ih_l0[4:8] = 10.0     # forget gate sigmoid(10) > 0.95
        lstm.bias_ih_l0[0:4] = -10.0    # input gate < 0.05
    s = {d["gate"]: d for d in gate_saturation(lstm, torch.randn(2, 7, 3))}
    assert set(s) == {"input", "forget", "output"}
    assert s["forget"]["above"] == 1.0 and s["forget"]["mean"] == pytest.approx(1 / (1 + math.exp(-10)))
    assert s["input"]["below"] == 1.0
    assert s["output"]["below"] == 0.0 and s["output"]["above"] == 0.0 and s["output"]["mean"] == 0.5


def test_gru_gates_against_the_cell_equations():
    torch.manual_seed(0)
    gru = rnnkit.GRU(3, 5, batch_first=True)
    x = torch.randn(4, 6, 3)
    s = {d["gate"]: d for d in gate_saturation(gru, x)}
    # reference: z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz), h from the layer itself
    with torch.no_grad():
        y, _ = gru(x)
    h_prev = torch.cat([torch.zeros(4, 1, 5), y[:, :-1]], dim=1)
    z = torch.sigmoid(x @ gru.weight_ih_l0[5:10].T + gru.bias_ih_l0[5:10] + h_prev @ gru.weight_hh_l0[5:10].T
                      + gru.bias_hh_l0[5:10])
    assert s["update"]["mean"] == pytest.approx(float(z.detach().mean()), rel=1e-5)
    assert gate_saturation(rnnkit.RNN(3, 5), torch.randn(6, 4, 3)) == []
