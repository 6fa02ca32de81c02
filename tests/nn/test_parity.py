"""Parity with torch.nn over randomised configurations (property-based).

Outputs, final states and the gradients of the input, the initial state and every
parameter, for both execution paths, with and without ``lengths`` (0 and full
lengths included); with lengths the reference is torch.nn on each sequence alone."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .reference import CELLS, loss_of, make_pair, run_reference, states

TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-9, atol=1e-10)}


@st.composite
def configs(draw):
    cell = draw(st.sampled_from(CELLS))
    hidden = draw(st.integers(1, 5))
    cfg = dict(
        cell=cell,
        input_size=draw(st.integers(1, 4)),
        hidden_size=hidden,
        num_layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        proj_size=draw(st.integers(0, hidden - 1)) if cell == "lstm" else 0,
        dtype=draw(st.sampled_from([torch.float32, torch.float64])),
        backend=draw(st.sampled_from(["fused", "unrolled"])),
        unbatched=draw(st.booleans()),
        give_hx=draw(st.booleans()),
        T=draw(st.integers(1, 6)),
        B=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 2**16)),
    )
    cfg["use_lengths"] = (not cfg["unbatched"]) and draw(st.booleans())
    if cfg["use_lengths"]:
        # lengths in [0, T], with 0 and T both likely
        cfg["lengths"] = draw(st.lists(st.sampled_from([0, cfg["T"]]) | st.integers(0, cfg["T"]),
                                       min_size=cfg["B"], max_size=cfg["B"]))
    return cfg


def _inputs(cfg, ours):
    g = torch.Generator().manual_seed(cfg["seed"])
    dt, T, B = cfg["dtype"], cfg["T"], cfg["B"]
    shape = (B, T, cfg["input_size"]) if cfg["batch_first"] else (T, B, cfg["input_size"])
    x = torch.randn(shape, generator=g, dtype=dt)
    D = 2 if cfg["bidirectional"] else 1
    P = cfg["proj_size"] or cfg["hidden_size"]
    hx = None
    if cfg["give_hx"]:
        h = torch.randn(cfg["num_layers"] * D, B, P, generator=g, dtype=dt)
        hx = h
        if cfg["cell"] == "lstm":
            hx = (h, torch.randn(cfg["num_layers"] * D, B, cfg["hidden_size"], generator=g, dtype=dt))
    return x, hx, g


def _leaf(t):
    if t is None:
        return None
    if isinstance(t, tuple):
        return tuple(_leaf(u) for u in t)
    return t.clone().requires_grad_(True)


def _grads(t):
    return [u.grad for u in t] if isinstance(t, tuple) else [t.grad]


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_matches_torch_nn(cfg):
    ours, ref = make_pair(cfg["cell"], cfg["input_size"], cfg["hidden_size"],
                          proj_size=cfg["proj_size"], dtype=cfg["dtype"], seed=cfg["seed"],
                          num_layers=cfg["num_layers"], bidirectional=cfg["bidirectional"],
                          batch_first=cfg["batch_first"], bias=cfg["bias"])
    ours.backend = cfg["backend"]
    x, hx, g = _inputs(cfg, ours)
    lengths = torch.tensor(cfg["lengths"]) if cfg["use_lengths"] else None

    x1, hx1 = _leaf(x), _leaf(hx)
    x2, hx2 = _leaf(x), _leaf(hx)
    if cfg["unbatched"]:
        bdim = 0 if cfg["batch_first"] else 1
        x1, x2 = x1.select(bdim, 0).detach().requires_grad_(), x2.select(bdim, 0).detach().requires_grad_()
        if hx is not None:
            sel = lambda h: h[:, 0].detach().requires_grad_()  # noqa: E731
            hx1 = tuple(map(sel, hx1)) if isinstance(hx1, tuple) else sel(hx1)
            hx2 = tuple(map(sel, hx2)) if isinstance(hx2, tuple) else sel(hx2)
        y, h = ours(x1, hx1)
        y_ref, h_ref = ref(x2, hx2)
        finals, finals_ref = states(h), states(h_ref)
    else:
        y, h = ours(x1, hx1, lengths=lengths)
        finals = states(h)
        y_ref, finals_ref = run_reference(ref, x2, hx2, lengths, cfg["batch_first"])

    tol = TOL[cfg["dtype"]]
    assert y.shape == y_ref.shape
    torch.testing.assert_close(y, y_ref, **tol)
    for a, b in zip(finals, finals_ref):
        torch.testing.assert_close(a, b, **tol)

    cot = [torch.randn(t.shape, generator=g, dtype=cfg["dtype"]) for t in [y] + finals]
    loss_of(y, finals, cot).backward()
    ref_loss = loss_of(y_ref, finals_ref, cot)
    if ref_loss.requires_grad:  # not when every sequence has length 0 and hx is not given
        ref_loss.backward()
    _close_or_zero(x1.grad, x2.grad, tol, "input")
    if hx is not None:
        for a, b in zip(_grads(hx1), _grads(hx2)):
            _close_or_zero(a, b, tol, "hx")
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        _close_or_zero(p.grad, ref_params[name].grad, tol, name)


def _close_or_zero(ours, ref, tol, name):
    """Gradients agree; a gradient the reference never formed (nothing reached it,
    e.g. every length is 0) must be absent or zero in ours."""
    if ref is None:
        assert ours is None or torch.count_nonzero(ours) == 0, name
    else:
        assert ours is not None, name
        torch.testing.assert_close(ours, ref, **tol, msg=lambda m: f"{name}: {m}")
