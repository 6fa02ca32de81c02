"""Zoneout and layer-normalised cells (the step-by-step path) against plain per-step
references written here from the papers' equations, in float64: each sequence alone,
unpadded (so ``lengths`` and the reverse direction are held to packing's meaning),
zoneout's masks and expectation, gradcheck on tiny sizes, and the export path."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import rnnkit
from rnnkit.nn import exportable, stepwise

DT = torch.float64


def _ln(v, gain, bias):
    mu = v.mean(-1, keepdim=True)
    var = ((v - mu) ** 2).mean(-1, keepdim=True)
    return (v - mu) / torch.sqrt(var + 1e-5) * gain + bias


def _params(layer, sfx):
    g = lambda n: getattr(layer, n + sfx, None)  # noqa: E731
    return {n: g(n) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "ln_ih_weight", "ln_ih_bias",
                              "ln_hh_weight", "ln_hh_bias", "ln_c_weight", "ln_c_bias")}


def _ref_step(kind, p, x, h, c, zoneout=0.0, expectation=False, masks=None):
    """One step of the cell from its definition (Ba et al. 2016 for the LN cells;
    Krueger et al. 2017 zoneout with fixed masks or, in eval, the expectation)."""
    ln = p["ln_ih_weight"] is not None
    a = x @ p["weight_ih"].T
    u = h @ p["weight_hh"].T
    if ln:
        a, u = _ln(a, p["ln_ih_weight"], p["ln_ih_bias"]), _ln(u, p["ln_hh_weight"], p["ln_hh_bias"])
    a, u = a + p["bias_ih"], u + p["bias_hh"]
    H = h.shape[-1]
    if kind == "lstm":
        i, f, g, o = (a + u).split(H, -1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        out_c = _ln(c_new, p["ln_c_weight"], p["ln_c_bias"]) if ln else c_new
        h_new = torch.sigmoid(o) * torch.tanh(out_c)
    elif kind == "gru":
        r = torch.sigmoid(a[..., :H] + u[..., :H])
        z = torch.sigmoid(a[..., H:2 * H] + u[..., H:2 * H])
        n = torch.tanh(a[..., 2 * H:] + r * u[..., 2 * H:])
        h_new, c_new = (1 - z) * n + z * h, None
    else:
        h_new, c_new = torch.tanh(a + u), None
    if expectation:
        h_new = zoneout * h + (1 - zoneout) * h_new
        if c_new is not None:
            c_new = zoneout * c + (1 - zoneout) * c_new
    elif masks is not None:
        dh, dc = masks
        h_new = dh * h + (1 - dh) * h_new
        if c_new is not None:
            c_new = dc * c + (1 - dc) * c_new
    return h_new, c_new


def _ref_layer(kind, layer, x, lengths, zoneout=0.0):
    """The layer, sequence by sequence (unpadded), layer by layer, the reverse direction
    reading each sequence from its own end. x (B, T, I) batch-first."""
    B, T, _ = x.shape
    H, D = layer.hidden_size, 2 if layer.bidirectional else 1
    ys, hs, cs = [], [], []
    for b in range(B):
        n = int(lengths[b])
        inp = x[b, :n]                                          # (n, I)
        hb, cb = [], []
        for i in range(layer.num_layers):
            outs = []
            for d in range(D):
                p = _params(layer, f"_l{i}" + ("_reverse" if d else ""))
                seq = inp if d == 0 else inp.flip(0)
                h = x.new_zeros(H)
                c = x.new_zeros(H) if kind == "lstm" else None
                out = []
                for t in range(n):
                    h, c = _ref_step(kind, p, seq[t], h, c, zoneout, expectation=True)
                    out.append(h)
                out = torch.stack(out) if out else x.new_zeros(0, H)
                outs.append(out if d == 0 else out.flip(0))
                hb.append(h)
                cb.append(c)
            inp = torch.cat(outs, -1)
        ys.append(torch.cat([inp, x.new_zeros(T - n, D * H)]))
        hs.append(torch.stack(hb))
        cs.append(torch.stack(cb) if kind == "lstm" else None)
    y = torch.stack(ys)
    h_n = torch.stack(hs, 1)
    c_n = torch.stack(cs, 1) if kind == "lstm" else None
    return y, h_n, c_n


def _make(kind, **kw):
    torch.manual_seed(0)
    cls = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN}[kind]
    layer = cls(3, 4, batch_first=True, dtype=DT, **kw)
    if kw.get("layer_norm"):   # gains and biases away from 1 and 0, so that they count
        with torch.no_grad():
            for name, prm in layer.named_parameters():
                if name.startswith("ln_"):
                    prm.copy_(torch.randn_like(prm) * 0.3 + (1.0 if "_weight" in name else 0.0))
    return layer


CASES = [("lstm", dict(layer_norm=True)), ("gru", dict(layer_norm=True)), ("rnn", dict(layer_norm=True)),
         ("lstm", dict(zoneout=0.3)), ("gru", dict(zoneout=0.3)), ("lstm", dict(zoneout=0.2, layer_norm=True))]


@pytest.mark.parametrize("kind, kw", CASES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_against_per_step_reference_with_lengths(kind, kw, bidirectional):
    """Eval mode (zoneout: its expectation), mixed lengths including 0, 2 layers."""
    layer = _make(kind, num_layers=2, bidirectional=bidirectional, **kw).eval()
    x = torch.randn(4, 6, 3, dtype=DT)
    lengths = torch.tensor([6, 2, 0, 4])
    y, h = layer(x, lengths=lengths)
    h_n, c_n = h if kind == "lstm" else (h, None)
    y_ref, h_ref, c_ref = _ref_layer(kind, layer, x, lengths, kw.get("zoneout", 0.0))
    assert torch.allclose(y, y_ref, atol=1e-10)
    assert torch.allclose(h_n, h_ref, atol=1e-10)
    if c_n is not None:
        assert torch.allclose(c_n, c_ref, atol=1e-10)
    # the export path (one while_loop per layer and direction) gives the same numbers
    y_e, h_e = exportable.exportable_forward(layer, x, None, lengths)
    assert torch.allclose(y_e, y, atol=1e-10)
    assert torch.allclose(h_e[0] if kind == "lstm" else h_e, h_n, atol=1e-10)


def _record_zoneout(monkeypatch):
    calls = []
    real = stepwise.zoneout

    def spy(h_prev, h_new, p, training):
        out = real(h_prev, h_new, p, training)
        calls.append((h_prev, h_new, p, out))
        return out

    monkeypatch.setattr(stepwise, "zoneout", spy)
    return calls


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_zoneout_train_mode_masks(monkeypatch, kind):
    """Train mode: each unit at each step is exactly its previous or its new value,
    kept with probability p, with a fresh mask at every step; the outputs are those of
    the reference run with those masks."""
    p = 0.4
    layer = _make(kind, zoneout=p).train()
    calls = _record_zoneout(monkeypatch)
    x = torch.randn(5, 12, 3, dtype=DT)
    lengths = torch.tensor([12, 12, 7, 12, 3])
    y, _ = layer(x, lengths=lengths)
    per_step = 2 if kind == "lstm" else 1
    assert len(calls) == 12 * per_step
    masks = []
    for h_prev, h_new, p_, out in calls:
        assert p_ == p
        kept = torch.isclose(out, h_prev, atol=0, rtol=0)
        took = torch.isclose(out, h_new, atol=0, rtol=0)
        assert bool((kept | took).all())                       # one or the other, exactly
        masks.append(kept.to(DT))
    hm = torch.stack(masks[0::per_step])                       # (T, B, H) masks of h
    frac = hm.mean().item()
    assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / hm.numel())
    assert not all(torch.equal(hm[0], hm[t]) for t in range(1, 12))   # not shared over time
    # the reference with the same masks, sequence by sequence
    prm = _params(layer, "_l0")
    for b in range(5):
        h = x.new_zeros(4)
        c = x.new_zeros(4) if kind == "lstm" else None
        for t in range(int(lengths[b])):
            dh = masks[per_step * t][b]
            dc = masks[per_step * t + 1][b] if kind == "lstm" else None
            h, c = _ref_step(kind, prm, x[b, t], h, c, masks=(dh, dc))
            assert torch.allclose(y[b, t], h, atol=1e-10)
        assert bool((y[b, int(lengths[b]):] == 0).all())


def test_zoneout_function_expectation_and_separate_lstm_rates():
    torch.manual_seed(0)
    a, b = torch.randn(3, 5, dtype=DT), torch.randn(3, 5, dtype=DT)
    n, p = 3000, 0.3
    mean = torch.stack([rnnkit.nn.zoneout(a, b, p, True) for _ in range(n)]).mean(0)
    expect = p * a + (1 - p) * b
    tol = 5 * (a - b).abs() * math.sqrt(p * (1 - p) / n) + 1e-12
    assert ((mean - expect).abs() <= tol).all()
    assert torch.allclose(rnnkit.nn.zoneout(a, b, p, False), expect)
    assert rnnkit.nn.zoneout(a, b, 0.0, True) is b
    lstm = rnnkit.LSTM(3, 4, zoneout=(0.5, 0.05))
    assert lstm.zoneout == (0.5, 0.05)
    with pytest.raises(ValueError, match="zoneout"):
        rnnkit.GRU(3, 4, zoneout=(0.5, 0.05))
    with pytest.raises(ValueError, match="proj_size 0 with layer_norm"):
        rnnkit.LSTM(3, 4, proj_size=2, layer_norm=True)


@pytest.mark.parametrize("kind, kw", [("lstm", dict(layer_norm=True, zoneout=0.3)),
                                      ("gru", dict(layer_norm=True, zoneout=0.3))])
@pytest.mark.parametrize("training", [False, True])
def test_gradcheck(kind, kw, training):
    layer = _make(kind, **kw)
    layer.train(training)
    x = torch.randn(2, 3, 3, dtype=DT, requires_grad=True)
    lengths = torch.tensor([3, 2])
    params = [prm for prm in layer.parameters()]

    def f(x, *ps):
        torch.manual_seed(7)                               # the same zoneout masks each call
        y, h = torch.func.functional_call(layer, dict(zip([n for n, _ in layer.named_parameters()], ps)),
                                          (x,), {"lengths": lengths})
        return y, (h[1] if kind == "lstm" else h)

    assert torch.autograd.gradcheck(f, (x, *[prm.detach().requires_grad_() for prm in params]))


def test_layer_norm_classes_and_state_dict():
    lstm = rnnkit.nn.LayerNormLSTM(3, 4, num_layers=2, bidirectional=True)
    names = set(lstm.state_dict())
    assert {"ln_ih_weight_l0", "ln_hh_bias_l1_reverse", "ln_c_weight_l1"} <= names
    assert torch.equal(lstm.ln_c_weight_l0, torch.ones(4)) and torch.equal(lstm.ln_ih_bias_l0, torch.zeros(16))
    lstm.reset_parameters()
    assert torch.equal(lstm.ln_hh_weight_l1, torch.ones(16))
    other = rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True, layer_norm=True)
    other.load_state_dict(lstm.state_dict())
    gru = rnnkit.nn.LayerNormGRU(3, 4)
    assert gru.layer_norm and "ln_c_weight_l0" not in gru.state_dict()
    assert "layer_norm=True" in repr(gru)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_chunks_with_the_state_carried_equal_one_pass(kind):
    """Eval mode is deterministic (zoneout: its expectation), so streaming a sequence
    chunk by chunk, the state passed back in, gives one pass's numbers."""
    layer = _make(kind, num_layers=2, layer_norm=True, zoneout=0.25).eval()
    x = torch.randn(3, 10, 3, dtype=DT)
    with torch.no_grad():
        y, state = layer(x)
        y1, s1 = layer(x[:, :4])
        y2, s2 = layer(x[:, 4:], s1)
    assert torch.allclose(torch.cat([y1, y2], 1), y, atol=1e-12)
    for a, b in zip(s2 if kind == "lstm" else (s2,), state if kind == "lstm" else (state,)):
        assert torch.allclose(a, b, atol=1e-12)
