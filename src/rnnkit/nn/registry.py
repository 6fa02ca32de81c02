"""The recurrent layers by the name that configs, the command line and the lab use for
them (``cell``). A new layer is one line here, its name in
:attr:`rnnkit.config.ModelConfig.cell`, and nothing else for the code that builds
models by name (``rnnkit.tasks.base.recurrent_stack``, the long-range lab)."""

from __future__ import annotations

# cell name -> class name in rnnkit.nn
LAYERS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU",
          "mingru": "MinGRU", "minlstm": "MinLSTM", "rglru": "RGLRU", "qrnn": "QRNN"}
# the layers with torch.nn's W_hh, backend= and (rnn) nonlinearity=; the others are the
# parallel-scan layers of rnnkit.nn.scan_layers
CLASSIC = ("rnn", "lstm", "gru")
CELL_NAMES = tuple(LAYERS)


def layer_class(cell: str):
    """The rnnkit.nn layer class named ``cell``; ValueError naming the known ones otherwise."""
    if cell not in LAYERS:
        raise ValueError(f"cell: expected one of {', '.join(CELL_NAMES)}, got {cell!r}")
    from .. import nn as rnn
    return getattr(rnn, LAYERS[cell])
