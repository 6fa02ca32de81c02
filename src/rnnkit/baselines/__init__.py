"""rnnkit.baselines: models without recurrence that a sequence model has to beat."""

from .bow import BagOfWords

__all__ = ["BagOfWords"]
