"""rnnkit: recurrent neural networks on PyTorch.

The public API, explicitly:

* layers: :class:`RNN`, :class:`LSTM`, :class:`GRU` (drop-in for torch.nn, with
  ``lengths`` and ``backend``);
* cells: :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`;
* cell math for new cells: :class:`CellMath` and :func:`unrolled_layer`.
"""

from .nn import (
    GRU, LSTM, RNN, CellMath, ElmanMath, GRUCell, GRUMath, LSTMCell, LSTMMath, RNNCell,
    unrolled_layer,
)

__version__ = "0.1.0"

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "CellMath", "ElmanMath", "LSTMMath", "GRUMath", "unrolled_layer", "__version__",
]
