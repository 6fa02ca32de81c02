"""rnnkit.training: the Lightning trainer shared by every task, and the run directory."""

from .trainer import build_trainer, load_run, train

__all__ = ["train", "load_run", "build_trainer"]
