"""Sequence tagging (many-to-many, aligned): one tag per token (text, e.g. part of
speech or BIO entity tags) or one label per step of a real-valued sequence (events or
stages in a signal: beats, spikes, sleep stages).

    e_t = E[w_t] (tokens) or e_t = x_t (values);  y_t = RNN(e_1..e_T, lengths)_t;
    p(tag_t | sequence) = softmax(W y_t + b)

Bidirectional by default, so each tag sees the whole sequence; a unidirectional model
(``model.bidirectional=false``) sees only the past, and can label a stream as it comes.

Text: tokens come split from the CoNLL-style file; the vocabulary is a word vocabulary
of the training tokens (``data.lowercase``, ``data.min_freq``, ``data.max_vocab``), unseen tokens
map to the unknown id; ``data.max_length`` truncates.

Real values (``kind: "signal"``; tables or .npz, see :func:`read_tagged_series`): the
encoder reads the channels of each step (``input_size`` = number of channels).

* Long sequences are cut into consecutive windows of ``data.max_length`` steps for
  training: every step is used, none truncated (the last window of a sequence is
  shorter). Without ``data.max_length``, a training sequence longer than
  :data:`LONGEST_WHOLE` steps is an error that asks for it.
* ``data.normalize`` z-normalises each channel with the mean and standard deviation of
  all training steps (kept in the checkpoint): one global scale, because the
  per-sequence scale of ``classify`` cannot be known on a stream.
* Prediction and the final metrics read whole sequences: a unidirectional model
  carries its state (h, c) from chunk to chunk of :data:`STREAM_CHUNK` steps (memory
  independent of the length); a bidirectional model reads each sequence whole up to
  its window (the training ``data.max_length``, or :data:`LONGEST_WHOLE` steps), and
  longer ones in consecutive windows of that many steps, as it was trained.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from ...config import ModelConfig, RunConfig
from ...data.conll import TaggedSentences, read_conll
from ...data.formats import SIGNAL_TAG_EXTENSIONS, has_extension
from ...data.scaling import Scaler
from ...data.splits import split_items, split_records, split_sequences, take
from ...data.tagged_series import TaggedSeries, read_tagged_series
from ...data.text import resolve_paths
from ...data.tokenizers import WordTokenizer, tokenizer_from_state
from ...errors import UsageError
from ..base import settled
from ..declare import input_kind
from ..registry import with_task_defaults
from ..sequence import SequenceEncoder
from ..sequence_data import SequenceData, SequenceTaskModule, predict_logits, truncate


STREAM_CHUNK = 4_096       # steps per chunk when a unidirectional model reads a long sequence
LONGEST_WHOLE = 10_000     # the longest training sequence taken whole without data.max_length
BATCH_STEPS = 65_536       # at most this many steps (sequences x longest) per prediction batch
# data.word_dropout and data.word_shapes of a new run reading words: WNUT-2016 at 120 s,
# mean span F1 over 3 seeds 0.134 (--min-freq 2, neither), 0.256 (--min-freq 1 and word
# dropout 1), 0.283 (and shapes) (benchmarks/README.md, "Text and tagging defaults")
WORD_DROPOUT = 1.0
WORD_SHAPES = True


class Tagger(nn.Module):
    """Embedding (tokens) or none (values) -> recurrent stack (with lengths) -> a linear
    layer at every step.

    Shape: x (B, T) int64 or (B, T, C) float, lengths (B,) -> logits (B, T, n_tags).
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int | None, n_tags: int, *, input_size: int | None = None):
        super().__init__()
        cfg = settled(cfg)
        self.encoder = SequenceEncoder(cfg, vocab_size=vocab_size, input_size=input_size)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.encoder.output_size, n_tags)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        y, _ = self.encoder(x, lengths)                # (B, T, D*H)
        return self.head(self.drop(y))                 # (B, T, n_tags)

    def forward_chunk(self, x: Tensor, state=None):
        """The next steps of sequences of equal length, from the recurrent ``state`` the
        previous chunk left (None: zeros); unidirectional models only. Running a
        sequence chunk by chunk gives the logits of one pass over all of it.

        Shape: x (B, n, C) float; state as the core layer's h_n (and c_n) ->
        logits (B, n, n_tags), the state after the chunk's last step.
        """
        if self.encoder.directions != 1:
            raise ValueError("Tagger.forward_chunk: a bidirectional model needs the whole sequence")
        e = self.encoder.regs.inputs(self.encoder.drop(x))   # (B, n, C)
        y, state = self.encoder.rnn(e, state)          # (B, n, H), lengths None: every step counts
        return self.head(self.drop(self.encoder.regs.outputs(y))), state


