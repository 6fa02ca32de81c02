"""Reading real-valued sequences with a label per step (events or stages in a signal)
from tables (.csv, .parquet; one row per step) or .npz files, for ``rnnkit train tag``
on signals: :func:`read_tagged_series` into :class:`TaggedSeries`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._optional import require
from ..errors import UsageError
from . import formats
from .gaps import fill_gaps
from .text import resolve_paths

__all__ = ["TaggedSeries", "read_tagged_series"]


@dataclass
class TaggedSeries:
    """Real-valued sequences and their per-step labels.

    ``x[i]`` is (T_i, C) float32; ``labels[i]`` (T_i,) strings, or ``labels`` None when
    read without labels; ``times[i]`` the time column's values as written (strings), or
    ``times`` None without a time column; ``sources[i]`` names the sequence: the file,
    ``file[series]`` with a series column, ``file[i]`` for an .npz's i-th sequence."""
    x: list[np.ndarray]
    labels: list[np.ndarray] | None
    sources: list[str]
    channels: list[str]
    times: list[np.ndarray] | None
    files: list[str]


def read_tagged_series(specs, *, format=None, label_column: str = "label", time_column: str | None = None,
                       series_column: str | None = None, channels: list[str] | None = None, fill=None,
                       labels_required: bool = True, what: str = "--data") -> TaggedSeries:
    """Sequences with a label per step from tables or .npz files (files, folders or globs).

    Tables (.csv, .parquet): one row per step. The label column (``label_column``) holds
    each step's label; the time column, when given, is kept for the output and not read
    as an input; the series column, when given, splits the rows into sequences (rows of
    one series in file order), else the whole file is one sequence. The input channels
    are ``channels`` when given, else every numeric column other than those: a column
    is numeric when at least one of its values is a number, and then every value must
    be (a value that is not is an error naming its line).

    .npz: ``x`` (N, T, C) or (N, T), ``y`` (N, T) labels (strings or integers), optional
    ``lengths`` (N,) (sequence i is ``x[i, :lengths[i]]``) and ``channels`` (C,) names
    (default "0", "1", ...).

    Missing values (empty cells, NaN): ``fill`` ffill, interpolate or zero within each
    sequence; None makes them an error naming where.

    Raises:
        UsageError: a one-line message naming the file (and line, column) at fault.
    """
    files = resolve_paths(specs, what)
    out = TaggedSeries(x=[], labels=[] if labels_required else None, sources=[], channels=[], times=None,
                       files=[str(f) for f in files])
    seen_labels = []
    times = []
    for f in files:
        kind = format or _kind_of(f, what)
        if kind == "npz":
            part = _read_npz(f, channels, labels_required, what)
        elif kind in ("csv", "parquet"):
            part = _read_table(f, kind, label_column, time_column, series_column, channels, labels_required, what)
        else:
            raise UsageError(f"{what}: {str(f)!r}: expected a table (.csv, .parquet) or .npz with a label per "
                             f"step, got format {kind}")
        if out.channels and part.channels != out.channels:
            raise UsageError(f"{what}: channels that differ between files: {', '.join(out.channels)} in "
                             f"{out.files[0]!r}, {', '.join(part.channels)} in {str(f)!r}")
        out.channels = part.channels
        for i, x in enumerate(part.x):
            out.x.append(_fill(x, fill, part.sources[i], part.channels, what))
        out.sources += part.sources
        seen_labels.append(part.labels)
        times += part.times if part.times is not None else [None] * len(part.x)
    if labels_required:
        out.labels = [lab for part in seen_labels for lab in part]
    elif all(p is not None for p in seen_labels):
        out.labels = [lab for part in seen_labels for lab in part]
    if any(t is not None for t in times):
        out.times = times
    if not out.x:
        raise UsageError(f"{what}: no sequences in {', '.join(out.files[:3])}")
    return out


def _kind_of(path: Path, what: str) -> str:
    name = str(path).lower()
    if name.endswith(formats.NPZ):
        return "npz"
    if name.endswith(formats.CSV):
        return "csv"
    if name.endswith(formats.PARQUET):
        return "parquet"
    raise UsageError(f"{what}: {str(path)!r}: expected a .csv, .parquet or .npz file (or pass --format)")


