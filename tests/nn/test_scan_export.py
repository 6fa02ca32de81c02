"""The parallel-scan layers under torch.export (a dynamic batch AND sequence length,
the eager numbers), through ONNX into onnxruntime with the state in and out, and under
torch.compile."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.export import Dim

import rnnkit
from rnnkit.nn.registry import LAYERS

CELLS = ("mingru", "minlstm", "rglru", "qrnn")


class WithState(torch.nn.Module):
    """x, lengths, h[, c] -> y, h_out[, c_out]: plain tensors in and out."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, lengths, h, c=None):
        y, state = self.layer(x, (h, c) if c is not None else h, lengths=lengths)
        return (y, *state) if isinstance(state, tuple) else (y, state)


def inputs(layer, B, T, seed):
    g = torch.Generator().manual_seed(seed)
    D = 2 if layer.bidirectional else 1
    x = torch.randn(B, T, layer.input_size, generator=g)
    lengths = torch.randint(0, T + 1, (B,), generator=g)
    lengths[0] = T
    states = [torch.randn(layer.num_layers * D, B, w * layer.hidden_size, generator=g) for w in layer.state_widths]
    return (x, lengths, *states)


def dynamic(n_states):
    batch, time = Dim("batch"), Dim("time")
    return ({0: batch, 1: time}, {0: batch}) + ({1: batch},) * n_states


@pytest.mark.parametrize("cell", CELLS)
def test_torch_export_has_a_dynamic_batch_and_length_and_the_eager_numbers(cell):
    torch.manual_seed(0)
    kw = dict(num_layers=2, bidirectional=True) if cell == "mingru" else {}
    layer = getattr(rnnkit, LAYERS[cell])(3, 4, batch_first=True, **kw).eval()
    module = WithState(layer)
    ep = torch.export.export(module, inputs(layer, 2, 5, 0), dynamic_shapes=dynamic(len(layer.state_widths)))
    for B, T in ((3, 9), (1, 1), (4, 2)):
        args = inputs(layer, B, T, B * T)
        got, want = ep.module()(*args), module(*args)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_onnx_export_of_mingru_with_state_runs_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    layer = rnnkit.MinGRU(3, 4, num_layers=2, batch_first=True).eval()
    module = WithState(layer)
    path = tmp_path / "mingru.onnx"
    torch.onnx.export(module, inputs(layer, 2, 5, 0), str(path), dynamo=True,
                      input_names=["x", "lengths", "h"], output_names=["y", "h_out"],
                      dynamic_shapes=dynamic(1), verbose=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for B, T in ((3, 9), (1, 1)):
        x, lengths, h = inputs(layer, B, T, 10 + B)
        if B == 3:
            lengths = torch.tensor([9, 0, 4])                  # a length of 0 keeps the state
        y, h_out = sess.run(None, {"x": x.numpy(), "lengths": lengths.numpy(), "h": h.numpy()})
        y_ref, h_ref = module(x, lengths, h)
        np.testing.assert_allclose(y, y_ref.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(h_out, h_ref.detach().numpy(), rtol=1e-5, atol=1e-5)
        # the state out continues the stream: feed the next chunk from it
        y2, _ = sess.run(None, {"x": x.numpy(), "lengths": lengths.numpy(), "h": h_out})
        np.testing.assert_allclose(y2, layer(x, h_ref, lengths=lengths)[0].detach().numpy(), rtol=1e-5, atol=1e-5)


def test_torch_compile_gives_the_eager_outputs_and_gradients():
    torch.manual_seed(0)
    layer = rnnkit.QRNN(3, 4, bidirectional=True)
    x = torch.randn(11, 2, 3)
    lengths = torch.tensor([11, 6])
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=False)
    outs = []
    for fn in (layer, compiled):
        layer.zero_grad()
        y, (h, c) = fn(x, lengths=lengths)
        (y.square().sum() + h.sum() + c.sum()).backward()
        outs.append([y, h, c] + [p.grad.clone() for p in layer.parameters()])
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
