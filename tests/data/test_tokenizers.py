"""Word and BPE tokenizers: the vocabulary against a Counter, unknown tokens, round
trips, determinism, state through a weights-only checkpoint, and the factory's errors."""

import io
import re
import subprocess
import sys
import sysconfig
from collections import Counter
from pathlib import Path

import pytest
import torch

from rnnkit.config import DataConfig
from rnnkit.data.tokenizers import (
    UNK_TOKEN, WORD_SHAPES, BPETokenizer, CharTokenizer, WordTokenizer, fit_tokenizer, tokenizer_from_state,
)
from rnnkit.errors import UsageError

TEXT = ("The cat sat on the mat. The dog didn't sit; the cat did!\n"
        "A cat, a dog and THE bird (a small one) sat - well, sort of.\n")
SPLIT = re.compile(r"\w+(?:'\w+)?|[^\w\s]")


@pytest.fixture(scope="module")
def prose() -> str:
    """About 20 kB of real text (a module of the standard library)."""
    return (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text(encoding="utf-8")


def _through_checkpoint(state: dict) -> dict:
    buf = io.BytesIO()
    torch.save({"tokenizer": state}, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)["tokenizer"]


# ---- words ---------------------------------------------------------------------------------
def _expected(tokens, min_freq=1, max_vocab=None):
    counts = Counter(tokens)
    first = {}
    for i, t in enumerate(tokens):
        first.setdefault(t, i)
    words = sorted((w for w in counts if counts[w] >= min_freq), key=lambda w: (-counts[w], first[w]))
    return words[:max_vocab] if max_vocab else words


@pytest.mark.parametrize("lowercase, min_freq, max_vocab", [
    (False, 1, None), (True, 1, None), (False, 2, None), (True, 2, None), (True, 1, 5), (False, 3, 2),
])
def test_word_vocabulary_against_a_counter(lowercase, min_freq, max_vocab):
    tokens = SPLIT.findall(TEXT.lower() if lowercase else TEXT)
    tok = WordTokenizer.fit(TEXT, lowercase=lowercase, min_freq=min_freq, max_vocab=max_vocab)
    assert tok.words == [UNK_TOKEN] + _expected(tokens, min_freq, max_vocab)
    assert tok.vocab_size == len(tok.words)
    counts = Counter(tokens)
    for w in tok.words[1:]:
        assert counts[w] >= min_freq
    ids = tok.encode(TEXT).tolist()
    assert ids == [tok.index[t] if t in tok.index else 0 for t in tokens]
    assert (0 in ids) == (len(tok.words) - 1 < len(counts))     # unknown only when words were dropped


def test_ties_keep_first_appearance_and_fit_is_repeatable():
    tok = WordTokenizer.fit("b a c a b c d")
    assert tok.words == [UNK_TOKEN, "b", "a", "c", "d"]      # b, a, c twice each: in order of appearance
    assert WordTokenizer.fit("b a c a b c d").words == tok.words
    # a list of texts counts like their concatenation
    assert WordTokenizer.fit(["b a c", "a b c d"]).words == tok.words


def test_unseen_words_are_unknown_and_never_crash():
    tok = WordTokenizer.fit(TEXT)
    ids = tok.encode("The zebra sat on a ünïcödé mat 😀.")
    assert ids.dtype == torch.int64 and ids.dim() == 1
    assert ids.tolist() == [tok.index["The"], 0, tok.index["sat"], tok.index["on"], tok.index["a"], 0,
                            tok.index["mat"], 0, tok.index["."]]
    assert tok.decode(ids).split()[1] == UNK_TOKEN
    assert tok.encode("").tolist() == [] and tok.encode("").dtype == torch.int64


def test_word_round_trip_of_seen_text():
    tok = WordTokenizer.fit(TEXT)
    text = "The cat didn't sit; the dog (a small one) sat on the mat - well, sort of."
    ids = tok.encode(text)
    assert 0 not in ids.tolist()
    assert tok.decode(ids) == "The cat didn't sit; the dog (a small one) sat on the mat-well, sort of."
    assert tok.encode(tok.decode(ids)).tolist() == ids.tolist()    # the same tokens again
    lower = WordTokenizer.fit(TEXT, lowercase=True)
    assert lower.decode(lower.encode("THE Cat SAT.")) == "the cat sat."


def test_fit_tokens_and_encode_tokens():
    sentences = [["EU", "rejects", "German", "call", "."], ["The", "EU", "calls", "."], ["eu", "<unk>"]]
    tok = WordTokenizer.fit_tokens(sentences)
    flat = [t for s in sentences for t in s if t != UNK_TOKEN]
    assert tok.words == [UNK_TOKEN] + _expected(flat)
    assert tok.encode_tokens(["EU", "rejects", "British", "<unk>"]).tolist() == [
        tok.index["EU"], tok.index["rejects"], 0, 0]
    low = WordTokenizer.fit_tokens(sentences, lowercase=True, min_freq=2)
    assert low.words == [UNK_TOKEN, "eu", "."]
    assert low.encode_tokens(["Eu", "CALL", "."]).tolist() == [1, 0, 2]
    assert low.encode_tokens([]).dtype == torch.int64
    # tokens are taken as given: a multi-word token is not split
    assert WordTokenizer.fit_tokens([["New York", "is"]]).encode_tokens(["New York"]).tolist() == [1]


def test_word_state_through_a_weights_only_checkpoint():
    tok = WordTokenizer.fit(TEXT, lowercase=True, min_freq=2)
    back = tokenizer_from_state(_through_checkpoint(tok.state_dict()))
    assert isinstance(back, WordTokenizer) and back.words == tok.words and back.lowercase
    assert back.encode(TEXT).tolist() == tok.encode(TEXT).tolist()


# ---- byte-pair encoding ----------------------------------------------------------------------
def test_bpe_is_deterministic_in_and_across_processes(prose):
    a = BPETokenizer.fit(prose, vocab_size=400)
    b = BPETokenizer.fit(prose, vocab_size=400)
    assert a.state_dict() == b.state_dict()
    assert a.encode(prose).tolist() == b.encode(prose).tolist()
    # another interpreter, another hash seed
    code = ("import sys, sysconfig, pathlib; from rnnkit.data.tokenizers import BPETokenizer; "
            "t = pathlib.Path(sysconfig.get_paths()['stdlib'], 'textwrap.py').read_text(encoding='utf-8'); "
            "sys.stdout.write(BPETokenizer.fit(t, vocab_size=400).state_dict()['tokenizer'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"})
    assert out.stdout == a.state_dict()["tokenizer"]


