"""Every task and cell exported to ONNX and run with onnxruntime: the outputs of the
model's own forward (and of its predict methods) within 1e-5, at other batch sizes and
lengths than the example's, chunk by chunk with the state carried equal to one pass;
the JSON beside it; pt2 loaded in a process where rnnkit cannot be imported."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnkit.export import export_model
from rnnkit.nn.registry import CELL_NAMES, CLASSIC
from tests.export.tiny_models import inputs, make

pytest.importorskip("onnxscript")
ATOL = 1e-5

# task, model options: the stateful (left-to-right) variant of each task
STATEFUL = {
    "lm": {},
    "classify": {"bidirectional": False, "head": "last"},
    "tag": {"bidirectional": False},
    "forecast": {"bidirectional": False},
}


def export(module, tmp_path, fmt="onnx", name="model"):
    out = tmp_path / f"{name}.{fmt}"
    files = export_model(module, module.cfg, out, fmt, optimize=False)
    return files, json.loads((tmp_path / f"{name}.{fmt}.json").read_text())


def session(path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def reference(module, task, x, lengths, future=None, state=None):
    """The model's own forward: (outputs, [h, c])."""
    net = module.net
    with torch.no_grad():
        if task == "lm":
            logits, st = net(x, state)
            return logits, st
        if task == "forecast" and net.decoder == "autoregressive":
            return net(x, None, state)
        if task == "forecast":
            return net(x, future), None
        return net(x, lengths), None


def zeros_state(doc, B, dtype=np.float32):
    return {k: np.zeros([B if d == "batch" else d for d in shape], dtype) for k, shape in (doc["state"] or {}).items()}


def feed(sess, doc, **arrays):
    names = [i["name"] for i in doc["inputs"]]
    return dict(zip(doc["outputs"], sess.run(None, {n: arrays[n] for n in names})))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("task", ["lm", "classify", "tag", "forecast"])
def test_onnx_equals_the_model_for_every_task_and_cell(tmp_path, ort, task, cell):
    opts = dict(STATEFUL[task])
    if task == "forecast" and cell != "gru":
        opts["decoder"] = "autoregressive"
    if cell == "lstm":
        opts["num_layers"] = 2
    module = make(task, cell, kind="text" if (task == "tag" and cell == "gru") else "signal", **opts)
    files, doc = export(module, tmp_path)
    assert set(doc["state"]) == ({"h", "c"} if cell == "lstm" else {"h"})
    check_stateful_graph(module, task, files, doc)


# The parallel-scan layers (every registry cell beyond rnn, lstm, gru): the first in lm
# (two layers) and classify (text, and what `rnnkit predict` writes), each other in one
# task, in turn from tag, so that every task meets a scan cell (ONNX export costs
# seconds a graph: the suite keeps one case per task and cell family).
SCAN_CELLS = [c for c in CELL_NAMES if c not in CLASSIC]
SCAN_CASES = ([("lm", SCAN_CELLS[0]), ("classify", SCAN_CELLS[0])]
              + [(list(STATEFUL)[(k + 2) % 4], c) for k, c in enumerate(SCAN_CELLS[1:])])


@pytest.mark.parametrize("task,cell", SCAN_CASES)
def test_onnx_equals_the_model_for_the_parallel_scan_cells(tmp_path, ort, task, cell):
    first = cell == SCAN_CELLS[0]
    two_layers = {"num_layers": 2} if first and task == "lm" else {}
    module = make(task, cell, kind="text" if first else "signal", **STATEFUL[task], **two_layers)
    files, doc = export(module, tmp_path)
    layer = module.net.rnn if task in ("lm", "forecast") else module.net.encoder.rnn
    widths = layer.state_widths
    assert list(doc["state"]) == ["h", "c"][:len(widths)] and doc["recurrent"]["layer"] == type(layer).__name__
    assert doc["state"]["h"] == [layer.num_layers, "batch", widths[0] * layer.hidden_size]
    check_stateful_graph(module, task, files, doc)
    if first and task == "classify":
        # what `rnnkit predict` writes: the class probabilities of texts
        texts = ["the cat sat on the mat .", "a dog", "zebra ran after the cat"]
        want = module.predict_proba(texts)
        import re

        tok = doc["preprocessing"]["tokenizer"]
        vocab = {w: i for i, w in enumerate(tok["vocab"])}
        ids = [[vocab.get(t, 0) for t in re.findall(tok["pattern"], s.lower() if tok["lowercase"] else s)]
               for s in texts]
        T = max(map(len, ids))
        x = np.array([row + [0] * (T - len(row)) for row in ids], np.int64)
        got = feed(session(files["model"]), doc, x=x, lengths=np.array([len(r) for r in ids]),
                   **zeros_state(doc, len(texts)))["logits"]
        probs = np.exp(got - got.max(1, keepdims=True))
        np.testing.assert_allclose(probs / probs.sum(1, keepdims=True), want, atol=ATOL, rtol=0)


