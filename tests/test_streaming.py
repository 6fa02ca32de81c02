"""rnnkit.Stream: chunk after chunk equals one pass over the whole stream (float64),
per stream id, several streams batched together; models that cannot be streamed are
refused with one line that says why."""

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.nn.registry import CELL_NAMES, CLASSIC
from tests.export.tiny_models import TEXT, make

F64 = dict(atol=1e-12, rtol=0)


def chunks_of(seq, cuts):
    edges = [0, *cuts, len(seq)]
    return [seq[a:b] for a, b in zip(edges, edges[1:])]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "mingru"])
def test_lm_text_chunks_equal_one_pass(cell):
    module = make("lm", cell, dtype=torch.float64, num_layers=2)
    s = rnnkit.Stream(module)
    text = TEXT * 2
    parts = [s.feed(c) for c in chunks_of(text, [1, 5, 6, 40])]
    got = torch.cat(parts)
    with torch.no_grad():
        want, _ = module.net(module.tokenizer.encode(text)[None])
    torch.testing.assert_close(got, want[0].float(), **F64)
    assert got.shape == (len(text), module.tokenizer.vocab_size)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_tag_signal_streams_by_id_batched_equal_one_pass_each(cell):
    module = make("tag", cell, dtype=torch.float64, bidirectional=False, num_layers=2)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(37, 2)), rng.normal(size=(23, 2))
    s = rnnkit.Stream(module)
    got = {"a": [], "b": []}
    # uneven chunks, fed together (one batch, padded with lengths) or alone
    for ca, cb in zip(chunks_of(a, [5, 6, 20]), chunks_of(b, [9, 10, 11])):
        out = s.feed_many({"a": ca, "b": cb})
        got["a"].append(out["a"])
        got["b"].append(out["b"])
    assert sorted(s.ids) == ["a", "b"]
    for key, x in (("a", a), ("b", b)):
        with torch.no_grad():
            logits = module.net(torch.from_numpy(module.prepare(x)).double()[None], torch.tensor([len(x)]))
        want = torch.softmax(logits[0].float(), -1).numpy()
        np.testing.assert_allclose(np.concatenate(got[key]), want, atol=1e-6, rtol=0)


def test_tag_stream_equals_predict_stream_probs():
    module = make("tag", "lstm", bidirectional=False)
    x = np.random.default_rng(1).normal(size=(300, 2))
    want = np.concatenate(list(module.stream_probs([x[:100], x[100:]])))
    s = rnnkit.Stream(module)
    got = np.concatenate([s.feed(c) for c in chunks_of(x, [7, 150, 151])])
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_classify_final_state_head_and_reset():
    module = make("classify", "gru", kind="text", dtype=torch.float64, bidirectional=False, head="last")
    s = rnnkit.Stream(module)
    words = "the cat sat on the mat . a dog".split()
    for part in chunks_of(words, [2, 3, 7]):
        probs = s.feed(part, "doc")
    want = module.predict_proba([" ".join(words)])[0]
    np.testing.assert_allclose(probs, want, atol=1e-6, rtol=0)
    s.reset("doc")
    assert s.state("doc") is None
    np.testing.assert_allclose(s.feed(words, "doc"), want, atol=1e-6, rtol=0)


@pytest.mark.parametrize("cell", [c for c in CELL_NAMES if c not in CLASSIC])
def test_parallel_scan_classifier_streams_by_id_equal_one_pass(cell):
    """The parallel-scan layers run their sequential mode on one-step chunks and the
    scan on longer ones: chunk after chunk, several streams in one padded batch, the
    class probabilities equal one pass (float64)."""
    module = make("classify", cell, dtype=torch.float64, bidirectional=False, head="last", num_layers=2)
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(29, 2)), rng.normal(size=(17, 2))
    s = rnnkit.Stream(module)
    for ca, cb in zip(chunks_of(a, [1, 2, 12]), chunks_of(b, [5, 6, 16])):
        out = s.feed_many({"a": ca, "b": cb})
    assert s.state("a")[0].shape == (2, 6)                          # (layers, hidden)
    for key, x in (("a", a), ("b", b)):
        with torch.no_grad():
            logits = module.net(torch.from_numpy(x)[None], torch.tensor([len(x)]))
            e, _ = module.net.encoder.prepare(torch.from_numpy(x)[None], None)    # standardised as the model does
            _, h_n = module.net.encoder.rnn(e)                                # (layers, 1, .) or a tuple of them
        want = torch.softmax(logits[0], -1).numpy()
        np.testing.assert_allclose(out[key], want, atol=1e-6, rtol=0)           # the stream's output is float32
        parts = h_n if isinstance(h_n, tuple) else (h_n,)
        assert len(s.state(key)) == len(parts)
        for got, part in zip(s.state(key), parts):
            torch.testing.assert_close(got, part[:, 0], atol=1e-10, rtol=0)


def test_forecast_autoregressive_one_step_ahead_in_data_units():
    module = make("forecast", "lstm", dtype=torch.float64, decoder="autoregressive")
    rows = np.random.default_rng(2).normal(size=(12, 3))               # y, z, f (f of the next step)
    s = rnnkit.Stream(module)
    got = np.concatenate([s.feed(c) for c in chunks_of(rows, [4, 5])])
    loc, scale = np.array(module.pre["global_scale"][0]), np.array(module.pre["global_scale"][1])
    with torch.no_grad():
        out, _ = module.net(torch.from_numpy((rows - loc) / scale)[None])
    want = out[0, :, :, 0].numpy() * scale[:2] + loc[:2]
    np.testing.assert_allclose(got, want, **F64)


@pytest.mark.parametrize("task,opts,why", [
    ("tag", {"bidirectional": True}, "bidirectional"),
    ("classify", {"bidirectional": False, "head": "max"}, "pools every step"),
    ("forecast", {}, "direct decoder"),
])
def test_models_that_read_the_whole_sequence_are_refused(task, opts, why):
    with pytest.raises(ValueError) as err:
        rnnkit.Stream(make(task, "gru", **opts))
    assert why in str(err.value) and "\n" not in str(err.value)


def test_bad_chunks_are_one_line_errors():
    s = rnnkit.Stream(make("tag", "gru", bidirectional=False))
    with pytest.raises(ValueError, match=r"expected values of shape \(n, 2\), got shape \(4, 3\)"):
        s.feed(np.zeros((4, 3)))
    lm = rnnkit.Stream(make("lm", "gru"))
    with pytest.raises(ValueError, match="expected token ids in"):
        lm.feed([0, 1, 10_000])
