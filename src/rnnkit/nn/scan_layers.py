r"""Recurrent layers whose step is linear in the state, run by a parallel scan.

Each layer computes its gates for all steps at once (one matrix product over the whole
sequence: no gate reads the previous state), turns them into the coefficients of
:math:`h_t = a_t \odot h_{t-1} + b_t` (:mod:`rnnkit.nn.scan_math`) and runs that
recurrence (:mod:`rnnkit.nn.scan`):

* ``mode="parallel"``: for training and for reading long inputs: on CPU with the C
  kernels built, one pass computing the coefficients and the recurrence over every step,
  and one for their hand-written derivatives (:mod:`rnnkit.nn.scan_native`); otherwise
  (no compiler, ``RNNKIT_NATIVE=0``, other devices and dtypes, ``torch.compile``) the
  chunked scan with the gate math, block by block of steps, kept in the cache
  (:func:`rnnkit.nn.scan.blocked_scan`);
* ``mode="sequential"``: one step after the other, for streaming and generation;
* ``mode="auto"`` (default): parallel for more than one step, sequential for one;
* under ``torch.export`` (and ``torch.onnx.export(..., dynamo=True)``), a ``while_loop``
  whatever the mode, so that the graph has a dynamic batch and sequence length.

All give the same numbers (float64 within 1e-10). The contract is our LSTM's
(:mod:`rnnkit.nn.layers`): torch.nn's arguments and shapes, ``forward(input, hx=None,
*, lengths=None)`` with zero outputs at padded steps, each sequence's state after its own
last step in ``h_n``, the reverse direction starting at each sequence's own last step,
and a length of 0 giving the initial state. A state handed back in continues exactly:
feeding a sequence in chunks gives what one pass gives.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from . import exportable
from .checks import _check_state, check_input, check_lengths
from .layers import _traced, reversal_index, reverse_within_lengths
from .scan import blocked_scan, linear_scan, mask_padded
from .scan_conv import shifted_linear
from .scan_native import native_scan, usable
from .scan_math import RGLRU_C, mingru_coefficients, minlstm_coefficients, qrnn_coefficients, rglru_coefficients

__all__ = ["MinGRU", "MinLSTM", "RGLRU", "QRNN", "MODES"]

MODES = ("auto", "parallel", "sequential")


def check_mode(mode, name: str) -> str:
    if mode not in MODES:
        raise ValueError(f"{name}: expected mode to be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    return mode


def zero_padded(y: Tensor, valid: Tensor | None) -> Tensor:
    """``y`` (T, B, F) with zeros where ``valid`` (T, B, 1) is False."""
    return y if valid is None else torch.where(valid, y, torch.zeros((), dtype=y.dtype, device=y.device))


def at_last_step(y: Tensor, lengths: Tensor | None, default: Tensor) -> Tensor:
    """Each sequence's row of ``y`` (T, B, F) at its own last step (B, F); ``default``
    (B, F) for a length of 0; ``y[-1]`` without lengths."""
    if lengths is None:
        return y[-1]
    idx = (lengths - 1).clamp(min=0).view(1, -1, 1).expand(1, y.shape[1], y.shape[2])
    return torch.where((lengths > 0).unsqueeze(1), y.gather(0, idx)[0], default)


class ScanRecurrent(nn.Module):
    """Base of the parallel-scan layers: arguments, checks, ``lengths``, directions,
    layers, dropout and modes. A subclass declares its parameters (``_param_shapes``)
    and the coefficients of its recurrence (``_coefficients``), or a whole direction
    (``_direction``) when it has more state than h.

    Parameters are named as torch.nn's: ``{role}_l{k}`` and ``{role}_l{k}_reverse``.
    """

    # public state tensors, as multiples of hidden_size in their last dimension
    state_widths: tuple = (1,)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 mode: str = "auto", device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected {what} to be a positive integer, got {v!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: expected dropout to be a number in [0, 1], got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.mode = check_mode(mode, name)
        D = 2 if bidirectional else 1
        fk = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else D * hidden_size
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                for role, shape in self._param_shapes(in_size).items():
                    if role.startswith("bias") and not self.bias:
                        continue
                    setattr(self, role + sfx, nn.Parameter(torch.empty(shape, **fk)))
        self.reset_parameters()

    # -- what a subclass writes ----------------------------------------------------------

    def _param_shapes(self, in_size: int) -> dict:
        raise NotImplementedError

    def _inputs(self, w: dict, x: Tensor) -> tuple[list, list]:
        """The recurrence's inputs from the layer input x (T, B, I): time-major tensors
        (the gate pre-activations, every step at once) and per-step-shared tensors, the
        arguments of ``_coefficients``."""
        raise NotImplementedError

    @staticmethod
    def _coefficients(*args) -> tuple[Tensor, Tensor]:
        """a, b (t, B, H) from ``_inputs``' tensors (time-major ones cut to t steps)."""
        raise NotImplementedError

    # the cell's name among rnnkit.nn.scan_native.CELLS (its C kernels), or None
    _native: str | None = None

    @staticmethod
    def _native_inputs(seqs: list, params: list) -> dict:
        """``_inputs``' tensors as :func:`rnnkit.nn.scan_native.native_scan`'s keyword
        arguments: the pre-activations ``pre`` (and RG-LRU's ``u``, ``sp``)."""
        return {"pre": seqs[0]}

    def _scan(self, w: dict, x: Tensor, s0: Tensor, valid, run: str) -> tuple[Tensor, Tensor]:
        """The states (T, B, H) of the recurrence from s0 (B, H), and the last one (B, H)
        (on the C kernels a separate output: its gradient joins the scan's backward
        without a (T, B, H) tensor of zeros around it)."""
        seqs, params = self._inputs(w, x)
        if run == "parallel" and self._native is not None:   # coefficients and scan in one C pass
            args = {k: v.contiguous() for k, v in self._native_inputs(seqs, params).items()}
            h0 = s0.contiguous()
            if usable(h0, *args.values()):
                return native_scan(self._native, h0=h0, valid=valid, with_last=True, **args)
        if run == "parallel":   # coefficients and scan block by block, in the cache
            hs = blocked_scan(self._coefficients, seqs, params, s0, valid)
        else:
            a, b = mask_padded(*self._coefficients(*seqs, *params), valid)   # (T, B, H) each
            hs = linear_scan(a, b, s0, run)
        return hs, hs[-1]

    def _direction(self, w: dict, x: Tensor, s0: Tensor, valid, lengths, run: str):
        """One layer, one direction: x (T, B, I), s0 (B, S) -> y (T, B, H), s_n (B, S)."""
        hs, h_n = self._scan(w, x, s0, valid, run)               # (T, B, H), (B, H)
        return zero_padded(hs, valid), h_n

    # -- parameters ----------------------------------------------------------------------

    def reset_parameters(self) -> None:
        """Uniform in (-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch.nn's recurrent layers."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -k, k)

    def _weights(self, layer: int, direction: int) -> dict:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        return {role: getattr(self, role + sfx, None) for role in self._param_shapes(1)}

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for k, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False),
                           ("mode", "auto")):
            if getattr(self, k) != default:
                s += f", {k}={getattr(self, k)!r}"
        return s

    # -- the state -----------------------------------------------------------------------

    def _state_in(self, hx, B: int, unbatched: bool, x: Tensor, name: str) -> Tensor:
        """hx as one tensor (L*D, B, S), S = sum(state_widths) * hidden_size."""
        LD = self.num_layers * (2 if self.bidirectional else 1)
        H = self.hidden_size
        widths = [w * H for w in self.state_widths]
        if hx is None:
            return x.new_zeros(LD, B, sum(widths))
        lead = (LD,) if unbatched else (LD, B)
        if len(widths) == 1:
            parts, names = [hx], ["hx"]
        else:
            names = ["h_0", "c_0"][:len(widths)]
            if not isinstance(hx, (tuple, list)) or len(hx) != len(widths):
                got = type(hx).__name__ + (f" of {len(hx)}" if isinstance(hx, (tuple, list)) else "")
                raise ValueError(f"{name}: expected hx to be a pair ({', '.join(names)}), got {got}")
            parts = list(hx)
        for p, w, what in zip(parts, widths, names):
            _check_state(p, lead + (w,), what, x, name)
        s = torch.cat(parts, -1) if len(parts) > 1 else parts[0]
        return s.unsqueeze(1) if unbatched else s

    def _state_out(self, s: Tensor, unbatched: bool):
        """(L*D, B, S) -> the public state (a tensor, or a tuple of them)."""
        if unbatched:
            s = s.squeeze(1)
        if len(self.state_widths) == 1:
            return s
        return tuple(s.split([w * self.hidden_size for w in self.state_widths], -1))

    # -- forward -------------------------------------------------------------------------

    def forward(self, input: Tensor, hx=None, *, lengths=None, mode: str | None = None):
        """Run the layer.

        Args:
            input: (T, B, input_size), or (B, T, input_size) with ``batch_first``, or
                (T, input_size) unbatched.
            hx: the initial state, zeros by default (see the class's Shape).
            lengths: 1-D integer tensor (B,) of each sequence's length in a
                right-padded batch.
            mode: "auto", "parallel" or "sequential"; the layer's ``mode`` by default.

        Returns:
            ``(output, h_n)``: output (T, B, D * hidden_size) zero at padded steps,
            h_n each sequence's state after its own last step.
        """
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            raise ValueError(f"{name}: expected a padded tensor with lengths=, got a PackedSequence")
        check_input(input, None, self.input_size, name)
        mode = check_mode(self.mode if mode is None else mode, name)
        exporting = exportable.is_exporting()
        x, unbatched = input, input.dim() == 2
        if unbatched:
            if lengths is not None:
                raise ValueError(f"{name}: expected lengths=None for an unbatched 2-D input "
                                 f"(slice the sequence instead), got a lengths tensor")
            x = x.unsqueeze(0 if self.batch_first else 1)
        if self.batch_first:
            x = x.transpose(0, 1)                                  # (T, B, I)
        T, B = x.shape[0], x.shape[1]
        if not exporting and T == 0:
            raise ValueError(f"{name}: expected at least one time step, got input of shape {tuple(input.shape)}")
        state = self._state_in(hx, B, unbatched, x, name)          # (L*D, B, S)
        if lengths is not None:
            lengths = check_lengths(lengths, B, T, name)
            if not _traced(lengths) and bool((lengths == T).all()):
                lengths = None                                     # nothing is padded
        if exporting:
            run = "export"
        elif mode == "auto":
            run = "parallel" if T > 1 else "sequential"
        else:
            run = mode
        valid = None
        if lengths is not None:
            lengths = lengths.to(x.device)
            valid = (torch.arange(T, device=x.device).unsqueeze(1) < lengths).unsqueeze(-1)  # (T, B, 1)
        D = 2 if self.bidirectional else 1
        rev = reversal_index(lengths, T) if (D == 2 and lengths is not None) else None
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                xin = x if d == 0 else reverse_within_lengths(x, lengths, rev)
                y, s = self._direction(self._weights(layer, d), xin, state[k], valid, lengths, run)
                outs.append(y if d == 0 else reverse_within_lengths(y, lengths, rev))
                finals.append(s)
            x = outs[0] if D == 1 else torch.cat(outs, -1)         # (T, B, D*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        y = x.transpose(0, 1) if self.batch_first else x
        if unbatched:
            y = y.squeeze(0 if self.batch_first else 1)
        return y, self._state_out(torch.stack(finals, 0), unbatched)


class MinGRU(ScanRecurrent):
    r"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?", arXiv:2410.01201): a GRU
    whose gates read the input only, so that its step is linear in the state.

    .. math::
        z_t = \sigma(W_z x_t + b_z), \qquad \tilde h_t = g(W_h x_t + b_h), \qquad
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    with the paper's stable activation :math:`g(x) = x + 0.5` for :math:`x \ge 0`,
    :math:`\sigma(x)` otherwise (its log-space version's; here
    :math:`1 - z_t = \sigma(-(W_z x_t + b_z))` is computed as such). The output is
    :math:`h_t`; the state is :math:`h` only. Stacked layers read the outputs below.

    Args:
        input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, device=None, dtype=None: as torch.nn.GRU.
        mode: "auto" (parallel scan for more than one step, step by step for one),
            "parallel" or "sequential" (:mod:`rnnkit.nn.scan_layers`).

    Parameters: ``weight_ih_l{k}`` (2 * hidden_size, in) rows :math:`[W_z; W_h]`,
    ``bias_ih_l{k}`` (2 * hidden_size); ``_reverse`` for the backward direction.

    Shape:
        input (T, B, I) or (B, T, I) with batch_first, or (T, I); hx (L*D, B, H);
        output (T, B, D*H); h_n (L*D, B, H). ``lengths`` (B,).

    Example::

        >>> gru = rnnkit.MinGRU(8, 16, batch_first=True)
        >>> y, h_n = gru(torch.randn(4, 10, 8), lengths=torch.tensor([10, 9, 2, 0]))
        >>> y2, h2 = gru(torch.randn(4, 5, 8), h_n)      # continues where it stopped
    """

    def _param_shapes(self, in_size):
        H = self.hidden_size
        return {"weight_ih": (2 * H, in_size), "bias_ih": (2 * H,)}

    _native = "mingru"

    def _inputs(self, w, x):
        return [F.linear(x, w["weight_ih"], w["bias_ih"])], []           # (T, B, 2H)

    @staticmethod
    def _coefficients(pre):
        return mingru_coefficients(*pre.chunk(2, -1))


class MinLSTM(ScanRecurrent):
    r"""minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", arXiv:2410.01201): an
    LSTM whose gates read the input only and whose output is its state.

    .. math::
        f_t = \sigma(W_f x_t + b_f), \quad i_t = \sigma(W_i x_t + b_i), \quad
        \tilde h_t = g(W_h x_t + b_h),

        f'_t = \frac{f_t}{f_t + i_t}, \quad i'_t = \frac{i_t}{f_t + i_t}, \qquad
        h_t = f'_t \odot h_{t-1} + i'_t \odot \tilde h_t

    with the normalised gates (the paper's time-independent scale) and its stable
    activation :math:`g(x) = x + 0.5` for :math:`x \ge 0`, :math:`\sigma(x)` otherwise.
    :math:`f'_t = \sigma(\log f_t - \log i_t)` is computed in log space as the paper's
    log-space version does (:func:`rnnkit.nn.scan_math.minlstm_coefficients`). The state
    is :math:`h` only (no cell state).

    Args:
        input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, device=None, dtype=None: as torch.nn.LSTM.
        mode: "auto", "parallel" or "sequential" (:mod:`rnnkit.nn.scan_layers`).

    Parameters: ``weight_ih_l{k}`` (3 * hidden_size, in) rows :math:`[W_f; W_i; W_h]`,
    ``bias_ih_l{k}`` (3 * hidden_size).

    Shape:
        input (T, B, I) or (B, T, I) with batch_first, or (T, I); hx (L*D, B, H);
        output (T, B, D*H); h_n (L*D, B, H). ``lengths`` (B,).

    Example::

        >>> lstm = rnnkit.MinLSTM(8, 16, num_layers=2, bidirectional=True)
        >>> y, h_n = lstm(torch.randn(10, 4, 8), lengths=torch.tensor([10, 7, 3, 1]))
    """

    def _param_shapes(self, in_size):
        H = self.hidden_size
        return {"weight_ih": (3 * H, in_size), "bias_ih": (3 * H,)}

    _native = "minlstm"

    def _inputs(self, w, x):
        return [F.linear(x, w["weight_ih"], w["bias_ih"])], []           # (T, B, 3H)

    @staticmethod
    def _coefficients(pre):
        return minlstm_coefficients(*pre.chunk(3, -1))


class RGLRU(ScanRecurrent):
    r"""RG-LRU, the Real-Gated Linear Recurrent Unit of Griffin and Hawk (De et al.
    2024, "Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient
    Language Models", arXiv:2402.19427), with the Griffin block's linear input projection
    to the recurrence's width.

    .. math::
        u_t = W_{in} x_t + b_{in}, \quad
        r_t = \sigma(W_a u_t + b_a), \quad i_t = \sigma(W_x u_t + b_x),

        a_t = \sigma(\Lambda)^{c\, r_t} \; (c = 8), \qquad
        h_t = a_t \odot h_{t-1} + \sqrt{1 - a_t^2} \odot (i_t \odot u_t)

    Real-valued (it exports to ONNX as is); :math:`\log a_t = -c\, r_t\,
    \mathrm{softplus}(-\Lambda)` and :math:`1 - a_t^2 = -\mathrm{expm1}(2 \log a_t)`
    are computed as such (:func:`rnnkit.nn.scan_math.rglru_coefficients`). :math:`\Lambda`
    is initialised so that :math:`a^c` is uniform in ``decay_init``, (0, 0.999) by default;
    the other weights as torch.nn's. The paper draws :math:`a^c` from [0.9, 0.999]
    (``decay_init=(0.9, 0.999)``), inside the Griffin block, whose short convolution and
    residual branch carry the last few steps; in a plain stack of these layers that range
    averages every step over tens to a thousand steps from the start, and a character
    model learns far slower: training cross-entropy over the last 20 of 300 Adam steps
    (2 layers of 256, batch 32 x 128 characters; ``benchmarks/_rglru_init.py``) 2.82 nats
    with (0.9, 0.999), 2.03 with (0.5, 0.999), 1.79 with (0, 0.999) on the stdlib's text,
    and 3.23 / 2.31 / 2.12 on Debian's fortunes (MinGRU: 1.87 and 2.16). The range is
    trainable from either start (:math:`\Lambda` is a parameter). The output is
    :math:`h_t`, the state :math:`h`. The Griffin block's short convolution and output
    gate are not part of this layer.

    Args:
        input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, device=None, dtype=None: as torch.nn.GRU
            (``bias=False`` drops :math:`b_{in}, b_a, b_x`; :math:`\Lambda` stays).
        mode: "auto", "parallel" or "sequential" (:mod:`rnnkit.nn.scan_layers`).
        decay_init: (low, high), 0 <= low < high < 1: the range of :math:`a^c` at
            initialisation.

    Parameters: ``weight_ih_l{k}`` (H, in) :math:`W_{in}`, ``bias_ih_l{k}`` (H),
    ``weight_gate_l{k}`` (2H, H) rows :math:`[W_a; W_x]`, ``bias_gate_l{k}`` (2H),
    ``lambda_l{k}`` (H) :math:`\Lambda`.

    Shape:
        input (T, B, I) or (B, T, I) with batch_first, or (T, I); hx (L*D, B, H);
        output (T, B, D*H); h_n (L*D, B, H). ``lengths`` (B,).

    Example::

        >>> lru = rnnkit.RGLRU(8, 16, batch_first=True)
        >>> y, h_n = lru(torch.randn(4, 100, 8), lengths=torch.tensor([100, 50, 7, 1]))
    """

    c = RGLRU_C

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 mode: str = "auto", device=None, dtype=None, *, decay_init: tuple = (0.0, 0.999)):
        try:
            low, high = (float(v) for v in decay_init)
            ok = 0.0 <= low < high < 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"RGLRU: expected decay_init to be (low, high) with 0 <= low < high < 1, "
                             f"got {decay_init!r}")
        self.decay_init = (low, high)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         mode, device, dtype)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", decay_init={self.decay_init!r}" if self.decay_init != (0.0, 0.999) else "")

    def _param_shapes(self, in_size):
        H = self.hidden_size
        return {"weight_ih": (H, in_size), "bias_ih": (H,), "weight_gate": (2 * H, H), "bias_gate": (2 * H,),
                "lambda": (H,)}

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("lambda_"):
                    # a^c uniform in decay_init: Lambda = logit(u^(1/c)); u >= 1e-8 keeps Lambda finite
                    a = torch.empty_like(p).uniform_(*self.decay_init).clamp_min_(1e-8).pow(1.0 / self.c)
                    p.copy_(torch.log(a) - torch.log1p(-a))

    _native = "rglru"

    @staticmethod
    def _native_inputs(seqs, params):
        return {"pre": seqs[0], "u": seqs[1], "sp": F.softplus(-params[0])}   # (T, B, 2H), (T, B, H), (H,)

    def _inputs(self, w, x):
        u = F.linear(x, w["weight_ih"], w["bias_ih"])                          # (T, B, H)
        return [F.linear(u, w["weight_gate"], w["bias_gate"]), u], [w["lambda"]]   # (T, B, 2H), (T, B, H)

    @staticmethod
    def _coefficients(gates, u, lam):
        kr, ki = gates.chunk(2, -1)
        return rglru_coefficients(kr, ki, u, lam, RGLRU_C)


