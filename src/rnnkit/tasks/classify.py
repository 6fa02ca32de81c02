"""Sequence classification (many-to-one): one label per text.

    e_t = E[w_t];  y_t, h_n = RNN(e_1..e_T, lengths);  s = head(y, h_n);  p(c | text) = softmax(W s + b)

where ``head`` is the final state of the top layer (both directions concatenated when
bidirectional), or the mean or the max of the outputs over the text's own steps. The
whole text is read (no truncation unless ``--max-length``), with batches bucketed by
length and run with the core layers' ``lengths``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ..config import ModelConfig, RunConfig
from ..data.tables import LabelledTexts, read_labelled_texts
from ..data.tokenizers import fit_tokenizer, tokenizer_from_state
from ..errors import UsageError
from .sequence import SequenceEncoder, pool, with_bidirectional_default
from .sequence_data import SequenceData, SequenceTaskModule, predict_logits, split_items, truncate


class TextClassifier(nn.Module):
    """Embedding -> recurrent stack (with lengths) -> summary -> linear to the classes.

    Shape: x (B, T) int64, lengths (B,) -> logits (B, n_classes).
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int, n_classes: int):
        super().__init__()
        self.encoder = SequenceEncoder(cfg, vocab_size=vocab_size)
        self.how = cfg.head
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.encoder.output_size, n_classes)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        y, last = self.encoder(x, lengths)                       # (B, T, D*H), (B, D*H)
        return self.head(self.drop(pool(y, last, lengths, self.how)))


def encode_texts(tokenizer, texts: list[str], max_length: int | None) -> list[Tensor]:
    out = []
    for t in texts:
        ids = truncate(tokenizer.encode(t), max_length)
        out.append(ids if len(ids) else torch.zeros(1, dtype=torch.int64))   # never empty
    return out


class ClassifyTask(SequenceTaskModule):
    """The LightningModule of ``rnnkit train classify``."""

    def __init__(self, config: dict, preprocessing: dict):
        super().__init__(config, preprocessing)
        self.tokenizer = tokenizer_from_state(preprocessing["tokenizer"])
        self.classes = list(preprocessing["classes"])
        cfg = with_bidirectional_default(self.cfg.model, False)
        self.net = TextClassifier(cfg, self.tokenizer.vocab_size, len(self.classes))

    def predict_proba(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, n_classes), columns in the order of ``classes``."""
        xs = encode_texts(self.tokenizer, texts, self.cfg.data.max_length)
        logits = predict_logits(self.net, xs, batch_size or max(self.cfg.train.batch_size, 64))
        if not logits:
            return np.zeros((0, len(self.classes)))
        return torch.softmax(torch.stack(logits), dim=-1).double().numpy()


def label_indices(data: LabelledTexts, classes: list[str], what: str) -> list[int]:
    index = {c: i for i, c in enumerate(classes)}
    for label, source in zip(data.labels, data.sources):
        if label not in index:
            shown = ", ".join(repr(c) for c in classes[:10]) + (", ..." if len(classes) > 10 else "")
            raise UsageError(f"{what}: {source}: label {label!r} is not one of the training classes ({shown})")
    return [index[label] for label in data.labels]


class ClassifyData(SequenceData):
    """Texts read, tokenizer fitted on the training texts, labels indexed, examples
    encoded, all in the constructor (bad data fails before anything is written)."""

    def __init__(self, cfg: RunConfig, preprocessing: dict | None = None):
        super().__init__(cfg)
        d = cfg.data
        if not d.data:
            raise UsageError("--data: expected a CSV, TSV or JSON Lines file or a folder of class folders, got none")
        if d.max_length is not None and d.max_length < 1:
            raise UsageError(f"--max-length: expected a positive integer, got {d.max_length}")
        read = dict(text_column=d.text_column, label_column=d.label_column)
        train = read_labelled_texts(d.data, what="--data", **read)
        if d.valid:
            valid = read_labelled_texts(d.valid, what="--valid", min_classes=1, **read)
        else:
            tr, va = split_items(len(train.texts), d.valid_fraction, cfg.train.seed, train.labels)
            train, valid = _subset(train, tr), _subset(train, va)
        self.train_texts, self.valid_texts = train, valid
        if preprocessing is None:
            self.classes = sorted(set(train.labels))
            if len(self.classes) < 2:
                raise UsageError(f"--data: expected at least 2 classes in the training split, got only "
                                 f"{self.classes[0]!r}")
            self.tokenizer = fit_tokenizer(d.tokenizer or "word", train.texts, d)
        else:
            self.classes = list(preprocessing["classes"])
            self.tokenizer = tokenizer_from_state(preprocessing["tokenizer"])
        self.test_texts = read_labelled_texts(d.test, what="--test", min_classes=1, **read) if d.test else None
        self.train_items = self.items(train, "--data")
        self.valid_items = self.items(valid, "--valid")
        if self.test_texts is not None:
            self.test_items = self.items(self.test_texts, "--test")
        self.files = train.files

    def items(self, data: LabelledTexts, what: str) -> list:
        ys = label_indices(data, self.classes, what)
        return list(zip(encode_texts(self.tokenizer, data.texts, self.cfg.data.max_length), ys))

    def preprocessing(self) -> dict:
        lengths = [len(x) for x, _ in self.train_items]
        return {"tokenizer": self.tokenizer.state_dict(), "classes": self.classes, "data": {
            "files": len(self.files), "first_files": self.files[:3], "train_examples": len(self.train_items),
            "valid_examples": len(self.valid_items), "train_tokens": int(sum(lengths)),
            "longest": int(max(lengths)), "vocab_size": self.tokenizer.vocab_size}}


def _subset(data: LabelledTexts, idx) -> LabelledTexts:
    return LabelledTexts(texts=[data.texts[i] for i in idx], labels=[data.labels[i] for i in idx],
                         sources=[data.sources[i] for i in idx], files=data.files)
