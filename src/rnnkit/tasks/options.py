"""Options declared once for several tasks: :data:`COMMON` (every task reads them) and
groups a task includes in its declaration (:data:`TOKENS`, :data:`TABLES`, ...).

Each is an :class:`~rnnkit.tasks.declare.Option`: the config key, its help; type and
default come from the config section's dataclass (:mod:`rnnkit.config`).
"""

from __future__ import annotations

from .declare import Option

#: the recurrent stack: every task
MODEL = (
    Option("model.cell", "recurrent cell"),
    Option("model.hidden_size", "units per layer (and direction)"),
    Option("model.num_layers", "stacked layers"),
    Option("model.dropout", "dropout on embeddings, between layers and before the head"),
    Option("model.nonlinearity", "plain RNN activation"),
    Option("model.backend", "execution path of the recurrent layers"),
    Option("model.recurrent_init",
           "recurrent weights: torch's default, orthogonal gate blocks, or identity (IRNN, cell rnn)"),
    Option("model.forget_bias", "LSTM forget-gate bias b_ih + b_hh at initialisation (1 is the usual remedy)"),
    Option("model.weight_drop",
           "DropConnect on the recurrent weights W_hh, one mask per batch (AWD-LSTM; cells rnn, lstm, gru)"),
    Option("model.input_dropout",
           "locked dropout on the recurrent stack's input: one mask per sequence, shared over time (every cell)"),
    Option("model.hidden_dropout",
           "locked dropout between stacked layers, in place of --dropout there (cells rnn, lstm, gru)"),
    Option("model.output_dropout", "locked dropout on the recurrent stack's output (every cell)"),
    Option("model.embedding_dropout",
           "drop whole words of the embedding, everywhere in the batch (token inputs; every cell)"),
    Option("model.zoneout",
           "zoneout rate: units keep their previous state, h and c (cells rnn, lstm, gru; step-by-step path)"),
    Option("model.layer_norm",
           "layer-normalised cells (Ba et al. 2016; cells rnn, lstm, gru; step-by-step path)"),
)

#: where the data is: every task
DATA = (
    Option("data.data", "training data: files, folders or globs"),
    Option("data.valid", "validation data (default: the last --valid-fraction of --data)"),
    Option("data.test", "test data"),
    Option("data.valid_fraction", "fraction held out for validation when --valid is not given "
                                  "(default: 5%, labelled examples at least min(200, 20%))"),
)

#: how the model is trained: every task
TRAIN = (
    Option("train.optimizer", "optimiser"),
    Option("train.lr", "learning rate"),
    Option("train.weight_decay", "weight decay"),
    Option("train.batch_size", "sequences per batch, per process (global batch = this x devices x nodes)"),
    Option("train.max_epochs", "stop after this many epochs (default: from the budget)"),
    Option("train.max_steps", "stop after this many optimiser steps (-1: from the budget: with no limit given, "
                              "10 epochs, at least 1,000 and at most 20,000 steps)"),
    Option("train.max_time",
           "train for this many seconds unless validation stops improving (a checkpoint is written)"),
    Option("train.seed", "random seed"),
    Option("train.gradient_clip", "clip the gradient's global norm to this (null: off)"),
    Option("train.lr_schedule", "learning-rate schedule: cosine (warm-up, then decay over the budget), "
                                "plateau (halve when validation stalls), none"),
    Option("train.early_stopping_patience",
           "validations without improvement before stopping (auto: 5 and a quarter of the budget; null: off)"),
    Option("train.val_every_n_steps",
           "validate every N steps (default: 50 times over the budget; with --max-epochs every epoch)"),
    Option("train.checkpoint_every_n_steps", "write last.ckpt every N steps (default: every epoch)"),
    Option("train.log_every_n_steps", "log every N steps"),
    Option("train.precision", "numeric precision (auto: mixed on GPUs)"),
    Option("train.accelerator", "device type"),
    Option("train.devices", "devices (processes) per node"),
    Option("train.strategy", "Lightning strategy (ddp, ...)"),
    Option("train.num_nodes", "machines"),
    Option("train.progress_bar", "show the progress bar"),
)

#: every task reads these
COMMON = MODEL + DATA + TRAIN


def tokens(default: str) -> tuple:
    """Token inputs (lm, and the texts of classify and tag), with the tokenizer used
    when none is given."""
    return (
        Option("data.tokenizer", f"char, word or bpe (default: {default})"),
        Option("data.lowercase", "word/bpe: lowercase the text first"),
        Option("data.min_freq", "word: keep words seen at least this often"),
        Option("data.max_vocab", "word: keep at most this many most frequent words"),
        Option("data.vocab_size", "bpe: vocabulary size"),
        Option("model.embedding_size", "size of the token embedding"),
    )


#: words of labelled texts (classify, tag)
WORDS = (
    Option("data.word_dropout", "word: in training, read a word seen n times as <unk> with probability "
                                "a / (a + n) (0: never) (default: 1 with the word tokenizer, else 0)"),
    Option("data.word_shapes", "word: read a word not in the vocabulary by its shape (Capitalised, ALL CAPS, "
                               "a number, @user, #tag, a URL) instead of one <unk> (default: on with the word "
                               "tokenizer)"),
)

#: labelled sequences (classify, tag): direction, length, scaling
LABELLED = (
    Option("model.bidirectional", "read both directions"),
    Option("data.label_column", "column of the label"),
    Option("data.max_length", "cut sequences to this many tokens (default: never)"),
    Option("data.normalize", "z-normalise each sequence"),
)

#: reading tables and arrays of values (classify, tag, forecast)
TABLES = (
    Option("data.format", "series data format (default: by file extension)"),
    Option("data.fill", "missing values: ffill, interpolate or zero (default: an error naming where)"),
)

#: long and wide layouts of series tables (tag, forecast)
LAYOUT = (
    Option("data.time_column", "column of timestamps (wide and long layouts)"),
    Option("data.series_column", "long layout: column of series ids"),
)

#: biosignal records (WFDB, EDF)
SIGNALS = (
    Option("data.channels", "biosignals: channels to read, NAME[,NAME]"),
    Option("data.resample", "biosignals: resample to this rate (Hz)"),
)
