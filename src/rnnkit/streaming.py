"""Feed a trained model a stream, chunk by chunk, the recurrent state carried between
calls: per stream id when there are many, several streams' chunks run together as one
padded batch with ``lengths``. Chunk after chunk gives the numbers of one pass over
the whole stream.

Example::

    import rnnkit
    s = rnnkit.Stream("runs/notes")                  # a language model
    logits = s.feed("def wrap(")                     # (5, vocab): after each character
    logits = s.feed("text):")                        # continues where the last chunk stopped
    out = s.feed_many({"a": "hello", "b": "wor"})    # two streams, one batch
    s.reset("a")

Every cell streams, the parallel-scan ones (minGRU, minLSTM, RG-LRU) included: their
state is h alone, and they run a one-step chunk step by step and a longer one by the
scan, with the same numbers.

What a chunk is and what comes back, per task (the model must read left to right):

* ``lm``: text (``str``, tokenized chunk by chunk: exact for characters, while the
  word and BPE tokenizers cannot see across a chunk's edge) or token ids -> logits
  (n, vocab) of the token after each step.
* ``tag``: values (n, channels) (scaled as in training) or tokens (a list of str)
  -> label probabilities (n, tags).
* ``classify`` with the final-state head: values (n, channels) or text / tokens
  -> class probabilities (classes,) of the stream so far.
* ``forecast`` with the autoregressive decoder and a global (or no) scale: rows
  (n, targets + future covariates) in the data's units, as the decoder reads them
  (y_t and the covariates of t + 1) -> the next step's point forecast (n, targets).

Other models are refused with a ValueError that says why (bidirectional; a head that
pools every step; a per-sequence scale unknown on a stream; the direct decoder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = ["Stream"]


def _refusal(module, spec) -> str | None:
    """Why a model cannot be streamed, or None: what every task shares, then what its
    task says (:meth:`~rnnkit.tasks.spec.TaskSpec.stream_refusal`)."""
    from .export.graphs import recurrent_layer

    if not hasattr(module, "net"):
        return "a bag-of-words (model.model bow) model has no recurrent state"
    if recurrent_layer(module).bidirectional:
        return "the model is bidirectional: its backward direction reads each sequence from its end"
    return spec.stream_refusal(module)


class Stream:
    """A trained model (a run directory, or a module from
    :func:`rnnkit.training.load_run`) fed chunk by chunk.

    Args:
        model: run directory or loaded task module.
        device: where the model runs (default: where it is; a run loads on CPU).

    Methods: :meth:`feed` (one stream), :meth:`feed_many` (several at once),
    :meth:`reset`, :meth:`state`; ``ids`` lists the streams it holds state for.
    """

    def __init__(self, model, *, device=None):
        from .export.graphs import task_graph

        if isinstance(model, (str, Path)):
            from .training.trainer import load_run

            model, _ = load_run(model)
        if not hasattr(model, "cfg"):
            raise ValueError(f"Stream: expected a run directory or a module from load_run, got "
                             f"{type(model).__name__}")
        from .tasks.registry import declaration

        task = model.cfg.task
        spec = declaration(task).spec
        spec.require("streaming", "Stream", ValueError)
        why = _refusal(model, spec)
        if why is not None:
            raise ValueError(f"Stream: a {task} model cannot be fed chunk by chunk: {why}")
        if device is not None:
            model = model.to(device)
        self.module = model.eval()
        self.task = task
        self.spec = spec
        self.graph = task_graph(model, task).module.eval()
        p = next(model.net.parameters())
        self.device, self.dtype = p.device, p.dtype
        self._states: dict = {}
        self._zero = None

    # ---- state ---------------------------------------------------------------------
    @property
    def ids(self) -> list:
        return list(self._states)

    def reset(self, stream_id=None) -> None:
        """Forget a stream's state (all streams' with no id)."""
        if stream_id is None:
            self._states.clear()
        else:
            self._states.pop(stream_id, None)

    def state(self, stream_id=0):
        """The state after the last chunk of ``stream_id``: a list [h] or [h, c] of
        (layers, hidden) tensors, or None before its first chunk."""
        st = self._states.get(stream_id)
        return None if st is None else [s.clone() for s in st]

    def _zeros(self):
        if self._zero is None:
            from .export.graphs import recurrent_layer, state_shapes

            self._zero = [s[:, 0].to(self.device) for s in state_shapes(recurrent_layer(self.module), 1)]
        return self._zero

    # ---- chunks --------------------------------------------------------------------
    def _encode(self, chunk) -> torch.Tensor:
        """A chunk as the model reads it: ids (n,) int64 or values (n, C)."""
        m = self.module
        tok = getattr(m, "tokenizer", None)
        if tok is not None:
            if isinstance(chunk, str):
                return tok.encode(chunk)
            if isinstance(chunk, (list, tuple)) and chunk and all(isinstance(t, str) for t in chunk):
                if not hasattr(tok, "encode_tokens"):
                    raise ValueError(f"Stream: expected text or token ids for a {tok.kind} tokenizer, got a "
                                     f"list of strings")
                return tok.encode_tokens(list(chunk))
            ids = torch.as_tensor(np.asarray(chunk)) if not isinstance(chunk, torch.Tensor) else chunk
            if ids.dim() != 1 or ids.dtype.is_floating_point:
                raise ValueError(f"Stream: expected text, tokens or a 1-D sequence of token ids, got "
                                 f"{type(chunk).__name__} of shape {tuple(ids.shape)}")
            ids = ids.long()
            if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= tok.vocab_size):
                raise ValueError(f"Stream: expected token ids in [0, {tok.vocab_size}), got "
                                 f"{int(ids.min())}..{int(ids.max())}")
            return ids
        x = np.asarray(chunk, dtype=np.float64)
        width = self.spec.stream_width(m)
        if x.ndim == 1 and width == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(f"Stream: expected values of shape (n, {width}), got shape {x.shape}")
        x = self.spec.stream_values(m, x)
        return torch.as_tensor(np.asarray(x), dtype=self.dtype)

    def feed(self, chunk, stream_id=0):
        """The next chunk of one stream; returns its outputs (see the module docstring)."""
        return self.feed_many({stream_id: chunk})[stream_id]

    @torch.no_grad()
    def feed_many(self, chunks: dict) -> dict:
        """The next chunk of several streams, run as one batch: {id: chunk} -> {id: outputs}."""
        if not isinstance(chunks, dict):
            raise ValueError(f"Stream.feed_many: expected a dict {{stream id: chunk}}, got {type(chunks).__name__}")
        ids = list(chunks)
        xs = [self._encode(chunks[i]) for i in ids]
        results = {}
        live = [k for k, x in enumerate(xs) if len(x)]
        for k, x in enumerate(xs):
            if not len(x):
                results[ids[k]] = self._empty()
        if not live:
            return results
        sizes = [len(xs[k]) for k in live]
        zero = self._zeros()
        if len(set(sizes)) == 1:
            # chunks of equal length (one stream, say): no padding, no lengths
            batch = torch.stack([xs[k] for k in live])                          # (B, T[, C])
            lengths = None
        else:
            T = max(sizes)
            first = xs[live[0]]
            batch = first.new_zeros((len(live), T) + tuple(first.shape[1:]))    # (B, T[, C])
            for row, k in enumerate(live):
                batch[row, :sizes[row]] = xs[k]
            lengths = torch.tensor(sizes, device=self.device)
        states = [torch.stack([self._states.get(ids[k], zero)[j] for k in live], 1) for j in range(len(zero))]
        out = self.graph(batch.to(self.device), lengths, *states)                # states: (L*D, B, .)
        y, new = out[0], out[1:]
        for row, k in enumerate(live):
            self._states[ids[k]] = [s[:, row] for s in new]      # views of this call's fresh tensors
            results[ids[k]] = self._output(y[row], sizes[row])
        return results

    def _output(self, y, n: int):
        return self.spec.stream_output(self.module, y, n)

    def _empty(self):
        return self.spec.stream_empty(self.module)
