"""rnnkit: recurrent neural networks on PyTorch.

The public API, explicitly:

* layers: :class:`RNN`, :class:`LSTM`, :class:`GRU` (drop-in for torch.nn, with
  ``lengths`` and ``backend``);
* cells: :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`;
* parallel-scan layers (step linear in the state): :class:`MinGRU`, :class:`MinLSTM`,
  with their cells :class:`MinGRUCell`, :class:`MinLSTMCell`, :class:`RGLRU`, :class:`QRNN`;
* cell math for new cells: :class:`CellMath` and :func:`unrolled_layer`;
* :class:`Stream`: a trained model fed a stream chunk by chunk (imported on first use);
* estimators on data in memory, scikit-learn style: :class:`Classifier`,
  :class:`LanguageModel`, :class:`Forecaster`, :class:`Tagger`, and :func:`load` (the
  estimator of any run directory).

The names are loaded on first use (PEP 562): ``import rnnkit`` alone imports no torch,
so that the command line (``rnnkit --help``, whose module lives in this package) starts
without it. ``rnnkit.LSTM`` and ``from rnnkit import LSTM`` import :mod:`rnnkit.nn`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Public name -> the submodule that defines it.
_LAZY = {
    "RNN": ".nn", "LSTM": ".nn", "GRU": ".nn", "RNNCell": ".nn", "LSTMCell": ".nn", "GRUCell": ".nn",
    "MinGRU": ".nn", "MinGRUCell": ".nn", "MinLSTM": ".nn", "MinLSTMCell": ".nn", "RGLRU": ".nn", "QRNN": ".nn",
    "CellMath": ".nn", "ElmanMath": ".nn", "LSTMMath": ".nn", "GRUMath": ".nn", "unrolled_layer": ".nn",
    "Stream": ".streaming",
    "Classifier": ".estimators", "LanguageModel": ".estimators", "Forecaster": ".estimators",
    "Tagger": ".estimators", "load": ".estimators",
}

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "MinGRU", "MinGRUCell", "MinLSTM", "MinLSTMCell", "RGLRU", "QRNN",
    "CellMath", "ElmanMath", "LSTMMath", "GRUMath", "unrolled_layer", "__version__",
    "Stream",
    "Classifier", "LanguageModel", "Forecaster", "Tagger", "load",
]

if TYPE_CHECKING:      # for type checkers and IDEs: the names as if imported eagerly
    from .nn import (
        GRU, LSTM, RNN, CellMath, ElmanMath, GRUCell, GRUMath, LSTMCell, LSTMMath, MinGRU, MinGRUCell,
        MinLSTM, MinLSTMCell, QRNN, RGLRU, RNNCell, unrolled_layer,
    )
    from .estimators import Classifier, Forecaster, LanguageModel, Tagger, load


# Subpackages reachable as attributes after a plain `import rnnkit` (`rnnkit.nn.LSTM`).
_SUBMODULES = {"nn"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value          # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
