"""``rnnkit.load``: the estimator of a run directory, whichever door trained it."""

from __future__ import annotations

import importlib
from pathlib import Path

from .base import read_estimator_file

#: task -> (module, class) of its estimator
ESTIMATORS = {"classify": (".classifier", "Classifier"), "lm": (".language_model", "LanguageModel"),
              "forecast": (".forecaster", "Forecaster"), "tag": (".tagger", "Tagger")}


def estimator_class(task: str):
    module, name = ESTIMATORS[task]
    return getattr(importlib.import_module(module, __package__), name)


def load(run_dir):
    """The fitted estimator of the run directory ``run_dir`` (its task decides the
    class: :class:`~rnnkit.Classifier` for classify, ...), with the best weights, its
    hyperparameters from the run's config. A run trained by the command line works as
    one saved by :meth:`~rnnkit.estimators.base.RNNEstimator.save`.

    Example::

        clf = rnnkit.load("runs/reviews")
        clf.predict(["a fine film"])
    """
    from ..training import load_run

    run = Path(run_dir)
    module, cfg = load_run(run)
    return estimator_class(cfg.task)._from_run(module, cfg, run, read_estimator_file(run))
