r"""The diagonal linear recurrence shared by the parallel-scan layers.

.. math:: h_t = a_t \odot h_{t-1} + b_t, \qquad t = 0 \dots T-1,

over a time-major batch: ``a`` and ``b`` of shape (T, B, H) (any trailing shape), the
initial state ``h0`` (B, H). Every recurrence of :mod:`rnnkit.nn.scan_layers` (minGRU,
minLSTM, RG-LRU, QRNN) reduces to it once its gates are computed for all steps at once.

Three ways to run it, with the same numbers (tests hold float64 to 1e-10):

* :func:`parallel_scan`, for training: a **chunked scan**. The T steps are cut into
  chunks of C (about sqrt(T)) steps. One pass runs inside every chunk at once (C
  element-wise operations, each on all T/C chunks together) from a zero state, and
  keeps the running product of the ``a`` within the chunk; a short sequential pass over
  the T/C chunk ends carries the state from chunk to chunk; one multiply-add puts the
  carry into every step: ``h_t = local_t + (prod of a within the chunk up to t) *
  carry``. That is about 2 sqrt(T) operations instead of T, each on sqrt(T) times more
  data. Its backward (an autograd Function) is the same scan run from the end
  (``g_t = dh_t + a_{t+1} g_{t+1}``), so memory is the inputs, the states and one
  buffer, and the backward is itself differentiable.

  Why chunked and not the log-space scan (Heinsen 2023; Feng et al. 2024,
  ``h = exp(a* + logcumsumexp(log b - a*))`` with ``a* = cumsum(log a)``), measured by
  ``benchmarks/bench_recurrences.py --only scan`` (figures in benchmarks/README.md):
  the log-space scan computes every state as the difference of two numbers of size
  ``|sum log a|``, which grows with T, so its float32 error grows with T (the chunked
  scan only multiplies and adds, in the recurrence's own order within a chunk, and its
  error does not grow with T); it needs the sign of ``b`` handled apart (two scans, or
  complex numbers: minGRU's g(.) > 0 avoids it, a carried state or RG-LRU's and QRNN's
  inputs do not); and it runs about ten full-size transcendental operations where the
  chunked scan runs three multiply-adds.

* :func:`sequential_scan`: one step after the other under autograd, for streaming and
  generation (a single step is the whole cost there).

* :func:`exportable_scan`: a ``while_loop`` over the steps, for ``torch.export`` with a
  dynamic sequence length (the chunked scan's Python loops depend on T; see
  :mod:`rnnkit.nn.exportable` for why a loop operator).

``lengths`` are applied by :func:`mask_padded`: ``a = 1`` and ``b = 0`` at padded
steps, so that they leave the state unchanged and the state after the last step is
each sequence's own final state.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["parallel_scan", "sequential_scan", "exportable_scan", "linear_scan", "mask_padded",
           "chunk_size", "SCAN_MODES"]

SCAN_MODES = ("parallel", "sequential", "export")


def chunk_size(T: int) -> int:
    """The chunk length of :func:`parallel_scan` for T steps: about sqrt(T), which makes
    the in-chunk pass and the pass over chunks the same number of operations."""
    return max(1, int(math.isqrt(max(T, 1))))


def mask_padded(a: Tensor, b: Tensor, valid: Tensor | None) -> tuple[Tensor, Tensor]:
    """``a = 1`` and ``b = 0`` where ``valid`` (T, B, 1) is False: padded steps keep the state."""
    if valid is None:
        return a, b
    return torch.where(valid, a, torch.ones((), dtype=a.dtype, device=a.device)), \
        torch.where(valid, b, torch.zeros((), dtype=b.dtype, device=b.device))


def _chunked(a: Tensor, b: Tensor, h0: Tensor, reverse: bool = False, C: int | None = None,
             inplace: bool = False) -> Tensor:
    """The chunked scan without autograd: states (T, *S). ``reverse`` runs
    ``h_t = a_t h_{t+1} + b_t`` from the last step, starting from h0 after it.
    ``inplace``: a and b (contiguous) are overwritten (the states are written into b)."""
    T = a.shape[0]
    S = a.shape[1:]
    C = chunk_size(T) if C is None else max(1, min(C, T))
    n = -(-T // C)
    pad = n * C - T
    if pad:  # padded steps at the end keep the state (a = 1, b = 0)
        a = torch.cat([a, a.new_ones((pad,) + S)])
        b = torch.cat([b, b.new_zeros((pad,) + S)])
    own = inplace or pad                                   # a and b are ours to overwrite
    A = a.reshape((n, C) + S)                              # (chunks, C, *S)
    loc = b.reshape((n, C) + S)                            # the in-chunk scan from a zero state
    loc = loc if own else loc.clone()
    prod = A if own else A.clone()                         # the running product of a in the chunk
    js = range(C - 1, -1, -1) if reverse else range(C)
    prev = js[0]
    for j in js[1:]:
        loc[:, j].addcmul_(A[:, j], loc[:, prev])
        prod[:, j].mul_(prod[:, prev])
        prev = j
    last = prev
    carry = torch.empty((n,) + S, dtype=a.dtype, device=a.device)  # the state entering each chunk
    h = h0
    for k in (range(n - 1, -1, -1) if reverse else range(n)):
        carry[k] = h
        h = torch.addcmul(loc[k, last], prod[k, last], h)
    out = loc.addcmul_(prod, carry.unsqueeze(1)).reshape((n * C,) + S)   # (T + pad, *S)
    return out[:T] if pad else out


class _ParallelScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, h0):
        hs = _chunked(a, b, h0)
        ctx.save_for_backward(a, hs, h0)
        return hs

    @staticmethod
    def backward(ctx, g):
        a, hs, h0 = ctx.saved_tensors
        # g_t = dL/dh_t (total) = g_t + a_{t+1} g_{t+1}: the scan from the end, with
        # the coefficients shifted by one step (the last step has none after it).
        a_next = torch.cat([a[1:], torch.zeros_like(a[:1])])
        gt = _ParallelScanReverse.apply(a_next, g, torch.zeros_like(h0))
        h_prev = torch.cat([h0.unsqueeze(0), hs[:-1]])    # (T, *S): the state each step reads
        return gt * h_prev, gt, a[0] * gt[0]


class _ParallelScanReverse(torch.autograd.Function):
    """``h_t = a_t h_{t+1} + b_t`` from the end (the forward scan's backward)."""

    @staticmethod
    def forward(ctx, a, b, h0):
        hs = _chunked(a, b, h0, reverse=True)
        ctx.save_for_backward(a, hs, h0)
        return hs

    @staticmethod
    def backward(ctx, g):
        a, hs, h0 = ctx.saved_tensors
        a_prev = torch.cat([torch.zeros_like(a[:1]), a[:-1]])
        gt = _ParallelScan.apply(a_prev, g, torch.zeros_like(h0))
        h_next = torch.cat([hs[1:], h0.unsqueeze(0)])
        return gt * h_next, gt, a[-1] * gt[-1]


def parallel_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """All states of ``h_t = a_t h_{t-1} + b_t`` by the chunked scan (module docstring).

    Shape: a, b (T, B, H) (any trailing shape), h0 (B, H) -> (T, B, H). T >= 1."""
    return _ParallelScan.apply(a, b, h0)


def sequential_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """The same states, one step after the other (autograd records each step)."""
    h, out = h0, []
    for t in range(a.shape[0]):
        h = torch.addcmul(b[t], a[t], h)
        out.append(h)
    return torch.stack(out)


def exportable_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """The same states as a ``while_loop`` over the steps: a graph that
    ``torch.export`` captures with a dynamic T (a Loop in ONNX)."""
    from torch._higher_order_ops.while_loop import while_loop

    def cond(k, out, h):
        return k < a.shape[0]

    def body(k, out, h):
        t1 = k.reshape(1)                                  # (1,) index of this step
        h_new = torch.addcmul(b.index_select(0, t1)[0], a.index_select(0, t1)[0], h)
        return k + 1, out.index_copy(0, t1, h_new.unsqueeze(0)), h_new

    k0 = torch.zeros((), dtype=torch.int64, device=a.device)
    res = while_loop(cond, body, (k0, torch.zeros_like(b), h0.clone()))
    return res[1]


BLOCK = 128  # steps per block of :func:`blocked_scan`


class _BlockedScan(torch.autograd.Function):
    """:func:`blocked_scan`'s forward and backward, block by block."""

    @staticmethod
    def forward(ctx, coefficients, n_seq, block, h0, valid, *tensors):
        seqs, params = tensors[:n_seq], tensors[n_seq:]
        T = seqs[0].shape[0]
        hs = h0.new_empty((T,) + tuple(h0.shape))
        h = h0
        for s in range(0, T, block):
            e = min(s + block, T)
            a, b = coefficients(*(t[s:e] for t in seqs), *params)
            a, b = mask_padded(a, b, None if valid is None else valid[s:e])
            hs[s:e] = _chunked(a.contiguous(), b.contiguous(), h, inplace=True)   # (e - s, B, H)
            h = hs[e - 1]
        ctx.coefficients, ctx.n_seq, ctx.block, ctx.has_valid = coefficients, n_seq, block, valid is not None
        ctx.save_for_backward(h0, hs, *((valid,) if valid is not None else ()), *tensors)
        return hs

    @staticmethod
    def backward(ctx, g):
        h0, hs, *rest = ctx.saved_tensors
        valid = rest.pop(0) if ctx.has_valid else None
        seqs, params = rest[:ctx.n_seq], rest[ctx.n_seq:]
        T, block = hs.shape[0], ctx.block
        d_seqs = [torch.empty_like(t) for t in seqs]
        d_params = [torch.zeros_like(p) for p in params]
        next_a = next_g = torch.zeros_like(h0)             # a and the total gradient of the step after the block
        for s in reversed(range(0, T, block)):
            e = min(s + block, T)
            with torch.enable_grad():
                blk = [t[s:e].detach().requires_grad_(True) for t in seqs]
                ps = [p.detach().requires_grad_(True) for p in params]
                a, b = ctx.coefficients(*blk, *ps)
                am, bm = mask_padded(a, b, None if valid is None else valid[s:e])
            # gt_t = g_t + a_{t+1} gt_{t+1}: the scan from the end of the block, entering
            # it with the next block's first a and total gradient
            a_next = torch.cat([am[1:].detach(), next_a.unsqueeze(0)])
            gt = _chunked(a_next, g[s:e], next_g, reverse=True)
            h_prev = torch.cat([(h0 if s == 0 else hs[s - 1]).unsqueeze(0), hs[s:e - 1]])
            grads = torch.autograd.grad((am, bm), blk + ps, (gt * h_prev, gt), allow_unused=True)
            for d, gr in zip(d_seqs, grads[:len(blk)]):
                d[s:e] = 0 if gr is None else gr
            for d, gr in zip(d_params, grads[len(blk):]):
                if gr is not None:
                    d.add_(gr)
            next_a, next_g = am[0].detach(), gt[0]
        return (None, None, None, next_a * next_g, None, *d_seqs, *d_params)


def blocked_scan(coefficients, seqs, params, h0: Tensor, valid: Tensor | None = None,
                 block: int | None = None) -> Tensor:
    """The states of ``h_t = a_t h_{t-1} + b_t`` where ``a, b = coefficients(*seqs_t,
    *params)``, computed block by block of ``block`` steps, the coefficients included.

    Why: on a CPU each full-size (T, B, H) temporary of the gate math is a pass over
    memory (32 MB at T = 4,096, B = 16, H = 128), and a dozen such passes cost more than
    the matrix products. Here the coefficients of a block, its scan and, in the
    backward, their derivatives (recomputed from the block's inputs, by autograd on the
    block) stay in the cache; only the inputs, the states and the gradients travel
    through memory. The numbers are :func:`parallel_scan`'s on the same coefficients.

    Args:
        coefficients: ``(*seq_blocks, *params) -> (a, b)``, each (t, B, H), element-wise
            in time (a block of steps gives that block's coefficients).
        seqs: time-major tensors (T, B, .) (the gate pre-activations).
        params: tensors used by every step (e.g. RG-LRU's Lambda).
        h0: (B, H). valid: (T, B, 1) bool or None (padded steps keep the state).
        block: steps per block, :data:`BLOCK` by default.

    Returns the states (T, B, H). Differentiable once (no double backward).
    """
    seqs, params = list(seqs), list(params)
    return _BlockedScan.apply(coefficients, len(seqs), block or BLOCK, h0, valid, *seqs, *params)


def linear_scan(a: Tensor, b: Tensor, h0: Tensor, mode: str = "parallel") -> Tensor:
    """``h_t = a_t h_{t-1} + b_t`` by ``mode``: "parallel", "sequential" or "export"."""
    if mode == "parallel":
        return parallel_scan(a, b, h0)
    if mode == "sequential":
        return sequential_scan(a, b, h0)
    if mode == "export":
        return exportable_scan(a, b, h0)
    raise ValueError(f"linear_scan: expected mode to be one of {', '.join(map(repr, SCAN_MODES))}, got {mode!r}")
