"""rnnkit.nn: recurrent layers and cells. Knows nothing of files, tasks or training."""

from .cell_math import CellMath, ElmanMath, GRUMath, LSTMMath
from .cells import GRUCell, LSTMCell, RNNCell
from .init import forget_gate_bias_, identity_recurrent_, orthogonal_recurrent_
from .layers import GRU, LSTM, RNN, LayerNormGRU, LayerNormLSTM
from .regularise import LockedDropout, embedding_dropout, locked_dropout, weight_drop, zoneout
from .scan_cells import MinGRUCell, MinLSTMCell
from .scan_layers import QRNN, RGLRU, MinGRU, MinLSTM
from .unrolled import unrolled_layer

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "LayerNormLSTM", "LayerNormGRU",
    "LockedDropout", "embedding_dropout", "locked_dropout", "weight_drop", "zoneout",
    "MinGRU", "MinGRUCell", "MinLSTM", "MinLSTMCell", "RGLRU", "QRNN",
    "CellMath", "ElmanMath", "LSTMMath", "GRUMath", "unrolled_layer",
    "orthogonal_recurrent_", "identity_recurrent_", "forget_gate_bias_",
]
