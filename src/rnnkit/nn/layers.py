"""Recurrent layers: drop-in replacements for torch.nn.RNN, LSTM and GRU.

They are subclasses of the torch.nn classes, so the constructor arguments, defaults,
parameter names and shapes, gate order, initialisation and state_dict are torch.nn's
own. What they add is in ``forward``:

* ``lengths``: a right-padded batch of mixed lengths is computed exactly as if it had
  been packed (zero outputs at padded steps, each sequence's own final state, the
  reverse direction starting at each sequence's own last step), without packing;
* ``backend``: ``"fused"`` runs torch's native kernels, ``"unrolled"`` runs the cell
  math of :mod:`rnnkit.nn.cell_math` with backpropagation through time written out
  (:mod:`rnnkit.nn.unrolled`). Both give the same numbers. ``"auto"`` picks the
  faster (:func:`auto_backend`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from . import exportable, fused, native
from .cell_math import MATH
from .checks import check_backend, check_hidden, check_input, check_lengths
from .unrolled import unrolled_layer

__all__ = ["RNN", "LSTM", "GRU"]


def reverse_within_lengths(x: Tensor, lengths: Tensor | None, index: Tensor | None = None) -> Tensor:
    """Reverse each sequence of a time-major (T, B, F) batch within its own length;
    padded steps stay where they are. ``index`` (T, B) may be passed precomputed."""
    if lengths is None:
        return x.flip(0)
    if index is None:
        index = reversal_index(lengths, x.shape[0])
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


def reversal_index(lengths: Tensor, T: int) -> Tensor:
    """(T, B) index: t -> lengths[b] - 1 - t for t < lengths[b], else t."""
    t = torch.arange(T, device=lengths.device).unsqueeze(1)
    return torch.where(t < lengths, lengths - 1 - t, t)


def auto_backend(mode: str, proj_size: int, x: Tensor, lengths: Tensor | None = None) -> str:
    """The path ``backend="auto"`` takes.

    torch has a truly fused kernel for cuDNN on GPU and, on CPU, for float32 LSTM
    without projection (oneDNN). Every other CPU configuration (GRU, RNN, LSTM with
    proj_size, float64) runs torch's composite implementation, one autograd operation
    at a time, which the unrolled path beats when its C kernels are available
    (benchmarks/README.md has the figures). Under autocast (mixed precision), torch's
    kernels, which cast each operation to the autocast dtype.

    The meta device chooses as the CPU does. Under torch.compile / torch.export and on
    the meta device, an LSTM with ``lengths`` takes the unrolled path (a custom
    operator that they see through): the fused path's lengths read weight values.
    """
    if x.device.type not in ("cpu", "meta") or x.dtype not in (torch.float32, torch.float64):
        return "fused"
    if torch.is_autocast_enabled("cpu"):
        return "fused"
    if mode == "LSTM" and lengths is not None and _traced(x):
        return "unrolled"
    if mode == "LSTM" and proj_size == 0 and x.dtype == torch.float32:
        return "fused"
    return "unrolled" if native.enabled() else "fused"


def _traced(t: Tensor) -> bool:
    """Whether ``t``'s values cannot be read here (torch.compile, torch.export, meta)."""
    return torch.compiler.is_compiling() or t.device.type == "meta"


