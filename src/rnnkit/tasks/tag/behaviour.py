"""``tag``: a tag per token or a label per step (see :mod:`rnnkit.tasks.tag`).

Text metrics: token ``accuracy``, and for BIO / BIOES tags the exact-match entity
spans' ``precision``, ``recall`` and ``f1`` (micro-averaged, as conlleval computes
them). Real-valued sequences: per-step ``accuracy``, and ``event_precision``,
``event_recall``, ``event_f1``: an event is a maximal run of one label other than the
background label (the most frequent in the training data), and a predicted event
matches a true one of the same label when their intersection over union is at least
0.5 (:func:`rnnkit.metrics.event_f1`).

Prediction on real values writes a CSV with one row per step, as it goes: ``source``,
``step`` (from 0 in each sequence), ``time`` (runs with a time column), the predicted
``label``, ``p_<label>`` for each label, and ``true_label`` when the input has labels.
Records (WFDB ``.hea``, EDF/BDF, ``.npy``) are read in chunks; with a unidirectional
model the whole run takes memory independent of the record's length. Tables (CSV,
Parquet) and .npz are read whole. The input's channels are the model's, matched by
name (a record or table may hold more); a file without names (``.npy``, an .npz
without ``channels``) must have the model's number of channels, read in its order.
Every input is checked before the first row is written.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...data.conll import read_conll, tag_scheme
from ...data.formats import RECORD_ONLY_EXTENSIONS, SIGNAL_TAG_EXTENSIONS, has_extension
from ...data.splits import named_splits
from ...data.tagged_series import TaggedSeries, read_tagged_series
from ...data.text import resolve_paths
from ...errors import UsageError
from ...io.predictions import PredictionTable, prediction_table, quote, write_token_predictions
from ...metrics import event_f1, span_f1, token_accuracy
from ..spec import TaskSpec
from .module import STREAM_CHUNK, TagData, TagTask, label_codes



def scores(module: TagTask, tokens: list[list[str]], tags: list[list[str]], what: str, probs=None) -> dict:
    """loss (mean negative log-likelihood per token), accuracy, and span precision,
    recall and f1 when the tags are BIO or BIOES, of the model's predictions, or of
    ``probs`` (a baseline's: a (T_i, n_tags) array per sentence) when given."""
    index = {t: i for i, t in enumerate(module.tags)}
    for seq in tags:
        for t in seq:
            if t not in index:
                raise UsageError(f"{what}: tag {t!r} is not one of the model's tags ({', '.join(module.tags[:12])})")
    logits = (module.tag_logits(tokens) if probs is None
              else [torch.from_numpy(np.log(np.clip(p, 1e-12, 1.0))) for p in probs])
    flat = torch.cat(logits) if logits else torch.zeros(0, len(module.tags))
    target = torch.tensor([index[t] for seq in tags for t in seq], dtype=torch.int64)
    pred = [[module.tags[int(i)] for i in lg.argmax(-1)] for lg in logits]
    out = {"loss": float(F.cross_entropy(flat, target)) if len(target) else 0.0,
           "accuracy": token_accuracy(tags, pred)}
    if tag_scheme(module.tags) != "plain":
        s = span_f1(tags, pred)
        out.update(precision=s["precision"], recall=s["recall"], f1=s["f1"])
    out.update(sentences=len(tokens), tokens=int(len(target)))
    return out


def signal_scores(module: TagTask, data: TaggedSeries, what: str, probs=None) -> dict:
    """loss (mean negative log-likelihood per step), per-step accuracy, and event
    precision, recall and f1 (with each label's figures under ``events_per_label``) of
    the model's probabilities, or of ``probs`` (a baseline's) when given."""
    ys = label_codes(data, module.tags, what)
    probs = module.signal_probs(data.x) if probs is None else probs
    nll, correct, steps = 0.0, 0, 0
    names = np.asarray(module.tags)
    pred = []
    for p, y in zip(probs, ys):
        nll -= float(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0)).sum())
        correct += int((p.argmax(1) == y).sum())
        steps += len(y)
        pred.append(names[p.argmax(1)])
    ev = event_f1([names[y] for y in ys], pred, module.background)
    return {"loss": nll / max(steps, 1), "accuracy": correct / max(steps, 1), "event_precision": ev["precision"],
            "event_recall": ev["recall"], "event_f1": ev["f1"], "true_events": ev["true_events"],
            "predicted_events": ev["predicted_events"], "sequences": len(ys), "steps": steps,
            "events_per_label": ev["per_label"]}




