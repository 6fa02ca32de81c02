"""rnnkit.estimators: the tasks on data in memory, with scikit-learn's conventions.

* :class:`Classifier`: a label per text or per sequence of values;
* :class:`LanguageModel`: a text's next token; ``generate`` and ``score``;
* :class:`Forecaster`: the next steps of series given as a DataFrame or an array;
* :class:`Tagger`: a label per token or per step.

Each trains with :func:`rnnkit.training.train` into a run directory that the command
line reads as it reads its own (``rnnkit evaluate / predict / info / export``), and
:func:`load` gives the estimator of any run directory, also one the command line trained.
"""

from __future__ import annotations

import importlib

from .load import ESTIMATORS, load

__all__ = ["Classifier", "LanguageModel", "Forecaster", "Tagger", "load"]


def __getattr__(name: str):
    for module, cls in ESTIMATORS.values():
        if cls == name:
            return getattr(importlib.import_module(module, __name__), name)
    raise AttributeError(f"module 'rnnkit.estimators' has no attribute {name!r}")
