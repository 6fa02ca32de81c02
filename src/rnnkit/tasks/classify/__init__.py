"""``classify``: one label per sequence, from texts (CSV, TSV, JSON Lines, a folder per
class) or real-valued sequences (UCR/UEA .ts, .npy/.npz, biosignal records).

The folder: this declaration; ``module.py``, the network, its TaskModule and data
module; ``behaviour.py``, the TaskSpec (data, final metrics, evaluate, predict,
describe). The model's names are reached from here too (``rnnkit.tasks.classify.<name>``).
"""

from ..declare import Arg, Option, Task, module_names
from ..options import LABELLED, SIGNALS, TABLES, WORDS, tokens
from ..spec import SEARCHED_CELLS

TASK = Task(
    name="classify",
    about="one label per text or sequence of values",
    options=(
        *tokens("word"), *WORDS, *LABELLED, *TABLES, *SIGNALS,
        Option("data.text_column", "column of the text (CSV, TSV, JSON Lines)"),
        Option("model.model", "rnn, or bow: the bag-of-words / n-grams linear baseline"),
        Option("model.head", "the sequence summary fed to the classifier (last state, mean or max over steps)"),
        Option("model.ngrams", "bow: bag of 1..N-grams"),
        Option("model.patch", "values: consecutive steps read as one step (default: ceil(median training "
                              "length / 32))"),
        Option("model.stem", "values: channels of the three convolutions (kernels 8, 5, 3) that read the series "
                             "before the patch, each patch then the max of its steps; 0 for none (default: 64)"),
    ),
    reads=("texts: .csv .tsv .jsonl, a folder per class", "values: .ts (UCR/UEA) .npy .npz, WFDB .hea, EDF"),
    model="rnnkit.tasks.classify.module:ClassifyTask",
    behaviour="rnnkit.tasks.classify.behaviour:CLASSIFY",
    metrics=("loss", "accuracy", "macro_f1", "examples"),
    table=True,
    curves=(("loss", ("train_loss_step", "train_loss_epoch", "val_loss")), ("accuracy", ("val_accuracy",))),
    capabilities=frozenset({"baseline", "streaming", "export"}),
    # texts: the max over the steps, lowercased, every word kept (word dropout and shapes,
    # module.WORD_DROPOUT / WORD_SHAPES, train the unknown ids), one layer, an embedding of
    # 128, dropout 0.3; one direction (two measured no better, at twice the time a step):
    # the figures that chose them are in benchmarks/README.md ("Text and tagging defaults")
    defaults={"text": {"model.head": "max", "data.lowercase": True, "data.min_freq": 1, "model.num_layers": 1,
                       "model.embedding_size": 128, "model.dropout": 0.3}},
    tuning_space={
        "model.cell": ("choice", list(SEARCHED_CELLS)),
        "model.hidden_size": ("int", 32, 512, "log"),
        "model.num_layers": ("int", 1, 3),
        "model.bidirectional": ("choice", [False, True]),
        "model.head": ("choice", ["last", "mean", "max"]),
        "model.dropout": ("float", 0.0, 0.5),
        "model.embedding_size": ("int", 16, 256, "log"),     # texts only
        "data.min_freq": ("int", 1, 3),                      # texts only
        "data.lowercase": ("choice", [False, True]),         # texts only
        "data.word_dropout": ("float", 0.0, 2.0),            # texts only
        "data.normalize": ("choice", [False, True]),         # real values only
        "model.patch": ("choice", [1, 2, 4, 8, 16, 32]),     # real values only
        "model.stem": ("choice", [0, 32, 64]),               # real values only
        "train.lr": ("float", 3e-4, 1e-2, "log"),
    },
    evaluate_args=(Arg("baseline", "also the baseline fitted on the same training split (bag of words for "
                                   "texts, window logistic for real-valued sequences), side by side", "flag"),),
)


# the model's names (the TaskModule, its helpers) as rnnkit.tasks.<task>.<name>, loaded on first use
__getattr__ = module_names(__name__)