def encode_sentences(encode, sentences: list[list[str]], max_length: int | None) -> list[Tensor]:
    """``encode(tokens)`` (ids) of every sentence, cut to ``max_length``."""
    return [truncate(encode(tokens), max_length) for tokens in sentences]


class TagTask(SequenceTaskModule):
    """The LightningModule of ``rnnkit train tag``: text (``kind`` "text") or
    real-valued sequences (``kind`` "signal", with ``channels``, ``background`` and
    the training ``scale`` of ``data.normalize``)."""

    def __init__(self, config: dict, preprocessing: dict):
        super().__init__(config, preprocessing)
        self.tags = list(preprocessing["tags"])
        self.kind = preprocessing.get("kind", "text")
        self.cfg = with_task_defaults(self.cfg, input_kind(self.kind))
        cfg = self.cfg.model
        self.bidirectional = bool(cfg.bidirectional)
        if self.kind == "signal":
            self.tokenizer = None
            self.channels = list(preprocessing["channels"])
            self.background = preprocessing["background"]
            self.scaler = Scaler.from_state(preprocessing.get("scale"))
            self.window = preprocessing.get("window") or LONGEST_WHOLE
            self.net = Tagger(cfg, None, len(self.tags), input_size=len(self.channels))
        else:
            self.tokenizer = tokenizer_from_state(preprocessing["tokenizer"])
            self.net = Tagger(cfg, self.tokenizer.vocab_size, len(self.tags))

    # ---- text ------------------------------------------------------------------------
    def tag_logits(self, sentences: list[list[str]], batch_size: int | None = None) -> list[Tensor]:
        """Logits (T_i, n_tags) of every sentence. Prediction reads whole sentences,
        also past a ``data.max_length`` the model was trained with."""
        xs = [self.tokenizer.encode_tokens(tokens) for tokens in sentences]
        return predict_logits(self.net, xs, batch_size or max(self.cfg.train.batch_size, 64))

    def predict_tags(self, sentences: list[list[str]]) -> list[list[str]]:
        """The most likely tag of every token."""
        return [[self.tags[int(i)] for i in lg.argmax(-1)] for lg in self.tag_logits(sentences)]

    # ---- real values -----------------------------------------------------------------
    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Values (n, C) as the model reads them: float32, z-normalised with the training
        scale when trained with ``data.normalize``."""
        return apply_scale(x, self.scaler)

    def signal_probs(self, xs: list[np.ndarray]) -> list[np.ndarray]:
        """Label probabilities (T_i, n_tags) of whole sequences (T_i, C), columns in the
        order of ``tags``. Sequences up to :data:`LONGEST_WHOLE` steps (and up to one
        window, bidirectional) are batched (at most :data:`BATCH_STEPS` steps a batch);
        longer ones go through :meth:`stream_probs`."""
        limit = self.window if self.bidirectional else LONGEST_WHOLE
        out: list = [None] * len(xs)
        short = [i for i, x in enumerate(xs) if len(x) <= limit]
        if short:
            longest = max(len(xs[i]) for i in short)
            logits = predict_logits(self.net, [torch.from_numpy(self.prepare(xs[i])) for i in short],
                                    max(1, min(256, BATCH_STEPS // max(longest, 1))))
            for i, lg in zip(short, logits):
                out[i] = torch.softmax(lg, -1).numpy()
        for i, x in enumerate(xs):
            if out[i] is None:
                parts = list(self.stream_probs(x[s:s + STREAM_CHUNK] for s in range(0, len(x), STREAM_CHUNK)))
                out[i] = np.concatenate(parts) if parts else np.zeros((0, len(self.tags)), np.float32)
        return out

    @torch.no_grad()
    def stream_probs(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Label probabilities of one sequence given as consecutive chunks (n_i, C) of
        raw values; yields (m, n_tags) arrays that together cover every step, in order.

        Unidirectional: each chunk as it comes, the state carried over (the same
        numbers as one pass over the whole sequence). Bidirectional: consecutive
        windows of ``window`` steps, each read whole in both directions.
        """
        self.net.eval()
        device = next(self.net.parameters()).device
        if not self.bidirectional:
            state = None
            for x in chunks:
                if len(x) == 0:
                    continue
                xt = torch.from_numpy(self.prepare(x)).to(device)[None]           # (1, n, C)
                logits, state = self.net.forward_chunk(xt, state)                   # (1, n, K)
                yield torch.softmax(logits[0].float(), -1).cpu().numpy()
            return
        buf: list[np.ndarray] = []
        held = 0
        for x in chunks:
            buf.append(np.asarray(x))
            held += len(x)
            if held >= self.window:
                whole = np.concatenate(buf)
                cut = (held // self.window) * self.window
                yield from self._window_probs(whole[:cut])
                buf, held = [whole[cut:]], held - cut
        if held:
            yield from self._window_probs(np.concatenate(buf))

    def _window_probs(self, x: np.ndarray) -> Iterator[np.ndarray]:
        """Windows of ``window`` steps of ``x`` (the last may be shorter), each read whole."""
        windows = [torch.from_numpy(self.prepare(x[s:s + self.window])) for s in range(0, len(x), self.window)]
        for lg in predict_logits(self.net, windows, max(1, BATCH_STEPS // self.window)):
            yield torch.softmax(lg, -1).numpy()


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


def label_codes(data: "TaggedSeries", tags: list[str], what: str) -> list[np.ndarray]:
    """Each sequence's labels as indices into ``tags`` (int64 arrays); an unknown label
    is an error naming where it is."""
    index = {t: i for i, t in enumerate(tags)}
    out = []
    for labels, source in zip(data.labels, data.sources):
        uniq, inverse = np.unique(labels, return_inverse=True)
        for u in uniq:
            if u not in index:
                step = int(np.flatnonzero(labels == u)[0])
                shown = ", ".join(tags[:12]) + (", ..." if len(tags) > 12 else "")
                raise UsageError(f"{what}: {source}: label {u!r} at step {step} is not one of the training "
                                 f"labels ({shown})")
        out.append(np.array([index[u] for u in uniq], dtype=np.int64)[inverse.reshape(-1)])
    return out


def is_signal_tag_data(d) -> bool:
    """Real-valued sequences rather than CoNLL text: ``data.format=csv|parquet|npz`` (or
    another series format), or files that are all .csv, .parquet or .npz."""
    if d.format is not None:
        return True
    if not d.data:
        return False
    files = resolve_paths(d.data, "data.data")
    signal = [has_extension(f, SIGNAL_TAG_EXTENSIONS) for f in files]
    if any(signal) and not all(signal):
        odd = files[signal.index(False)] if signal[0] else files[signal.index(True)]
        raise UsageError(f"data.data: expected all tables/.npz (a label per step of real values) or all CoNLL "
                         f"text files, got both kinds ({str(files[0])!r} and {str(odd)!r})")
    return all(signal)


class TagData(SequenceData):
    """Sequences read, vocabulary (text) and tag set taken from the training split,
    examples encoded, all in the constructor (bad data fails before anything is
    written). ``memory`` (:class:`~rnnkit.data.memory.InMemory` of TaggedSentences or
    TaggedSeries) gives the splits instead of the files of ``data``."""

    def __init__(self, cfg: RunConfig, preprocessing: dict | None = None, memory=None):
        super().__init__(cfg)
        d = cfg.data
        self.memory = memory
        if d.max_length is not None and d.max_length < 1:
            raise UsageError(f"data.max_length: expected a positive integer, got {d.max_length}")
        if not d.data and memory is None:
            raise UsageError("data.data: expected CoNLL-style files (a token and its tag per line), or tables "
                             "(CSV, Parquet) or .npz with a label per step, got none")
        if memory is not None:
            self.kind = "text" if hasattr(memory.train, "tokens") else "signal"
        else:
            self.kind = "signal" if is_signal_tag_data(d) else "text"
        self.cfg = with_task_defaults(cfg, input_kind(self.kind))
        if self.kind == "signal":
            self._init_signal(preprocessing)
        else:
            self._init_text(preprocessing)

    # ---- text ------------------------------------------------------------------------
    def _init_text(self, preprocessing):
        cfg, d = self.cfg, self.cfg.data
        if d.tokenizer not in (None, "word"):
            raise UsageError(f"data.tokenizer: tag reads the tokens of the CoNLL file as they are; expected word, "
                             f"got {d.tokenizer}")
        self.cfg = cfg = self.with_words(cfg, "word", None if preprocessing is None else preprocessing["tokenizer"],
                                         WORD_DROPOUT, WORD_SHAPES)
        d = cfg.data
        train = self.split("train", d.data, read_conll, "data.data")
        valid = self.split("valid", d.valid, read_conll, "data.valid")
        if valid is None:
            tr, va = split_items(len(train.tokens), d.valid_fraction, cfg.train.seed)
            train, valid = take(train, tr, _PER_SENTENCE), take(train, va, _PER_SENTENCE)
        self.train_sents, self.valid_sents = train, valid
        self.test_sents = self.split("test", d.test, read_conll, "data.test")
        if preprocessing is None:
            self.tags = sorted({t for seq in train.tags for t in seq})
            if len(self.tags) < 2:
                raise UsageError(f"data.data: expected at least 2 distinct tags in the training split, got only "
                                 f"{self.tags[0]!r}")
            self.tokenizer = WordTokenizer.fit_tokens(train.tokens, lowercase=d.lowercase, min_freq=d.min_freq,
                                                      max_vocab=d.max_vocab, shapes=d.word_shapes)
        else:
            self.tags = list(preprocessing["tags"])
            self.tokenizer = tokenizer_from_state(preprocessing["tokenizer"])
        self.train_items = self.items(train, "data.data")
        if self.tokenizer.shapes:
            self.train_unknown = encode_sentences(self.tokenizer.unknown_of, train.tokens, d.max_length)
        self.valid_items = self.items(valid, "data.valid")
        if self.test_sents is not None:
            self.test_items = self.items(self.test_sents, "data.test")
        self.files = train.files

    def split(self, name: str, specs, read, what: str):
        """The records of split ``name``: from ``memory`` when given, else
        ``read(specs, what)`` (None when there are no files)."""
        return split_records(self.memory, name, specs, lambda s: read(s, what))

    def items(self, data: TaggedSentences, what: str) -> list:
        ys = tag_indices(data, self.tags, what, self.cfg.data.max_length)
        return list(zip(encode_sentences(self.tokenizer.encode_tokens, data.tokens, self.cfg.data.max_length), ys))

    # ---- real values -----------------------------------------------------------------
    def _init_signal(self, preprocessing):
        cfg, d = self.cfg, self.cfg.data
        if d.format is not None and d.format not in ("csv", "parquet", "npz"):
            raise UsageError(f"data.format {d.format}: tag trains on a label per step, from tables (csv, parquet) "
                             f"or .npz (x and y); {d.format} files hold no labels (predict reads them)")
        if d.resample is not None:
            raise UsageError(f"data.resample: tag reads tables and .npz at their own rate; expected no "
                             f"data.resample, got {d.resample}")
        if d.tokenizer is not None:
            raise UsageError(f"data.tokenizer: real-valued sequences have no tokens; got {d.tokenizer}")
        read = dict(format=d.format, label_column=d.label_column, time_column=d.time_column,
                    series_column=d.series_column, channels=d.channels, fill=d.fill)
        reader = lambda specs, what: read_tagged_series(specs, what=what, **read)       # noqa: E731
        train = self.split("train", d.data, reader, "data.data")
        valid = self.split("valid", d.valid, reader, "data.valid")
        if valid is None:
            train, valid = split_sequences(train, d.valid_fraction, cfg.train.seed, steps=("x", "labels", "times"),
                                           names="sources")
        test = self.split("test", d.test, reader, "data.test")
        for name, split in (("data.valid", valid), ("data.test", test)):
            if split is not None and split.channels != train.channels:
                raise UsageError(f"{name}: expected the channels of data.data ({', '.join(train.channels)}), got "
                                 f"{', '.join(split.channels)} in {split.sources[0]}")
        self.channels = train.channels
        if d.max_length is None:
            longest = max(range(len(train.x)), key=lambda i: len(train.x[i]))
            if len(train.x[longest]) > LONGEST_WHOLE:
                raise UsageError(f"data.max_length: sequence {train.sources[longest]} has {len(train.x[longest]):,} "
                                 f"steps; training reads sequences longer than {LONGEST_WHOLE:,} steps in "
                                 f"consecutive windows of data.max_length steps: pass data.max_length (e.g. 1000)")
        if preprocessing is None:
            values, counts = np.unique(np.concatenate(train.labels), return_counts=True)
            self.tags = [str(v) for v in values]
            if len(self.tags) < 2:
                raise UsageError(f"data.data: expected at least 2 distinct labels in the training split, got only "
                                 f"{self.tags[0]!r}")
            self.background = self.tags[int(np.argmax(counts))]    # the most frequent (first when tied)
            self.scaler = Scaler.fit(train.x) if d.normalize else None
        else:
            self.tags = list(preprocessing["tags"])
            self.background = preprocessing["background"]
            self.scaler = Scaler.from_state(preprocessing.get("scale"))
        self.tokenizer = None
        self.cfg = self.with_words(self.cfg, None, None, WORD_DROPOUT, WORD_SHAPES)
        self.train_series, self.valid_series, self.test_series = train, valid, test
        self.train_items = self.windows(train, "data.data")
        self.valid_items = self.windows(valid, "data.valid")
        if test is not None:
            self.test_items = self.windows(test, "data.test")
        self.files = train.files

    def windows(self, data: "TaggedSeries", what: str) -> list:
        """(x (n, C) float32, y (n,) int64) pairs: each sequence whole, or cut into
        consecutive windows of ``data.max_length`` steps (the last one shorter)."""
        w = self.cfg.data.max_length
        out = []
        for x, y in zip(data.x, label_codes(data, self.tags, what)):
            x = apply_scale(x, self.scaler)
            step = w or max(len(x), 1)
            for s in range(0, len(x), step):
                out.append((torch.from_numpy(np.ascontiguousarray(x[s:s + step])), torch.from_numpy(y[s:s + step])))
        return out

    def preprocessing(self) -> dict:
        if self.kind == "signal":
            steps = [len(x) for x in self.train_series.x]
            return {"kind": "signal", "channels": self.channels, "tags": self.tags, "background": self.background,
                    "scale": None if self.scaler is None else self.scaler.state(), "window": self.cfg.data.max_length, "data": {
                        "files": len(self.files), "first_files": self.files[:3],
                        "train_sequences": len(steps), "valid_sequences": len(self.valid_series.x),
                        "train_steps": int(sum(steps)), "train_windows": len(self.train_items),
                        "longest": int(max(steps))}}
        lengths = [len(x) for x, _ in self.train_items]
        return {"tokenizer": self.tokenizer.state_dict(), "tags": self.tags, "data": {
            "files": len(self.files), "first_files": self.files[:3], "train_sentences": len(self.train_items),
            "valid_sentences": len(self.valid_items), "train_tokens": int(sum(lengths)),
            "longest": int(max(lengths)), "vocab_size": self.tokenizer.vocab_size}}


# what a TaggedSentences holds per sentence
_PER_SENTENCE = ("tokens", "tags", "sources")


def apply_scale(x: np.ndarray, scaler: Scaler | None) -> np.ndarray:
    """``x`` as float32, scaled when there is a scaler; a copy either way (writable,
    whatever it came from)."""
    if scaler is None:
        return np.array(x, dtype=np.float32)
    return scaler.transform(x)
