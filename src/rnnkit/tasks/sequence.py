"""The encoder shared by the tasks that read whole sequences of different lengths
(classify, tag): an input layer, the recurrent stack run with ``lengths`` (exact on
mixed-length batches, no packing), and the summaries a head reads.

    e_t = E[x_t] (tokens) or e_t = x_t (real values);   y_t, h_n = RNN(e_1..e_T, lengths)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import ModelConfig
from .base import StackDropout, recurrent_stack, settled


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

    def __init__(self, cfg: ModelConfig, *, vocab_size: int | None = None, input_size: int | None = None):
        super().__init__()
        cfg = settled(cfg)
        if (vocab_size is None) == (input_size is None):
            raise ValueError("SequenceEncoder: expected exactly one of vocab_size and input_size")
        self.embed = nn.Embedding(vocab_size, cfg.embedding_size) if vocab_size is not None else None
        size = cfg.embedding_size if vocab_size is not None else input_size
        self.drop = nn.Dropout(cfg.dropout)
        self.regs = StackDropout(cfg, has_embedding=vocab_size is not None)
        self.rnn = recurrent_stack(cfg, size)
        self.directions = 2 if cfg.bidirectional else 1
        self.output_size = self.directions * cfg.hidden_size

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        e = self.drop(self.regs.embed(self.embed, x)) if self.embed is not None else x   # (B, T, E)
        y, state = self.rnn(self.regs.inputs(e), lengths=lengths)       # (B, T, D*H)
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
    steps = torch.arange(outputs.shape[1], device=outputs.device)
    valid = steps[None, :] < lengths.to(outputs.device)[:, None]      # (B, T)
    if how == "mean":
        total = (outputs * valid[..., None]).sum(1)                      # (B, F)
        return total / lengths.to(outputs.device).clamp(min=1)[:, None].to(outputs.dtype)
    if how == "max":
        masked = outputs.masked_fill(~valid[..., None], float("-inf"))
        out = masked.max(1).values
        return torch.where(torch.isfinite(out), out, torch.zeros_like(out))  # length 0: zeros
    raise ValueError(f"pool: expected one of last, mean, max, got {how!r}")
