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

from .classifier import Classifier
from .load import load

__all__ = ["Classifier", "load"]
