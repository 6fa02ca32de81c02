"""Language models on words and BPE subwords: tied embeddings (one Parameter, the
parameter count saved), the metrics without bits per character, the uniform model's
perplexity, carried state, sampling that never gives the unknown token, and the
tokenizer fitted on the training part only."""

import math
import sysconfig
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from rnnkit.config import ModelConfig, RunConfig
from rnnkit.data.tokenizers import UNK_TOKEN, BPETokenizer, WordTokenizer
from rnnkit.tasks.lm import LanguageModel, LMData, evaluate_ids, generate, metrics_from_nll, score_text

TEXT = ("the cat sat on the mat . the dog sat on the log . a cat and a dog sat down .\n"
        "did the cat see the dog ? the dog did not see the cat , said the bird .\n")


def _cfg(**kw):
    return ModelConfig(**{"cell": "lstm", "hidden_size": 12, "num_layers": 2, "embedding_size": 12,
                          "dropout": 0.0, **kw})


def _count(net):
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("hidden, emb", [(12, 12), (20, 8)])
def test_tied_output_layer_is_the_embedding(cell, hidden, emb):
    V = 37
    torch.manual_seed(0)
    tied = LanguageModel(_cfg(cell=cell, hidden_size=hidden, embedding_size=emb, tie_embeddings=True), V)
    untied = LanguageModel(_cfg(cell=cell, hidden_size=hidden, embedding_size=emb), V)
    assert tied.head.weight is tied.embed.weight
    assert tied.head.weight.data_ptr() == tied.embed.weight.data_ptr()
    saved = V * hidden - (hidden * emb if hidden != emb else 0)   # the head's weight, less the projection
    assert _count(untied) - _count(tied) == saved
    assert isinstance(tied.proj, torch.nn.Linear if hidden != emb else torch.nn.Identity)
    # one Parameter, so one gradient: the sum of both uses
    ids = torch.randint(V, (3, 9))
    logits, _ = tied(ids)
    F.cross_entropy(logits.reshape(-1, V), torch.randint(V, (27,))).backward()
    assert tied.embed.weight.grad is tied.head.weight.grad
    # and the tie survives a state_dict round trip into a fresh model
    fresh = LanguageModel(_cfg(cell=cell, hidden_size=hidden, embedding_size=emb, tie_embeddings=True), V)
    fresh.load_state_dict(tied.state_dict())
    assert fresh.head.weight is fresh.embed.weight
    torch.testing.assert_close(fresh(ids)[0], tied(ids)[0])


def test_untied_model_keeps_its_parameter_names():
    names = {n for n, _ in LanguageModel(_cfg(), 10).named_parameters()}
    assert {"embed.weight", "head.weight", "head.bias"} <= names and not any(n.startswith("proj") for n in names)


def test_metrics_without_bits_per_char():
    m = metrics_from_nll(6 * math.log(5), 6, bits_per_char=False)
    assert m == pytest.approx({"loss": math.log(5), "perplexity": 5.0, "tokens": 6})


@pytest.mark.parametrize("tie", [False, True])
def test_uniform_word_model_has_perplexity_of_the_vocabulary(tie):
    tok = WordTokenizer.fit(TEXT)
    net = LanguageModel(_cfg(hidden_size=16, embedding_size=8, tie_embeddings=tie), tok.vocab_size).eval()
    # logits = E (P y) + b: zero P (tied) or W (untied) and b, and every token is equally likely
    torch.nn.init.zeros_(net.proj.weight if tie else net.head.weight)
    torch.nn.init.zeros_(net.head.bias)
    m = evaluate_ids(net, tok.encode(TEXT * 3), batch_size=3, seq_length=7, bits_per_char=False)
    assert m["perplexity"] == pytest.approx(tok.vocab_size, rel=1e-5) and "bits_per_char" not in m


def test_windows_with_carried_state_equal_one_pass_on_words():
    tok = WordTokenizer.fit(TEXT)
    torch.manual_seed(1)
    net = LanguageModel(_cfg(cell="gru", hidden_size=16, embedding_size=8, tie_embeddings=True),
                        tok.vocab_size).eval()
    ids = tok.encode(TEXT * 2)
    m = evaluate_ids(net, ids, batch_size=1, seq_length=5, bits_per_char=False)
    n = len(ids) - 1
    with torch.no_grad():
        logits, _ = net(ids[None, :n])
    ref = F.cross_entropy(logits[0], ids[1:n + 1]).item()
    assert m["tokens"] == n and m["loss"] == pytest.approx(ref, rel=1e-5)
    s = score_text(net, tok, TEXT * 2)
    assert s["loss"] == pytest.approx(ref, rel=1e-5) and s["text_tokens"] == len(ids)
    assert "bits_per_char" not in s


