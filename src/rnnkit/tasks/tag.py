"""Sequence tagging (many-to-many, aligned): one tag per token, e.g. part of speech or
BIO entity tags.

    e_t = E[w_t];  y_t = BiRNN(e_1..e_T, lengths)_t;  p(tag_t | sentence) = softmax(W y_t + b)

Bidirectional by default, so each tag sees the whole sentence. Tokens come split from
the CoNLL-style file; the vocabulary is a word vocabulary of the training tokens
(``--lowercase``, ``--min-freq``, ``--max-vocab``), unseen tokens map to the unknown id.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import ModelConfig, RunConfig
from ..data.conll import TaggedSentences, read_conll
from ..data.tokenizers import WordTokenizer, tokenizer_from_state
from ..errors import UsageError
from .sequence import SequenceEncoder, with_bidirectional_default
from .sequence_data import SequenceData, SequenceTaskModule, predict_logits, split_items, truncate


class Tagger(nn.Module):
    """Embedding -> recurrent stack (with lengths) -> a linear layer at every step.

    Shape: x (B, T) int64, lengths (B,) -> logits (B, T, n_tags).
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int, n_tags: int):
        super().__init__()
        self.encoder = SequenceEncoder(cfg, vocab_size=vocab_size)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.encoder.output_size, n_tags)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        y, _ = self.encoder(x, lengths)                # (B, T, D*H)
        return self.head(self.drop(y))                 # (B, T, n_tags)


def encode_sentences(tokenizer, sentences: list[list[str]], max_length: int | None) -> list[Tensor]:
    return [truncate(tokenizer.encode_tokens(tokens), max_length) for tokens in sentences]


class TagTask(SequenceTaskModule):
    """The LightningModule of ``rnnkit train tag``."""

    def __init__(self, config: dict, preprocessing: dict):
        super().__init__(config, preprocessing)
        self.tokenizer = tokenizer_from_state(preprocessing["tokenizer"])
        self.tags = list(preprocessing["tags"])
        cfg = with_bidirectional_default(self.cfg.model, True)
        self.net = Tagger(cfg, self.tokenizer.vocab_size, len(self.tags))

    def tag_logits(self, sentences: list[list[str]], batch_size: int | None = None) -> list[Tensor]:
        """Logits (T_i, n_tags) of every sentence. Prediction reads whole sentences,
        also past a ``--max-length`` the model was trained with."""
        xs = [self.tokenizer.encode_tokens(tokens) for tokens in sentences]
        return predict_logits(self.net, xs, batch_size or max(self.cfg.train.batch_size, 64))

    def predict_tags(self, sentences: list[list[str]]) -> list[list[str]]:
        """The most likely tag of every token."""
        return [[self.tags[int(i)] for i in lg.argmax(-1)] for lg in self.tag_logits(sentences)]


def tag_indices(data: TaggedSentences, tags: list[str], what: str, max_length: int | None) -> list[Tensor]:
    index = {t: i for i, t in enumerate(tags)}
    out = []
    for seq, source in zip(data.tags, data.sources):
        for t in seq:
            if t not in index:
                shown = ", ".join(tags[:12]) + (", ..." if len(tags) > 12 else "")
                raise UsageError(f"{what}: sentence at {source}: tag {t!r} is not one of the training tags ({shown})")
        out.append(truncate(torch.tensor([index[t] for t in seq], dtype=torch.int64), max_length))
    return out


class TagData(SequenceData):
    """Sentences read, vocabulary and tag set taken from the training split, examples
    encoded, all in the constructor (bad data fails before anything is written)."""

    def __init__(self, cfg: RunConfig, preprocessing: dict | None = None):
        super().__init__(cfg)
        d = cfg.data
        if not d.data:
            raise UsageError("--data: expected CoNLL-style files (a token and its tag per line), got none")
        if d.tokenizer not in (None, "word"):
            raise UsageError(f"--tokenizer: tag reads the tokens of the CoNLL file as they are; expected word, "
                             f"got {d.tokenizer}")
        if d.max_length is not None and d.max_length < 1:
            raise UsageError(f"--max-length: expected a positive integer, got {d.max_length}")
        train = read_conll(d.data, "--data")
        if d.valid:
            valid = read_conll(d.valid, "--valid")
        else:
            tr, va = split_items(len(train.tokens), d.valid_fraction, cfg.train.seed)
            train, valid = _subset(train, tr), _subset(train, va)
        self.train_sents, self.valid_sents = train, valid
        self.test_sents = read_conll(d.test, "--test") if d.test else None
        if preprocessing is None:
            self.tags = sorted({t for seq in train.tags for t in seq})
            if len(self.tags) < 2:
                raise UsageError(f"--data: expected at least 2 distinct tags in the training split, got only "
                                 f"{self.tags[0]!r}")
            self.tokenizer = WordTokenizer.fit_tokens(train.tokens, lowercase=d.lowercase, min_freq=d.min_freq,
                                                      max_vocab=d.max_vocab)
        else:
            self.tags = list(preprocessing["tags"])
            self.tokenizer = tokenizer_from_state(preprocessing["tokenizer"])
        self.train_items = self.items(train, "--data")
        self.valid_items = self.items(valid, "--valid")
        if self.test_sents is not None:
            self.test_items = self.items(self.test_sents, "--test")
        self.files = train.files

    def items(self, data: TaggedSentences, what: str) -> list:
        ys = tag_indices(data, self.tags, what, self.cfg.data.max_length)
        return list(zip(encode_sentences(self.tokenizer, data.tokens, self.cfg.data.max_length), ys))

    def preprocessing(self) -> dict:
        lengths = [len(x) for x, _ in self.train_items]
        return {"tokenizer": self.tokenizer.state_dict(), "tags": self.tags, "data": {
            "files": len(self.files), "first_files": self.files[:3], "train_sentences": len(self.train_items),
            "valid_sentences": len(self.valid_items), "train_tokens": int(sum(lengths)),
            "longest": int(max(lengths)), "vocab_size": self.tokenizer.vocab_size}}


def _subset(data: TaggedSentences, idx) -> TaggedSentences:
    return TaggedSentences(tokens=[data.tokens[i] for i in idx], tags=[data.tags[i] for i in idx],
                           sources=[data.sources[i] for i in idx], files=data.files)