def _read_npz(path: Path, channels, labels_required: bool, what: str) -> TaggedSeries:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as err:
        raise UsageError(f"{what}: {str(path)!r} cannot be read as .npz: {str(err).splitlines()[0]}") from None
    if "x" not in arrays:
        raise UsageError(f"{what}: {str(path)!r}: expected an array 'x' (N, T, C) or (N, T), got "
                         f"{', '.join(arrays) or 'no arrays'}")
    x = arrays["x"]
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3 or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise UsageError(f"{what}: {str(path)!r}: expected 'x' of numbers of shape (N, T, C) or (N, T), got "
                         f"shape {arrays['x'].shape} of {arrays['x'].dtype}")
    n, t, c = x.shape
    names = [str(i) for i in range(c)]
    if "channels" in arrays:
        names = [str(v) for v in np.asarray(arrays["channels"]).reshape(-1)]
        if len(names) != c:
            raise UsageError(f"{what}: {str(path)!r}: expected {c} channel names, got {len(names)}")
    lengths = np.full(n, t, dtype=np.int64)
    if "lengths" in arrays:
        lengths = np.asarray(arrays["lengths"]).reshape(-1)
        if len(lengths) != n or not np.issubdtype(lengths.dtype, np.integer) or (lengths < 1).any() \
                or (lengths > t).any():
            raise UsageError(f"{what}: {str(path)!r}: expected 'lengths' of {n} integers in 1..{t}, got "
                             f"{lengths[:5].tolist()}{' ...' if len(lengths) > 5 else ''}")
    y = None
    if "y" in arrays:
        y = arrays["y"]
        if y.shape != (n, t):
            raise UsageError(f"{what}: {str(path)!r}: expected 'y' of shape {(n, t)} (a label per step of "
                             f"'x'), got shape {y.shape}")
        if not (np.issubdtype(y.dtype, np.integer) or y.dtype.kind in "UTSb"):
            raise UsageError(f"{what}: {str(path)!r}: expected 'y' of strings or integers, got {y.dtype}")
        y = y.astype(str)
    elif labels_required:
        raise UsageError(f"{what}: {str(path)!r}: expected an array 'y' (N, T) of labels per step, got "
                         f"{', '.join(arrays)}")
    sel = _select(names, channels, str(path), what)
    return TaggedSeries(x=[np.asarray(x[i, :lengths[i]][:, sel], dtype=np.float32) for i in range(n)],
                        labels=None if y is None else [y[i, :lengths[i]] for i in range(n)],
                        sources=[f"{path}[{i}]" for i in range(n)], channels=[names[i] for i in sel],
                        times=None, files=[str(path)])


def _select(names: list[str], wanted, source: str, what: str) -> list[int]:
    """Indices of the ``wanted`` channels among ``names`` (all when None)."""
    if wanted is None:
        return list(range(len(names)))
    missing = [w for w in wanted if w not in names]
    if missing:
        raise UsageError(f"--channels: {', '.join(map(repr, missing))} not among the channels of {source} "
                         f"({', '.join(names)})")
    return [names.index(w) for w in wanted]


