"""The graph each task exports: a module with plain tensor inputs and outputs (no
rnnkit types), the recurrent state in and out where the model reads left to right.

Every graph is batch-first. ``h`` is the recurrent stack's hidden state
(layers * directions, batch, state_size) and ``c`` the LSTM cell state
(layers * directions, batch, hidden_size), in torch.nn's layout: a consumer passes
zeros for a new stream and the ``h_out`` / ``c_out`` of the previous chunk after it.

=========  ==========================================  ===================================
task       inputs                                       outputs
=========  ==========================================  ===================================
lm         ids (B, T) int64, lengths (B,), h, c         logits (B, T, vocab), h_out, c_out
classify   x, lengths, h, c  (final-state head,        logits (B, classes), h_out, c_out
           unidirectional); else x, lengths
tag        x, lengths, h, c  (unidirectional);         logits (B, T, tags), h_out, c_out
           else x, lengths
forecast   direct: x (B, T, F), future (B, H, C_f)      out (B, H, targets, P), h_out, c_out
           when the model reads future covariates,
           h, c (unidirectional)
           autoregressive: x (B, T, C_t + C_f),         out (B, T, targets, P), h_out, c_out
           lengths, h, c
=========  ==========================================  ===================================

Each task builds its own graph (:meth:`rnnkit.tasks.spec.TaskSpec.graph`, in its
folder) from the modules below; :func:`task_graph` asks it.

``x`` is token ids (B, T) int64 for text, or values (B, T, channels) float32.
A bidirectional model, or a classifier that pools (mean / max) over every step, has no
state inputs: its output needs the whole sequence at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn



@dataclass
class GraphSpec:
    """What :func:`task_graph` built: the module, example inputs, names and the
    dimensions that are dynamic (per input, {axis: name})."""

    module: nn.Module
    example: tuple
    input_names: list[str]
    output_names: list[str]
    dynamic: list[dict]
    stateful: bool
    stateless_reason: str | None = None
    docs: dict = field(default_factory=dict)
    # False: the dynamic axes are captured as Dim.DYNAMIC (torch.export's named Dims
    # fail on the ceil(T / patch) steps of a patched classifier, torch 2.13)
    named_dims: bool = True


def _state_of(h: Tensor, c: Tensor | None):
    return (h, c) if c is not None else h


def _state_out(state) -> tuple:
    return tuple(state) if isinstance(state, tuple) else (state,)


def _top_last(state, directions: int) -> Tensor:
    """The top layer's final state (B, D * H), as SequenceEncoder gives it."""
    h = state[0] if isinstance(state, tuple) else state         # (layers*D, B, H)
    top = h[-directions:]                                        # (D, B, H)
    return top.permute(1, 0, 2).reshape(h.shape[1], -1)        # (B, D*H)


