"""The JSON written beside an exported model: everything a consumer needs to turn raw
data into the graph's inputs and its outputs back into answers, with nothing of
rnnkit (README "Export" documents every key).
"""

from __future__ import annotations

import numpy as np

from ..data.tokenizers import UNK, UNK_TOKEN, WORD_PATTERN, WORD_SHAPES

FORMAT_VERSION = 1
STATE_NAMES = ("h", "c")        # the graphs' state inputs (their outputs add "_out")


def floats(values):
    """Numbers as a flat list of floats for JSON (None stays None)."""
    return None if values is None else [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def tokenizer_json(tok, tokenizer_file: str | None) -> dict:
    """How text becomes ids, per tokenizer kind (id 0 is always the unknown token)."""
    if tok.kind == "char":
        return {"kind": "char", "unknown_id": 0, "unknown": UNK, "vocab": list(tok.chars),
                "how": "one id per character: ids = [vocab.index(ch) if ch in vocab else 0 for ch in text]"}
    if tok.kind == "word":
        out = {"kind": "word", "unknown_id": 0, "unknown": UNK_TOKEN, "vocab": list(tok.words),
               "lowercase": bool(tok.lowercase), "pattern": WORD_PATTERN.pattern,
               "how": "lowercase the text if 'lowercase'; tokens = re.findall(pattern, text); "
                      "ids = [vocab.index(t) if t in vocab else 0 for t in tokens]"}
        if getattr(tok, "shapes", False):
            out["unknown_shapes"] = [{"id": i + 1, "token": t, "when": rule} for i, (t, rule) in enumerate(WORD_SHAPES)]
            out["how"] = ("tokens = re.findall(pattern, text) (on the text as written); a token's id is "
                          "vocab.index(t.lower() if 'lowercase' else t) when that is in vocab, else the id of the "
                          "first of 'unknown_shapes' whose 'when' holds for t as written, else 0")
        return out
    return {"kind": "bpe", "unknown_id": 0, "unknown": UNK_TOKEN, "tokenizer_file": tokenizer_file,
            "lowercase": bool(tok.lowercase),
            "how": "Hugging Face tokenizers: Tokenizer.from_file(tokenizer_file); encode each line of the text "
                   "(keeping its line break) with add_special_tokens=False and concatenate the ids"}


def _io(spec) -> tuple[list, list]:
    """The graph's inputs and outputs: name, dtype, shape (names for dynamic axes)."""
    ins = []
    for name, ex, dyn in zip(spec.input_names, spec.example, spec.dynamic):
        shape = [dyn.get(i, int(n)) for i, n in enumerate(ex.shape)]
        if name in STATE_NAMES:
            shape = [int(ex.shape[0]), "batch", int(ex.shape[2])]
        ins.append({"name": name, "dtype": str(ex.dtype).replace("torch.", ""), "shape": shape})
    outs = [{"name": n} for n in spec.output_names]
    return ins, outs


def describe(module, cfg, spec, model_file: str, fmt: str, tokenizer_file: str | None) -> dict:
    """The sidecar JSON of an export (see the module docstring)."""
    from ..nn.registry import LAYERS
    from .graphs import layer_dtype, recurrent_layer

    rnn = recurrent_layer(module)
    dtype = str(layer_dtype(rnn)).replace("torch.", "")
    D = 2 if rnn.bidirectional else 1
    P = rnn.proj_size if getattr(rnn, "proj_size", 0) else rnn.hidden_size
    inputs, outputs = _io(spec)
    doc = {
        "format": "rnnkit-export", "format_version": FORMAT_VERSION,
        "task": cfg.task, "model_file": model_file, "model_format": fmt,
        "inputs": inputs, "outputs": [o["name"] for o in outputs],
        "dtype": dtype,
        "recurrent": {"cell": cfg.model.cell, "layer": LAYERS.get(cfg.model.cell, cfg.model.cell),
                      "num_layers": rnn.num_layers, "directions": D,
                      "hidden_size": rnn.hidden_size, "state_size": P,
                      "nonlinearity": getattr(rnn, "nonlinearity", None) if cfg.model.cell == "rnn" else None},
        "stateful": spec.stateful,
        "stateless_reason": spec.stateless_reason,
        "state": None,
    }
    if spec.stateful:
        # every state input of the graph (h, and c for an LSTM): (layers * directions, batch, size)
        doc["state"] = {i["name"]: i["shape"] for i in inputs if i["name"] in STATE_NAMES}
    from ..tasks.registry import declaration

    doc["preprocessing"] = declaration(cfg.task).spec.export_json(module, cfg, tokenizer_file)
    return doc
