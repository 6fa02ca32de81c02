"""The one-step math of each recurrent cell, written once.

Every cell is split the same way, so that the time loop can batch the parts that do
not depend on the previous step:

    xp_t = W_ih x_t + b_ih                      (all steps in one matrix product)
    hp_t = W_hh h_{t-1} + b_hh                  (one product per step)
    h~_t, c_t = pointwise(xp_t, hp_t, h_{t-1}, c_{t-1})
    h_t = W_hr h~_t   if the layer has a projection (LSTM proj_size), else h~_t

A :class:`CellMath` holds ``pointwise`` (``step``) and its derivative (``backward``).
The cell modules (:mod:`rnnkit.nn.cells`) run ``step`` under autograd; the unrolled
layer (:mod:`rnnkit.nn.unrolled`) runs ``step`` in its forward loop and ``backward``
in its reverse loop. torch's fused kernels compute the same equations; the tests hold
all of them to torch.nn.

A new cell subclasses :class:`CellMath` and writes ``step``; the inherited
``backward`` differentiates ``step`` with autograd, one step at a time, which is
correct for any cell. A hand-written ``backward`` makes it fast.

Cells whose gates see only ``xp_t + hp_t`` set ``additive = True``: the loop then
adds ``hp_t`` into ``xp_t`` with one fused multiply-add and passes ``hp=None``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import native

__all__ = ["CellMath", "ElmanMath", "LSTMMath", "GRUMath", "MATH"]


class CellMath:
    """Base class of a cell's one-step math.

    Attributes:
        name: short name of the cell.
        num_gates: the row blocks of ``W_ih`` and ``W_hh`` (G = num_gates * hidden_size).
        has_cell_state: whether the state carries a ``c`` beside ``h`` (LSTM).
        additive: whether ``step`` only needs ``xp + hp`` (see the module docstring).
    """

    name = "cell"
    num_gates = 1
    has_cell_state = False
    additive = False

    def step(self, xp: Tensor, hp: Tensor | None, h_prev: Tensor, c_prev: Tensor | None):
        """One step. Returns ``(h_raw, c_new, saved)``; ``c_new`` is None without a cell
        state and ``saved`` is whatever ``backward`` needs."""
        raise NotImplementedError

    def backward(self, dh: Tensor, dc: Tensor | None, saved):
        """Gradients of one step.

        Args:
            dh: gradient of the loss w.r.t. ``h_raw`` of this step, shape (B, H).
            dc: gradient w.r.t. ``c_new`` (None without a cell state), shape (B, H).
            saved: what ``step`` returned for this step.

        Returns ``(dxp, dhp, dh_prev, dc_prev)``: the gradients w.r.t. ``xp``, ``hp``
        (the same tensor as ``dxp`` for additive cells), the direct part of the
        gradient w.r.t. ``h_prev`` (the part through ``W_hh`` is added by the loop;
        None when there is no direct part) and w.r.t. ``c_prev``.

        This default differentiates ``step`` with autograd; it needs ``step`` to
        return ``saved = (xp, hp, h_prev, c_prev)`` through :meth:`save_inputs`.
        """
        xp, hp, h_prev, c_prev = (None if t is None else t.detach().requires_grad_() for t in saved)
        with torch.enable_grad():
            h, c, _ = self.step(xp, hp, h_prev, c_prev)
            outs, grads = [h], [dh]
            if c is not None:
                outs.append(c)
                grads.append(dc)
            inputs = [t for t in (xp, hp, h_prev, c_prev) if t is not None]
            got = torch.autograd.grad(outs, inputs, grads, allow_unused=True)
        got = iter(got)
        res = [None if t is None else next(got) for t in (xp, hp, h_prev, c_prev)]
        res = [torch.zeros_like(t) if (g is None and t is not None) else g
               for g, t in zip(res, (xp, hp, h_prev, c_prev))]
        dxp, dhp, dh_prev, dc_prev = res
        if self.additive:
            dhp = dxp
        return dxp, dhp, dh_prev, dc_prev

    def engine_step(self, xp: Tensor, hp: Tensor | None, h_prev: Tensor, c_prev: Tensor | None,
                    h_out: Tensor, c_out: Tensor | None, fast: bool):
        """``step`` as the unrolled loop calls it, without autograd: writes h_raw into
        ``h_out`` and c into ``c_out`` (views of the loop's buffers) and returns
        ``saved``. ``xp`` is the loop's own buffer and may be overwritten. ``fast``
        says that the tensors suit the C kernels (CPU, float32/64, contiguous).
        The default runs ``step``; cells with kernels override it."""
        h, c, saved = self.step(xp, hp, h_prev, c_prev)
        h_out.copy_(h)
        if c_out is not None:
            c_out.copy_(c)
        return saved

    def engine_backward(self, dh: Tensor, dy: Tensor | None, dc: Tensor | None, saved,
                        dxp_out: Tensor, dhp_out: Tensor | None, dh_prev_out: Tensor, fast: bool) -> bool:
        """``backward`` as the unrolled loop calls it, for the gradient ``dh + dy``
        w.r.t. h_raw (``dy`` may be None). ``dc`` holds the gradient w.r.t. c_t and is
        overwritten with the one w.r.t. c_{t-1}. Writes dxp into ``dxp_out``, for
        cells that are not additive dhp into ``dhp_out``, and the direct part of the
        gradient w.r.t. h_prev, if there is one, into ``dh_prev_out`` (which may be
        ``dh`` itself); returns whether it did. The default runs ``backward``."""
        dxp, dhp, dh_prev, dc_prev = self.backward(dh if dy is None else dh + dy, dc, saved)
        dxp_out.copy_(dxp)
        if dhp_out is not None:
            dhp_out.copy_(dhp)
        if dc is not None:
            dc.copy_(dc_prev)
        if dh_prev is None:
            return False
        dh_prev_out.copy_(dh_prev)
        return True

    def engine_saved(self, act: Tensor, hp: Tensor | None, h_prev: Tensor, c_prev: Tensor | None,
                     h_raw: Tensor, c: Tensor | None):
        """What ``engine_step`` returned for a step, rebuilt from the loop's buffers
        (``act``: the step's rows of the xp buffer after the step, ``hp`` of the hp
        buffer, ``h_raw`` and ``c`` of the outputs; ``h_prev``, ``c_prev`` the states
        it read). The built-in cells, whose ``engine_step`` keeps everything it needs
        in those buffers, define it: their unrolled path runs as a torch custom
        operator (:mod:`rnnkit.nn.ops`) that keeps only the buffers, which compile and
        export can see. Other cells run under an autograd.Function, which keeps what
        ``engine_step`` returned, and need not define it."""
        raise NotImplementedError

    @staticmethod
    def save_inputs(xp, hp, h_prev, c_prev):
        """The ``saved`` value that the default ``backward`` expects."""
        return (xp, hp, h_prev, c_prev)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ElmanMath(CellMath):
    r"""Elman (plain) RNN step, as torch.nn.RNN:

    .. math::
        h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    with :math:`\phi` = tanh or ReLU (``nonlinearity``).
    """

    num_gates = 1
    additive = True

    def __init__(self, nonlinearity: str = "tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.name = f"rnn_{nonlinearity}"

    def step(self, xp, hp, h_prev, c_prev):
        pre = xp if hp is None else xp + hp
        h = torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)
        return h, None, h

    def backward(self, dh, dc, saved):
        h = saved
        if self.nonlinearity == "tanh":
            dpre = dh * (1 - h * h)
        else:
            dpre = dh * (h > 0).to(dh.dtype)
        return dpre, dpre, None, None

    def engine_step(self, xp, hp, h_prev, c_prev, h_out, c_out, fast):
        pre = xp if hp is None else xp + hp
        h = torch.tanh(pre, out=h_out) if self.nonlinearity == "tanh" else torch.clamp(pre, min=0, out=h_out)
        return h

    def engine_saved(self, act, hp, h_prev, c_prev, h_raw, c):
        return h_raw

    def engine_backward(self, dh, dy, dc, saved, dxp_out, dhp_out, dh_prev_out, fast):
        if not fast:
            return super().engine_backward(dh, dy, dc, saved, dxp_out, dhp_out, dh_prev_out, fast)
        h = saved
        native.call("elman_bwd", h.dtype, h, dh, dy, dxp_out, h.numel(), int(self.nonlinearity == "relu"))
        return False

    def __repr__(self) -> str:
        return f"ElmanMath({self.nonlinearity!r})"


class LSTMMath(CellMath):
    r"""LSTM step, as torch.nn.LSTM (gate order i, f, g, o in the weight rows):

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)
        \end{aligned}

    With ``proj_size > 0`` the layer then projects :math:`h_t \leftarrow W_{hr} h_t`.
    """

    name = "lstm"
    num_gates = 4
    has_cell_state = True
    additive = True

    def step(self, xp, hp, h_prev, c_prev):
        pre = xp if hp is None else xp + hp
        H = pre.shape[-1] // 4
        # pre: (B, 4H) in blocks i | f | g | o
        s = torch.sigmoid(pre)
        i, f, o = s[..., :H], s[..., H:2 * H], s[..., 3 * H:]
        g = torch.tanh(pre[..., 2 * H:3 * H])
        c = torch.addcmul(f * c_prev, i, g)
        tc = torch.tanh(c)
        h = o * tc
        return h, c, ("torch", s, g, tc, c_prev)

    def engine_step(self, xp, hp, h_prev, c_prev, h_out, c_out, fast):
        pre = xp if hp is None else xp + hp
        n, H = c_prev.shape
        if fast:
            native.call("lstm_fwd", pre.dtype, pre, c_prev, c_out, h_out, n, H)  # pre -> activations
        else:  # the same in torch ops, into the same buffers
            s = torch.sigmoid(pre)
            g = torch.tanh(pre[..., 2 * H:3 * H])
            c = torch.addcmul(s[..., H:2 * H] * c_prev, s[..., :H], g, out=c_out)
            torch.mul(s[..., 3 * H:], torch.tanh(c), out=h_out)
            pre.copy_(s)  # pre -> activations i|f|g|o
            pre[..., 2 * H:3 * H] = g
        return ("native", pre, c_out, c_prev)

    def engine_saved(self, act, hp, h_prev, c_prev, h_raw, c):
        return ("native", act, c, c_prev)

    def engine_backward(self, dh, dy, dc, saved, dxp_out, dhp_out, dh_prev_out, fast):
        if not fast or saved[0] != "native":
            return super().engine_backward(dh, dy, dc, saved, dxp_out, dhp_out, dh_prev_out, fast)
        _, act, c, c_prev = saved
        n, H = c.shape
        native.call("lstm_bwd", dh.dtype, act, c_prev, c, dh, dy, dc, dxp_out, n, H)  # dc in place
        return False

    def backward(self, dh, dc, saved):
        if saved[0] == "native":  # activations i|f|g|o from the kernel
            _, act, c, c_prev = saved
            H = c.shape[-1]
            s, g, tc = act, act[..., 2 * H:3 * H], torch.tanh(c)
        else:
            _, s, g, tc, c_prev = saved
        H = g.shape[-1]
        i, f, o = s[..., :H], s[..., H:2 * H], s[..., 3 * H:]
        # total gradient reaching c_t: from c_{t+1} and from h_t = o * tanh(c_t)
        dc_t = torch.addcmul(dc, dh * o, 1 - tc * tc)
        dpre = torch.empty(dh.shape[:-1] + (4 * H,), dtype=dh.dtype, device=dh.device)
        # d(sigmoid)/dx = s (1 - s); d(tanh)/dx = 1 - tanh^2
        torch.mul(dc_t * g, i * (1 - i), out=dpre[..., :H])
        torch.mul(dc_t * c_prev, f * (1 - f), out=dpre[..., H:2 * H])
        torch.mul(dc_t * i, 1 - g * g, out=dpre[..., 2 * H:3 * H])
        torch.mul(dh * tc, o * (1 - o), out=dpre[..., 3 * H:])
        return dpre, dpre, None, dc_t * f


class GRUMath(CellMath):
    r"""GRU step, as torch.nn.GRU (gate order r, z, n in the weight rows):

    .. math::
        \begin{aligned}
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}
    """

    name = "gru"
    num_gates = 3
    additive = False

    def step(self, xp, hp, h_prev, c_prev):
        H = xp.shape[-1] // 3
        rz = torch.sigmoid(xp[..., :2 * H] + hp[..., :2 * H])
        r, z = rz[..., :H], rz[..., H:]
        hn = hp[..., 2 * H:]
        n = torch.tanh(torch.addcmul(xp[..., 2 * H:], r, hn))
        # h = (1 - z) n + z h_prev = n + z (h_prev - n)
        h = torch.addcmul(n, z, h_prev - n)
        return h, None, ("torch", rz, n, hn, h_prev)

    def engine_step(self, xp, hp, h_prev, c_prev, h_out, c_out, fast):
        n, H = h_prev.shape
        if fast:
            native.call("gru_fwd", xp.dtype, xp, hp, h_prev, h_out, n, H)  # xp -> activations r|z|n
        else:  # the same in torch ops, into the same buffers
            rz = torch.sigmoid(xp[..., :2 * H] + hp[..., :2 * H])
            nn = torch.tanh(torch.addcmul(xp[..., 2 * H:], rz[..., :H], hp[..., 2 * H:]))
            torch.addcmul(nn, rz[..., H:], h_prev - nn, out=h_out)
            xp[..., :2 * H] = rz  # xp -> activations r|z|n
            xp[..., 2 * H:] = nn
        return ("native", xp, hp, h_prev)

    def engine_saved(self, act, hp, h_prev, c_prev, h_raw, c):
        return ("native", act, hp, h_prev)

    def engine_backward(self, dh, dy, dc, saved, dxp_out, dhp_out, dh_prev_out, fast):
        if not fast or saved[0] != "native":
            return super().engine_backward(dh, dy, dc, saved, dxp_out, dhp_out, dh_prev_out, fast)
        _, act, hp, h_prev = saved
        n, H = h_prev.shape
        native.call("gru_bwd", dh.dtype, act, hp, h_prev, dh, dy, dxp_out, dhp_out, dh_prev_out, n, H)
        return True

    def backward(self, dh, dc, saved):
        if saved[0] == "native":  # activations r|z|n from the kernel
            _, act, hp, h_prev = saved
            H = h_prev.shape[-1]
            rz, n, hn = act[..., :2 * H], act[..., 2 * H:], hp[..., 2 * H:]
        else:
            _, rz, n, hn, h_prev = saved
        H = n.shape[-1]
        r, z = rz[..., :H], rz[..., H:]
        shape = dh.shape[:-1] + (3 * H,)
        dxp = torch.empty(shape, dtype=dh.dtype, device=dh.device)
        dn_pre = dh * (1 - z) * (1 - n * n)
        torch.mul(dn_pre * hn, r * (1 - r), out=dxp[..., :H])
        torch.mul(dh * (h_prev - n), z * (1 - z), out=dxp[..., H:2 * H])
        dxp[..., 2 * H:] = dn_pre
        dhp = dxp.clone()
        torch.mul(dn_pre, r, out=dhp[..., 2 * H:])
        return dxp, dhp, dh * z, None


def MATH(mode: str) -> CellMath:
    """The :class:`CellMath` of a torch.nn ``RNNBase.mode``."""
    if mode == "LSTM":
        return LSTMMath()
    if mode == "GRU":
        return GRUMath()
    if mode == "RNN_TANH":
        return ElmanMath("tanh")
    if mode == "RNN_RELU":
        return ElmanMath("relu")
    raise ValueError(f"expected a mode of LSTM, GRU, RNN_TANH or RNN_RELU, got {mode!r}")
