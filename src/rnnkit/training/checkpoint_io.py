"""Checkpoints written so that a kill at any moment never leaves a corrupt file: Lightning's
checkpoint writer through rnnkit's one atomic writer (:mod:`rnnkit.io.atomic`: a
temporary file in the same folder, flushed to disk, renamed over the old checkpoint,
with the umask's permissions). ``atomic_write_bytes`` / ``atomic_write_text`` /
``atomic_torch_save`` are kept as short names for :func:`rnnkit.io.atomic.write_atomic`."""

from __future__ import annotations

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from ..io.atomic import write_atomic


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: either the old file or the new one, whole."""
    write_atomic(path, bytes(data))


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_atomic(path, str(text))


def atomic_torch_save(obj, path) -> None:
    """``torch.save(obj)`` to ``path`` atomically, streamed to the temporary file."""
    write_atomic(path, lambda f: torch.save(obj, f))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, with write-then-rename."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO does not take storage_options")
        atomic_torch_save(checkpoint, path)
