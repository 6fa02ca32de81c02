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
  faster (:func:`auto_backend`);
* regularisers (:mod:`rnnkit.nn.regularise`), all off by default:
  ``weight_drop`` (DropConnect on W_hh, one mask per forward pass, on every path: the
  dropped weight is computed in ``forward`` and handed to the path, the parameters stay
  as they are), ``locked_dropout`` (the between-layer ``dropout`` with one mask per
  sequence, shared over time, on every path), and two that change the step itself and
  so run on the step-by-step path (:mod:`rnnkit.nn.stepwise`, any ``backend``):
  ``zoneout`` and ``layer_norm`` (layer-normalised cells, Ba et al. 2016).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from . import exportable, fused, native, stepwise
from .cell_math import MATH
from .checks import check_backend, check_hidden, check_input, check_lengths
from .regularise import check_rate, locked_dropout, weight_drop
from .unrolled import unrolled_layer

__all__ = ["RNN", "LSTM", "GRU", "LayerNormLSTM", "LayerNormGRU"]


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

    def _layer_weights(self, layer: int, direction: int, dropped: dict | None = None):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction; ``dropped``
        (from :meth:`_dropped_hh`) replaces W_hh by its weight-dropped version."""
        sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = lambda n: getattr(self, n + sfx)  # noqa: E731
        b_ih = get("bias_ih") if self.bias else None
        b_hh = get("bias_hh") if self.bias else None
        w_hr = get("weight_hr") if getattr(self, "proj_size", 0) > 0 else None
        w_hh = dropped["weight_hh" + sfx] if dropped else get("weight_hh")
        return get("weight_ih"), w_hh, b_ih, b_hh, w_hr

    def _dropped_hh(self) -> dict | None:
        """Weight drop: {name: W_hh with one DropConnect mask} for every layer and
        direction, drawn once per forward pass; None when off (eval mode, p = 0)."""
        p = getattr(self, "weight_drop", 0.0)
        if not self.training or p == 0.0:
            return None
        return {n: weight_drop(getattr(self, n), p, True) for n in self._flat_weights_names
                if n.startswith("weight_hh")}

    def _suffixes(self) -> list[str]:
        """Parameter name suffixes in the order k = layer * D + direction."""
        D = 2 if self.bidirectional else 1
        return [f"_l{i}" + ("_reverse" if d else "") for i in range(self.num_layers) for d in range(D)]

    def _norms(self, k: int):
        """(gain, bias) pairs of the layer norms of layer and direction k: on W_ih x, on
        W_hh h and, for the LSTM, on c_t for the output."""
        sfx = self._suffixes()[k]
        parts = ("ih", "hh", "c") if self.mode == "LSTM" else ("ih", "hh")
        return tuple((getattr(self, f"ln_{p}_weight{sfx}"), getattr(self, f"ln_{p}_bias{sfx}")) for p in parts)

    def reset_parameters(self) -> None:
        super().reset_parameters()   # every parameter uniform, as torch.nn
        for name, p in self.named_parameters(recurse=False):
            if name.startswith("ln_"):
                with torch.no_grad():
                    p.fill_(1.0 if "_weight" in name else 0.0)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        for name, off in (("weight_drop", 0.0), ("locked_dropout", False), ("zoneout", 0.0), ("layer_norm", False)):
            value = getattr(self, name, off)
            if value != off:
                s += f", {name}={value}"
        return s

    def _stepwise(self) -> bool:
        """Whether the step itself is changed (zoneout, layer norm): the per-step path."""
        return bool(getattr(self, "zoneout", 0.0)) or getattr(self, "layer_norm", False)

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
        dropped = self._dropped_hh()  # weight drop: one mask for the whole pass
        if self._stepwise():
            backend = "stepwise"
        if backend == "fused" and lengths is None and not self._locked_between():
            self._update_flat_weights()
            flat = self._flat_weights
            if dropped:
                flat = [dropped.get(n, w) for n, w in zip(self._flat_weights_names, flat)]
            out = fused.fused_stack(self.mode, x, hx, flat, self.bias,
                                    self.num_layers, self.dropout, self.training,
                                    self.bidirectional, batch_first)
            y, h_n = out[0], out[1]
            c_n = out[2] if is_lstm else None
        else:
            xt = x.transpose(0, 1) if batch_first else x  # (T, B, I)
            if backend == "stepwise":
                y, h_n, c_n = self._stepwise_stack(xt, hx, lengths, dropped)
            elif backend == "fused" and lengths is None:
                y, h_n, c_n = self._fused_by_layer(xt, hx, dropped)
            elif backend == "fused":
                y, h_n, c_n = self._fused_lengths(xt, hx, lengths, dropped)
            else:
                y, h_n, c_n = self._unrolled(xt, hx, lengths, dropped)
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

    def _locked_between(self) -> bool:
        """Whether a locked dropout mask goes between layers in this pass."""
        return (getattr(self, "locked_dropout", False) and self.training and self.dropout > 0
                and self.num_layers > 1)

    def _fused_by_layer(self, x, hx, dropped):
        """The fused kernels one layer at a time (locked dropout between layers)."""
        def run_one(xin, h0, c0, weights, k):
            return fused.fused_layer(self.mode, xin, h0, c0, weights, self.training)

        return self._stack(x, hx, None, run_one, dropped)

    def _fused_lengths(self, x, hx, lengths, dropped=None):
        mask = torch.arange(x.shape[0], device=x.device).unsqueeze(1) < lengths.to(x.device)
        strategy = self._lengths_strategy or ("pack" if x.is_cuda else "mask")
        if strategy == "pack" and not self._locked_between():
            self._update_flat_weights()
            flat = self._flat_weights
            if dropped:
                flat = [dropped.get(n, w) for n, w in zip(self._flat_weights_names, flat)]
            return fused.fused_stack_packed(self.mode, x, hx, flat, self.bias,
                                            self.num_layers, self.dropout, self.training,
                                            self.bidirectional, lengths.to(x.device), mask)
        lengths = lengths.to(x.device)
        last = (lengths - 1).clamp(min=0).view(1, -1, 1)
        # padded steps must not feed NaN or large values into the kernel
        x = torch.where(mask.unsqueeze(-1), x, x.new_zeros(()))

        def run_one(xin, h0, c0, weights, k):
            return fused.fused_layer_masked(self.mode, xin, h0, c0, weights, lengths, mask,
                                            last, self.training)

        return self._stack(x, hx, lengths, run_one, dropped)

    # -- the step-by-step path (zoneout, layer norm) -----------------------------------

    def _stepwise_stack(self, x, hx, lengths, dropped):
        math = MATH(self.mode)
        zo = getattr(self, "zoneout", 0.0)
        zc, zh = zo if isinstance(zo, tuple) else (zo, zo)
        if lengths is not None:
            lengths = lengths.to(x.device)

        def run_one(xin, h0, c0, weights, k):
            norms = self._norms(k) if getattr(self, "layer_norm", False) else None
            return stepwise.stepwise_layer(math, xin, h0, c0, weights, lengths, norms=norms,
                                           zoneout_h=zh, zoneout_c=zc, training=self.training)

        return self._stack(x, hx, lengths, run_one, dropped)

    # -- the unrolled path -------------------------------------------------------------

    def _unrolled(self, x, hx, lengths, dropped=None):
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

        def run_one(xin, h0_, c0_, weights, k):
            return unrolled_layer(math, batch_sizes, xin, h0_, c0_, weights)

        y, h_n, c_n = self._stack(x, (h0, c0) if is_lstm else h0, lengths, run_one, dropped)
        if order is not None:
            back = torch.argsort(order).to(x.device)
            y = y.index_select(1, back)
            h_n = h_n.index_select(1, back)
            c_n = c_n.index_select(1, back) if c_n is not None else None
        return y, h_n, c_n

    # -- the stack of layers and directions, shared by both paths ----------------------

    def _stack(self, x, hx, lengths, run_one, dropped=None):
        """Run every layer and direction with ``run_one(x, h0, c0, weights, k)`` (k: the
        index layer * D + direction). x: (T, B, I) time-major. Returns
        (y (T, B, D*P), h_n, c_n or None). Between layers, ``dropout`` (one mask per
        sequence and feature, shared over time, with ``locked_dropout``)."""
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
                y, h, c = run_one(xin, h0[k], None if c0 is None else c0[k],
                                  self._layer_weights(layer, d, dropped), k)
                outs.append(y if d == 0 else reverse_within_lengths(y, lengths, rev))
                hs.append(h)
                cs.append(c)
            x = outs[0] if D == 1 else torch.cat(outs, -1)  # (T, B, D*P)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                if getattr(self, "locked_dropout", False):
                    x = locked_dropout(x, self.dropout, True, batch_first=False)
                else:
                    x = F.dropout(x, self.dropout, True)
        return x, torch.stack(hs, 0), (torch.stack(cs, 0) if is_lstm else None)


def _init_extras(module, backend, weight_drop=0.0, locked_dropout=False, zoneout=0.0, layer_norm=False):
    """The arguments rnnkit adds to torch.nn's, checked; the layer-norm parameters."""
    name = type(module).__name__
    module.backend = check_backend(backend, name)
    module.weight_drop = check_rate(weight_drop, "weight_drop", name)
    if not isinstance(locked_dropout, bool):
        raise ValueError(f"{name}: expected locked_dropout to be True or False, got {locked_dropout!r}")
    module.locked_dropout = locked_dropout
    if isinstance(zoneout, (tuple, list)):
        if module.mode != "LSTM" or len(zoneout) != 2:
            raise ValueError(f"{name}: expected zoneout to be one rate{' or a pair (cell, hidden)' if module.mode == 'LSTM' else ''}, "
                             f"got {zoneout!r}")
        zoneout = (check_rate(zoneout[0], "zoneout (cell)", name), check_rate(zoneout[1], "zoneout (hidden)", name))
        if zoneout[0] == zoneout[1]:
            zoneout = zoneout[0]
    else:
        zoneout = check_rate(zoneout, "zoneout", name)
    module.zoneout = zoneout
    if not isinstance(layer_norm, bool):
        raise ValueError(f"{name}: expected layer_norm to be True or False, got {layer_norm!r}")
    if layer_norm and getattr(module, "proj_size", 0) > 0:
        raise ValueError(f"{name}: expected proj_size 0 with layer_norm=True (a layer-normalised "
                         f"cell has no projection here), got proj_size {module.proj_size}")
    module.layer_norm = layer_norm
    if layer_norm:
        like = module.weight_ih_l0
        G, H = like.shape[0], module.hidden_size
        for sfx in module._suffixes():
            parts = [("ih", G), ("hh", G)] + ([("c", H)] if module.mode == "LSTM" else [])
            for part, size in parts:
                module.register_parameter(f"ln_{part}_weight{sfx}", nn.Parameter(torch.ones(size, dtype=like.dtype, device=like.device)))
                module.register_parameter(f"ln_{part}_bias{sfx}", nn.Parameter(torch.zeros(size, dtype=like.dtype, device=like.device)))


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
        weight_drop: DropConnect rate on W_hh (AWD-LSTM): one mask per forward pass in
            train mode, rescaled by 1 / (1 - p); nothing in eval mode. Every path.
        locked_dropout: the between-layer ``dropout`` draws one mask per sequence and
            feature, shared over time (variational dropout). Every path.
        zoneout: rate p at which each unit keeps its previous state (Krueger et al.
            2017), a fresh mask per step in train mode, the expectation
            p h_{t-1} + (1 - p) h_t in eval mode. Step-by-step path.
        layer_norm: layer-normalised cell (Ba et al. 2016): layer norm on W_ih x_t and
            on W_hh h_{t-1} separately (gains 1, biases 0 at initialisation; b_ih and
            b_hh added after it). Extra parameters ``ln_ih_weight_l0``,
            ``ln_ih_bias_l0``, ``ln_hh_*``. Step-by-step path.

    Shape:
        input (T, B, I) or (B, T, I) with batch_first, or (T, I); hx (L*D, B, H);
        output (T, B, D*H); h_n (L*D, B, H). ``lengths`` (B,).

    Example::

        >>> rnn = rnnkit.RNN(8, 16, batch_first=True)
        >>> y, h_n = rnn(torch.randn(4, 10, 8), lengths=torch.tensor([10, 7, 3, 0]))
    """

    def __init__(self, *args, backend: str = "auto", weight_drop: float = 0.0, locked_dropout: bool = False,
                 zoneout: float = 0.0, layer_norm: bool = False, **kwargs):
        nn.RNN.__init__(self, *args, **kwargs)
        _init_extras(self, backend, weight_drop, locked_dropout, zoneout, layer_norm)


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
        weight_drop: DropConnect rate on W_hh (AWD-LSTM): one mask per forward pass in
            train mode, rescaled by 1 / (1 - p); nothing in eval mode. Every path.
        locked_dropout: the between-layer ``dropout`` draws one mask per sequence and
            feature, shared over time (variational dropout). Every path.
        zoneout: rate p at which each unit keeps its previous state (Krueger et al.
            2017), a fresh mask per step in train mode, the expectation
            p h_{t-1} + (1 - p) h_t in eval mode.
            The same rate on c and h, or a pair ``(p_c, p_h)``. Step-by-step path.
        layer_norm: layer-normalised cell (Ba et al. 2016): layer norm on W_ih x_t and
            on W_hh h_{t-1} separately (gains 1, biases 0 at initialisation; b_ih and
            b_hh added after it), and on c_t for the output,
            h_t = o_t tanh(LN(c_t)) (c_t itself carried unnormalised); no proj_size. Extra parameters ``ln_ih_weight_l0``,
            ``ln_ih_bias_l0``, ``ln_hh_*``, ``ln_c_*``. Step-by-step path.

    Shape:
        input (T, B, I); h_0 (L*D, B, H_out), c_0 (L*D, B, H) with H_out = proj_size
        or hidden_size; output (T, B, D*H_out). ``lengths`` (B,).

    Example::

        >>> lstm = rnnkit.LSTM(8, 16, num_layers=2, bidirectional=True)
        >>> x = torch.randn(10, 4, 8)
        >>> y, (h_n, c_n) = lstm(x, lengths=torch.tensor([10, 7, 3, 1]))
    """

    def __init__(self, *args, backend: str = "auto", weight_drop: float = 0.0, locked_dropout: bool = False,
                 zoneout: float | tuple[float, float] = 0.0, layer_norm: bool = False, **kwargs):
        nn.LSTM.__init__(self, *args, **kwargs)
        _init_extras(self, backend, weight_drop, locked_dropout, zoneout, layer_norm)


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
        weight_drop: DropConnect rate on W_hh (AWD-LSTM): one mask per forward pass in
            train mode, rescaled by 1 / (1 - p); nothing in eval mode. Every path.
        locked_dropout: the between-layer ``dropout`` draws one mask per sequence and
            feature, shared over time (variational dropout). Every path.
        zoneout: rate p at which each unit keeps its previous state (Krueger et al.
            2017), a fresh mask per step in train mode, the expectation
            p h_{t-1} + (1 - p) h_t in eval mode. Step-by-step path.
        layer_norm: layer-normalised cell (Ba et al. 2016): layer norm on W_ih x_t and
            on W_hh h_{t-1} separately (gains 1, biases 0 at initialisation; b_ih and
            b_hh added after it). Extra parameters ``ln_ih_weight_l0``,
            ``ln_ih_bias_l0``, ``ln_hh_*``. Step-by-step path.

    Shape:
        input (T, B, I); hx (L*D, B, H); output (T, B, D*H). ``lengths`` (B,).

    Example::

        >>> gru = rnnkit.GRU(8, 16, batch_first=True)
        >>> y, h_n = gru(torch.randn(4, 10, 8), lengths=torch.tensor([10, 9, 2, 5]))
    """

    def __init__(self, *args, backend: str = "auto", weight_drop: float = 0.0, locked_dropout: bool = False,
                 zoneout: float = 0.0, layer_norm: bool = False, **kwargs):
        nn.GRU.__init__(self, *args, **kwargs)
        _init_extras(self, backend, weight_drop, locked_dropout, zoneout, layer_norm)


class LayerNormLSTM(LSTM):
    r"""Layer-normalised LSTM (Ba et al. 2016): :class:`LSTM` with ``layer_norm=True``.

    .. math::
        \begin{aligned}
        (i, f, g, o)_t &= \mathrm{LN}_{ih}(W_{ih} x_t) + b_{ih} + \mathrm{LN}_{hh}(W_{hh} h_{t-1}) + b_{hh} \\
        c_t &= \sigma(f_t) \odot c_{t-1} + \sigma(i_t) \odot \tanh(g_t), \qquad
        h_t = \sigma(o_t) \odot \tanh(\mathrm{LN}_c(c_t))
        \end{aligned}

    each LN with its own gain and bias. Same arguments, contract (``lengths``, state)
    and shapes as :class:`LSTM`; runs step by step (:mod:`rnnkit.nn.stepwise`).

    Example::

        >>> lstm = rnnkit.nn.LayerNormLSTM(8, 16, batch_first=True)
        >>> y, (h_n, c_n) = lstm(torch.randn(4, 10, 8), lengths=torch.tensor([10, 7, 3, 0]))
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("layer_norm", True)
        super().__init__(*args, **kwargs)


class LayerNormGRU(GRU):
    r"""Layer-normalised GRU: :class:`GRU` with ``layer_norm=True``.

    .. math::
        \begin{aligned}
        a_t &= \mathrm{LN}_{ih}(W_{ih} x_t) + b_{ih}, \qquad u_t = \mathrm{LN}_{hh}(W_{hh} h_{t-1}) + b_{hh} \\
        r_t, z_t &= \sigma(a^{r,z}_t + u^{r,z}_t), \qquad n_t = \tanh(a^n_t + r_t \odot u^n_t) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}

    Same arguments, contract and shapes as :class:`GRU`; runs step by step.

    Example::

        >>> gru = rnnkit.nn.LayerNormGRU(8, 16, batch_first=True)
        >>> y, h_n = gru(torch.randn(4, 10, 8), lengths=torch.tensor([10, 7, 3, 0]))
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("layer_norm", True)
        super().__init__(*args, **kwargs)
