"""Input checks shared by the layers and cells: each failure is one ValueError that
says what was expected and what was received."""

from __future__ import annotations

import torch
from torch import Tensor

BACKENDS = ("auto", "fused", "unrolled")


def check_backend(backend, name: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"{name}: expected backend to be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {backend!r}")
    return backend


def check_input(x, rank: int | None, input_size: int, name: str) -> None:
    """``rank`` None accepts 2-D (unbatched) or 3-D (batched)."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name}: expected input to be a Tensor or PackedSequence, got {type(x).__name__}")
    ranks = (2, 3) if rank is None else (rank,)
    if x.dim() not in ranks:
        want = "2-D (time, features) or 3-D (time, batch, features)" if rank is None else f"{rank}-D"
        raise ValueError(f"{name}: expected {want} input, got {x.dim()}-D input of shape {tuple(x.shape)}")
    if x.shape[-1] != input_size:
        raise ValueError(f"{name}: expected input with {input_size} features in its last dimension "
                         f"(input_size), got shape {tuple(x.shape)}")


def check_lengths(lengths, batch: int, T: int, name: str) -> Tensor:
    """Return ``lengths`` as an int64 tensor on its own device, after checking it."""
    if not isinstance(lengths, Tensor):
        try:
            lengths = torch.as_tensor(lengths)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{name}: expected lengths to be a 1-D integer tensor, got "
                             f"{type(lengths).__name__}") from None
    if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
        raise ValueError(f"{name}: expected lengths to be an integer tensor, got dtype {lengths.dtype}")
    if lengths.dim() != 1:
        raise ValueError(f"{name}: expected lengths to be 1-D of shape ({batch},), got shape "
                         f"{tuple(lengths.shape)}")
    if lengths.shape[0] != batch:
        raise ValueError(f"{name}: expected lengths of shape ({batch},) to match the batch size {batch}, "
                         f"got shape {tuple(lengths.shape)}")
    lengths = lengths.long()
    # the values are checked where they can be read (not under torch.compile / export,
    # nor on the meta device)
    if batch and not (torch.compiler.is_compiling() or lengths.device.type == "meta"):
        lo, hi = int(lengths.min()), int(lengths.max())
        if lo < 0:
            raise ValueError(f"{name}: expected lengths >= 0, got a length of {lo}")
        if hi > T:
            raise ValueError(f"{name}: expected lengths <= the time axis ({T} steps), got a length of {hi}")
    return lengths


def _check_state(h, want: tuple, what: str, x: Tensor, name: str) -> None:
    if not isinstance(h, Tensor):
        raise ValueError(f"{name}: expected {what} to be a Tensor of shape {want}, got {type(h).__name__}")
    if tuple(h.shape) != want:
        raise ValueError(f"{name}: expected {what} of shape {want}, got {tuple(h.shape)}")
    if h.dtype != x.dtype and not torch.is_autocast_enabled(x.device.type):
        # Under autocast a carried state may be in the autocast dtype (as torch.nn allows).
        raise ValueError(f"{name}: expected {what} of dtype {x.dtype} (the input's), got {h.dtype}")
    if h.device != x.device:
        raise ValueError(f"{name}: expected {what} on {x.device} (the input's device), got {h.device}")


def check_hidden(hx, is_lstm: bool, layers_dirs: int, batch: int, out_size: int, hidden: int,
                 unbatched: bool, x: Tensor, name: str):
    """Validate ``hx`` (or make zeros) and return it batched: (L*D, B, .) tensors,
    a pair (h, c) for LSTM."""
    lead = (layers_dirs,) if unbatched else (layers_dirs, batch)
    if hx is None:
        h = x.new_zeros(layers_dirs, batch, out_size)
        return (h, x.new_zeros(layers_dirs, batch, hidden)) if is_lstm else h
    if is_lstm:
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise ValueError(f"{name}: expected hx to be a pair (h_0, c_0), got {type(hx).__name__}")
        _check_state(hx[0], lead + (out_size,), "h_0", x, name)
        _check_state(hx[1], lead + (hidden,), "c_0", x, name)
        h, c = hx[0].to(x.dtype), hx[1].to(x.dtype)
        return (h.unsqueeze(1), c.unsqueeze(1)) if unbatched else (h, c)
    _check_state(hx, lead + (out_size,), "hx", x, name)
    hx = hx.to(x.dtype)
    return hx.unsqueeze(1) if unbatched else hx