def test_bpe_vocabulary_size_and_unknown_at_id_0(prose):
    for size in (300, 600):
        tok = BPETokenizer.fit(prose, vocab_size=size)
        assert tok.vocab_size == size
        assert int(tok.encode(prose).max()) < size
    assert tok._tok.id_to_token(0) == UNK_TOKEN and tok.decode([0]) == UNK_TOKEN
    # merges shorten the text: fewer tokens with a bigger vocabulary
    small, big = BPETokenizer.fit(prose, vocab_size=300), BPETokenizer.fit(prose, vocab_size=2000)
    assert len(big.encode(prose)) < len(small.encode(prose)) < len(prose.encode("utf-8"))
    # a short text cannot fill a big vocabulary: it stops when no pair repeats
    assert 257 <= BPETokenizer.fit("ab ab ab", vocab_size=8000).vocab_size < 300


def test_bpe_round_trip_and_unseen_characters(prose):
    tok = BPETokenizer.fit(prose, vocab_size=500)
    assert tok.decode(tok.encode(prose)) == prose
    seen = "".join(sorted(set(prose)))
    new = "  ".join(seen[i::7] for i in range(7)) + "\n\n\tdef wrap(text):\r\n"
    assert tok.decode(tok.encode(new)) == new
    odd = "naïve café 😀 日本語 \x00 \u2028 end"     # characters never seen: bytes, still exact
    ids = tok.encode(odd)
    assert ids.dtype == torch.int64 and ids.dim() == 1 and 0 not in ids.tolist()
    assert tok.decode(ids) == odd
    assert tok.encode("").tolist() == []


