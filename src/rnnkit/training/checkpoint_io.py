"""Checkpoints written so that a kill at any moment never leaves a corrupt file: Lightning's
checkpoint writer through rnnkit's one atomic writer (:func:`rnnkit.io.atomic.save_torch_atomic`:
a temporary file in the same folder, flushed to disk, renamed over the old checkpoint,
with the umask's permissions)."""

from __future__ import annotations

from lightning.pytorch.plugins.io import TorchCheckpointIO

from ..io.atomic import save_torch_atomic


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, with write-then-rename."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO does not take storage_options")
        save_torch_atomic(checkpoint, path)
