"""rnnkit: recurrent neural networks on PyTorch.

The public API, explicitly:

* layers: :class:`RNN`, :class:`LSTM`, :class:`GRU` (drop-in for torch.nn, with
  ``lengths`` and ``backend``);
* cells: :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`;
* cell math for new cells: :class:`CellMath` and :func:`unrolled_layer`;
* :class:`Stream`: a trained model fed a stream chunk by chunk (imported on first use).
"""

from .nn import (
    GRU, LSTM, RNN, CellMath, ElmanMath, GRUCell, GRUMath, LSTMCell, LSTMMath, RNNCell,
    unrolled_layer,
)

__version__ = "0.1.0"

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "CellMath", "ElmanMath", "LSTMMath", "GRUMath", "unrolled_layer", "__version__",
    "Stream",
]


def __getattr__(name):
    if name == "Stream":   # it imports the tasks (Lightning): only when asked for
        from .streaming import Stream

        return Stream
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