def test_bpe_lines_are_encoded_alike_in_any_chunking(prose):
    tok = BPETokenizer.fit(prose, vocab_size=400)
    cut = prose.index("\n", len(prose) // 2) + 1
    assert tok.encode(prose).tolist() == tok.encode(prose[:cut]).tolist() + tok.encode(prose[cut:]).tolist()


def test_bpe_lowercase_and_state_through_a_weights_only_checkpoint(prose):
    tok = BPETokenizer.fit(prose, vocab_size=350, lowercase=True)
    assert tok.decode(tok.encode("Hello World\n")) == "hello world\n"
    state = _through_checkpoint(tok.state_dict())
    assert isinstance(state["tokenizer"], str)
    back = tokenizer_from_state(state)
    assert isinstance(back, BPETokenizer) and back.lowercase and back.vocab_size == 350
    assert back.encode(prose).tolist() == tok.encode(prose).tolist()


# ---- the factory -----------------------------------------------------------------------------
def test_fit_tokenizer_takes_the_data_config(prose):
    tok = fit_tokenizer("word", [TEXT], DataConfig(lowercase=True, min_freq=2, max_vocab=3))
    assert isinstance(tok, WordTokenizer) and tok.words == [UNK_TOKEN] + _expected(
        SPLIT.findall(TEXT.lower()), 2, 3)
    tok = fit_tokenizer("bpe", prose, DataConfig(vocab_size=300))
    assert isinstance(tok, BPETokenizer) and tok.vocab_size == 300
    tok = fit_tokenizer("char", ["ab", "ca"], DataConfig())
    assert isinstance(tok, CharTokenizer) and tok.chars[1:] == ["a", "b", "c"]


@pytest.mark.parametrize("kind, options, message", [
    ("word", {"min_freq": 0}, "min_freq: expected an integer >= 1, got 0"),
    ("word", {"max_vocab": 0}, "max_vocab: expected an integer >= 1 or null, got 0"),
    ("bpe", {"vocab_size": 1}, "vocab_size: expected at least 257 for byte-level BPE"),
    ("bpe", {"vocab_size": 0}, "vocab_size: expected an integer >= 1, got 0"),
    ("word", {"min_freq": 50}, "expected at least one word in the vocabulary, got no word seen 50 times"),
    ("sentencepiece", {}, "tokenizer: expected one of char, word, bpe, got 'sentencepiece'"),
])
def test_fit_tokenizer_errors_are_one_line(kind, options, message):
    with pytest.raises(UsageError, match=re.escape(message)) as err:
        fit_tokenizer(kind, TEXT, DataConfig(**options))
    assert "\n" not in str(err.value)


def test_empty_vocabularies_are_usage_errors():
    with pytest.raises(UsageError, match="expected at least one word in the vocabulary, got no words"):
        fit_tokenizer("word", "   \n\t", DataConfig())
    with pytest.raises(UsageError, match="expected training text, got none"):
        fit_tokenizer("bpe", "", DataConfig(vocab_size=300))
    with pytest.raises(UsageError, match="expected at least one character"):
        fit_tokenizer("char", "", DataConfig())
    with pytest.raises(ValueError, match="unknown tokenizer kind 'x'"):
        tokenizer_from_state({"kind": "x"})


def test_word_shapes_classes_as_written():
    from rnnkit.data.tokenizers import WORD_SHAPES, word_shape

    shape = {t: word_shape(t) for t in ["https://t.co/x", "WWW.x.org", "@bob", "@", "#ff", "#", "2016", "4pm",
                                        "NASA", "OK!", "I", "Paris", "McDonald", "iPhone", "ça", "!", "…", "Éva",
                                        "ÉTÉ"]}
    names = {t: WORD_SHAPES[i - 1][0] if i else UNK_TOKEN for t, i in shape.items()}
    assert names == {"https://t.co/x": "<unk:url>", "WWW.x.org": "<unk:url>", "@bob": "<unk:@>", "@": UNK_TOKEN,
                     "#ff": "<unk:#>", "#": UNK_TOKEN, "2016": "<unk:0>", "4pm": "<unk:0>", "NASA": "<unk:AA>",
                     "OK!": "<unk:AA>", "I": "<unk:Aa>", "Paris": "<unk:Aa>", "McDonald": "<unk:Aa>",
                     "iPhone": "<unk:a>", "ça": "<unk:a>", "!": UNK_TOKEN, "…": UNK_TOKEN, "Éva": "<unk:Aa>",
                     "ÉTÉ": "<unk:AA>"}


def test_word_shapes_in_a_vocabulary():
    sentences = [["The", "cat", "met", "Bob", "."], ["the", "cat", "<unk:Aa>", "."]]
    tok = WordTokenizer.fit_tokens(sentences, lowercase=True, min_freq=2, shapes=True)
    assert tok.words[:tok.unknown_ids] == [UNK_TOKEN] + [t for t, _ in WORD_SHAPES]
    assert tok.words[tok.unknown_ids:] == ["the", "cat", "."]           # a literal class token is no word
    ids = tok.encode_tokens(["The", "Cat", "Alice", "IBM", "dog", "42", "?", "<unk>"]).tolist()
    index = {t: i for i, t in enumerate(tok.words)}
    assert ids == [index["the"], index["cat"], index["<unk:Aa>"], index["<unk:AA>"], index["<unk:a>"],
                   index["<unk:0>"], 0, 0]                        # a literal <unk> is the unknown word
    assert tok.unknown_of(["The", "?"]).tolist() == [index["<unk:Aa>"], 0]
    # encode reads a word's shape before lowercasing it
    assert tok.encode("The Alice , dog").tolist() == [index["the"], index["<unk:Aa>"], 0, index["<unk:a>"]]
    back = tokenizer_from_state(_through_checkpoint(tok.state_dict()))
    assert back.shapes and back.words == tok.words and back.encode("Zed 7").tolist() == tok.encode("Zed 7").tolist()
    # a vocabulary saved before the option reads unknown words as <unk>
    old = tokenizer_from_state({"kind": "word", "words": ["the"], "lowercase": True})
    assert not old.shapes and old.unknown_ids == 1 and old.encode_tokens(["Alice", "THE"]).tolist() == [0, 1]
    assert old.unknown_of(["Alice"]).tolist() == [0]
