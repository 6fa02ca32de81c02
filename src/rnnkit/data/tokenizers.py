"""Tokenizers turn text into integer ids and back. Their state is a plain dict (lists,
strings, ints, booleans) saved inside the checkpoint, so a run directory is
self-contained.

Three kinds, one interface (``kind``, ``vocab_size``, ``encode``, ``decode``,
``state_dict``, ``from_state``); id 0 is the unknown token in every one of them, so
text never seen in training encodes without error:

* :class:`CharTokenizer`: one id per character;
* :class:`WordTokenizer`: words and single punctuation marks, from a frequency count;
* :class:`BPETokenizer`: byte-level byte-pair encoding trained with Hugging Face
  ``tokenizers``.

:func:`fit_tokenizer` builds any of them from a :class:`~rnnkit.config.DataConfig`'s
options; :func:`tokenizer_from_state` rebuilds one from a checkpoint.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

import numpy as np
import torch

from ..errors import UsageError

UNK = "\ufffd"  # what an unseen character becomes (U+FFFD, the replacement character)
UNK_TOKEN = "<unk>"  # the unknown word or subword (id 0 of WordTokenizer and BPETokenizer)


def _as_texts(texts) -> list[str]:
    return [texts] if isinstance(texts, str) else list(texts)


def _check_int(name: str, value, minimum: int, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name}: expected an integer >= {minimum}{' or null' if optional else ''}, got {value!r}")


class CharTokenizer:
    """One id per character seen in the training text; id 0 is the unknown character,
    which every character not seen in training maps to (it never crashes).

    Example::

        tok = CharTokenizer.fit("hello")
        tok.decode(tok.encode("hello!"))     # 'hello\ufffd'
    """

    kind = "char"

    def __init__(self, chars: list[str]):
        self.chars = [UNK] + [c for c in chars if c != UNK]
        self.index = {c: i for i, c in enumerate(self.chars)}
        order = sorted(range(1, len(self.chars)), key=lambda i: ord(self.chars[i]))
        self._table = np.array([ord(self.chars[i]) for i in order], dtype=np.uint32)
        self._ids = np.array(order, dtype=np.int64)
        if not order:  # nothing known: every character is unknown
            self._table, self._ids = np.array([0xFFFFFFFF], dtype=np.uint32), np.array([0])

    @classmethod
    def fit(cls, text) -> "CharTokenizer":
        """``text``: a string or a list of strings."""
        counts = Counter()
        for t in _as_texts(text):
            counts.update(t)
        return cls(sorted(counts))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """Ids of ``text``, shape (len(text),), int64."""
        # Code points (UTF-32) looked up in the sorted table of known characters.
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        known = self._table
        pos = np.searchsorted(known, codes).clip(0, len(known) - 1)
        ids = np.where(known[pos] == codes, self._ids[pos], 0)
        return torch.from_numpy(ids.astype(np.int64))

    def decode(self, ids) -> str:
        chars = self.chars
        return "".join(chars[int(i)] for i in ids)

    def state_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars[1:]}

    @classmethod
    def from_state(cls, state: dict) -> "CharTokenizer":
        return cls(list(state["chars"]))


# ---- words ---------------------------------------------------------------------------------
#: A word (letters, digits, underscores, with one inner apostrophe: "don't", "o'clock")
#: or a single punctuation mark or symbol. Whitespace, new lines included, separates
#: tokens and is not kept.
WORD_PATTERN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")
_NO_SPACE_BEFORE = frozenset(".,;:!?)]}%-")
_NO_SPACE_AFTER = frozenset("([{$-")

#: The unknown-word classes of a word vocabulary with ``shapes``: a word not in the
#: vocabulary takes the first class whose test holds for it as written (before any
#: lowercasing), else ``<unk>``; their ids follow ``<unk>`` (1, 2, ...). Unknown-word
#: signatures of this kind are the classic remedy for words never seen in training
#: (Petrov et al. 2006 for parsing; capitalisation features in NER since Collins 2002).
WORD_SHAPES = (
    ("<unk:url>", "starts with http://, https:// or www. (in any case)"),
    ("<unk:@>", "starts with @ and is longer than 1 character"),
    ("<unk:#>", "starts with # and is longer than 1 character"),
    ("<unk:0>", "holds a digit (str.isdigit)"),
    ("<unk:AA>", "holds 2 or more letters (str.isalpha), all upper case (str.isupper)"),
    ("<unk:Aa>", "starts with an upper-case letter (str.isupper)"),
    ("<unk:a>", "holds a letter (str.isalpha)"),
)


def word_shape(token: str) -> int:
    """The id of ``token``'s class in :data:`WORD_SHAPES` (1-based, as in a
    vocabulary with shapes), 0 when none holds (punctuation, symbols)."""
    low = token[:8].lower()
    if low.startswith(("http://", "https://", "www.")):
        return 1
    if len(token) > 1 and token[0] == "@":
        return 2
    if len(token) > 1 and token[0] == "#":
        return 3
    if any(c.isdigit() for c in token):
        return 4
    letters = [c for c in token if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return 5
    if token[:1].isupper():
        return 6
    return 7 if letters else 0


class WordTokenizer:
    """One id per word kept from the training text; id 0 is ``<unk>``, which every
    other word maps to (unseen words never crash).

    Text is split with :data:`WORD_PATTERN` (words, with an inner apostrophe kept:
    ``don't``; each punctuation mark its own token), optionally lowercased. The
    vocabulary keeps the words seen at least ``min_freq`` times, the ``max_vocab`` most
    frequent of them when given (``<unk>`` comes on top: ``vocab_size <= max_vocab +
    1``), most frequent first; words of equal count keep the order of their first
    appearance, so the same text always gives the same ids. ``decode`` joins words
    with single spaces, with none before ``. , ; : ! ? ) ] } %``, none after
    ``( [ { $`` and none around ``-``; it cannot restore the original spacing or new
    lines.

    Example::

        tok = WordTokenizer.fit(["The cat sat.", "The dog sat down."], lowercase=True)
        tok.encode("the cat flew.")          # tensor([1, 4, 0, 3])
        tok.decode(tok.encode("The cat sat."))   # 'the cat sat.'
    """

    kind = "word"

    def __init__(self, words: list[str], lowercase: bool = False, shapes: bool = False):
        self.shapes = bool(shapes)
        reserved = [UNK_TOKEN] + ([t for t, _ in WORD_SHAPES] if self.shapes else [])
        self.words = reserved + [w for w in words if w not in reserved]
        self.index = {w: i for i, w in enumerate(self.words)}
        self.lowercase = bool(lowercase)

    @property
    def unknown_ids(self) -> int:
        """How many ids stand for unknown words: ``<unk>``, and the classes of
        :data:`WORD_SHAPES` with ``shapes``; ids below it are no word of the text."""
        return 1 + (len(WORD_SHAPES) if self.shapes else 0)

    # ---- fitting ----
    @staticmethod
    def split(text: str, lowercase: bool = False) -> list[str]:
        """The tokens of ``text`` (:data:`WORD_PATTERN`), lowercased first if asked."""
        return WORD_PATTERN.findall(text.lower() if lowercase else text)

    @classmethod
    def fit(cls, texts, lowercase: bool = False, min_freq: int = 1,
            max_vocab: int | None = None, shapes: bool = False) -> "WordTokenizer":
        """The vocabulary of ``texts`` (a string or a list of strings)."""
        counts = Counter()
        for text in _as_texts(texts):
            if shapes and lowercase:       # split as encode splits: as written, then each token lowercased
                counts.update(t.lower() for t in cls.split(text))
            else:
                counts.update(cls.split(text, lowercase))
        return cls._from_counts(counts, lowercase, min_freq, max_vocab, shapes)

    @classmethod
    def fit_tokens(cls, token_lists: list[list[str]], lowercase: bool = False, min_freq: int = 1,
                   max_vocab: int | None = None, shapes: bool = False) -> "WordTokenizer":
        """The vocabulary of text already split into tokens (one list per sentence),
        taken as they are (only lowercased if asked). A literal ``<unk>`` token is the
        unknown token."""
        counts = Counter()
        for tokens in token_lists:
            counts.update(t.lower() for t in tokens) if lowercase else counts.update(tokens)
        return cls._from_counts(counts, lowercase, min_freq, max_vocab, shapes)

    @classmethod
    def _from_counts(cls, counts: Counter, lowercase, min_freq, max_vocab, shapes=False) -> "WordTokenizer":
        _check_int("min_freq", min_freq, 1)
        _check_int("max_vocab", max_vocab, 1, optional=True)
        counts.pop(UNK_TOKEN, None)
        if shapes:
            for token, _ in WORD_SHAPES:
                counts.pop(token, None)
        # Counter keeps first-appearance order and sorted() is stable: ties stay in it.
        kept = [w for w, n in sorted(counts.items(), key=lambda wn: -wn[1]) if n >= min_freq]
        if not kept:
            got = "no words" if not counts else f"no word seen {min_freq} times or more (most: {max(counts.values())})"
            raise UsageError(f"word tokenizer: expected at least one word in the vocabulary, got {got} "
                             f"in the training text")
        return cls(kept[:max_vocab] if max_vocab is not None else kept, lowercase, shapes)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    # ---- ids ----
    def encode(self, text: str) -> torch.Tensor:
        """Ids of the tokens of ``text``, shape (tokens,), int64; unknown words are 0
        (with ``shapes``: their class's id)."""
        return self.encode_tokens(self.split(text, self.lowercase and not self.shapes))

    def encode_tokens(self, tokens: list[str]) -> torch.Tensor:
        """Ids of tokens already split, shape (len(tokens),), int64 (lowercased first
        if the tokenizer lowercases; an unknown word's class read as written)."""
        get = self.index.get
        if self.shapes:
            low = self.lowercase
            ids = [get(t.lower() if low else t) for t in tokens]
            return torch.tensor([word_shape(t) if i is None else i for i, t in zip(ids, tokens)], dtype=torch.int64)
        if self.lowercase:
            tokens = (t.lower() for t in tokens)
        return torch.tensor([get(t, 0) for t in tokens], dtype=torch.int64)

    def unknown_of(self, tokens: list[str]) -> torch.Tensor:
        """The id each token would get were it not in the vocabulary: its class of
        :data:`WORD_SHAPES` with ``shapes``, else 0; shape (len(tokens),), int64."""
        if not self.shapes:
            return torch.zeros(len(tokens), dtype=torch.int64)
        return torch.tensor([word_shape(t) for t in tokens], dtype=torch.int64)

    def decode(self, ids) -> str:
        words = self.words
        out = []
        prev = None
        for i in ids:
            w = words[int(i)]
            if prev is not None and w not in _NO_SPACE_BEFORE and prev not in _NO_SPACE_AFTER:
                out.append(" ")
            out.append(w)
            prev = w
        return "".join(out)

    def state_dict(self) -> dict:
        return {"kind": self.kind, "words": self.words[self.unknown_ids:], "lowercase": self.lowercase,
                "shapes": self.shapes}

    @classmethod
    def from_state(cls, state: dict) -> "WordTokenizer":
        return cls(list(state["words"]), bool(state.get("lowercase", False)), bool(state.get("shapes", False)))


# ---- byte-pair encoding ------------------------------------------------------------------
#: 256 byte symbols and the unknown token: the smallest byte-level BPE vocabulary.
BPE_MIN_VOCAB = 257


class BPETokenizer:
    """Byte-level byte-pair encoding (GPT-2's scheme), trained with Hugging Face
    ``tokenizers``: the text (lowercased if asked) becomes UTF-8 bytes, each shown as
    one printable symbol; GPT-2's pattern splits it before words, numbers, punctuation
    and whitespace runs (a space stays with the word after it); BPE merges the most
    frequent adjacent pairs until ``vocab_size`` is reached. The alphabet is all 256
    bytes, so every text encodes, and the byte-level decoder maps the bytes back:
    ``decode(encode(text)) == text`` (lowercased when ``lowercase``). Id 0 is
    ``<unk>``, as in every tokenizer; a byte-level vocabulary never needs it, so it is
    never produced. Training is deterministic: the same text and options give the same
    vocabulary and merges.

    Text is encoded line by line (``encode_batch`` over the lines, in parallel), in
    training and afterwards, so no token spans a line break.

    Example::

        tok = BPETokenizer.fit(open("notes.txt").read(), vocab_size=2000)
        tok.decode(tok.encode("any text, even ünïcödé")) == "any text, even ünïcödé"
    """

    kind = "bpe"

    def __init__(self, tokenizer, lowercase: bool = False):
        self._tok = tokenizer
        self.lowercase = bool(lowercase)
        if tokenizer.token_to_id(UNK_TOKEN) != 0:
            raise ValueError(f"BPETokenizer: expected {UNK_TOKEN!r} at id 0, got id "
                             f"{tokenizer.token_to_id(UNK_TOKEN)}")

    @classmethod
    def fit(cls, texts, vocab_size: int = 8000, lowercase: bool = False) -> "BPETokenizer":
        """Train on ``texts`` (a string or a list of strings)."""
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

        _check_int("vocab_size", vocab_size, 1)
        if vocab_size < BPE_MIN_VOCAB:
            raise UsageError(f"vocab_size: expected at least {BPE_MIN_VOCAB} for byte-level BPE (256 bytes "
                             f"and the unknown token), got {vocab_size}")
        texts = _as_texts(texts)
        if not any(texts):
            raise UsageError("bpe tokenizer: expected training text, got none")
        tok = Tokenizer(models.BPE(unk_token=UNK_TOKEN))
        if lowercase:
            tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[UNK_TOKEN], show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(_lines(texts), trainer)
        return cls(tok, lowercase)

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def encode(self, text: str) -> torch.Tensor:
        """Ids of ``text``, shape (tokens,), int64."""
        encodings = self._tok.encode_batch(text.splitlines(keepends=True), add_special_tokens=False)
        ids = np.fromiter(itertools.chain.from_iterable(e.ids for e in encodings), dtype=np.int64)
        return torch.from_numpy(ids)

    def decode(self, ids) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=False)

    def state_dict(self) -> dict:
        return {"kind": self.kind, "tokenizer": self._tok.to_str(), "lowercase": self.lowercase}

    @classmethod
    def from_state(cls, state: dict) -> "BPETokenizer":
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_str(state["tokenizer"]), bool(state.get("lowercase", False)))


def _lines(texts: list[str]):
    for text in texts:
        yield from text.splitlines(keepends=True)


# ---- construction ------------------------------------------------------------------------
TOKENIZERS = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BPETokenizer}


def fit_tokenizer(kind: str, texts, data_cfg):
    """A tokenizer of ``kind`` (char, word or bpe) fitted on ``texts`` (a string or a
    list of strings) with the options of ``data_cfg`` (a
    :class:`~rnnkit.config.DataConfig`): ``lowercase`` (word, bpe), ``min_freq`` and
    ``max_vocab`` (word), ``vocab_size`` (bpe). Bad values and an empty vocabulary
    raise :class:`~rnnkit.errors.UsageError`.

    Example::

        tok = fit_tokenizer("word", ["a b a", "b c"], DataConfig(min_freq=2))
        tok.words                             # ['<unk>', 'a', 'b']
    """
    d = data_cfg
    from ..tasks.declare import DATA_DEFAULTS

    # null (left to a task that has not chosen: a DataConfig built by hand): the fallbacks
    lowercase = DATA_DEFAULTS["data.lowercase"] if d.lowercase is None else d.lowercase
    min_freq = DATA_DEFAULTS["data.min_freq"] if d.min_freq is None else d.min_freq
    _check_int("min_freq", min_freq, 1)
    _check_int("max_vocab", d.max_vocab, 1, optional=True)
    _check_int("vocab_size", d.vocab_size, 1)
    if kind == "char":
        tok = CharTokenizer.fit(texts)
        if tok.vocab_size < 2:
            raise UsageError("char tokenizer: expected at least one character in the training text, got none")
        return tok
    if kind == "word":
        return WordTokenizer.fit(texts, lowercase=lowercase, min_freq=min_freq, max_vocab=d.max_vocab,
                                 shapes=bool(getattr(d, "word_shapes", None)))
    if kind == "bpe":
        return BPETokenizer.fit(texts, vocab_size=d.vocab_size, lowercase=lowercase)
    raise UsageError(f"tokenizer: expected one of {', '.join(TOKENIZERS)}, got {kind!r}")


def tokenizer_from_state(state: dict):
    """The tokenizer saved as ``state`` (from ``state_dict()``), of any kind."""
    kind = state.get("kind")
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer kind {kind!r} in checkpoint; expected one of {', '.join(TOKENIZERS)}")
    return TOKENIZERS[kind].from_state(state)
