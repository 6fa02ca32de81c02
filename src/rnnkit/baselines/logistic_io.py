"""A fitted scikit-learn ``LogisticRegression`` and its owner's settings as one ``.npz``
of plain arrays (no pickle), written atomically, and read back with every array checked:
what the window baselines keep in a run directory (``RUN/baseline.npz``)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import UsageError

_KEYS = ("format", "meta", "labels", "coef", "intercept")


def save_logistic(path, fmt: str, meta: dict, model) -> None:
    """Write ``model`` (fitted) and ``meta`` (JSON-serialisable settings) under the
    format name ``fmt``."""
    from ..io.atomic import write_atomic

    buf = io.BytesIO()
    np.savez_compressed(buf, format=np.array(fmt), meta=np.array(json.dumps(meta)),
                        labels=np.asarray(model.classes_, dtype=np.int64),
                        coef=np.asarray(model.coef_, dtype=np.float64),
                        intercept=np.asarray(model.intercept_, dtype=np.float64))
    write_atomic(path, buf.getvalue())


def read_checked_npz(path, what: str, keys, fmt: str, parse):
    """``parse(arrays)`` of the ``.npz`` at ``path``, whose arrays ``keys`` must all be
    there and whose ``format`` array must read ``fmt``. A missing file, a file of
    another kind, or a ``ValueError`` (or similar) from ``parse`` is a one-line
    :class:`UsageError` saying that a ``what`` saved by rnnkit was expected."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"expected a saved {what} file, got no file at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile) or any(k not in z.files for k in keys):
                raise ValueError("missing arrays")
            arrays = {k: z[k] for k in keys}
        if str(arrays["format"]) != fmt:
            raise ValueError(f"format {str(arrays['format'])!r}")
        return parse(arrays)
    except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile, UsageError) as e:
        raise UsageError(
            f"expected a {what} .npz saved by rnnkit, got an unreadable or foreign file {path}"
            f" ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no detail'})") from None


def load_logistic(path, fmt: str, what: str, n_features):
    """``(meta, model)`` from a file written by :func:`save_logistic` with format
    ``fmt``. ``n_features(meta)`` is the number of inputs the settings imply; the
    coefficients must match it, and the labels lie below ``meta["n_classes"]`` when
    the settings have it. Any other file is a one-line :class:`UsageError` naming
    ``what`` was expected."""
    from sklearn.linear_model import LogisticRegression

    def parse(a):
        meta = json.loads(str(a["meta"]))
        labels, coef, intercept = a["labels"].astype(np.int64), a["coef"], a["intercept"]
        rows = 1 if len(labels) == 2 else len(labels)
        features = int(n_features(meta))
        if (len(labels) < 2 or labels.min() < 0 or len(np.unique(labels)) != len(labels)
                or labels.max() >= int(meta.get("n_classes", labels.max() + 1))
                or coef.shape != (rows, features) or intercept.shape != (rows,)):
            raise ValueError("inconsistent arrays")
        return meta, labels, coef, intercept, features

    meta, labels, coef, intercept, features = read_checked_npz(path, what, _KEYS, fmt, parse)
    model = LogisticRegression(C=float(meta.get("C", 1.0)), max_iter=5000, random_state=int(meta.get("seed", 0)))
    model.classes_, model.coef_, model.intercept_ = labels, coef.astype(np.float64), intercept.astype(np.float64)
    model.n_features_in_ = features
    return meta, model
