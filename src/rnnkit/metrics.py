"""Metrics of classification (one label per sequence), of tagging (one BIO tag per
token) and of forecasts (the next H values of a series), as plain numbers ready for
``metrics.json``.

Classification, over ``N`` examples and classes ``c = 0..K-1``, with ``TP_c``, ``FP_c``,
``FN_c`` counted from the confusion matrix ``M`` (rows = true class, columns = predicted)::

    accuracy    = sum_c M[c, c] / N
    precision_c = TP_c / (TP_c + FP_c)      (0 when nothing was predicted as c)
    recall_c    = TP_c / (TP_c + FN_c)      (0 when c never occurs)
    f1_c        = 2 precision_c recall_c / (precision_c + recall_c)   (0 when both are 0)
    macro_f1    = (1 / K) sum_c f1_c        (every class of ``classes`` counts, seen or not)

Tagging is scored on spans (entities, chunks), exactly as conlleval and seqeval's default
do: a predicted span is correct only when its type, start and end all equal a true span's,
and the counts are summed over all sequences and types before dividing (micro average)::

    precision = correct / predicted     recall = correct / true     f1 = 2 P R / (P + R)

Example:
    >>> classification_metrics([0, 1, 1], [0, 1, 0], ["neg", "pos"])["accuracy"]
    0.6666666666666666
    >>> sorted(bio_spans(["B-PER", "I-PER", "O", "I-LOC"]))
    [('LOC', 3, 4), ('PER', 0, 2)]
"""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np

from .data.conll import split_span_tag
from .errors import UsageError

__all__ = [
    "bio_spans",
    "classification_metrics",
    "forecast_metrics",
    "interval_coverage",
    "plot_confusion_matrix",
    "span_f1",
    "token_accuracy",
]


# --- classification ----------------------------------------------------------------------

