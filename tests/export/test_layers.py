"""The layers under torch.export: an ONNX graph (run with onnxruntime) and a pt2
program with a dynamic batch and sequence length, exact ``lengths``, bidirectional,
``proj_size`` and every cell, against torch.nn run sequence by sequence; and the
export-safe path in eager mode against torch.nn, float64."""

import io

import numpy as np
import pytest
import torch

from rnnkit.nn.exportable import exportable_forward
from tests.nn.reference import make_pair, run_reference, states

pytest.importorskip("onnxscript")

CASES = [  # cell, kwargs
    ("lstm", dict(proj_size=3, bidirectional=True, num_layers=2)),
    ("gru", dict(bidirectional=True)),
    ("rnn_tanh", dict(num_layers=2)),
    ("rnn_relu", dict(bidirectional=True)),
    ("lstm", dict()),
]


class WithLengths(torch.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, lengths, h0, c0=None):
        y, state = self.layer(x, (h0, c0) if c0 is not None else h0, lengths=lengths)
        return (y, *states(state))


def example(layer, B, T, seed):
    g = torch.Generator().manual_seed(seed)
    D = 2 if layer.bidirectional else 1
    P = layer.proj_size if getattr(layer, "proj_size", 0) else layer.hidden_size
    x = torch.randn(B, T, layer.input_size, generator=g)
    lengths = torch.randint(0, T + 1, (B,), generator=g)
    lengths[0] = T
    h = [torch.randn(layer.num_layers * D, B, P, generator=g)]
    if layer.mode == "LSTM":
        h.append(torch.randn(layer.num_layers * D, B, layer.hidden_size, generator=g))
    return x, lengths, h


def dynamic_shapes(n_states):
    B, T = torch.export.Dim("batch", min=1), torch.export.Dim("time", min=1)
    return ({0: B, 1: T}, {0: B}) + ({1: B},) * n_states


def expected(ref, x, lengths, h):
    y, hn = run_reference(ref, x, tuple(h) if len(h) == 2 else h[0], lengths, batch_first=True)
    return [y, *hn]


@pytest.mark.parametrize("cell,kwargs", CASES)
def test_onnx_and_pt2_dynamic_batch_time_lengths(tmp_path, ort, cell, kwargs):
    """One torch.export capture, written as ONNX (run with onnxruntime) and as pt2
    (saved and loaded back), each run at other shapes than the example's."""
    ours, ref = make_pair(cell, 4, 5, batch_first=True, **kwargs)
    ours.eval()
    x, lengths, h = example(ours, 2, 6, 0)
    ep = torch.export.export(WithLengths(ours), (x, lengths, *h), dynamic_shapes=dynamic_shapes(len(h)))
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    assert not any("rnnkit" in t for t in targets)
    path = tmp_path / "layer.onnx"
    torch.onnx.export(ep, dynamo=True, optimize=False, verbose=False).save(str(path))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    buf = io.BytesIO()
    torch.export.save(ep, buf)
    buf.seek(0)
    loaded = torch.export.load(buf).module()
    for B, T, seed in ((5, 9, 1), (1, 1, 2), (3, 2, 3)):   # other shapes than the example's
        x, lengths, h = example(ours, B, T, seed)
        with torch.no_grad():
            want = expected(ref, x, lengths, h)
            from_pt2 = loaded(x, lengths, *h)
        got = sess.run(None, dict(zip(names, [a.numpy() for a in (x, lengths, *h)])))
        assert len(got) == len(want) == len(from_pt2)
        for g, p, w in zip(got, from_pt2, want):
            np.testing.assert_allclose(g, w.numpy(), atol=1e-5, rtol=0)
            torch.testing.assert_close(p, w, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("time_major", [False, True])
def test_exportable_path_eager_float64(cell, time_major):
    """The export-safe path itself, in eager mode, against torch.nn per sequence,
    float64: outputs, both states, and lengths 0 and T in one batch."""
    kwargs = dict(proj_size=2) if cell == "lstm" else {}
    ours, ref = make_pair(cell, 3, 4, num_layers=2, bidirectional=True, batch_first=not time_major,
                          dtype=torch.float64, **kwargs)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4, 7, 3, generator=g, dtype=torch.float64)     # (B, T, I)
    lengths = torch.tensor([7, 0, 3, 1])
    if time_major:
        x = x.transpose(0, 1).contiguous()
    P = 2 if cell == "lstm" else 4
    h = [torch.randn(4, 4, P, generator=g, dtype=torch.float64)]
    if cell == "lstm":
        h.append(torch.randn(4, 4, 4, generator=g, dtype=torch.float64))
    hx = tuple(h) if cell == "lstm" else h[0]
    y, state = exportable_forward(ours, x, hx, lengths)
    y_ref, h_ref = run_reference(ref, x, hx, lengths, batch_first=not time_major)
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=0)
    for a, b in zip(states(state), h_ref):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    # without lengths, unbatched
    y1, _ = exportable_forward(ours, x[0] if not time_major else x[:, 0], None)
    y1_ref, _ = ref(x[0] if not time_major else x[:, 0])
    torch.testing.assert_close(y1, y1_ref, atol=1e-12, rtol=0)


def test_exportable_path_refuses_packed():
    ours, _ = make_pair("gru", 3, 4)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(5, 2, 3), [5, 3])
    with pytest.raises(ValueError, match="PackedSequence"):
        exportable_forward(ours, packed)