class TagSpec(TaskSpec):
    name = "tag"

    def search_space(self, cfg) -> dict:
        from .module import is_signal_tag_data

        drop = ("model.embedding_size", "data.word_dropout") if is_signal_tag_data(cfg.data) else ()
        return {k: v for k, v in self.tuning_space.items() if k not in drop}

    def data(self, cfg, preprocessing=None, memory=None):
        return TagData(cfg, preprocessing, memory)

    def final_metrics(self, module, data) -> dict:
        if data.kind == "signal":
            return {name: signal_scores(module, s, name) for name, s in _signal_splits(data).items()}
        splits = named_splits(data.train_sents, data.valid_sents, data.test_sents)
        return {name: scores(module, s.tokens, s.tags, name) for name, s in splits.items()}

    def reports(self, module, data, metrics, run) -> None:
        """The baseline, fitted on the training split, kept in ``RUN/baseline.npz`` and
        scored on every split beside the model. Text: each word's most frequent
        training tag (:class:`~rnnkit.baselines.MostFrequentTag`, words lowercased as the
        run's vocabulary). Real values: the window baseline
        (:class:`~rnnkit.baselines.WindowTagger`, the values around each step as
        independent features: the last :data:`BASELINE_WINDOW` steps for a
        unidirectional model, as many around the step for a bidirectional one)."""
        if data.kind != "signal":
            from ...baselines.word_tags import MostFrequentTag

            start = time.perf_counter()
            splits = named_splits(data.train_sents, data.valid_sents, data.test_sents)
            words = MostFrequentTag(module.tags, lowercase=bool(module.cfg.data.lowercase)).fit(
                data.train_sents.tokens, data.train_sents.tags)
            words.save(Path(run) / BASELINE)
            figures = {name: scores(module, s.tokens, s.tags, name, words.predict_proba(s.tokens))
                       for name, s in splits.items()}
            metrics["baseline"] = {"model": "most_frequent_tag", "about": "each word's most frequent training tag",
                                   "seconds": round(time.perf_counter() - start, 3), **figures}
            return
        from ...baselines.tagging import WindowTagger

        start = time.perf_counter()
        before, after = ((BASELINE_WINDOW // 2, BASELINE_WINDOW - 1 - BASELINE_WINDOW // 2) if module.bidirectional
                         else (BASELINE_WINDOW - 1, 0))
        splits = _signal_splits(data)
        values = {name: [module.prepare(x) for x in d.x] for name, d in splits.items()}   # as the model reads them
        tagger = WindowTagger(before=before, after=after, seed=module.cfg.train.seed).fit(
            values["train"], label_codes(data.train_series, module.tags, "data.data"), len(module.tags))
        tagger.save(Path(run) / BASELINE)
        figures = {name: signal_scores(module, d, name, tagger.predict_proba(values[name]))
                   for name, d in splits.items()}
        metrics["baseline"] = {"model": "window_logistic", "before": before, "after": after,
                               "about": f"the values of {before} steps before and {after} after each step, "
                                        f"logistic regression",
                               "seconds": round(time.perf_counter() - start, 3), **figures}

    def evaluate(self, module, paths, baseline: bool = False) -> dict:
        if module.kind == "signal":
            files = _input_files(paths)
            for f in files:
                if _is_record(f):
                    raise UsageError(f"data.data: {str(f)!r} is a record without labels; evaluate needs a label per "
                                     f"step (a table with the column {module.cfg.data.label_column!r}, or an "
                                     f".npz with y); predict labels records")
            data = _read_signal_tables(module, files, True)
            out = signal_scores(module, data, "data.data")
            if baseline:
                from ...baselines.tagging import WindowTagger

                path = Path(module.run_dir) / BASELINE
                if not path.is_file():
                    raise UsageError(f"--baseline: run directory {str(module.run_dir)!r} has no baseline "
                                     f"(expected {str(path)!r})")
                probs = WindowTagger.load(path).predict_proba([module.prepare(x) for x in data.x])
                out["baseline"] = {"model": "window_logistic", **signal_scores(module, data, "data.data", probs)}
            return out
        data = read_conll(paths, "data.data")
        out = scores(module, data.tokens, data.tags, "data.data")
        if baseline:
            from ...baselines.word_tags import MostFrequentTag

            path = Path(module.run_dir) / BASELINE
            if not path.is_file():
                raise UsageError(f"--baseline: run directory {str(module.run_dir)!r} has no baseline "
                                 f"(expected {str(path)!r})")
            probs = MostFrequentTag.load(path).predict_proba(data.tokens)
            out["baseline"] = {"model": "most_frequent_tag",
                               **scores(module, data.tokens, data.tags, "data.data", probs)}
        return out

    def predict(self, module, paths, out: Path) -> int:
        """The input's tokens, one per line with the predicted tag after a tab (and the
        given tag before it when the input has tags); a blank line after each sentence.
        Real-valued sequences: see the module docstring."""
        if module.kind == "signal":
            return predict_signals(module, paths, out)
        data = read_conll(paths, "data.data", tags_required=False)
        pred = module.predict_tags(data.tokens)
        given = data.tags if data.tags is not None else [None] * len(pred)
        write_token_predictions(out, (zip(tokens, g, tags) if g is not None else zip(tokens, tags)
                                      for tokens, g, tags in zip(data.tokens, given, pred)))
        return sum(len(t) for t in data.tokens)

    def describe(self, module) -> list[str]:
        shown = ", ".join(module.tags[:10]) + (", ..." if len(module.tags) > 10 else "")
        if module.kind == "signal":
            scale = "z-normalised with the training mean and std" if module.scaler else "as read"
            reads = ("both directions: whole sequences up to " if module.bidirectional else
                     "left to right, state carried: streams records of any length; trained on ")
            window = f"windows of {module.window:,} steps" if module.bidirectional or \
                module.cfg.data.max_length else "whole sequences"
            return [f"input: real values, {len(module.channels)} channel(s) ({', '.join(module.channels[:8])}), "
                    f"{scale}",
                    f"output: one of {len(module.tags)} labels per step ({shown}); background "
                    f"{module.background!r}",
                    f"reads {reads}{window}"]
        tok = module.tokenizer
        return [f"input: word tokens, vocabulary of {tok.vocab_size} (id 0 = unknown)",
                f"output: one of {len(module.tags)} tags per token ({shown}); scheme {tag_scheme(module.tags)}"]

    # ---- streaming: values or tokens -> label probabilities (n, tags) ----------------
    def stream_values(self, module, x):
        return module.prepare(x)

    def stream_output(self, module, y, n: int):
        return torch.softmax(y[:n].float(), -1).cpu().numpy()                    # (n, tags)

    def stream_empty(self, module):
        return np.zeros((0, len(module.tags)), np.float32)

    # ---- export: x, lengths[, h, c] -> logits (B, T, tags)[, h_out, c_out] ------------
    def graph(self, module):
        from ...export.graphs import encoder_graph

        return encoder_graph(module, per_step=True)

    def export_json(self, module, cfg, tokenizer_file):
        from ...export.describe import floats, tokenizer_json

        out = {"kind": module.kind, "tags": list(module.tags),
               "output": "softmax(logits[b, t]) are the probabilities of 'tags' at step t"}
        if module.kind == "signal":
            scale = None if module.scaler is None else module.scaler.state()
            out.update(channels=list(module.channels), background=module.background,
                       window=module.window if module.bidirectional else None,
                       scale=None if scale is None else {"mean": floats(scale["mean"]), "std": floats(scale["std"])})
        else:
            out["tokenizer"] = tokenizer_json(module.tokenizer, tokenizer_file)
        return out

    # ---- baseline verdict: event F1 (values), span F1 or token accuracy (text) on validation
    verdict_metrics = ("event_f1", "f1", "accuracy")

    def baseline_suggestions(self, cfg, kind):
        if kind == "text":
            return {"model.bidirectional": True, "data.word_dropout": 1.0, "data.word_shapes": True}
        return {"model.bidirectional": True}


TAG = TagSpec()
BASELINE = "baseline.npz"      # the baseline next to a run's checkpoints (window or most frequent tag)
BASELINE_WINDOW = 32           # steps the window baseline sees


def _signal_splits(data: TagData) -> dict:
    """The training, validation and (when given) test sequences of a signal run."""
    return named_splits(data.train_series, data.valid_series, data.test_series)


# ---- prediction on real values ---------------------------------------------------------
def _is_record(path: Path) -> bool:
    return has_extension(path, RECORD_ONLY_EXTENSIONS)


def _input_files(paths) -> list[Path]:
    """Files, folders or globs, and WFDB records named without extension; a record's
    .dat file is dropped when its .hea is there too (one record, read once)."""
    files = []
    for spec in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        if not Path(str(spec)).exists() and Path(str(spec) + ".hea").is_file():
            files.append(Path(str(spec) + ".hea"))
        else:
            files += resolve_paths([spec], "data.data")
    headers = {f.with_suffix(".hea") for f in files if f.suffix.lower() == ".hea"}
    return [f for f in files if not (f.suffix.lower() == ".dat" and f.with_suffix(".hea") in headers)]


def _read_signal_tables(module: TagTask, files: list[Path], labels_required: bool) -> TaggedSeries:
    """Tables and .npz for a trained signal run: the model's channels chosen by name
    (an .npz without channel names must have the model's number of channels, taken in
    the model's order)."""
    d = module.cfg.data
    parts = []
    for f in files:
        fmt = None if has_extension(f, SIGNAL_TAG_EXTENSIONS) else d.format     # the training data.format
        if fmt is None and not has_extension(f, SIGNAL_TAG_EXTENSIONS):
            raise UsageError(f"data.data: {str(f)!r}: expected a table (.csv, .parquet), .npz or a record "
                             f"({', '.join(RECORD_ONLY_EXTENSIONS)})")
        is_npz = fmt == "npz" or str(f).lower().endswith(".npz")
        try:
            part = read_tagged_series([f], format=fmt, label_column=d.label_column, time_column=d.time_column,
                                      series_column=d.series_column, channels=None if is_npz else module.channels,
                                      fill=d.fill, labels_required=labels_required, what="data.data")
        except UsageError as err:
            if not str(err).startswith("data.channels:"):
                raise
            raise UsageError(f"data.data: expected the channels the model was trained on ({', '.join(module.channels)})"
                             f"; {str(f)!r} has columns {_columns(f)}") from None
        pick = _match_channels(module, part.channels, str(f))
        if pick is not None:
            part.x = [x[:, pick] for x in part.x]
        part.channels = list(module.channels)
        parts.append(part)
    if not parts:
        raise UsageError("data.data: no files to read")
    times = [t for p in parts for t in (p.times or [None] * len(p.x))]
    labelled = all(p.labels is not None for p in parts)
    return TaggedSeries(x=[x for p in parts for x in p.x],
                        labels=[lab for p in parts for lab in p.labels] if labelled else None,
                        sources=[s for p in parts for s in p.sources], channels=list(module.channels),
                        times=times if any(t is not None for t in times) else None,
                        files=[f for p in parts for f in p.files])


def _match_channels(module: TagTask, names: list[str], source: str) -> list[int] | None:
    """The indices of the model's channels among a file's (None: all, in order). By
    name; a file without names (channels "0", "1", ...: .npy, an .npz without
    ``channels``) needs the model's number of channels, read in the model's order."""
    unnamed = names == [str(i) for i in range(len(names))]
    if names == module.channels or unnamed and len(names) == len(module.channels):
        return None
    if not unnamed and all(c in names for c in module.channels):
        return [names.index(c) for c in module.channels]
    raise UsageError(f"data.data: expected the channels the model was trained on ({', '.join(module.channels)}), "
                     f"got {', '.join(names)} in {source!r}")


def _columns(path: Path) -> str:
    try:
        import pandas as pd

        cols = list(pd.read_csv(path, nrows=0).columns) if str(path).lower().endswith(".csv") else \
            list(pd.read_parquet(path).columns)
        return ", ".join(map(str, cols[:12])) + (", ..." if len(cols) > 12 else "")
    except Exception:      # only for the message
        return "(unreadable)"


def _open_record(module: TagTask, path: Path):
    """A record checked against the model's channels from its header, before anything
    is written; returns its name and a function that yields its chunks (n, C) of the
    model's channels, read from disk as they are needed."""
    from ...data.signals import iter_record_chunks, record_info

    fmt = None                                    # by extension
    info = record_info(path, format=fmt, what="data.data")
    names = list(info.channels)
    idx = _match_channels(module, names, info.source)
    pick = None if idx is None else [names[i] for i in idx]

    def chunks():
        if info.source.lower().endswith(".npy"):
            yield from _npy_chunks(Path(info.source), STREAM_CHUNK)
            return
        for _, x in iter_record_chunks(path, STREAM_CHUNK, format=fmt, channels=pick, what="data.data"):
            yield x

    return info.source, chunks


def _npy_chunks(path: Path, chunk: int):
    """(n, C) float32 pieces of an .npy (T,) or (T, C), read with plain file reads: a
    memory map would keep every page it touched resident, so the memory of a run would
    grow with the record (Fortran-ordered arrays are read through the map)."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                                 else np.lib.format.read_array_header_2_0(f))
        if fortran or dtype.hasobject or len(shape) not in (1, 2):
            from ...data.signals import iter_record_chunks

            for _, x in iter_record_chunks(path, chunk, format="npy", what="data.data"):
                yield x
            return
        width = 1 if len(shape) == 1 else shape[1]
        for start in range(0, shape[0], chunk):
            n = min(chunk, shape[0] - start)
            x = np.fromfile(f, dtype=dtype, count=n * width)
            if len(x) != n * width:
                raise UsageError(f"data.data: {str(path)!r} ends after {start + len(x) // width} of its {shape[0]} "
                                 f"rows (a truncated file)")
            yield x.reshape(n, width).astype(np.float32, copy=False)


def _header(tags: list[str], time: bool, truth: bool) -> list[str]:
    return ["source", "step", *(["time"] if time else []), "label", *[f"p_{t}" for t in tags],
            *(["true_label"] if truth else [])]


class _RowWriter:
    """Rows of predicted labels, a block of steps at a time, into a prediction table."""

    def __init__(self, table: PredictionTable, tags: list[str], time: bool, truth: bool):
        self.table, self.time, self.truth = table, time, truth
        self.quoted = np.asarray([quote(t) for t in tags], dtype=object)

    @property
    def rows(self) -> int:
        return self.table.rows

    def write(self, source: str, start: int, probs: np.ndarray, times=None, truth=None) -> None:
        n, k = probs.shape
        cols, formats = [[quote(source)] * n, range(start, start + n)], ["%s", "%d"]
        if self.time:
            cols.append([quote(str(t)) for t in times] if times is not None else [""] * n)
            formats.append("%s")
        cols.append(self.quoted[probs.argmax(1)].tolist())
        cols += [c.tolist() for c in probs.T]
        formats += ["%s"] + ["%.6f"] * k
        if self.truth:
            cols.append([quote(str(t)) for t in truth] if truth is not None else [""] * n)
            formats.append("%s")
        self.table.block(cols, formats)


def predict_signals(module: TagTask, paths, out: Path) -> int:
    """Label every step of tables, .npz files and records into the CSV ``out`` (see the
    module docstring); the rows go to a temporary file in ``out``'s folder, renamed to
    ``out`` at the end, so an error leaves nothing half-written. Every input is checked
    (channels, values) before the first row is written."""
    d = module.cfg.data
    files = _input_files(paths)
    plan = [(f, _open_record(module, f) if _is_record(f) else _read_signal_tables(module, [f], False))
            for f in files]
    truth = any(isinstance(p, TaggedSeries) and p.labels is not None for _, p in plan)
    has_time = bool(d.time_column)
    with prediction_table(out, _header(module.tags, has_time, truth)) as table:
        w = _RowWriter(table, module.tags, time=has_time, truth=truth)
        for f, part in plan:
            if isinstance(part, TaggedSeries):
                _write_tables(module, part, w)
                continue
            source, chunks = part
            start = 0
            for probs in module.stream_probs(chunks()):
                w.write(source, start, probs)
                start += len(probs)
    return w.rows


def _write_tables(module: TagTask, data: TaggedSeries, w: _RowWriter) -> None:
    batch = 256
    for s in range(0, len(data.x), batch):
        probs = module.signal_probs(data.x[s:s + batch])
        for i, p in enumerate(probs, start=s):
            w.write(data.sources[i], 0, p, data.times[i] if data.times is not None else None,
                    data.labels[i] if data.labels is not None else None)