class _Recurrent:
    """The forward shared by :class:`RNN`, :class:`LSTM` and :class:`GRU`."""

    # tests force a strategy for lengths on the fused path; None chooses by device
    _lengths_strategy: str | None = None

    def _layer_weights(self, layer: int, direction: int):
        sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = lambda n: getattr(self, n + sfx)  # noqa: E731
        b_ih = get("bias_ih") if self.bias else None
        b_hh = get("bias_hh") if self.bias else None
        w_hr = get("weight_hr") if getattr(self, "proj_size", 0) > 0 else None
        return get("weight_ih"), get("weight_hh"), b_ih, b_hh, w_hr

    def forward(self, input, hx=None, *, lengths=None):
        """Run the layer.

        Args:
            input: (T, B, input_size), or (B, T, input_size) with ``batch_first``, or
                (T, input_size) unbatched, or a PackedSequence.
            hx: initial state, zeros by default: (num_layers * D, B, H_out), and for
                LSTM a pair (h_0, c_0) with c_0 of shape (num_layers * D, B, hidden_size).
            lengths: 1-D integer tensor (B,) of each sequence's length in a
                right-padded batch, on any device.

        Returns:
            ``(output, h_n)`` and for LSTM ``(output, (h_n, c_n))``, as torch.nn.
            With ``lengths``, output is zero at padded steps and h_n / c_n are each
            sequence's state after its own last step.
        """
        if exportable.is_exporting():  # a graph with dynamic batch and time (rnnkit.nn.exportable)
            return exportable.exportable_forward(self, input, hx, lengths)
        name = type(self).__name__
        backend = check_backend(self.backend, name)
        is_lstm = self.mode == "LSTM"
        D = 2 if self.bidirectional else 1
        P = self.proj_size if getattr(self, "proj_size", 0) > 0 else self.hidden_size

        packed_in = isinstance(input, PackedSequence)
        if packed_in:
            if lengths is not None:
                raise ValueError(f"{name}: expected lengths=None with a PackedSequence input "
                                 "(it carries its own lengths), got a lengths tensor")
            x, lengths = pad_packed_sequence(input)  # (T, B, I), batch in original order
            batch_first, unbatched = False, False
            check_input(x, 3, self.input_size, name)
        else:
            check_input(input, None, self.input_size, name)
            x, batch_first, unbatched = input, self.batch_first, input.dim() == 2
            if unbatched:
                if lengths is not None:
                    raise ValueError(f"{name}: expected lengths=None for an unbatched 2-D input "
                                     f"(slice the sequence instead), got lengths of shape "
                                     f"{tuple(torch.as_tensor(lengths).shape)}")
                x = x.unsqueeze(0 if batch_first else 1)
        B = x.shape[0] if batch_first else x.shape[1]
        T = x.shape[1] if batch_first else x.shape[0]
        hx = check_hidden(hx, is_lstm, self.num_layers * D, B, P, self.hidden_size, unbatched, x, name)
        if lengths is not None:
            lengths = check_lengths(lengths, B, T, name)
            if not _traced(lengths) and bool((lengths == T).all()):
                lengths = None  # nothing is padded: the plain path is exact

        if backend == "auto":
            backend = auto_backend(self.mode, getattr(self, "proj_size", 0), x, lengths)
        if backend == "fused" and lengths is None:
            self._update_flat_weights()
            out = fused.fused_stack(self.mode, x, hx, self._flat_weights, self.bias,
                                    self.num_layers, self.dropout, self.training,
                                    self.bidirectional, batch_first)
            y, h_n = out[0], out[1]
            c_n = out[2] if is_lstm else None
        else:
            xt = x.transpose(0, 1) if batch_first else x  # (T, B, I)
            if backend == "fused":
                y, h_n, c_n = self._fused_lengths(xt, hx, lengths)
            else:
                y, h_n, c_n = self._unrolled(xt, hx, lengths)
            if batch_first:
                y = y.transpose(0, 1)

        if packed_in:
            # re-pack in the input's own order, so batch_sizes and indices are the same
            order = input.sorted_indices
            y_sorted = y if order is None else y.index_select(1, order)
            lens = lengths_sorted = (torch.full((B,), T) if lengths is None else lengths.cpu())
            if order is not None:
                lengths_sorted = lens.index_select(0, order.cpu())
            data = pack_padded_sequence(y_sorted, lengths_sorted, enforce_sorted=True).data
            y = PackedSequence(data, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        elif unbatched:
            y = y.squeeze(0 if batch_first else 1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return (y, (h_n, c_n)) if is_lstm else (y, h_n)

    # -- lengths on the fused kernels --------------------------------------------------

    def _fused_lengths(self, x, hx, lengths):
        mask = torch.arange(x.shape[0], device=x.device).unsqueeze(1) < lengths.to(x.device)
        strategy = self._lengths_strategy or ("pack" if x.is_cuda else "mask")
        if strategy == "pack":
            self._update_flat_weights()
            return fused.fused_stack_packed(self.mode, x, hx, self._flat_weights, self.bias,
                                            self.num_layers, self.dropout, self.training,
                                            self.bidirectional, lengths.to(x.device), mask)
        lengths = lengths.to(x.device)
        last = (lengths - 1).clamp(min=0).view(1, -1, 1)
        # padded steps must not feed NaN or large values into the kernel
        x = torch.where(mask.unsqueeze(-1), x, x.new_zeros(()))

        def run_one(xin, h0, c0, weights):
            return fused.fused_layer_masked(self.mode, xin, h0, c0, weights, lengths, mask,
                                            last, self.training)

        return self._stack(x, hx, lengths, run_one)

    # -- the unrolled path -------------------------------------------------------------

    def _unrolled(self, x, hx, lengths):
        math = MATH(self.mode)
        is_lstm = self.mode == "LSTM"
        h0, c0 = hx if is_lstm else (hx, None)
        order = None
        batch_sizes = None
        if lengths is not None:
            lengths = lengths if lengths.device.type == "meta" else lengths.cpu()
            # longest first, so the sequences still running at step t are the first rows
            lengths, order = torch.sort(lengths, descending=True, stable=True)
            if _traced(lengths) or bool((order != torch.arange(order.numel())).any()):
                order_d = order.to(x.device)
                x = x.index_select(1, order_d)
                h0 = h0.index_select(1, order_d)
                c0 = c0.index_select(1, order_d) if c0 is not None else None
            else:
                order = None
            T = x.shape[0]
            # (T,) int64: the sequences still running at each step
            batch_sizes = (lengths.unsqueeze(0) > torch.arange(T, device=lengths.device).unsqueeze(1)).sum(1)
            lengths = lengths.to(x.device)

        def run_one(xin, h0_, c0_, weights):
            return unrolled_layer(math, batch_sizes, xin, h0_, c0_, weights)

        y, h_n, c_n = self._stack(x, (h0, c0) if is_lstm else h0, lengths, run_one)
        if order is not None:
            back = torch.argsort(order).to(x.device)
            y = y.index_select(1, back)
            h_n = h_n.index_select(1, back)
            c_n = c_n.index_select(1, back) if c_n is not None else None
        return y, h_n, c_n

    # -- the stack of layers and directions, shared by both paths ----------------------

    def _stack(self, x, hx, lengths, run_one):
        """Run every layer and direction with ``run_one(x, h0, c0, weights)``.
        x: (T, B, I) time-major. Returns (y (T, B, D*P), h_n, c_n or None)."""
        is_lstm = self.mode == "LSTM"
        h0, c0 = hx if is_lstm else (hx, None)
        D = 2 if self.bidirectional else 1
        rev = reversal_index(lengths, x.shape[0]) if (D == 2 and lengths is not None) else None
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                xin = x if d == 0 else reverse_within_lengths(x, lengths, rev)
                y, h, c = run_one(xin, h0[k], None if c0 is None else c0[k], self._layer_weights(layer, d))
                outs.append(y if d == 0 else reverse_within_lengths(y, lengths, rev))
                hs.append(h)
                cs.append(c)
            x = outs[0] if D == 1 else torch.cat(outs, -1)  # (T, B, D*P)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, torch.stack(hs, 0), (torch.stack(cs, 0) if is_lstm else None)


def _init_backend(module, backend):
    module.backend = check_backend(backend, type(module).__name__)


class RNN(_Recurrent, nn.RNN):
    r"""Elman RNN, a drop-in replacement for :class:`torch.nn.RNN`.

    .. math::
        h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    (ReLU instead of tanh with ``nonlinearity="relu"``), applied with one set of
    weights at every step, in each layer and direction.

    Args:
        input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
        batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None:
            as torch.nn.RNN.
        backend: "auto" (default), "fused" or "unrolled".

    Shape:
        input (T, B, I) or (B, T, I) with batch_first, or (T, I); hx (L*D, B, H);
        output (T, B, D*H); h_n (L*D, B, H). ``lengths`` (B,).

    Example::

        >>> rnn = rnnkit.RNN(8, 16, batch_first=True)
        >>> y, h_n = rnn(torch.randn(4, 10, 8), lengths=torch.tensor([10, 7, 3, 0]))
    """

    def __init__(self, *args, backend: str = "auto", **kwargs):
        nn.RNN.__init__(self, *args, **kwargs)
        _init_backend(self, backend)


class LSTM(_Recurrent, nn.LSTM):
    r"""LSTM, a drop-in replacement for :class:`torch.nn.LSTM`.

    The step (gate order i, f, g, o, as torch.nn; see
    :class:`rnnkit.nn.cell_math.LSTMMath`):

    .. math::
        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)

    and with ``proj_size > 0``, :math:`h_t \leftarrow W_{hr} h_t`.

    Args:
        input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None:
            as torch.nn.LSTM.
        backend: "auto" (default), "fused" or "unrolled".

    Shape:
        input (T, B, I); h_0 (L*D, B, H_out), c_0 (L*D, B, H) with H_out = proj_size
        or hidden_size; output (T, B, D*H_out). ``lengths`` (B,).

    Example::

        >>> lstm = rnnkit.LSTM(8, 16, num_layers=2, bidirectional=True)
        >>> x = torch.randn(10, 4, 8)
        >>> y, (h_n, c_n) = lstm(x, lengths=torch.tensor([10, 7, 3, 1]))
    """

    def __init__(self, *args, backend: str = "auto", **kwargs):
        nn.LSTM.__init__(self, *args, **kwargs)
        _init_backend(self, backend)


class GRU(_Recurrent, nn.GRU):
    r"""GRU, a drop-in replacement for :class:`torch.nn.GRU`.

    The step (gate order r, z, n, as torch.nn; see :class:`rnnkit.nn.cell_math.GRUMath`):

    .. math::
        n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})), \qquad
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Args:
        input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, device=None, dtype=None: as torch.nn.GRU.
        backend: "auto" (default), "fused" or "unrolled".

    Shape:
        input (T, B, I); hx (L*D, B, H); output (T, B, D*H). ``lengths`` (B,).

    Example::

        >>> gru = rnnkit.GRU(8, 16, batch_first=True)
        >>> y, h_n = gru(torch.randn(4, 10, 8), lengths=torch.tensor([10, 9, 2, 5]))
    """

    def __init__(self, *args, backend: str = "auto", **kwargs):
        nn.GRU.__init__(self, *args, **kwargs)
        _init_backend(self, backend)
