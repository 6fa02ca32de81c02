"""``lm``: a language model on characters, words or BPE subwords: the next token's
distribution at every step; ``rnnkit generate`` samples from it.

The folder: this declaration; ``module.py``, the network, its TaskModule and data
module; ``behaviour.py``, the TaskSpec (data, final metrics, evaluate, predict,
describe). The model's names are reached from here too (``rnnkit.tasks.lm.<name>``).
"""

from ..declare import Arg, Option, Task, module_names
from ..options import tokens
from ..spec import SEARCHED_CELLS

TASK = Task(
    name="lm",
    about="language model: the next character, word or subword",
    options=(
        *tokens("char"),
        Option("data.seq_length", "window of truncated backpropagation through time"),
        Option("data.max_chars", "read at most this many characters"),
        Option("model.tie_embeddings", "share the input embedding and the output layer's weights"),
    ),
    reads=("text files (any extension), folders and globs; default: Python's standard library",),
    model="rnnkit.tasks.lm.module:LMTask",
    behaviour="rnnkit.tasks.lm.behaviour:LM",
    metrics=("loss", "perplexity", "bits_per_char"),
    curves=(("loss", ("train_loss_step", "train_loss_epoch", "val_loss")),
            ("perplexity", ("val_perplexity",)),
            ("bits_per_char", ("val_bits_per_char",))),   # drawn for character models only (logged only there)
    capabilities=frozenset({"generate", "streaming", "export", "inspect", "baseline"}),
    # the window (seq_length) is not searched: it changes the context validation windows start with
    tuning_space={
        "model.cell": ("choice", list(SEARCHED_CELLS)),
        "model.hidden_size": ("int", 64, 1024, "log"),
        "model.num_layers": ("int", 1, 3),
        "model.dropout": ("float", 0.0, 0.5),
        "model.embedding_size": ("int", 32, 512, "log"),
        "model.tie_embeddings": ("choice", [False, True]),
        "train.lr": ("float", 3e-4, 1e-2, "log"),
    },
    info=(("window", "data.seq_length"),),
    evaluate_args=(Arg("baseline", "also the n-gram baseline fitted on the same training text (interpolated "
                                   "Kneser-Ney), side by side", "flag"),),
)


# the model's names (the TaskModule, its helpers) as rnnkit.tasks.<task>.<name>, loaded on first use
__getattr__ = module_names(__name__)
