"""The character language model: windows with carried state against one pass over the
whole text, the metrics' closed forms, and sampling against a reference."""

import math

import pytest
import torch
import torch.nn.functional as F

from rnnkit.config import ModelConfig
from rnnkit.data.tokenizers import CharTokenizer
from rnnkit.errors import UsageError
from rnnkit.tasks.lm import CharLM, evaluate_ids, generate, metrics_from_nll, score_text


@pytest.fixture
def model():
    torch.manual_seed(0)
    tok = CharTokenizer.fit("abcdefgh \n")
    net = CharLM(ModelConfig(cell="gru", hidden_size=16, num_layers=2, embedding_size=8, dropout=0.0),
                 tok.vocab_size).eval()
    return net, tok


def test_metrics_closed_form():
    m = metrics_from_nll(nll_sum=10 * math.log(4), count=10)
    assert m["loss"] == pytest.approx(math.log(4))
    assert m["bits_per_char"] == pytest.approx(2.0)
    assert m["perplexity"] == pytest.approx(4.0)


def test_uniform_model_has_perplexity_of_the_vocabulary(model):
    net, tok = model
    for p in net.head.parameters():
        torch.nn.init.zeros_(p)
    m = evaluate_ids(net, tok.encode("abcdefgh " * 20), batch_size=3, seq_length=7)
    assert m["perplexity"] == pytest.approx(tok.vocab_size, rel=1e-5)


def test_windows_with_carried_state_equal_one_pass(model):
    net, tok = model
    ids = tok.encode("abc defg\nhab cdef gha bcd\n" * 5)
    m = evaluate_ids(net, ids, batch_size=1, seq_length=5)     # one row, 5-char windows
    n = (len(ids) - 1)
    with torch.no_grad():
        logits, _ = net(ids[None, :n])
    ref = F.cross_entropy(logits[0], ids[1:n + 1], reduction="mean").item()
    assert m["tokens"] == n and m["loss"] == pytest.approx(ref, rel=1e-5)
    s = score_text(net, tok, tok.decode(ids))
    assert s["loss"] == pytest.approx(ref, rel=1e-5) and s["log_prob"] == pytest.approx(-ref * n, rel=1e-5)


def test_bidirectional_language_model_is_rejected():
    with pytest.raises(UsageError, match="expected bidirectional false"):
        CharLM(ModelConfig(bidirectional=True), 5)


def _reference_next_logits(net, ids):
    """Logits after the whole prefix, recomputed from scratch (no carried state)."""
    with torch.no_grad():
        return net(torch.tensor([ids]))[0][0, -1]


def test_top_k_1_is_greedy_decoding(model):
    net, tok = model
    out = generate(net, tok, prime="ab", length=12, top_k=1, seed=0)
    ids = tok.encode("ab").tolist()
    for _ in range(12):
        scores = _reference_next_logits(net, ids)
        scores[0] = -math.inf
        ids.append(int(scores.argmax()))
    assert out == tok.decode(ids)


def test_tiny_top_p_is_greedy_and_seed_repeats(model):
    net, tok = model
    greedy = generate(net, tok, prime="a", length=10, top_k=1, seed=0)
    assert generate(net, tok, prime="a", length=10, top_p=1e-6, seed=5) == greedy
    a = generate(net, tok, prime="a", length=40, temperature=1.5, seed=7)
    assert a == generate(net, tok, prime="a", length=40, temperature=1.5, seed=7)
    assert a != generate(net, tok, prime="a", length=40, temperature=1.5, seed=8)
    assert a.startswith("a") and len(a) == 41


def test_samples_stay_in_the_top_k(model):
    net, tok = model
    out = generate(net, tok, prime="c", length=30, top_k=2, temperature=2.0, seed=3)
    ids = tok.encode(out).tolist()
    for t in range(1, len(ids)):
        scores = _reference_next_logits(net, ids[:t])
        scores[0] = -math.inf
        assert ids[t] in torch.topk(scores, 2).indices.tolist()
    assert 0 not in ids


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0}, "--temperature: expected a positive number, got 0"),
    ({"top_k": 0}, "--top-k: expected a positive integer, got 0"),
    ({"top_p": 1.5}, "--top-p: expected a number in \\(0, 1\\], got 1.5"),
    ({"length": -1}, "--length: expected a non-negative integer, got -1"),
])
def test_bad_sampling_options(model, kwargs, message):
    net, tok = model
    with pytest.raises(UsageError, match=message):
        generate(net, tok, **kwargs)
