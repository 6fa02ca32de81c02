"""Sequence classification (many-to-one): one label per text or per real-valued
sequence (time series, signals; one or many channels per step).

    e_t = E[w_t] (tokens) or e_t = x_t (values);  y_t, h_n = RNN(e_1..e_T, lengths);
    s = head(y, h_n);  p(c | sequence) = softmax(W s + b)

where ``head`` is the final state of the top layer (both directions concatenated when
bidirectional), or the mean or the max of the outputs over the text's own steps. The
whole text is read (no truncation unless ``data.max_length``), with batches bucketed by
length and run with the core layers' ``lengths``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ...config import ModelConfig, RunConfig
from ...data.tables import LabelledTexts, read_labelled_texts
from ...data.tokenizers import fit_tokenizer, tokenizer_from_state
from ...data.scaling import Scaler
from ...data.splits import split_items, split_records, take
from ...errors import UsageError
from ..base import settled
from ..declare import input_kind
from ..registry import with_task_defaults
from ..sequence import SequenceEncoder, ValueInputs, pool
from ..sequence_data import SequenceData, SequenceTaskModule, predict_logits, truncate


class SequenceClassifier(nn.Module):
    """Embedding (tokens) or none (values) -> recurrent stack (with lengths) -> summary
    -> linear to the classes.

    Real values pass :class:`~rnnkit.tasks.sequence.ValueInputs` first when ``scale``
    (the training split's per-channel {"mean": [...], "std": [...]}) is given,
    ``cfg.patch`` is over 1 or ``cfg.stem`` is set.

    Shape: x (B, T) int64 or (B, T, C) float, lengths (B,) -> logits (B, n_classes).
    """

    def __init__(self, cfg: ModelConfig, n_classes: int, *, vocab_size: int | None = None,
                 input_size: int | None = None, scale: dict | None = None):
        super().__init__()
        cfg = settled(cfg)
        values = None
        if vocab_size is None and (scale is not None or cfg.patch > 1 or cfg.stem):
            scale = scale or {}
            values = ValueInputs(input_size, mean=scale.get("mean"), std=scale.get("std"), patch=cfg.patch,
                                 stem=cfg.stem)
        self.encoder = SequenceEncoder(cfg, vocab_size=vocab_size, input_size=input_size, values=values)
        self.how = cfg.head
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.encoder.output_size, n_classes)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        y, last = self.encoder(x, lengths)                       # (B, T', D*H), (B, D*H)
        return self.head(self.drop(pool(y, last, self.encoder.output_lengths(lengths), self.how)))


def encode_inputs(owner, inputs: list) -> list[Tensor]:
    """Model inputs of texts (token ids) or of arrays (float32 (T, C)); ``owner`` has
    ``tokenizer`` (None for values) and ``cfg``."""
    if owner.tokenizer is None:
        return [truncate(torch.as_tensor(np.asarray(x, dtype=np.float32)), owner.cfg.data.max_length)
                for x in inputs]
    return encode_texts(owner.tokenizer, inputs, owner.cfg.data.max_length)


def is_signal_data(d) -> bool:
    """Real-valued sequences rather than texts: ``data.format=ucr|ts|npz|npy``, or files
    that are all .ts or .npz."""
    if d.format is not None:
        return d.format in ("ucr", "ts", "npz", "npy")
    return bool(d.data) and all(str(p).lower().endswith((".ts", ".npz")) for p in d.data)


def inputs_of(data) -> list:
    """The texts of a LabelledTexts or the arrays of a LabelledArrays."""
    return data.texts if hasattr(data, "texts") else data.x


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
        self.classes = list(preprocessing["classes"])
        self.kind = preprocessing.get("kind", "text")
        self.cfg = with_task_defaults(self.cfg, input_kind(self.kind))
        cfg = self.cfg.model
        if self.kind == "signal":
            self.tokenizer = None
            self.channels = list(preprocessing["channels"])
            self.net = SequenceClassifier(cfg, len(self.classes), input_size=len(self.channels),
                                          scale=preprocessing.get("scale"))
        else:
            self.tokenizer = tokenizer_from_state(preprocessing["tokenizer"])
            self.net = SequenceClassifier(cfg, len(self.classes), vocab_size=self.tokenizer.vocab_size)

    def predict_proba(self, inputs: list, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, n_classes), columns in the order of ``classes``, of
        texts (a text run) or arrays (T_i, C) (a signal run)."""
        xs = encode_inputs(self, inputs)
        logits = predict_logits(self.net, xs, batch_size or max(self.cfg.train.batch_size, 64))
        if not logits:
            return np.zeros((0, len(self.classes)))
        return torch.softmax(torch.stack(logits), dim=-1).double().numpy()


#: the recurrent steps a values classifier aims at for a sequence of the median length
#: (benchmarks/README.md, "Series classification defaults")
PATCH_STEPS = 32

#: model.stem of a new values run: the channels of the convolutions before the patch
#: (benchmarks/README.md, "Series classification defaults": 64 against none and 128)
STEM = 64

#: data.word_dropout and data.word_shapes of a new run reading words (with every word
#: kept): as tag's; on Debian's fortunes at 120 s, languages 0.978-0.980 in 3 runs against
#: 0.974-0.975 in 2 with --min-freq 2; topics within its run-to-run spread
#: (benchmarks/README.md, "Text and tagging defaults")
WORD_DROPOUT = 1.0
WORD_SHAPES = True


def auto_patch(lengths: list[int], steps: int = PATCH_STEPS) -> int:
    """The ``model.patch`` of training sequences of ``lengths``: ceil(median / steps),
    so that a sequence of the median length takes at most ``steps`` recurrent steps
    (1 for sequences of up to ``steps``)."""
    import math

    if not lengths:
        return 1
    return max(1, math.ceil(float(np.median(lengths)) / steps))


def label_indices(data: LabelledTexts, classes: list[str], what: str) -> list[int]:
    index = {c: i for i, c in enumerate(classes)}
    for label, source in zip(data.labels, data.sources):
        if label not in index:
            shown = ", ".join(repr(c) for c in classes[:10]) + (", ..." if len(classes) > 10 else "")
            raise UsageError(f"{what}: {source}: label {label!r} is not one of the training classes ({shown})")
    return [index[label] for label in data.labels]


class ClassifyData(SequenceData):
    """Sequences read, tokenizer fitted on the training texts (texts), labels indexed,
    examples encoded, all in the constructor (bad data fails before anything is written).

    ``memory`` (:class:`~rnnkit.data.memory.InMemory` of LabelledTexts or LabelledArrays)
    gives the splits instead of the files of ``data``."""

    def __init__(self, cfg: RunConfig, preprocessing: dict | None = None, memory=None):
        super().__init__(cfg)
        d = cfg.data
        if not d.data and memory is None:
            raise UsageError("data.data: expected a CSV, TSV or JSON Lines file or a folder of class folders (texts), "
                             "or UCR, .ts or .npz files (series), got none")
        if d.max_length is not None and d.max_length < 1:
            raise UsageError(f"data.max_length: expected a positive integer, got {d.max_length}")
        if memory is not None:
            self.kind = "text" if hasattr(memory.train, "texts") else "signal"
        else:
            self.kind = "signal" if is_signal_data(d) else "text"
        self.cfg = cfg = with_task_defaults(cfg, input_kind(self.kind))
        d = cfg.data
        train = self.split(memory, "train", d.data, "data.data", 2)
        valid = self.split(memory, "valid", d.valid, "data.valid", 1)
        if valid is None:
            tr, va = split_items(len(train.labels), d.valid_fraction, cfg.train.seed, train.labels)
            train, valid = take(train, tr, _PER_EXAMPLE), take(train, va, _PER_EXAMPLE)
        self.train_texts, self.valid_texts = train, valid
        self.test_texts = self.split(memory, "test", d.test, "data.test", 1)
        self.channels = getattr(train, "channels", None)
        saved = None if preprocessing is None else preprocessing.get("tokenizer")
        tokenizer = None if self.kind != "text" else saved["kind"] if saved is not None else d.tokenizer or "word"
        self.cfg = cfg = self.with_words(cfg, tokenizer, saved, WORD_DROPOUT, WORD_SHAPES)
        d = cfg.data
        if preprocessing is None:
            self.classes = sorted(set(train.labels))
            if len(self.classes) < 2:
                raise UsageError(f"data.data: expected at least 2 classes in the training split, got only "
                                 f"{self.classes[0]!r}")
            self.tokenizer = fit_tokenizer(d.tokenizer or "word", train.texts, d) if self.kind == "text" else None
        else:
            self.classes = list(preprocessing["classes"])
            self.tokenizer = (tokenizer_from_state(preprocessing["tokenizer"]) if self.kind == "text" else None)
        self.scale = None
        if self.kind == "signal":
            self.scale = preprocessing.get("scale") if preprocessing is not None else Scaler.fit(train.x).state()
        self.cfg = cfg = self.with_patch(cfg, train, new_run=preprocessing is None)
        self.cfg = cfg = self.with_stem(cfg, new_run=preprocessing is None)
        for split in (valid, self.test_texts):
            if split is not None and self.kind == "signal" and split.channels != self.channels:
                raise UsageError(f"channels that differ between files: training {self.channels}, "
                                 f"got {split.channels} in {split.sources[0]}")
        self.train_items = self.items(train, "data.data")
        if self.kind == "text" and getattr(self.tokenizer, "shapes", False):
            tok = self.tokenizer
            self.train_unknown = [truncate(tok.unknown_of(tok.split(t)), d.max_length) for t in train.texts]
        self.valid_items = self.items(valid, "data.valid")
        if self.test_texts is not None:
            self.test_items = self.items(self.test_texts, "data.test")
        self.files = [] if memory is not None else list(dict.fromkeys(
            getattr(train, "files", None) or [s.rsplit(":", 1)[0].split("[")[0] for s in train.sources]))

    def with_patch(self, cfg: RunConfig, train, new_run: bool = True) -> RunConfig:
        """``cfg`` with ``model.patch`` set: the value given (checked), or for values
        :func:`auto_patch` of the training lengths (1 for a run saved before the option,
        whose config leaves it null: it read every step); texts are read token by token."""
        import dataclasses

        k = cfg.model.patch
        if k is not None and (isinstance(k, bool) or k < 1):
            raise UsageError(f"model.patch: expected a positive integer, got {k}")
        if self.kind == "text":
            if k is not None and k != 1:
                raise UsageError(f"model.patch: texts are read one token a step; expected no model.patch, got {k}")
            return cfg
        if k is None:
            k = auto_patch([len(x) for x in train.x]) if new_run else 1
        return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, patch=k))

    def with_stem(self, cfg: RunConfig, new_run: bool = True) -> RunConfig:
        """``cfg`` with ``model.stem`` set: the value given (checked), or for values
        :data:`STEM` (0 for a run saved before the option, whose config leaves it null);
        texts have none."""
        import dataclasses

        s = cfg.model.stem
        if s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 0):
            raise UsageError(f"model.stem: expected a whole number of channels, 0 for none, got {s}")
        if self.kind == "text":
            if s:
                raise UsageError(f"model.stem: texts are read through their embedding; expected no model.stem, "
                                 f"got {s}")
            return cfg
        if s is None:
            s = STEM if new_run else 0
        return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, stem=s))

    def split(self, memory, name: str, specs, what: str, min_classes: int):
        """The records of split ``name``: from ``memory`` when given, else read from
        ``specs`` (None when there are none)."""
        return split_records(memory, name, specs, lambda s: self.read(s, what, min_classes))

    def read(self, specs, what: str, min_classes: int):
        d = self.cfg.data
        if self.kind == "signal":
            from ...data.signals import read_labelled_arrays

            return read_labelled_arrays(specs, format=d.format, normalize=d.normalize, fill=d.fill, what=what,
                                        min_classes=min_classes)
        return read_labelled_texts(specs, text_column=d.text_column, label_column=d.label_column, what=what,
                                   min_classes=min_classes)

    def items(self, data, what: str) -> list:
        ys = label_indices(data, self.classes, what)
        return list(zip(encode_inputs(self, inputs_of(data)), ys))

    def chance_loss(self) -> float | None:
        """The validation loss of a model that has learned nothing: the cross-entropy of
        the validation labels under the training split's class frequencies (add-one)."""
        counts = np.bincount([y for _, y in self.train_items], minlength=len(self.classes)) + 1.0
        logp = np.log(counts / counts.sum())
        return float(-np.mean([logp[y] for _, y in self.valid_items])) if self.valid_items else None

    def preprocessing(self) -> dict:
        lengths = [len(x) for x, _ in self.train_items]
        info = {"files": len(self.files), "first_files": self.files[:3], "train_examples": len(self.train_items),
                "valid_examples": len(self.valid_items), "train_steps": int(sum(lengths)),
                "longest": int(max(lengths))}
        if self.kind == "signal":
            return {"kind": "signal", "channels": self.channels, "classes": self.classes, "scale": self.scale,
                    "data": info}
        return {"kind": "text", "tokenizer": self.tokenizer.state_dict(), "classes": self.classes,
                "data": {**info, "vocab_size": self.tokenizer.vocab_size}}


# what a LabelledTexts or LabelledArrays holds per example
_PER_EXAMPLE = ("texts", "x", "labels", "sources")
