"""Gradient flow against a hand computation on a tiny RNN, and against autograd on the
layer itself."""

import math

import pytest
import torch

import rnnkit
from rnnkit.diagnostics import effective_memory, gradient_flow
from rnnkit.diagnostics.gradients import stepwise_gradient_flow


def test_scalar_rnn_matches_the_closed_form():
    """h_t = tanh(w h_{t-1} + u x_t), L = h_T: dL/dh_t = prod_{s=t+1..T} w (1 - h_s^2),
    dL/dx_t = dL/dh_t (1 - h_t^2) u."""
    torch.manual_seed(0)
    rnn = rnnkit.RNN(1, 1, bias=False, batch_first=True).double()
    w, u = 0.9, 0.7
    with torch.no_grad():
        rnn.weight_hh_l0.fill_(w)
        rnn.weight_ih_l0.fill_(u)
    x = torch.randn(1, 12, 1, dtype=torch.float64)
    flow = gradient_flow(rnn, x, lambda y, h_n: h_n.sum())
    h, hs = 0.0, []
    for t in range(12):
        h = math.tanh(w * h + u * float(x[0, t, 0]))
        hs.append(h)
    dh = [0.0] * 12
    dh[-1] = 1.0
    for t in range(10, -1, -1):
        dh[t] = dh[t + 1] * w * (1 - hs[t + 1] ** 2)
    dx = [dh[t] * (1 - hs[t] ** 2) * u for t in range(12)]
    torch.testing.assert_close(flow.h_norm[0], torch.tensor(dh, dtype=torch.float64).abs())
    torch.testing.assert_close(flow.x_norm, torch.tensor(dx, dtype=torch.float64).abs())


@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU, rnnkit.RNN])
def test_outputs_and_input_gradients_are_the_layers(cls):
    torch.manual_seed(1)
    layer = cls(3, 5, num_layers=2, batch_first=True).double()
    x = torch.randn(4, 9, 3, dtype=torch.float64, requires_grad=True)
    flow = gradient_flow(layer, x, lambda y, h_n: (y ** 2).sum())
    y, _ = layer(x)
    (y ** 2).sum().backward()
    torch.testing.assert_close(flow.output, y.detach())
    torch.testing.assert_close(flow.x_norm, x.grad.norm(dim=-1).mean(0))
    assert len(flow.h_norm) == 2 and flow.h_norm[1].shape == (9,)
    assert (flow.c_norm[0] is not None) == (cls is rnnkit.LSTM)


def test_plain_rnn_forgets_faster_than_lstm():
    torch.manual_seed(0)
    x = torch.randn(32, 200, 2)
    flows = {}
    for cls in (rnnkit.RNN, rnnkit.LSTM):
        layer = cls(2, 32, batch_first=True)
        if cls is rnnkit.LSTM:
            rnnkit.nn.forget_gate_bias_(layer, 4.0)
        flows[cls] = gradient_flow(layer, x, lambda y, h_n: y[:, -1].sum())
    rnn_mem = effective_memory(flows[rnnkit.RNN].x_norm, 0.01)
    lstm_mem = effective_memory(flows[rnnkit.LSTM].x_norm, 0.01)
    assert rnn_mem < lstm_mem


def test_effective_memory():
    norms = torch.tensor([0.001, 0.5, 0.02, 0.2, 1.0])
    assert effective_memory(norms, 0.1) == 1        # 1.0, 0.2 >= 0.1; 0.02 is not
    assert effective_memory(norms, 0.01) == 3       # back to 0.5; 0.001 falls below
    assert effective_memory(norms, 0.0001) == 4
    assert effective_memory(torch.tensor([1.0, 0.0]), 0.5) == 0
    with pytest.raises(ValueError, match="fraction in \\(0, 1\\]"):
        effective_memory(norms, 0)


def test_bad_layers():
    with pytest.raises(ValueError, match="unidirectional"):
        gradient_flow(rnnkit.GRU(2, 3, bidirectional=True), torch.randn(4, 2, 2), lambda y, h: y.sum())
    with pytest.raises(ValueError, match="expected a recurrent layer .* got Linear"):
        gradient_flow(torch.nn.Linear(2, 3), torch.randn(4, 2, 2), lambda y, h: y.sum())


@pytest.mark.parametrize("cls, batch_first", [(rnnkit.LSTM, True), (rnnkit.GRU, False)])
def test_stepwise_flow_equals_the_torch_cells(cls, batch_first):
    """The path of layers other than RNN / LSTM / GRU (the layer itself, one step per
    call, its state fed back) against the torch.nn-cell path, on a layer both can run."""
    torch.manual_seed(2)
    layer = cls(3, 4, num_layers=2, batch_first=batch_first).double()
    x = torch.randn(5, 7, 3, dtype=torch.float64)

    def loss(y, h_n):
        return (y ** 2).sum() + h_n.sum()

    ref, got = gradient_flow(layer, x, loss), stepwise_gradient_flow(layer, x, loss)
    torch.testing.assert_close(got.output, ref.output)
    torch.testing.assert_close(got.x_norm, ref.x_norm)
    # the top layer's dL/dh_t whole; a lower layer's without the part through the layer above
    torch.testing.assert_close(got.h_norm[1], ref.h_norm[1])
    one = cls(3, 4, batch_first=batch_first).double()
    torch.testing.assert_close(stepwise_gradient_flow(one, x, loss).h_norm[0], gradient_flow(one, x, loss).h_norm[0])
    assert (got.c_norm[0] is None) == (cls is not rnnkit.LSTM)


def test_layer_norm_lstm_is_read_by_the_layer_itself():
    """A layer-normalised LSTM's step is not torch.nn's: its flow is the layer's own
    (the input gradient equals autograd through the layer's forward)."""
    torch.manual_seed(3)
    layer = rnnkit.LSTM(3, 4, batch_first=True, layer_norm=True).double().eval()
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("ln_"):
                p.uniform_(0.5, 1.5)                     # not the identity norm
    x = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)
    flow = gradient_flow(layer, x, lambda y, h_n: (y ** 2).sum())
    y, _ = layer(x)
    (y ** 2).sum().backward()
    torch.testing.assert_close(flow.output, y.detach())
    torch.testing.assert_close(flow.x_norm, x.grad.norm(dim=-1).mean(0))
