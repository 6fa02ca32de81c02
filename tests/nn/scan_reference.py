"""Per-step references of the parallel-scan cells, written from each paper's equations:
a Python loop over the steps of ONE unpadded sequence, with none of rnnkit's scan code.

``step(w, x_t, state) -> (y_t, state)`` where ``w`` holds one layer-direction's
parameters by role (``weight_ih``, ...), ``x_t`` is (I,) and ``state`` a tuple of
(H,)-tensors. :func:`run_reference` stacks the layers and directions as torch.nn does.
"""

from __future__ import annotations

import torch


def sigmoid(v):
    return 1.0 / (1.0 + torch.exp(-v))


def g(v):
    """Feng et al. 2024: g(x) = x + 0.5 if x >= 0 else sigmoid(x)."""
    return torch.where(v >= 0, v + 0.5, sigmoid(v))


def rows(w, name, i, H):
    """Block i (H rows) of a weight or bias; zeros for a missing bias."""
    t = w.get(name)
    return None if t is None else t[i * H:(i + 1) * H]


def affine(w, i, H, x, weight="weight_ih", bias="bias_ih"):
    """(W x + b) for row block i."""
    W, b = rows(w, weight, i, H), rows(w, bias, i, H)
    return W @ x + (0 if b is None else b)


def mingru_step(w, x, state):
    """Feng et al. 2024, minGRU: z = sigmoid(W_z x), h~ = g(W_h x), h = (1 - z) h + z h~."""
    (h,) = state
    H = h.shape[0]
    z = sigmoid(affine(w, 0, H, x))
    h_tilde = g(affine(w, 1, H, x))
    h = (1 - z) * h + z * h_tilde
    return h, (h,)


def minlstm_step(w, x, state):
    """Feng et al. 2024, minLSTM: f = sigmoid(W_f x), i = sigmoid(W_i x), h~ = g(W_h x),
    f' = f / (f + i), i' = i / (f + i), h = f' h + i' h~."""
    (h,) = state
    H = h.shape[0]
    f = sigmoid(affine(w, 0, H, x))
    i = sigmoid(affine(w, 1, H, x))
    h_tilde = g(affine(w, 2, H, x))
    h = f / (f + i) * h + i / (f + i) * h_tilde
    return h, (h,)


def rglru_step(w, x, state):
    """De et al. 2024, RG-LRU with the Griffin block's input projection: u = W_in x,
    r = sigmoid(W_a u), i = sigmoid(W_x u), a_t = sigmoid(Lambda) ** (8 r),
    h = a_t h + sqrt(1 - a_t ** 2) (i u)."""
    (h,) = state
    H = h.shape[0]
    u = affine(w, 0, H, x)
    r = sigmoid(affine(w, 0, H, u, "weight_gate", "bias_gate"))
    i = sigmoid(affine(w, 1, H, u, "weight_gate", "bias_gate"))
    a_t = sigmoid(w["lambda"]) ** (8 * r)
    h = a_t * h + torch.sqrt(1 - a_t ** 2) * (i * u)
    return h, (h,)


def qrnn_step(w, x, state):
    """Bradbury et al. 2017, QRNN fo-pooling, convolution width 2: each gate is
    W_1 x_{t-1} + W_2 x_t + b (``prev`` holds W_1 x_{t-1}); z = tanh, f, o = sigmoid,
    c = f c + (1 - f) z, h = o c."""
    h, c, prev = state
    H = h.shape[0]
    z = torch.tanh(affine(w, 0, H, x) + prev[:H])
    f = sigmoid(affine(w, 1, H, x) + prev[H:2 * H])
    o = sigmoid(affine(w, 2, H, x) + prev[2 * H:])
    c = f * c + (1 - f) * z
    h = o * c
    return h, (h, c, w["weight_prev"] @ x)


STEPS = {"mingru": mingru_step, "minlstm": minlstm_step, "rglru": rglru_step, "qrnn": qrnn_step}


def initial(cell, hx, k):
    """The reference state of layer-direction k from a public hx (unbatched rows)."""
    if cell == "qrnn":                 # (h, [c; W_1 x_prev])
        H = hx[0].shape[-1]
        return hx[0][k], hx[1][k, :H], hx[1][k, H:]
    return (hx[k],)


def public(cell, states):
    """The public h_n from the reference states of every layer-direction."""
    if cell == "qrnn":
        return torch.stack([s[0] for s in states]), torch.stack([torch.cat(s[1:]) for s in states])
    return torch.stack([s[0] for s in states])


def run_reference(layer, cell, x, hx):
    """One unpadded sequence x (T, I) through every layer and direction of ``layer``'s
    parameters, from hx (unbatched public state). Returns (y (T, D*H), h_n)."""
    step = STEPS[cell]
    D = 2 if layer.bidirectional else 1
    states = []
    inp = x
    for li in range(layer.num_layers):
        outs = []
        for d in range(D):
            k = li * D + d
            w = layer._weights(li, d)
            st = initial(cell, hx, k)
            order = range(inp.shape[0]) if d == 0 else range(inp.shape[0] - 1, -1, -1)
            ys = [None] * inp.shape[0]
            for t in order:
                ys[t], st = step(w, inp[t], st)
            outs.append(torch.stack(ys) if ys else inp.new_zeros(0, layer.hidden_size))
            states.append(st)
        inp = torch.cat(outs, -1)
    return inp, public(cell, states)