def _read_frame(path: Path, kind: str, text_columns: list[str], what: str):
    import pandas as pd

    if kind != "csv":
        require("pyarrow.parquet", for_what="reading Parquet tables")
    try:
        if kind == "csv":
            return pd.read_csv(path, dtype={c: str for c in text_columns}, keep_default_na=True, low_memory=False)
        return pd.read_parquet(path)
    except (OSError, ValueError, ImportError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UsageError(f"{what}: {str(path)!r} cannot be read as {kind}: {first}") from None
    except pd.errors.ParserError as err:
        raise UsageError(f"{what}: {str(path)!r} is not a valid CSV file: {str(err).strip().splitlines()[0]}") \
            from None


def _read_table(path: Path, kind: str, label_column: str, time_column, series_column, channels,
                labels_required: bool, what: str) -> TaggedSeries:
    import pandas as pd

    text_columns = [c for c in (label_column, time_column, series_column) if c]
    df = _read_frame(path, kind, text_columns, what)
    columns = [str(c) for c in df.columns]
    df.columns = columns
    for flag, name in (("--time-column", time_column), ("--series-column", series_column)):
        if name and name not in columns:
            raise UsageError(f"{flag}: {name!r} is not a column of {str(path)!r} (columns: "
                             f"{', '.join(columns[:12])})")
    has_labels = label_column in columns
    if labels_required and not has_labels:
        raise UsageError(f"--label-column: {label_column!r} is not a column of {str(path)!r} (columns: "
                         f"{', '.join(columns[:12])})")
    if len(df) == 0:
        raise UsageError(f"{what}: {str(path)!r} has no rows")
    at = lambda row: f"{path}:{row + 2}" if kind == "csv" else f"{path} row {row + 1}"   # noqa: E731 (header: line 1)
    others = set(text_columns)
    if channels is None:
        chosen = []
        for c in columns:
            if c in others:
                continue
            if _is_number_column(df[c]) or _is_text_column(df[c]) and \
                    pd.to_numeric(df[c], errors="coerce").notna().any():
                chosen.append(c)
        if not chosen:
            raise UsageError(f"{what}: {str(path)!r} has no numeric column besides "
                             f"{', '.join(sorted(others)) or 'none'} to read as input")
    else:
        chosen = list(channels)
        missing = [c for c in chosen if c not in columns]
        if missing:
            raise UsageError(f"--channels: {', '.join(map(repr, missing))} not among the columns of {str(path)!r} "
                             f"({', '.join(columns[:12])})")
    values = np.empty((len(df), len(chosen)), dtype=np.float32)
    for j, c in enumerate(chosen):
        col = df[c]
        if _is_number_column(col):
            num = col
        elif _is_text_column(col):
            num = pd.to_numeric(col, errors="coerce")
            bad = num.isna() & col.notna() & (col.astype(str).str.strip() != "")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise UsageError(f"{what}: {at(row)}: column {c!r}: expected a number, got "
                                 f"{str(col.iloc[row])!r}")
        else:
            raise UsageError(f"{what}: {str(path)!r}: column {c!r} holds {col.dtype} values; expected numbers")
        values[:, j] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    labels = None
    if has_labels:
        lab = df[label_column]
        empty = lab.isna() | (lab.astype(str).str.strip() == "")
        if empty.any():
            row = int(np.flatnonzero(empty.to_numpy())[0])
            raise UsageError(f"{what}: {at(row)}: no label in column {label_column!r}")
        labels = lab.astype(str).str.strip().to_numpy()
    times = df[time_column].astype(str).to_numpy() if time_column else None
    if series_column:
        ids = df[series_column]
        if ids.isna().any():
            row = int(np.flatnonzero(ids.isna().to_numpy())[0])
            raise UsageError(f"{what}: {at(row)}: no series id in column {series_column!r}")
        ids = ids.astype(str).to_numpy()
        order = list(dict.fromkeys(ids.tolist()))
        groups = [np.flatnonzero(ids == key) for key in order]
        sources = [f"{path}[{key}]" for key in order]
    else:
        groups = [np.arange(len(df))]
        sources = [str(path)]
    return TaggedSeries(x=[values[g] for g in groups], labels=None if labels is None else [labels[g] for g in groups],
                        sources=sources, channels=chosen, times=None if times is None else [times[g] for g in groups],
                        files=[str(path)])


def _is_number_column(col) -> bool:
    import pandas as pd

    return pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col)


def _is_text_column(col) -> bool:
    import pandas as pd

    return pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)


def _fill(x: np.ndarray, how, source: str, channels: list[str], what: str) -> np.ndarray:
    """``x`` (T, C) with its missing values filled by ``how`` (see
    :func:`read_tagged_series`); an error naming the first one when ``how`` is None."""
    missing = ~np.isfinite(x)
    if not missing.any():
        return x
    if how is None or missing.all(0).any():
        step, c = (int(v) for v in np.argwhere(missing)[0])
        if how is not None:
            c = int(np.flatnonzero(missing.all(0))[0])
            raise UsageError(f"{what}: {source}: channel {channels[c]!r} has no value at all to fill from")
        raise UsageError(f"{what}: {source}: missing or infinite value at step {step}, channel {channels[c]!r}; "
                         f"pass --fill ffill, interpolate or zero")
    return fill_gaps(x, how, leading="backfill", infinite=True).astype(np.float32, copy=False)