class QRNN(ScanRecurrent):
    r"""QRNN, the quasi-recurrent neural network with fo-pooling (Bradbury et al. 2017,
    "Quasi-Recurrent Neural Networks", ICLR, arXiv:1611.01576), with a convolution of
    width 2 over the inputs: every gate reads the step and the one before it.

    .. math::
        z_t = \tanh(W^z_1 x_{t-1} + W^z_2 x_t + b_z), \quad
        f_t = \sigma(W^f_1 x_{t-1} + W^f_2 x_t + b_f), \quad
        o_t = \sigma(W^o_1 x_{t-1} + W^o_2 x_t + b_o),

        c_t = f_t \odot c_{t-1} + (1 - f_t) \odot z_t, \qquad h_t = o_t \odot c_t

    Why QRNN and not SRU (Lei et al. 2018): fo-pooling is linear in the state as the
    paper writes it, so it runs on the same scan as the other layers; SRU's 2018 form
    puts :math:`v \odot c_{t-1}` inside its gates, which is not linear (only its 2017
    form without it would be).

    The state, so that a sequence fed in chunks gives what one pass gives: the
    convolution needs the input of the step before the chunk, and :math:`h` is not
    enough to continue (:math:`c` cannot be recovered from :math:`o \odot c`). ``hx``
    and ``h_n`` are a pair ``(h, c)`` like an LSTM's:

    * ``h`` (L*D, B, H): the output :math:`h_t` at each sequence's last step (what a
      task head reads); the recurrence does not read it back (a length of 0 returns it);
    * ``c`` (L*D, B, 4H): :math:`[c_t;\; W_1 x_t]`: the cell state and the previous
      step's share of the next gates, :math:`W_1 = [W^z_1; W^f_1; W^o_1]` applied to the
      last input (of width 3H whatever the layer's input size). Zeros (the default)
      mean a zero input before the first step, as the paper's masked convolution pads.

    In the reverse direction the "previous" step is the next one in time, and its state
    is applied at each sequence's own last step.

    Args:
        input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, device=None, dtype=None: as torch.nn.LSTM.
        mode: "auto", "parallel" or "sequential" (:mod:`rnnkit.nn.scan_layers`).

    Parameters: ``weight_ih_l{k}`` (3H, in) :math:`W_2 = [W^z_2; W^f_2; W^o_2]` (the
    current step), ``weight_prev_l{k}`` (3H, in) :math:`W_1` (the step before),
    ``bias_ih_l{k}`` (3H).

    Shape:
        input (T, B, I) or (B, T, I) with batch_first, or (T, I); hx = (h_0 (L*D, B, H),
        c_0 (L*D, B, 4H)); output (T, B, D*H); h_n = (h, c) as hx. ``lengths`` (B,).

    Example::

        >>> qrnn = rnnkit.QRNN(8, 16, batch_first=True)
        >>> y, (h, c) = qrnn(torch.randn(4, 10, 8))
        >>> y2, state = qrnn(torch.randn(4, 5, 8), (h, c))   # = steps 10..14 of one pass
    """

    state_widths = (1, 4)

    def _param_shapes(self, in_size):
        H = self.hidden_size
        return {"weight_ih": (3 * H, in_size), "weight_prev": (3 * H, in_size), "bias_ih": (3 * H,)}

    def _inputs(self, w, x):
        return [w["kzf"]], []

    @staticmethod
    def _coefficients(kzf):
        return qrnn_coefficients(*kzf.chunk(2, -1))

    def _direction(self, w, x, s0, valid, lengths, run):
        H = self.hidden_size
        h0, c0, p0 = s0.split([H, H, 3 * H], -1)                         # (B, H), (B, H), (B, 3H)
        W2, W1, b = w["weight_ih"], w["weight_prev"], w["bias_ih"]
        if run == "export":
            # one product over every step, its previous-step half shifted by one (the
            # form below makes torch.export guard the sequence length)
            cur, prev = F.linear(x, torch.cat([W2, W1]),
                                 None if b is None else torch.cat([b, b.new_zeros(3 * H)])).split(3 * H, -1)
            pre = (cur + torch.cat([p0.unsqueeze(0), prev[:-1]])).split([2 * H, H], -1)
        elif not torch.compiler.is_compiling():
            # W_2 x_t + b + W_1 x_{t-1} (W_1 x_{-1} = p0) accumulated in place by the
            # products (rnnkit.nn.scan_conv); [z; f] and o apart unless the C kernel
            # runs the whole step (fo-pooling and the output gate) from [z; f; o]
            c0c = c0.contiguous()
            if run == "parallel" and usable(c0c, W2):
                kzfo, = shifted_linear(x, W2, W1, b, p0, (3 * H,))            # (T, B, 3H)
                # states, last state, output, last output: (T, B, H), (B, H), (T, B, H), (B, H)
                cs, c_n, y, y_n = native_scan("qrnn", kzfo, c0c, valid, with_last=True)
                return y, self._final(x, y, c_n, h0, p0, W1, lengths, y_n)
            pre = shifted_linear(x, W2, W1, b, p0, (2 * H, H))                 # (T, B, 2H), (T, B, H)
        else:
            # the same under torch.compile, in torch ops
            pre = []
            for rows in (slice(0, 2 * H), slice(2 * H, 3 * H)):
                prev = torch.cat([p0[:, rows].unsqueeze(0), F.linear(x[:-1], W1[rows])])   # (T, B, .)
                pre.append(F.linear(x, W2[rows], None if b is None else b[rows]) + prev)
        kzf, ko = pre                                                       # (T, B, 2H), (T, B, H)
        cs, c_n = self._scan({"kzf": kzf}, None, c0, valid, run)            # (T, B, H), (B, H)
        y = zero_padded(torch.sigmoid(ko) * cs, valid)
        return y, self._final(x, y, c_n, h0, p0, W1, lengths)

    @staticmethod
    def _final(x, y, c_n, h0, p0, W1, lengths, y_n=None) -> Tensor:
        """The state after each sequence's last step (B, 5H): [h; c; W_1 x_last]
        (``y_n``: ``y[-1]`` as its own tensor, used without lengths)."""
        x_last = at_last_step(x, lengths, x[0])                             # (B, I): each sequence's last input
        p_n = F.linear(x_last, W1)                                          # (B, 3H)
        if lengths is not None:
            p_n = torch.where((lengths > 0).unsqueeze(1), p_n, p0)          # a length of 0 keeps the state
        h_n = y_n if (lengths is None and y_n is not None) else at_last_step(y, lengths, h0)
        return torch.cat([h_n, c_n, p_n], -1)