def check_stateful_graph(module, task, files, doc):
    """The exported graph of a stateful (left-to-right) model against the model's own
    forward at other batch sizes and lengths than the export's, and chunk by chunk with
    the state carried against one pass."""
    assert doc["task"] == task and doc["stateful"] and doc["stateless_reason"] is None
    sess = session(files["model"])
    direct = task == "forecast" and module.net.decoder == "direct"
    # dynamic batch and time: the example was (2, 3)
    for B, T, seed in ((4, 7, 1), (1, 1, 2)):
        per_step_lengths = task in ("classify", "tag")
        x, lengths = inputs(module, task, B, T, seed, full=not per_step_lengths)
        arrays = {"x": x.numpy(), "ids": x.numpy(), "lengths": lengths.numpy(), **zeros_state(doc, B)}
        future = None
        if direct:
            future = torch.randn(B, 3, 1, generator=torch.Generator().manual_seed(seed))
            arrays["future"] = future.numpy()
        got = feed(sess, doc, **arrays)
        want, want_state = reference(module, task, x, lengths, future)
        key = doc["outputs"][0]
        np.testing.assert_allclose(got[key], want.numpy(), atol=ATOL, rtol=0)
        if want_state is not None:
            ws = want_state if isinstance(want_state, tuple) else (want_state,)
            for name, w in zip(["h_out", "c_out"], ws):
                np.testing.assert_allclose(got[name], w.numpy(), atol=ATOL, rtol=0)
    # chunk by chunk, the state carried, equals one pass (direct: the state after the window)
    x, lengths = inputs(module, task, 3, 8, 3, full=True)
    arrays = {"x": x.numpy(), "ids": x.numpy(), "lengths": lengths.numpy(), **zeros_state(doc, 3)}
    if direct:
        arrays["future"] = np.zeros((3, 3, 1), np.float32)
    whole = feed(sess, doc, **arrays)
    state = zeros_state(doc, 3)
    parts = []
    for a, b in ((0, 3), (3, 4), (4, 8)):
        chunk = {**arrays, "x": arrays["x"][:, a:b], "ids": arrays["ids"][:, a:b], "lengths": np.full(3, b - a),
                 **state}
        got = feed(sess, doc, **chunk)
        state = {k: got[k + "_out"] for k in state}
        parts.append(got[doc["outputs"][0]])
    key = doc["outputs"][0]
    if whole[key].ndim >= 3 and not direct:                   # an output per step
        np.testing.assert_allclose(np.concatenate(parts, 1), whole[key], atol=ATOL, rtol=0)
    else:                                                     # an output per sequence, after its last chunk
        np.testing.assert_allclose(parts[-1], whole[key], atol=ATOL, rtol=0)
    for k in state:
        np.testing.assert_allclose(state[k], whole[k + "_out"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("task,cell,opts,reason", [
    ("tag", "gru", {"bidirectional": True}, "bidirectional"),
    ("classify", "rnn", {"bidirectional": False, "head": "mean"}, "head mean"),
    ("classify", "lstm", {"bidirectional": False, "head": "last", "patch": 3}, "model.patch 3"),
    ("classify", "lstm", {"bidirectional": False, "head": "last", "patch": 3, "stem": 4}, "model.patch 3"),
    ("classify", "gru", {"bidirectional": False, "head": "last", "stem": 4}, "model.stem"),
    ("forecast", "lstm", {"bidirectional": True}, "bidirectional"),
    ("forecast", "gru", {"bidirectional": False, "window_norm": True}, "model.window_norm"),
])
def test_whole_sequence_models_export_without_state(tmp_path, ort, task, cell, opts, reason):
    module = make(task, cell, **opts)
    files, doc = export(module, tmp_path)
    assert not doc["stateful"] and doc["state"] is None and reason in doc["stateless_reason"]
    assert [i["name"] for i in doc["inputs"]] == (["x", "future"] if task == "forecast" else ["x", "lengths"])
    sess = session(files["model"])
    for B, T, seed in ((5, 6, 1), (1, 2, 2)):
        x, lengths = inputs(module, task, B, T, seed, full=task == "forecast")
        future = torch.randn(B, 3, 1) if task == "forecast" else None
        got = feed(sess, doc, x=x.numpy(), lengths=lengths.numpy(),
                   **({"future": future.numpy()} if future is not None else {}))
        want, _ = reference(module, task, x, lengths, future)
        np.testing.assert_allclose(got[doc["outputs"][0]], want.numpy(), atol=ATOL, rtol=0)


def test_onnx_equals_predict_for_texts_and_signals(tmp_path, ort):
    """classify's predict_proba on texts, tag's predict on a signal (scaled as in
    training with the JSON's scale), from the exported graph and the JSON alone."""
    clf = make("classify", "gru", kind="text", bidirectional=False)
    files, doc = export(clf, tmp_path, name="clf")
    texts = ["the cat sat on the mat .", "a dog", "zebra ran after the cat"]
    want = clf.predict_proba(texts)
    vocab = {w: i for i, w in enumerate(doc["preprocessing"]["tokenizer"]["vocab"])}
    import re

    tok = doc["preprocessing"]["tokenizer"]
    ids = [[vocab.get(t, 0) for t in re.findall(tok["pattern"], s.lower() if tok["lowercase"] else s)] for s in texts]
    T = max(map(len, ids))
    x = np.array([row + [0] * (T - len(row)) for row in ids], np.int64)
    got = feed(session(files["model"]), doc, x=x, lengths=np.array([len(r) for r in ids]),
               **zeros_state(doc, len(texts)))["logits"]
    probs = np.exp(got - got.max(1, keepdims=True))
    np.testing.assert_allclose(probs / probs.sum(1, keepdims=True), want, atol=ATOL, rtol=0)

    tagger = make("tag", "lstm", bidirectional=False)
    files, doc = export(tagger, tmp_path, name="tagger")
    signal = np.random.default_rng(0).normal(size=(50, 2))
    want = tagger.signal_probs([signal])[0]
    sc = doc["preprocessing"]["scale"]
    z = ((signal - np.array(sc["mean"])) / np.array(sc["std"])).astype(np.float32)[None]
    got = feed(session(files["model"]), doc, x=z, lengths=np.array([50]), **zeros_state(doc, 1))["logits"][0]
    probs = np.exp(got - got.max(1, keepdims=True))
    np.testing.assert_allclose(probs / probs.sum(1, keepdims=True), want, atol=ATOL, rtol=0)


PT2_CHILD = r"""
import sys, json
sys.modules["rnnkit"] = None                     # nothing of rnnkit may be used
import numpy as np, torch
for path in sys.argv[1:]:
    prog = torch.export.load(path).module()
    ins = np.load(path + ".inputs.npz")
    doc = json.load(open(path + ".json"))
    args = [torch.from_numpy(ins[i["name"]]) for i in doc["inputs"]]
    out = prog(*args)
    out = out if isinstance(out, (tuple, list)) else [out]
    np.savez(path + ".outputs.npz", *[o.detach().numpy() for o in out])
print("ok")
"""


def test_pt2_runs_without_rnnkit_with_dynamic_shapes(tmp_path):
    cases = [("lm", "lstm", {}), ("classify", "gru", {"bidirectional": False}),
             ("tag", "rnn", {"bidirectional": True}), ("forecast", "lstm", {"decoder": "autoregressive"}),
             ("tag", SCAN_CELLS[-1], {"bidirectional": True}),
             ("classify", "lstm", {"bidirectional": False, "patch": 2}),
             ("classify", "gru", {"bidirectional": False, "patch": 2, "stem": 3})]
    paths, wants = [], []
    for task, cell, opts in cases:
        module = make(task, cell, **opts)
        files, doc = export(module, tmp_path, "pt2", name=f"{task}-{cell}-{len(paths)}")
        x, lengths = inputs(module, task, 4, 9, 7, full=task in ("lm", "forecast"))
        arrays = {"x": x.numpy(), "ids": x.numpy(), "lengths": lengths.numpy(), **zeros_state(doc, 4)}
        np.savez(files["model"] + ".inputs.npz", **arrays)
        paths.append(files["model"])
        wants.append(reference(module, task, x, lengths)[0])
    done = subprocess.run([sys.executable, "-I", "-c", PT2_CHILD, *paths], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]
    for path, want in zip(paths, wants):
        got = np.load(path + ".outputs.npz")["arr_0"]
        np.testing.assert_allclose(got, want.numpy(), atol=ATOL, rtol=0)


def test_json_documents_the_preprocessing(tmp_path):
    module = make("forecast", "gru", decoder="autoregressive", num_layers=2)
    _, doc = export(module, tmp_path, "pt2")
    pre = doc["preprocessing"]
    assert pre["targets"] == ["y", "z"] and pre["future_covariates"] == ["f"] and pre["horizon"] == 3
    assert pre["input_columns"] == ["y", "z", "f"] and pre["scale"] == "global"
    assert pre["global_scale"] == {"loc": [1.0, -2.0, 0.5], "scale": [2.0, 0.5, 3.0]}
    assert [i["name"] for i in doc["inputs"]] == ["x", "lengths", "h"]
    assert doc["inputs"][0]["shape"] == ["batch", "time", 3] and doc["inputs"][2]["shape"] == [2, "batch", 6]
    assert doc["recurrent"] == {"cell": "gru", "layer": "GRU", "num_layers": 2, "directions": 1, "hidden_size": 6,
                                "state_size": 6,
                                "nonlinearity": None}


def test_bpe_tokenizer_file_and_tied_embeddings(tmp_path):
    """A BPE language model (tied embeddings with a projection): the tokenizer.json
    beside the model encodes text as the run does, with Hugging Face tokenizers alone."""
    from tokenizers import Tokenizer

    from rnnkit.data.tokenizers import BPETokenizer
    from rnnkit.tasks.lm import LMTask
    from tests.export.tiny_models import TEXT, config

    tok = BPETokenizer.fit([TEXT * 3], vocab_size=280, lowercase=True)
    torch.manual_seed(0)
    module = LMTask(config("lm", "gru", tie_embeddings=True, hidden_size=5), {"tokenizer": tok.state_dict()}).eval()
    files, doc = export(module, tmp_path, "pt2")
    spec = doc["preprocessing"]["tokenizer"]
    assert spec["kind"] == "bpe" and spec["tokenizer_file"] == "model.pt2.tokenizer.json"
    hf = Tokenizer.from_file(str(tmp_path / spec["tokenizer_file"]))
    text = "The Cat sat.\nA dog!\n"
    ids = [i for line in text.splitlines(keepends=True) for i in hf.encode(line, add_special_tokens=False).ids]
    assert ids == tok.encode(text).tolist()
    prog = torch.export.load(files["model"]).module()
    x = torch.tensor([ids])
    h = torch.zeros(1, 1, 5)
    with torch.no_grad():
        got = prog(x, torch.tensor([len(ids)]), h)
        want, state = module.net(x)
    torch.testing.assert_close(got[0], want, atol=ATOL, rtol=0)
    torch.testing.assert_close(got[1], state, atol=ATOL, rtol=0)