def _greedy(net, ids, steps):
    ids = list(ids)
    for _ in range(steps):
        with torch.no_grad():
            scores = net(torch.tensor([ids]))[0][0, -1]
        scores[0] = -math.inf
        ids.append(int(scores.argmax()))
    return ids


@pytest.fixture(params=["word", "bpe"])
def token_model(request):
    torch.manual_seed(0)
    if request.param == "word":
        tok = WordTokenizer.fit(TEXT)
    else:
        tok = BPETokenizer.fit(TEXT * 4, vocab_size=300)
    net = LanguageModel(_cfg(hidden_size=16, embedding_size=8, tie_embeddings=True), tok.vocab_size).eval()
    return net, tok


def test_greedy_generation_against_a_reference(token_model):
    net, tok = token_model
    prime = "the cat"
    out = generate(net, tok, prime=prime, length=15, top_k=1, seed=0)
    prime_ids = tok.encode(prime).tolist()
    ref = _greedy(net, prime_ids, 15)
    whole = tok.decode(ref)
    assert out == prime + whole[len(tok.decode(prime_ids)):]
    if tok.kind == "word":
        assert out.startswith("the cat ") and len(WordTokenizer.split(out)) == 2 + 15


def test_the_unknown_token_is_never_sampled(token_model):
    net, tok = token_model
    with torch.no_grad():
        net.head.bias[0] = 50.0          # the unknown token would win almost every draw
    for seed in range(3):
        out = generate(net, tok, prime="the dog", length=25, temperature=2.0, seed=seed)
        assert UNK_TOKEN not in out
    # without a prime (no new-line token for words: the sample starts as after ".")
    out = generate(net, tok, length=10, seed=0)
    assert out and UNK_TOKEN not in out
    if tok.kind == "word":
        assert len(WordTokenizer.split(out)) == 10


def test_word_and_bpe_tokenizers_are_fitted_on_the_training_part_only(tmp_path):
    head = "the cat sat on the mat .\n" * 40
    tail = "zebras graze quietly .\n" * 3
    (tmp_path / "t.txt").write_text(head + tail)
    for kind, options in (("word", {}), ("bpe", {"vocab_size": 300})):
        cfg = RunConfig.from_dict({"task": "lm", "data": {"data": [str(tmp_path / "t.txt")], "tokenizer": kind,
                                                          "valid_fraction": 0.1, "seq_length": 4, **options},
                                   "train": {"batch_size": 2}})
        data = LMData(cfg)
        assert data.tokenizer.kind == kind
        # the cut moved to a line break: the validation text starts with a whole line
        assert data.tokenizer.decode(data.valid_ids).startswith(("the cat", "zebras"))
        assert len(data.train_ids) + len(data.valid_ids) == len(data.tokenizer.encode(head + tail))
        if kind == "word":
            assert "zebras" not in data.tokenizer.index and int((data.valid_ids == 0).sum()) == 3 * 3
        else:
            assert not any("zebra" in t for t in data.tokenizer._tok.get_vocab())
        assert data.preprocessing()["data"]["tokenizer"] == kind


def test_char_split_is_unchanged(tmp_path):
    """The character model's held-out part is exactly the last valid_fraction of the
    ids, and its vocabulary comes from all of --data, as before."""
    text = (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text(encoding="utf-8")
    (tmp_path / "t.txt").write_text(text)
    cfg = RunConfig.from_dict({"task": "lm", "data": {"data": [str(tmp_path / "t.txt")]}, "train": {"batch_size": 4}})
    data = LMData(cfg)
    ids = data.tokenizer.encode(text if text.endswith("\n") else text + "\n")
    cut = int(round(len(ids) * 0.95))
    assert data.train_ids.tolist() == ids[:cut].tolist() and data.valid_ids.tolist() == ids[cut:].tolist()
    assert sorted(data.tokenizer.chars[1:]) == sorted(set(text + "\n"))
