"""``tag``: a label per step, of tokens (CoNLL) or of real values (tables, .npz, and
biosignal records to predict).

The folder: this declaration; ``module.py``, the network, its TaskModule and data
module; ``behaviour.py``, the TaskSpec (data, final metrics, evaluate, predict,
describe). The model's names are reached from here too (``rnnkit.tasks.tag.<name>``).
"""

from ..declare import Arg, Task, module_names
from ..options import LABELLED, LAYOUT, SIGNALS, TABLES, WORDS, tokens
from ..spec import SEARCHED_CELLS

TASK = Task(
    name="tag",
    about="a label per step: tokens (CoNLL) or values",
    options=(*tokens("word"), *WORDS, *LABELLED, *TABLES, *LAYOUT, *SIGNALS),
    reads=("tokens: CoNLL (.conll .txt .tsv)", "values: .csv .parquet .npz; predict also WFDB .hea, EDF, .npy"),
    model="rnnkit.tasks.tag.module:TagTask",
    behaviour="rnnkit.tasks.tag.behaviour:TAG",
    metrics=("loss", "accuracy", "event_precision", "event_recall", "event_f1", "steps"),
    curves=(("loss", ("train_loss_step", "train_loss_epoch", "val_loss")), ("accuracy", ("val_accuracy",))),
    capabilities=frozenset({"baseline", "streaming", "export"}),
    # a unidirectional tagger is in the space: it sees only the past, as a stream would give it
    tuning_space={
        "model.cell": ("choice", list(SEARCHED_CELLS)),
        "model.hidden_size": ("int", 32, 512, "log"),
        "model.num_layers": ("int", 1, 3),
        "model.bidirectional": ("choice", [True, False]),
        "model.dropout": ("float", 0.0, 0.5),
        "model.embedding_size": ("int", 16, 256, "log"),     # texts only
        "data.word_dropout": ("float", 0.0, 2.0),            # texts only
        "train.lr": ("float", 3e-4, 1e-2, "log"),
    },
    evaluate_args=(Arg("baseline", "also the baseline fitted on the same training split (each word's most "
                                   "frequent tag for texts, window logistic for real-valued sequences), side by "
                                   "side", "flag"),),
    # both directions for every input; texts lowercased, every word kept: word dropout and
    # word shapes (module.WORD_DROPOUT, WORD_SHAPES) train the unknown ids instead of
    # --min-freq 2 (WNUT-2016 at 120 s, 3 seeds: span F1 0.134 -> 0.283, benchmarks/README.md)
    defaults={"text": {"model.bidirectional": True, "data.lowercase": True, "data.min_freq": 1},
              "values": {"model.bidirectional": True}},
)


# the model's names (the TaskModule, its helpers) as rnnkit.tasks.<task>.<name>, loaded on first use
__getattr__ = module_names(__name__)
