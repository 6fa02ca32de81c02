"""The encoder shared by the tasks that read whole sequences of different lengths
(classify, tag): an input layer, the recurrent stack run with ``lengths`` (exact on
mixed-length batches, no packing), and the summaries a head reads.

    e_t = E[x_t] (tokens) or e_t = x_t (real values);   y_t, h_n = RNN(e_1..e_T, lengths)

Real values may first pass :class:`ValueInputs`: each channel standardised with the
training split's statistics, and ``patch`` consecutive steps read as one.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import ModelConfig
from .base import StackDropout, recurrent_stack, settled


def step_mask(lengths: Tensor, x: Tensor) -> Tensor:
    """(B, T) bool, True at the steps of batch-first ``x`` (B, T, ...) inside each
    sequence's ``lengths``."""
    return torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]


class ValueInputs(nn.Module):
    """Real values as the recurrent stack reads them: each channel standardised with
    the training split's mean and standard deviation (:class:`rnnkit.data.scaling.Scaler`'s
    state, held as buffers and saved with the weights:
    a model carries its own scaling into predict, streaming and export), then ``patch``
    consecutive steps read as one, their values concatenated: T steps of C channels
    become ceil(T / patch) steps of patch * C, the last one zero-padded past the
    sequence's end, and ``lengths`` ceil(length / patch).

        z_t = (x_t - mean) / std;   u_j = [z_{(j-1)p+1}, ..., z_{jp}]   (z_t = 0 for t > length)

    A run of T steps costs ceil(T / patch) recurrent steps: fewer sequential steps for
    long series, and a path from the first step to the last that is ``patch`` times
    shorter (the gradient crosses fewer steps: Bengio et al. 1994).

    With ``stem`` S over 0, the standardised steps first pass :class:`ConvStem` (three
    convolutions of S channels along time), and each patch is read as the max of its
    steps' S features instead of their concatenation:

        f_t = ConvStem(z)_t;   u_j = max(f_{(j-1)p+1}, ..., f_{jp})   (f_t = 0 for t > length)

    Shape: x (B, T, C), lengths (B,) or None -> (B, ceil(T / patch), patch * C), lengths;
    (B, ceil(T / patch), S) with a stem.
    """

    def __init__(self, channels: int, *, mean=None, std=None, patch: int = 1, stem: int = 0):
        super().__init__()
        if patch < 1:
            raise ValueError(f"ValueInputs: expected patch >= 1, got {patch}")
        if stem < 0:
            raise ValueError(f"ValueInputs: expected stem >= 0, got {stem}")
        if (mean is None) != (std is None):
            raise ValueError("ValueInputs: expected both a mean and a std, or neither")
        self.channels, self.patch = channels, patch
        self.scaled = mean is not None
        if self.scaled:
            std = torch.as_tensor(std, dtype=torch.float32)
            if len(mean) != channels or len(std) != channels:
                raise ValueError(f"ValueInputs: expected a mean and a std of {channels} channels, got "
                                 f"{len(mean)} and {len(std)}")
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.where(std > 0, std, torch.ones_like(std)))
        self.stem = ConvStem(channels, stem) if stem else None
        self.size = stem if stem else channels * patch

    def forward(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if self.scaled:
            x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
            if lengths is not None:       # padded steps stay zeros, as a sequence alone pads
                x = x * step_mask(lengths, x)[..., None].to(x.dtype)
        k = self.patch
        if self.stem is not None:
            x = self.stem(x, lengths)                                       # (B, T, S), >= 0
        if k == 1:
            return x, lengths
        B, T, C = x.shape
        x = nn.functional.pad(x, (0, 0, 0, (-T) % k))                      # (B, k * ceil(T / k), C)
        if self.stem is not None:       # features >= 0 and zeros past the end: the max ignores them
            return x.reshape(B, -1, k, C).amax(2), self.steps(lengths)
        x = x.reshape(B, -1, k * C)
        return x, self.steps(lengths)

    def steps(self, lengths: Tensor | None) -> Tensor | None:
        """The recurrent steps of sequences of ``lengths``: ceil(length / patch)."""
        if lengths is None or self.patch == 1:
            return lengths
        return torch.div(lengths + (self.patch - 1), self.patch, rounding_mode="floor")


#: the kernel widths of :class:`ConvStem`'s layers, as in the fully convolutional
#: classifier of Wang, Yan and Oates (2017), "Time series classification from scratch"
STEM_KERNELS = (8, 5, 3)


class ConvStem(nn.Module):
    """Convolutions along time before the recurrent stack: for each kernel width k of
    ``kernels``, a 1-D convolution of ``width`` output channels over k steps centred on
    each step ((k - 1) // 2 before it, k // 2 after; zeros outside the sequence), layer
    norm over the channels of each step, ReLU:

        a^0 = z;   a^l_t = ReLU(LayerNorm(W^l * a^{l-1})_t)   (a^{l-1}_t = 0 outside 1..length)

    Each layer's outputs past a sequence's ``lengths`` are set to zero before the next
    reads them, so a sequence in a padded batch gives what it gives alone; the norm is
    per step (not over the batch), so training and prediction compute the same thing.
    Local shapes (a peak, a slope, an edge) become features the recurrent stack reads
    in order; the receptive field is sum(k - 1) + 1 = 14 steps.

    Shape: x (B, T, C), lengths (B,) or None -> (B, T, width), zeros past each length.
    """

    def __init__(self, channels: int, width: int, kernels=STEM_KERNELS):
        super().__init__()
        self.kernels = tuple(int(k) for k in kernels)
        self.width = width
        sizes = [channels] + [width] * len(self.kernels)
        self.convs = nn.ModuleList(nn.Conv1d(a, width, k) for a, k in zip(sizes, self.kernels))
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in self.kernels)

    def forward(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        keep = step_mask(lengths, x)[..., None].to(x.dtype) if lengths is not None else None
        if keep is not None:
            x = x * keep                  # the steps past the end read as zeros, whatever they hold
        for conv, norm, k in zip(self.convs, self.norms, self.kernels):
            a = nn.functional.pad(x.transpose(1, 2), ((k - 1) // 2, k // 2))     # (B, C, T + k - 1)
            x = torch.relu(norm(conv(a).transpose(1, 2)))                       # (B, T, width)
            if keep is not None:
                x = x * keep
        return x


class SequenceEncoder(nn.Module):
    """Embedding (``vocab_size`` given) or none (``input_size`` real values per step),
    dropout, then the recurrent stack with ``lengths``; embedding dropout (tokens) and
    locked dropout on the stack's input and output (``output_dropout``: the same mask
    on the outputs and on the final state) from the config.

    Shape: x (B, T) int64 or (B, T, input_size); lengths (B,) ->
    outputs (B, T, D * H) with zeros at padded steps, and the final state of the top
    layer (B, D * H) taken at each sequence's own last step (both directions
    concatenated when bidirectional).
    """

    def __init__(self, cfg: ModelConfig, *, vocab_size: int | None = None, input_size: int | None = None,
                 values: ValueInputs | None = None):
        super().__init__()
        cfg = settled(cfg)
        if (vocab_size is None) == (input_size is None):
            raise ValueError("SequenceEncoder: expected exactly one of vocab_size and input_size")
        if values is not None and (vocab_size is not None or values.channels != input_size):
            raise ValueError(f"SequenceEncoder: ValueInputs of {values.channels} channels expected real values "
                             f"of as many channels, got input_size {input_size}")
        self.embed = nn.Embedding(vocab_size, cfg.embedding_size) if vocab_size is not None else None
        self.values = values
        self.input_size = input_size
        size = cfg.embedding_size if vocab_size is not None else (values.size if values is not None else input_size)
        self.drop = nn.Dropout(cfg.dropout)
        self.regs = StackDropout(cfg, has_embedding=vocab_size is not None)
        self.rnn = recurrent_stack(cfg, size)
        self.directions = 2 if cfg.bidirectional else 1
        self.output_size = self.directions * cfg.hidden_size

    def prepare(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """What the recurrent stack reads (before dropout): token embeddings, or the
        values through :class:`ValueInputs` when the encoder has one."""
        if self.embed is not None:
            return self.embed(x), lengths
        return self.values(x, lengths) if self.values is not None else (x, lengths)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """The steps of the outputs of sequences of ``lengths`` (fewer with a patch)."""
        return self.values.steps(lengths) if self.values is not None else lengths

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        if self.embed is not None:
            e = self.drop(self.regs.embed(self.embed, x))                       # (B, T, E)
        else:
            e, lengths = self.prepare(x, lengths)                               # (B, T', C')
        y, state = self.rnn(self.regs.inputs(e), lengths=lengths)       # (B, T', D*H)
        h = state[0] if isinstance(state, tuple) else state             # (layers*D, B, H)
        top = h[-self.directions:]                                      # (D, B, H)
        last = top.permute(1, 0, 2).reshape(h.shape[1], -1)            # (B, D*H)
        if self.regs.p_out and self.training:   # one mask per sequence for both summaries
            # y (B, T, D*H) and last (B, D*H) share the feature layout: stack them
            both = self.regs.outputs(torch.cat([y, last.unsqueeze(1)], 1))   # (B, T + 1, D*H)
            y, last = both[:, :-1], both[:, -1]
        return y, last


def pool(outputs: Tensor, last: Tensor, lengths: Tensor, how: str) -> Tensor:
    """One vector per sequence: the final state (``last``), or the mean or max of the
    outputs over each sequence's own steps (padded steps left out).

    Shape: outputs (B, T, F), last (B, F), lengths (B,) -> (B, F).
    """
    if how == "last":
        return last
    valid = step_mask(lengths, outputs)                                # (B, T)
    if how == "mean":
        total = (outputs * valid[..., None]).sum(1)                      # (B, F)
        return total / lengths.to(outputs.device).clamp(min=1)[:, None].to(outputs.dtype)
    if how == "max":
        masked = outputs.masked_fill(~valid[..., None], float("-inf"))
        out = masked.max(1).values
        return torch.where(torch.isfinite(out), out, torch.zeros_like(out))  # length 0: zeros
    raise ValueError(f"pool: expected one of last, mean, max, got {how!r}")