class LMGraph(nn.Module):
    """ids, lengths, h[, c] -> logits, h_out[, c_out]."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, ids, lengths, h, c=None):
        e = self.net.embed(ids)                                               # (B, T, E)
        y, state = self.net.rnn(e, _state_of(h, c), lengths=lengths)          # (B, T, H)
        return (self.net.logits(y), *_state_out(state))                       # (B, T, V)


class EncoderStateGraph(nn.Module):
    """Classify (final-state head) or tag, unidirectional: x, lengths, h[, c] ->
    logits, h_out[, c_out]."""

    def __init__(self, net, per_step: bool):
        super().__init__()
        self.net, self.per_step = net, per_step

    def forward(self, x, lengths, h, c=None):
        enc = self.net.encoder
        e, lengths = enc.prepare(x, lengths)                                  # (B, T, E)
        y, state = enc.rnn(e, _state_of(h, c), lengths=lengths)              # (B, T, H)
        if self.per_step:
            logits = self.net.head(y)                                         # (B, T, K)
        else:
            logits = self.net.head(_top_last(state, enc.directions))          # (B, K)
        return (logits, *_state_out(state))


class WholeSequenceGraph(nn.Module):
    """Bidirectional or pooling models: x, lengths -> logits. ``spare`` zero steps are
    appended past every sequence's end (``lengths`` leave them out): a classifier that
    reads ``patch`` steps at once gets at least two recurrent steps, which torch.export
    needs to keep the time axis dynamic."""

    def __init__(self, net, spare: int = 0):
        super().__init__()
        self.net, self.spare = net, spare

    def forward(self, x, lengths):
        if self.spare:
            x = nn.functional.pad(x, (0, 0, 0, self.spare))
        return self.net(x, lengths)


class DirectForecastGraph(nn.Module):
    """The direct multi-horizon head: x[, future][, h, c] -> out[, h_out, c_out]. One
    subclass per signature (torch.export names the inputs after ``forward``'s)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def run(self, x, future, state):
        return self.net.direct(x, future, state)


class DirectFutureStateGraph(DirectForecastGraph):
    def forward(self, x, future, h, c=None):
        out, state = self.run(x, future, _state_of(h, c))
        return (out, *_state_out(state))


class DirectStateGraph(DirectForecastGraph):
    def forward(self, x, h, c=None):
        out, state = self.run(x, None, _state_of(h, c))
        return (out, *_state_out(state))


class DirectFutureGraph(DirectForecastGraph):
    def forward(self, x, future):
        return self.run(x, future, None)[0]


class DirectWindowGraph(DirectForecastGraph):
    def forward(self, x):
        return self.run(x, None, None)[0]


class AutoregressiveForecastGraph(nn.Module):
    """x, lengths, h[, c] -> out, h_out[, c_out] (one step ahead at every step)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, lengths, h, c=None):
        net = self.net
        y, state = net.rnn(x, _state_of(h, c), lengths=lengths)                 # (B, T, H)
        out = net.head(y)                                                       # (B, T, C_t * P)
        return (out.view(out.shape[0], out.shape[1], net.n_targets, net.P), *_state_out(state))


def recurrent_layer(task_module):
    """The rnnkit recurrent layer of a task module."""
    net = task_module.net
    if hasattr(net, "encoder"):
        return net.encoder.rnn
    return net.rnn


def layer_dtype(rnn) -> torch.dtype:
    """The dtype of a recurrent layer's weights (and so of its state)."""
    return next(rnn.parameters()).dtype


def state_shapes(rnn, batch: int):
    """Zero states (h[, c]) of ``rnn`` for ``batch`` sequences: h (layers * directions,
    batch, state_size), and c (.., hidden_size) for an LSTM; a parallel-scan layer
    (rnnkit.nn.scan_layers) one tensor per entry of its ``state_widths`` (multiples of
    hidden_size), h first."""
    D = 2 if rnn.bidirectional else 1
    dtype = layer_dtype(rnn)
    widths = getattr(rnn, "state_widths", None)
    if widths is not None:
        return [torch.zeros(rnn.num_layers * D, batch, w * rnn.hidden_size, dtype=dtype) for w in widths]
    P = rnn.proj_size if getattr(rnn, "proj_size", 0) else rnn.hidden_size
    h = [torch.zeros(rnn.num_layers * D, batch, P, dtype=dtype)]
    if getattr(rnn, "mode", None) == "LSTM":
        h.append(torch.zeros(rnn.num_layers * D, batch, rnn.hidden_size, dtype=dtype))
    return h


@dataclass
class Example:
    """What every task's graph starts from: example sizes (batch ``B`` 2, ``T`` 3
    steps; every dimension named dynamic varies), the zero states with their names
    and dynamic axes, ``lengths`` and the layer's dtype."""

    rnn: nn.Module
    B: int
    T: int
    bidir: bool
    states: list
    state_names: list
    out_state_names: list
    dyn_state: list
    lengths: Tensor
    dtype: torch.dtype


def example_inputs(task_module) -> Example:
    """The :class:`Example` of a loaded task module."""
    rnn = recurrent_layer(task_module)
    B, T = 2, 3
    states = state_shapes(rnn, B)
    state_names = ["h", "c"][:len(states)]
    return Example(rnn, B, T, bool(rnn.bidirectional), states, state_names, [n + "_out" for n in state_names],
                   [{1: "batch"}] * len(states), torch.tensor([T, T - 1]), layer_dtype(rnn))


def encoder_graph(task_module, per_step: bool) -> GraphSpec:
    """The graph of an encoder with a head (``net.encoder``, ``net.head``): logits per
    step (``per_step``) or per sequence from the final state, with the state in and out
    when the model reads left to right and (per sequence) its head is ``last``."""
    net = task_module.net
    ex = example_inputs(task_module)
    B, T = ex.B, ex.T
    patch = getattr(net.encoder.values, "patch", 1)
    if patch > 1:       # an example of several recurrent steps: one would be specialised
        T = 2 * patch + 1
        ex.lengths = torch.tensor([T, T - 1])
    if net.encoder.embed is not None:
        x, dx = torch.zeros(B, T, dtype=torch.int64), {0: "batch", 1: "time"}
    else:
        x, dx = torch.zeros(B, T, net.encoder.input_size, dtype=ex.dtype), {0: "batch", 1: "time"}
    reason = None
    if ex.bidir:
        reason = "bidirectional: the backward direction reads each sequence from its end"
    elif not per_step and net.how != "last":
        reason = f"head {net.how}: the {net.how} pools the outputs of every step of the whole sequence"
    elif patch > 1:
        reason = f"model.patch {patch}: each recurrent step reads {patch} steps of the sequence"
    elif getattr(net.encoder.values, "stem", None) is not None:
        reason = "model.stem: the convolutions read steps ahead of each step"
    if reason is None:
        return GraphSpec(EncoderStateGraph(net, per_step), (x, ex.lengths, *ex.states),
                         ["x", "lengths", *ex.state_names], ["logits", *ex.out_state_names],
                         [dx, {0: "batch"}, *ex.dyn_state], True)
    return GraphSpec(WholeSequenceGraph(net, spare=patch if patch > 1 else 0), (x, ex.lengths), ["x", "lengths"],
                     ["logits"], [dx, {0: "batch"}], False, reason, named_dims=patch == 1)


def task_graph(task_module, task: str) -> GraphSpec:
    """The exportable module of a loaded task module (``load_run``) and its example
    inputs (batch 2, 3 steps; every dimension named in ``dynamic`` varies), as its
    task builds it (:meth:`~rnnkit.tasks.spec.TaskSpec.graph`); a task that does not
    declare the capability ``export`` is refused by name."""
    from ..tasks.registry import declaration

    return declaration(task).spec.graph(task_module)
