"""rnnkit.nn: recurrent layers and cells. Knows nothing of files, tasks or training."""

from .cell_math import CellMath, ElmanMath, GRUMath, LSTMMath
from .cells import GRUCell, LSTMCell, RNNCell
from .layers import GRU, LSTM, RNN
from .unrolled import unrolled_layer

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "CellMath", "ElmanMath", "LSTMMath", "GRUMath", "unrolled_layer",
]
