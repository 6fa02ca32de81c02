"""``classify``: one label per text (see :mod:`rnnkit.tasks.classify`), and ``model.model=bow``,
the bag-of-words baseline trained and used through the same commands.

An RNN run also fits the baseline on the same training split (the bag of words for
texts, the window logistic regression for real-valued sequences) and keeps it in
``RUN/baseline.npz``: ``metrics.json`` holds both, and ``rnnkit evaluate RUN --data F
--baseline`` prints them side by side.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ...data.tables import read_labelled_texts
from ...errors import UsageError
from ...metrics import classification_metrics, plot_confusion_matrix
from ...io.atomic import write_atomic
from ...io.predictions import write_prediction_table
from .module import ClassifyData, ClassifyTask, inputs_of, label_indices
from ..spec import TaskSpec

BASELINE = "baseline.npz"     # the baseline next to an RNN run's checkpoints
BOW_MODEL = "bow.npz"         # the model of a model.model=bow run


def scores(probs: np.ndarray, y: list[int], classes: list[str]) -> dict:
    """loss (mean negative log-likelihood, nats), accuracy, macro_f1, examples and the
    confusion matrix of predicted probabilities against true class indices."""
    y = np.asarray(y, dtype=np.int64)
    m = classification_metrics(y, probs.argmax(1), classes)
    p = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    return {"loss": float(-np.log(p).mean()), "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "examples": int(len(y)), "confusion_matrix": m["confusion_matrix"]}


def _split_scores(model, data) -> dict:
    """Figures on the train, validation and (when given) test splits."""
    splits = {"train": data.train_texts, "validation": data.valid_texts}
    if data.test_texts is not None:
        splits["test"] = data.test_texts
    return {name: scores(model.predict_proba(inputs_of(t)), label_indices(t, data.classes, name), data.classes)
            for name, t in splits.items()}


def _strip(m: dict) -> dict:
    return {k: v for k, v in m.items() if k != "confusion_matrix"}


def _write_confusion(run: Path, figures: dict) -> None:
    """RUN/confusion_matrix.json (validation and test) and a PNG of each."""
    cms = {split: f["confusion_matrix"] for split, f in figures.items() if split != "train"}
    write_atomic(run / "confusion_matrix.json", json.dumps(cms, indent=2) + "\n")
    for split, cm in cms.items():
        plot_confusion_matrix(cm, run / "plots" / f"confusion_matrix_{split}.png")


def _bow(cfg):
    from ...baselines.bow import BagOfWords

    d = cfg.data
    return BagOfWords(ngrams=cfg.model.ngrams, lowercase=d.lowercase, min_freq=d.min_freq, max_vocab=d.max_vocab,
                      seed=cfg.train.seed)


class BowRun:
    """A trained ``model.model=bow`` run (or an RNN run's baseline): what evaluate and
    predict need, as :class:`~rnnkit.tasks.classify.ClassifyTask` offers it."""

    def __init__(self, model, cfg, classes=None):
        self.model, self.cfg = model, cfg
        self.classes = list(classes if classes is not None else model.classes)

    def predict_proba(self, texts):
        return self.model.predict_proba(texts)


_TEXT_ONLY = ("model.embedding_size", "data.min_freq", "data.lowercase", "data.word_dropout")


class ClassifySpec(TaskSpec):
    name = "classify"

    def search_space(self, cfg) -> dict:
        from .module import is_signal_data

        drop = _TEXT_ONLY if is_signal_data(cfg.data) else ("data.normalize", "model.patch", "model.stem")
        return {k: v for k, v in self.tuning_space.items() if k not in drop}

    def data(self, cfg, preprocessing=None, memory=None):
        return ClassifyData(cfg, preprocessing, memory)

    def final_metrics(self, module, data) -> dict:
        data.figures = _split_scores(module, data)       # kept for reports()
        return {split: _strip(m) for split, m in data.figures.items()}

    def reports(self, module, data, metrics, run) -> None:
        _write_confusion(run, data.figures)
        start = time.perf_counter()
        if data.kind == "signal":
            # the past values as independent features: the flattened sequence (resampled
            # to the median length) into a logistic regression
            from ...baselines.series import WindowClassifier

            y = label_indices(data.train_texts, data.classes, "data.data")
            clf = WindowClassifier(seed=module.cfg.train.seed).fit(data.train_texts.x, y, len(data.classes))
            clf.save(run / BASELINE)
            figures = _split_scores(BowRun(clf, module.cfg, data.classes), data)
            metrics["baseline"] = {"model": "window_logistic", "seconds": round(time.perf_counter() - start, 3),
                                   **{split: _strip(m) for split, m in figures.items()}}
            return
        bow = _bow(module.cfg).fit(data.train_texts.texts, label_indices(data.train_texts, data.classes, "data.data"),
                                   data.classes)
        bow.save(run / BASELINE)
        figures = _split_scores(BowRun(bow, module.cfg), data)
        metrics["baseline"] = {"model": "bow", "ngrams": module.cfg.model.ngrams, "features": bow.n_features,
                               "seconds": round(time.perf_counter() - start, 3),
                               **{split: _strip(m) for split, m in figures.items()}}

    # ---- the bag-of-words run: no Lightning, no checkpoints ------------------------------
    def train_bow(self, cfg, run: Path, prepare, memory=None) -> dict:
        data = ClassifyData(cfg, memory=memory)
        cfg = data.cfg                             # with the task's choices for texts
        start = time.perf_counter()
        if data.kind != "text":
            raise UsageError("model.model bow: the bag of words reads texts; expected text data, got series")
        bow = _bow(cfg).fit(data.train_texts.texts, label_indices(data.train_texts, data.classes, "data.data"),
                            data.classes)
        elapsed = time.perf_counter() - start
        prepare(cfg)                               # nothing is written before this point
        bow.save(run / BOW_MODEL)
        figures = _split_scores(BowRun(bow, cfg), data)
        _write_confusion(run, figures)
        return {"task": self.name, "model": "bow", "ngrams": cfg.model.ngrams, "features": bow.n_features,
                **{split: _strip(m) for split, m in figures.items()}, "seconds": round(elapsed, 3)}

    def load_bow(self, run: Path, cfg) -> BowRun:
        from ...baselines.bow import BagOfWords

        path = run / BOW_MODEL
        if not path.is_file():
            raise UsageError(f"run directory {str(run)!r} has no bag-of-words model (expected {str(path)!r})")
        return BowRun(BagOfWords.load(path), cfg)

    # ---- using a trained run -------------------------------------------------------------
    def _read(self, module, paths, labels_required=True):
        d = module.cfg.data
        if getattr(module, "kind", "text") == "signal":
            from ...data.signals import read_labelled_arrays

            data = read_labelled_arrays(paths, format=d.format, normalize=d.normalize, fill=d.fill, what="data.data",
                                        labels_required=labels_required, min_classes=1)
            if data.channels != module.channels:
                raise UsageError(f"data.data: expected the channels the model was trained on ({module.channels}), "
                                 f"got {data.channels}")
            return data
        return read_labelled_texts(paths, text_column=d.text_column, label_column=d.label_column, what="data.data",
                                   labels_required=labels_required, min_classes=1)

    def evaluate(self, module, paths, baseline: bool = False) -> dict:
        data = self._read(module, paths)
        y = label_indices(data, module.classes, "data.data")
        out = scores(module.predict_proba(inputs_of(data)), y, module.classes)
        if baseline:
            run = Path(module.run_dir)
            if not (run / BASELINE).is_file():
                raise UsageError(f"--baseline: run directory {str(run)!r} has no baseline "
                                 f"(expected {str(run / BASELINE)!r}; model.model bow runs are their own baseline)")
            if getattr(module, "kind", "text") == "signal":
                from ...baselines.series import WindowClassifier

                name, probs = "window_logistic", WindowClassifier.load(run / BASELINE).predict_proba(data.x)
            else:
                from ...baselines.bow import BagOfWords

                name, probs = "bow", BagOfWords.load(run / BASELINE).predict_proba(data.texts)
            out["baseline"] = {"model": name, **scores(probs, y, module.classes)}
        return out

    def predict(self, module, paths, out: Path) -> int:
        """One CSV row per input text: where it came from, the predicted label, each
        class's probability (``p_<class>``) and the true label when the data has one."""
        data = self._read(module, paths, labels_required=False)
        probs = module.predict_proba(inputs_of(data))
        has_labels = data.labels is not None
        header = ["source", "label", *[f"p_{c}" for c in module.classes], *(["true_label"] if has_labels else [])]
        rows = ([source, module.classes[int(probs[i].argmax())], *[f"{p:.6f}" for p in probs[i]],
                 *([data.labels[i]] if has_labels else [])] for i, source in enumerate(data.sources))
        return write_prediction_table(out, header, rows)

    def describe(self, module) -> list[str]:
        shown = ", ".join(module.classes[:8]) + (", ..." if len(module.classes) > 8 else "")
        lines = [f"output: {len(module.classes)} classes ({shown})"]
        if isinstance(module, ClassifyTask) and module.kind == "signal":
            values = module.net.encoder.values
            stem = getattr(values, "stem", None)
            reads = (f"; read through convolutions of {stem.width} channels (kernels "
                     f"{', '.join(map(str, stem.kernels))})" if stem is not None else "")
            reads += f", {values.patch} steps a recurrent step" if getattr(values, "patch", 1) > 1 else ""
            lines.insert(0, f"input: real values, {len(module.channels)} channel(s) "
                            f"({', '.join(module.channels[:8])}){reads}")
        elif isinstance(module, ClassifyTask):
            tok = module.tokenizer
            lines.insert(0, f"input: {tok.kind} tokens, vocabulary of {tok.vocab_size} (id 0 = unknown); "
                            f"summary: {module.cfg.model.head}")
        return lines

    # ---- streaming: values or text -> class probabilities (classes,) so far ----------
    def stream_refusal(self, module):
        if module.net.how != "last":
            return (f"the classifier's head is {module.net.how}, which pools every step of the whole sequence; "
                    f"train with --head last to stream it")
        patch = getattr(module.net.encoder.values, "patch", 1)
        if patch > 1:
            return (f"the classifier reads {patch} steps as one (model.patch {patch}); train with --patch 1 "
                    f"to feed it step by step")
        stem = getattr(module.net.encoder.values, "stem", None)
        if stem is not None:
            ahead = sum(k // 2 for k in stem.kernels)
            return (f"the classifier's convolutions (model.stem {stem.width}) read up to {ahead} steps ahead of "
                    f"each step; train with --stem 0 to feed it step by step")
        if module.kind == "signal" and module.cfg.data.normalize:
            return "the classifier z-normalises each whole sequence (data.normalize), unknown on a stream"
        return None

    def stream_output(self, module, y, n: int):
        import torch

        return torch.softmax(y.float(), -1).cpu().numpy()                        # (classes,)

    # ---- export: x, lengths[, h, c] -> logits (B, classes)[, h_out, c_out] ------------
    def graph(self, module):
        from ...export.graphs import encoder_graph

        return encoder_graph(module, per_step=False)

    def export_json(self, module, cfg, tokenizer_file):
        from ...export.describe import tokenizer_json

        out = {"kind": module.kind, "classes": list(module.classes), "head": cfg.model.head,
               "max_length": cfg.data.max_length,
               "output": "softmax(logits[b]) are the probabilities of 'classes', in their order"}
        if module.kind == "signal":
            values = module.net.encoder.values
            out.update(channels=list(module.channels), normalize="per_sequence" if cfg.data.normalize else None,
                       inside_the_model=("x in the data's units: each channel standardised with the training "
                                         "split's mean and std" if getattr(values, "scaled", False) else None),
                       patch=getattr(values, "patch", 1),
                       stem=(None if getattr(values, "stem", None) is None else
                             {"channels": values.stem.width, "kernels": list(values.stem.kernels),
                              "how": "inside the model: convolutions along time (zeros outside each sequence), "
                                     "layer norm and ReLU per step, then each patch the max of its steps"}))
        else:
            out["tokenizer"] = tokenizer_json(module.tokenizer, tokenizer_file)
        return out

    # ---- baseline verdict: accuracy on validation against the bag of words / window LR
    verdict_metrics = ("accuracy",)

    def baseline_suggestions(self, cfg, kind):
        if kind == "text":
            # the recipe that took a 5-topic news set from 0.28 to 0.967, the defaults for
            # texts (benchmarks/README.md): what a run has set otherwise
            return {"model.head": "max", "data.lowercase": True, "data.word_dropout": 1.0, "data.word_shapes": True,
                    "model.num_layers": 1, "model.embedding_size": 128, "model.dropout": 0.3}
        # the cell and the head each measured better than the defaults on 6 of 9 UCR/UEA
        # sets at 40 s; no stem was better on the two sets where the window-logistic
        # baseline won, ArrowHead and PickupGestureWiimoteZ (benchmarks/README.md,
        # "Series classification defaults")
        return {"model.cell": "gru", "model.head": "max", "model.stem": 0}


CLASSIFY = ClassifySpec()
