"""Tiny task modules for the export and streaming tests, built from a config and a
preprocessing state as a checkpoint holds them (random weights: the numbers are
compared, not learnt)."""

import torch

from rnnkit.data.tokenizers import CharTokenizer, WordTokenizer

TEXT = "the cat sat on the mat. a dog ran after the cat!\n"
WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "."]


def config(task, cell, **model):
    m = {"cell": cell, "hidden_size": 6, "num_layers": 1, "dropout": 0.0, **model}
    if task != "forecast":          # forecast reads values only: embedding_size is not its option
        m = {"embedding_size": 4, **m}
    return {"task": task, "model": m}


def make(task, cell="lstm", *, kind="signal", dtype=torch.float32, data=None, **model):
    """A task module in eval mode. ``kind``: signal (values) or text (tokens), for
    classify and tag; for forecast, ``model`` may set ``decoder`` and ``loss``."""
    torch.manual_seed(0)
    cfg = config(task, cell, **model)
    if task == "lm":
        from rnnkit.tasks.lm import LMTask

        m = LMTask(cfg, {"tokenizer": CharTokenizer.fit(TEXT).state_dict()})
    elif task == "classify":
        from rnnkit.tasks.classify import ClassifyTask

        pre = {"kind": kind, "classes": ["no", "yes", "maybe"]}
        pre.update({"channels": ["a", "b"], "scale": {"mean": [0.5, -1.0], "std": [2.0, 0.5]}} if kind == "signal" else
                   {"tokenizer": WordTokenizer.fit(TEXT).state_dict()})
        m = ClassifyTask(cfg, pre)
    elif task == "tag":
        from rnnkit.tasks.tag import TagTask

        pre = {"kind": kind, "tags": ["n", "x", "y"]}
        pre.update({"channels": ["a", "b"], "background": "n", "scale": {"mean": [0.5, -1.0], "std": [2.0, 0.5]},
                    "window": None} if kind == "signal" else {"tokenizer": WordTokenizer.fit(TEXT).state_dict()})
        m = TagTask(cfg, pre)
    else:
        from rnnkit.tasks.forecast import ForecastTask

        cfg["data"] = {"scale": "global", **(data or {})}
        ar = model.get("decoder") == "autoregressive"
        pre = {"targets": ["y", "z"], "past": [] if ar else ["p"], "future": ["f"], "horizon": 3, "input_length": 8,
               "global_scale": [[1.0, -2.0, 0.5] if ar else [1.0, -2.0, 0.3, 0.5],
                                [2.0, 0.5, 3.0] if ar else [2.0, 0.5, 1.5, 3.0]]}
        m = ForecastTask(cfg, pre)
    return m.to(dtype).eval()


def inputs(module, task, B, T, seed, full=False):
    """Random graph inputs (x, lengths) for a module: ids or values; lengths between
    1 and T (T for the first sequence), all T with ``full``."""
    g = torch.Generator().manual_seed(seed)
    dtype = next(module.parameters()).dtype
    lengths = torch.full((B,), T) if full else torch.randint(1, T + 1, (B,), generator=g)
    lengths[0] = T
    if task == "lm" or getattr(module, "tokenizer", None) is not None:
        x = torch.randint(0, module.tokenizer.vocab_size, (B, T), generator=g)
    else:
        width = module.net.rnn.input_size if task == "forecast" else module.net.encoder.input_size
        x = torch.randn(B, T, width, generator=g, dtype=dtype)
    return x, lengths