def _labels(name: str, y, n_classes: int) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise UsageError(f"expected {name} as a 1-D sequence of class indices, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr))):
            raise UsageError(f"expected {name} as integer class indices, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
    bad = arr[(arr < 0) | (arr >= n_classes)] if arr.size else arr
    if bad.size:
        raise UsageError(
            f"expected {name} in 0..{n_classes - 1} (one per class of {n_classes}), got {int(bad[0])}")
    return arr.astype(np.int64)


def classification_metrics(y_true, y_pred, classes: list[str]) -> dict:
    """Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix.

    See the module docstring for the formulas. Classes absent from both ``y_true`` and
    ``y_pred`` still count in the macro average, with F1 0 (sklearn's ``zero_division=0``).

    Args:
        y_true: true class indices, one per example, in ``0..len(classes)-1``.
        y_pred: predicted class indices, same length.
        classes: the class names, index ``i`` naming class ``i``.

    Returns:
        ``{"accuracy", "macro_f1", "examples", "per_class": {name: {"precision",
        "recall", "f1", "support"}}, "confusion_matrix": {"classes", "matrix"}}`` where
        ``matrix[i][j]`` counts examples of true class ``i`` predicted as ``j``.

    Example:
        >>> m = classification_metrics([0, 0, 1], [0, 1, 1], ["a", "b"])
        >>> m["confusion_matrix"]["matrix"]
        [[1, 1], [0, 1]]
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    classes = [str(c) for c in classes]
    if len(classes) < 1:
        raise UsageError("expected at least one class name, got none")
    if len(set(classes)) != len(classes):
        raise UsageError(f"expected distinct class names, got {classes}")
    k = len(classes)
    t = _labels("y_true", y_true, k)
    p = _labels("y_pred", y_pred, k)
    if len(t) != len(p):
        raise UsageError(f"expected y_true and y_pred of equal length, got {len(t)} and {len(p)}")
    if len(t) == 0:
        raise UsageError("expected at least one example, got none")
    labels = list(range(k))
    prec, rec, f1, support = precision_recall_fscore_support(
        t, p, labels=labels, average=None, zero_division=0)
    matrix = confusion_matrix(t, p, labels=labels)
    return {
        "accuracy": float(accuracy_score(t, p)),
        "macro_f1": float(f1_score(t, p, average="macro", labels=labels, zero_division=0)),
        "examples": len(t),
        "per_class": {
            name: {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
            for i, name in enumerate(classes)
        },
        "confusion_matrix": {"classes": classes, "matrix": matrix.astype(int).tolist()},
    }


def plot_confusion_matrix(cm: dict, path) -> None:
    """Draw a confusion matrix as PNG at ``path``, written atomically.

    Rows are the true class, columns the predicted one. Each cell shows its count; the
    colour is the row-normalised fraction ``M[i, j] / sum_j M[i, j]`` (the recall of class
    ``i`` on the diagonal), so rare classes are as visible as common ones.

    Args:
        cm: ``{"classes": [...], "matrix": [[...], ...]}``, as in
            ``classification_metrics(...)["confusion_matrix"]``.
        path: the PNG file to write (its folder is created).
    """
    from .io.figures import pyplot, save_figure

    try:
        classes = [str(c) for c in cm["classes"]]
        matrix = np.asarray(cm["matrix"], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(
            f"expected a confusion matrix {{'classes': [...], 'matrix': [[...]]}}, got {type(cm).__name__} ({e})"
        ) from None
    k = len(classes)
    if k == 0 or matrix.shape != (k, k):
        raise UsageError(
            f"expected a {k}x{k} matrix for {k} classes, got shape {matrix.shape}")
    rows = matrix.sum(axis=1, keepdims=True)
    frac = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=float), where=rows > 0)

    plt = pyplot()
    side = min(max(4.0, 0.45 * k + 2.0), 30.0)
    fig, ax = plt.subplots(figsize=(side + 1.0, side), dpi=100)
    im = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    if k <= 40:  # beyond that the counts no longer fit in their cells
        size = 10 if k <= 10 else max(4, int(10 - (k - 10) / 5))
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=size,
                        color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    crowded = k > 4 or max(len(c) for c in classes) > 6
    rotation = 90 if k > 12 else (45 if crowded else 0)
    ax.set_xticklabels(classes, rotation=rotation, ha="right" if rotation == 45 else "center",
                       rotation_mode="anchor" if rotation == 45 else "default")
    ax.set_yticklabels(classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({int(matrix.sum())} examples)")
    save_figure(fig, Path(path))


# --- tagging -----------------------------------------------------------------------------

def _parse(tag) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    parts = split_span_tag(tag)
    if parts is None:
        raise UsageError(f"expected a tag 'O' or B-/I-/E-/S-TYPE (BIO, IOB2, BIOES), got {tag!r}")
    return parts


def bio_spans(tags: list[str]) -> set[tuple[str, int, int]]:
    """The spans a BIO / IOB2 / BIOES tag sequence marks, as ``(type, start, end)`` with
    ``end`` exclusive.

    The rules are conlleval's (and seqeval's default mode), so ill-formed sequences are
    read the way those scorers read them:

    * ``B-x`` and ``S-x`` always start a span; ``S-x`` is a span of one token;
    * ``I-x`` / ``E-x`` continue the open span if it has type ``x``; otherwise (after
      ``O``, after a span of another type, after ``E-``/``S-``) they start a new one;
    * ``O``, a ``B-``/``S-`` tag, or a change of type ends the open span, and ``E-x``
      ends the span it belongs to.

    Example:
        >>> sorted(bio_spans(["B-PER", "I-LOC", "B-X", "B-X", "O", "S-Y"]))
        [('LOC', 1, 2), ('PER', 0, 1), ('X', 2, 3), ('X', 3, 4), ('Y', 5, 6)]
    """
    spans: set[tuple[str, int, int]] = set()
    open_type, open_start = None, 0
    for i, tag in enumerate(tags):
        prefix, kind = _parse(tag)
        if open_type is not None and (prefix in ("O", "B", "S") or kind != open_type):
            spans.add((open_type, open_start, i))
            open_type = None
        if prefix == "O":
            continue
        if open_type is None:  # B-, S-, or an I-/E- with nothing of its type to continue
            open_type, open_start = kind, i
        if prefix in ("E", "S"):
            spans.add((open_type, open_start, i + 1))
            open_type = None
    if open_type is not None:
        spans.add((open_type, open_start, len(tags)))
    return spans


def _check_pairs(true_seqs, pred_seqs) -> None:
    if len(true_seqs) != len(pred_seqs):
        raise UsageError(
            f"expected as many predicted sequences as true ones, got {len(pred_seqs)} and {len(true_seqs)}")
    for n, (t, p) in enumerate(zip(true_seqs, pred_seqs)):
        if isinstance(t, str) or isinstance(p, str):
            raise UsageError(f"expected sequence {n} as a list of tags, got a string")
        if len(t) != len(p):
            raise UsageError(
                f"expected sequence {n} to have as many predicted tags as true ones, got {len(p)} and {len(t)}")


def _prf(correct: int, predicted: int, true: int) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def span_f1(true_seqs: list[list[str]], pred_seqs: list[list[str]]) -> dict:
    """Exact-match span precision, recall and F1, micro-averaged over all sequences and
    types (conlleval; seqeval's default)::

        precision = correct / predicted,  recall = correct / true,  f1 = 2PR / (P + R)

    A predicted span is correct only when a true span has the same type, start and end:
    a span that overlaps a true one only partly counts as one false positive and one false
    negative. Each ratio with a zero denominator is 0.

    Args:
        true_seqs: the true tags, one list per sequence (see :func:`bio_spans`).
        pred_seqs: the predicted tags, same lengths.

    Returns:
        ``{"precision", "recall", "f1", "true_spans", "predicted_spans", "correct_spans",
        "per_type": {type: {"precision", "recall", "f1", "support"}}}``; ``support`` is the
        number of true spans of that type. Types seen only in predictions are listed too.

    Example:
        >>> span_f1([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])["f1"]
        0.0
    """
    _check_pairs(true_seqs, pred_seqs)
    true_all, pred_all = set(), set()
    for n, (t, p) in enumerate(zip(true_seqs, pred_seqs)):
        true_all |= {(n, *s) for s in bio_spans(t)}
        pred_all |= {(n, *s) for s in bio_spans(p)}
    correct_all = true_all & pred_all
    precision, recall, f1 = _prf(len(correct_all), len(pred_all), len(true_all))
    per_type = {}
    for kind in sorted({s[1] for s in true_all | pred_all}):
        c = sum(1 for s in correct_all if s[1] == kind)
        pr = sum(1 for s in pred_all if s[1] == kind)
        tr = sum(1 for s in true_all if s[1] == kind)
        p_, r_, f_ = _prf(c, pr, tr)
        per_type[kind] = {"precision": p_, "recall": r_, "f1": f_, "support": tr}
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "true_spans": len(true_all), "predicted_spans": len(pred_all),
        "correct_spans": len(correct_all), "per_type": per_type,
    }


def token_accuracy(true_seqs, pred_seqs) -> float:
    """The fraction of tokens, over all sequences, whose predicted tag equals the true one::

        accuracy = sum_n sum_t [pred[n][t] == true[n][t]] / sum_n len(true[n])

    Example:
        >>> token_accuracy([["O", "B-X"], ["O"]], [["O", "O"], ["O"]])
        0.6666666666666666
    """
    _check_pairs(true_seqs, pred_seqs)
    total = sum(len(t) for t in true_seqs)
    if total == 0:
        raise UsageError("expected at least one token, got none")
    same = sum(a == b for t, p in zip(true_seqs, pred_seqs) for a, b in zip(t, p))
    return same / total


# --- events in per-step labels (signals) -------------------------------------------------

def events(labels, background) -> list[tuple]:
    """The events of a label sequence: each maximal run of one label other than
    ``background``, as ``(label, start, end)`` with ``end`` exclusive, in order.

    Example:
        >>> events(["n", "a", "a", "b", "n", "a"], "n")
        [('a', 1, 3), ('b', 3, 4), ('a', 5, 6)]
    """
    a = labels if isinstance(labels, np.ndarray) else np.asarray(list(labels), dtype=object)
    if a.ndim != 1:
        raise UsageError(f"expected a 1-D sequence of labels, got shape {a.shape}")
    if len(a) == 0:
        return []
    change = np.flatnonzero(a[1:] != a[:-1]) + 1               # where a new run starts
    starts = [0, *change.tolist()]
    ends = [*change.tolist(), len(a)]
    return [(v, s, e) for v, s, e in zip(a[starts].tolist(), starts, ends) if v != background]


def event_f1(true_seqs, pred_seqs, background, iou: float = 0.5) -> dict:
    """Event-level precision, recall and F1 of per-step labels (micro-averaged over all
    sequences and labels).

    Events are the maximal runs of a non-background label (:func:`events`). A predicted
    event matches a true event of the same label in the same sequence when their
    intersection over union (in steps) is at least ``iou``::

        IoU = |[s1, e1) & [s2, e2)| / |[s1, e1) | [s2, e2)|

    Matching is one-to-one, greedy: the candidate pairs are taken in decreasing IoU
    (ties: the earlier true event, then the earlier predicted one), each event used at
    most once. Then ``precision = matched / predicted``, ``recall = matched / true``,
    ``f1 = 2PR / (P + R)``, each 0 when its denominator is 0.

    Args:
        true_seqs: the true labels, one list (or array) per sequence.
        pred_seqs: the predicted labels, same lengths.
        background: the label that is no event (e.g. the most frequent one).
        iou: the least intersection over union of a match, in (0, 1].

    Returns:
        ``{"precision", "recall", "f1", "true_events", "predicted_events",
        "matched_events", "per_label": {label: {"precision", "recall", "f1",
        "support"}}}``; ``support`` counts the true events of that label.

    Example:
        >>> m = event_f1([["n", "a", "a", "a", "n"]], [["n", "n", "a", "a", "n"]], "n")
        >>> m["f1"]    # IoU 2/3
        1.0
    """
    if not 0.0 < iou <= 1.0:
        raise UsageError(f"expected iou in (0, 1], got {iou}")
    true_seqs, pred_seqs = list(true_seqs), list(pred_seqs)
    _check_pairs(true_seqs, pred_seqs)
    n_true, n_pred, n_match = {}, {}, {}
    for t, p in zip(true_seqs, pred_seqs):
        te, pe = events(t, background), events(p, background)
        for e in te:
            n_true[e[0]] = n_true.get(e[0], 0) + 1
        for e in pe:
            n_pred[e[0]] = n_pred.get(e[0], 0) + 1
        pairs = []
        pred_ends = [e for _, _, e in pe]
        for i, (lt, st, et) in enumerate(te):
            # events of one sequence are disjoint and in order: the overlapping predicted
            # ones start at the first that ends after st
            for j in range(bisect.bisect_right(pred_ends, st), len(pe)):
                lp, sp, ep = pe[j]
                if sp >= et:
                    break
                score = (min(et, ep) - max(st, sp)) / (max(et, ep) - min(st, sp))
                if lt == lp and score >= iou:
                    pairs.append((-score, i, j))
        used_t, used_p = set(), set()
        for _, i, j in sorted(pairs):
            if i not in used_t and j not in used_p:
                used_t.add(i)
                used_p.add(j)
                n_match[te[i][0]] = n_match.get(te[i][0], 0) + 1
    total = [sum(d.values()) for d in (n_match, n_pred, n_true)]
    precision, recall, f1 = _prf(*total)
    per_label = {}
    for label in sorted(set(n_true) | set(n_pred), key=str):
        p_, r_, f_ = _prf(n_match.get(label, 0), n_pred.get(label, 0), n_true.get(label, 0))
        per_label[str(label)] = {"precision": p_, "recall": r_, "f1": f_, "support": n_true.get(label, 0)}
    return {"precision": precision, "recall": recall, "f1": f1, "true_events": total[2],
            "predicted_events": total[1], "matched_events": total[0], "per_label": per_label}


__all__ += ["event_f1", "events"]


# --- forecasting -------------------------------------------------------------------------
#
# Over N forecasts of H steps ahead and C targets, with errors e = forecast - actual:
#
#     mae   = mean |e|                 rmse = sqrt(mean e^2)
#     smape = mean 200 |e| / (|actual| + |forecast|)      (in percent, 0..200; 0/0 -> 0)
#     mase  = mean |e_{n,h,c}| / s_{n,c},   s_{n,c} = 1/(T-m) sum_{t=m}^{T-1} |y_t - y_{t-m}|
#
# where y is the history (training part) of forecast n's series, target c, of length T,
# and s its in-sample mean absolute error of the seasonal naive forecast with period m
# (Hyndman & Koehler 2006, "Another look at measures of forecast accuracy"; m = 1: the
# naive forecast). MASE below 1 beats the in-sample seasonal naive forecast.


def _forecast_arrays(actual, forecast) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if a.ndim not in (2, 3):
        raise UsageError(
            f"expected actual values of shape (N, H) or (N, H, C) (forecasts, steps ahead, targets), got shape {a.shape}")
    if f.shape != a.shape:
        raise UsageError(f"expected forecasts of the actual values' shape {a.shape}, got shape {f.shape}")
    if a.size == 0:
        raise UsageError(f"expected at least one forecast step, got shape {a.shape}")
    for name, x in (("actual values", a), ("forecasts", f)):
        bad = ~np.isfinite(x)
        if bad.any():
            raise UsageError(
                f"expected finite {name}, got {int(bad.sum())} NaN or infinite value(s), the first at index "
                f"{tuple(int(i) for i in np.argwhere(bad)[0])}")
    return (a[..., None], f[..., None]) if a.ndim == 2 else (a, f)   # (N, H, C)


def _seasonal_scale(history: np.ndarray, season: int, channels: int, n: int) -> np.ndarray:
    """In-sample MAE of the seasonal naive forecast, one per channel: shape ``(C,)``."""
    y = np.asarray(history, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]                                                       # (T,) -> (T, 1)
    if y.ndim != 2 or y.shape[1] != channels:
        raise UsageError(
            f"expected history {n} of shape (T,) or (T, {channels}) ({channels} target(s)), got shape {y.shape}")
    if len(y) <= season:
        raise UsageError(
            f"expected history {n} longer than the season ({season}) to scale MASE, got {len(y)} value(s)")
    if not np.isfinite(y).all():
        raise UsageError(f"expected finite values in history {n}, got {int((~np.isfinite(y)).sum())} NaN or infinite")
    return np.abs(y[season:] - y[:-season]).mean(axis=0)


def forecast_metrics(actual: np.ndarray, forecast: np.ndarray,
                     history: list[np.ndarray] | np.ndarray | None = None, season: int = 1) -> dict:
    """Point-forecast errors: MAE, RMSE, sMAPE and MASE (see the formulas above).

    Args:
        actual: the true values, ``(N, H)`` or ``(N, H, C)``: N forecasts, H steps
            ahead, C targets.
        forecast: the forecasts, same shape.
        history: the training part of each forecast's series, for the MASE scale: a list
            of N arrays ``(T_n,)`` or ``(T_n, C)``, one per forecast, or one such array
            used for all. ``None``: no MASE.
        season: the period ``m`` of the seasonal naive forecast that scales MASE (1: the
            naive forecast, the previous value).

    Returns:
        ``{"mae", "rmse", "smape", "mase", "forecasts": N}``, plain floats. ``mase`` is
        left out when ``history`` is None, or when a history does not vary at lag
        ``season`` (its scale is 0 and MASE undefined).

    Example:
        >>> m = forecast_metrics(np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]]), np.array([0.0, 1.0, 2.0]))
        >>> m["mae"], m["mase"], round(m["smape"], 4)
        (1.0, 1.0, 33.3333)
    """
    a, f = _forecast_arrays(actual, forecast)                              # (N, H, C)
    if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 1:
        raise UsageError(f"expected season as an integer >= 1, got {season!r}")
    err = f - a
    denom = np.abs(a) + np.abs(f)
    ratio = np.divide(200.0 * np.abs(err), denom, out=np.zeros_like(denom), where=denom > 0)
    out = {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err ** 2).mean())),
        "smape": float(ratio.mean()),
    }
    if history is not None:
        n, c = a.shape[0], a.shape[2]
        if isinstance(history, np.ndarray):
            scale = np.broadcast_to(_seasonal_scale(history, int(season), c, 0), (n, c))
        else:
            history = list(history)
            if len(history) != n:
                raise UsageError(f"expected one history per forecast ({n}), got {len(history)}")
            scale = np.stack([_seasonal_scale(h, int(season), c, i) for i, h in enumerate(history)])  # (N, C)
        if (scale > 0).all():
            out["mase"] = float((np.abs(err) / scale[:, None, :]).mean())
    out["forecasts"] = int(a.shape[0])
    return out


def interval_coverage(actual, lower, upper) -> float:
    """The fraction of actual values inside their interval, bounds included::

        coverage = mean [lower <= actual <= upper]

    A well calibrated 80% interval (quantiles 0.1 and 0.9) covers about 0.8.

    Example:
        >>> interval_coverage([[1.0, 2.0, 3.0, 4.0]], [[0, 2, 3.5, 0]], [[2, 3, 4, 4]])
        0.75
    """
    a = np.asarray(actual, dtype=np.float64)
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    if lo.shape != a.shape or hi.shape != a.shape:
        raise UsageError(
            f"expected lower and upper bounds of the actual values' shape {a.shape}, got {lo.shape} and {hi.shape}")
    if a.size == 0:
        raise UsageError("expected at least one actual value, got none")
    return float(((lo <= a) & (a <= hi)).mean())
