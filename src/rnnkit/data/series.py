"""Reading tables of real-valued series (forecasting data): CSV, Parquet, NumPy.

Formats, chosen by the file's extension (``format`` overrides it for every file):

- ``.csv`` (``.tsv`` / ``.tab``: tab-separated): a header row first. Missing values are
  an empty cell, ``NA``, ``NaN`` or ``nan``; any other text in a value column (``n/a``,
  ``-``, ``?``) is an error at its file, column and row.
- ``.parquet`` / ``.pq``: read with pandas (pyarrow).
- ``.npy``: a 1-D array is one column named ``"0"``; a 2-D array (T, C) gives columns
  ``"0"`` .. ``"C-1"``.
- ``.npz``: each 1-D array is a column named by its key; a file holding one 2-D array
  (T, C) gives columns ``"0"`` .. ``"C-1"``; a 2-D array beside others gives
  ``"KEY.0"`` .. ``"KEY.C-1"``. Every array has the same length T.

Layouts:

- wide (no ``series_column``): each file is one series, named by the file's stem: an
  optional time column and one column per variable;
- long (``series_column`` given): rows (series id, time, values...) of many series;
  each id becomes one series, in the order ids first appear (files in order). Within a
  series the rows keep their file order. An id found in two files is an error.

Time column: numbers stay numbers (int64 or float64); anything else is parsed as dates
(ISO 8601 first, then the format guessed from the first value, then pandas' parser) to
``datetime64[ns]``; times with UTC offsets are converted to UTC. Within a series times
must strictly increase: a time that goes back or repeats is an error naming both rows.

Missing values (``fill``), per series and column:

- None: an error giving the count and the first row;
- ``ffill``: the last value before the gap; a gap at the very start of a series has
  nothing to carry and is an error naming its row (use ``interpolate`` or ``zero``);
- ``interpolate``: linear in position between the values either side; a gap at the
  start or end takes the nearest value;
- ``zero``: 0.
A column with no values at all is an error whatever the policy.

Rows in messages: for CSV, the line number in the file (the header is line 1); for
Parquet and NumPy files, the 1-based row index.

Example::

    series = read_series_table(["sales.csv"], columns=["units"], time_column="date")
    s = series[0]
    s.name, s.columns["units"][:3], s.time[:3], s.first_row      # 'sales', ..., 2
    continue_time(s.time, 7)       # the next seven dates, same step
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._optional import require
from ..errors import UsageError
from . import formats
from .gaps import FILL_POLICIES, MissingValues, fill_gaps
from .text import files_with_extensions, read_text

SERIES_FORMATS = ("csv", "parquet", "npy", "npz")
# Cells read as missing in a CSV (empty, and what R and pandas write); other text is an error.
NA_VALUES = ["", "NA", "NaN", "nan"]


@dataclass
class Series:
    """One series: its value columns, its time axis, where it came from.

    ``columns`` maps each column asked for (in the file's column order) to a float64
    array (T,). ``time`` is (T,) ``datetime64[ns]`` for dates, int64 or float64 for
    numbers, None without a time column. ``first_row`` is the row of the series' first
    value in ``source`` (see the module docstring for how rows are counted)."""
    name: str
    columns: dict[str, np.ndarray]
    time: np.ndarray | None
    source: str
    first_row: int

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


# ---- reading ---------------------------------------------------------------------------
def read_series_table(specs, *, columns: list[str], format: str | None = None, time_column: str | None = None,
                      series_column: str | None = None, fill: str | None = None,
                      what: str = "--data") -> list[Series]:
    """Series from CSV, Parquet or NumPy files (see the module docstring).

    Args:
        specs: a path or a list of paths: files, folders (the table files under them)
            or glob patterns.
        columns: the value columns to read (targets and covariates).
        format: "csv", "parquet", "npy" or "npz" for every file; None: by extension.
        time_column: the column of times, or None.
        series_column: the column of series ids (long layout), or None (wide layout).
        fill: None, "ffill", "interpolate" or "zero": what to do with missing values.
        what: the option the paths came from, for messages.

    Raises:
        UsageError: a one-line message naming the file, column and row at fault.
    """
    columns = list(dict.fromkeys(str(c) for c in columns))
    if not columns:
        raise UsageError(f"{what}: expected at least one value column to read, got none")
    if format is not None and format not in SERIES_FORMATS:
        raise UsageError(f"--format: {format!r} is not a table of series; expected one of "
                         f"{', '.join(SERIES_FORMATS)} (or none: by extension)")
    if fill is not None and fill not in FILL_POLICIES:
        raise UsageError(f"--fill: expected one of {', '.join(FILL_POLICIES)}, got {fill!r}")
    for given, option in ((time_column, "--time-column"), (series_column, "--series-column")):
        if given is not None and given in columns:
            raise UsageError(f"{option}: column {given!r} is also asked for as a value column; expected "
                             f"value columns other than the time and series columns")
    if time_column is not None and time_column == series_column:
        raise UsageError(f"--series-column: column {series_column!r} is also the time column; expected "
                         f"two different columns")
    out: list[Series] = []
    first: tuple[str, list[str]] | None = None
    owners: dict[str, str] = {}            # series name -> file
    for path in _table_files(specs, format, what):
        special = [c for c in (time_column, series_column) if c is not None]
        table = _Table.load(path, format, what, columns + special, special)
        if first is None:
            first = (table.name, table.header)
        else:
            _same_columns(first, (table.name, table.header), what)
        for c in [series_column, time_column, *columns]:
            if c is not None and c not in table.header:
                option = {series_column: "--series-column", time_column: "--time-column"}.get(c, "--target")
                raise UsageError(f"{what}: {table.name!r} has no column {c!r} ({option}); its columns are: "
                                 f"{_names(table.header)}")
        for s in table.series(columns, time_column, series_column, fill, what):
            if s.name in owners:
                if series_column is None:
                    raise UsageError(f"{what}: two files give series {s.name!r} ({owners[s.name]!r} and "
                                     f"{s.source!r}); in the wide layout each file is one series, named by "
                                     f"its file name: expected distinct file names")
                raise UsageError(f"{what}: series {s.name!r} appears in {owners[s.name]!r} and in {s.source!r}; "
                                 f"expected each series' rows in one file")
            owners[s.name] = s.source
            out.append(s)
    return out


def series_from_frame(frame, *, columns: list[str], time_column: str | None = None,
                      series_column: str | None = None, fill: str | None = None, name: str = "data",
                      what: str = "data") -> list[Series]:
    """Series from a pandas DataFrame in memory, checked as a file's table is (numbers,
    times, increasing times, missing values by ``fill``; see the module docstring):
    wide (one series, named ``name``) or long (``series_column``). Rows in messages are
    1-based positions in ``frame``."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise UsageError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    columns = list(dict.fromkeys(str(c) for c in columns))
    if fill is not None and fill not in FILL_POLICIES:
        raise UsageError(f"fill: expected one of {', '.join(FILL_POLICIES)}, got {fill!r}")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    header = list(frame.columns)
    if len(frame) == 0:
        raise UsageError(f"{what}: expected rows, got a DataFrame with columns ({_names(header)}) but no rows")
    for c in [series_column, time_column, *columns]:
        if c is not None and c not in header:
            raise UsageError(f"{what}: expected a column {c!r}, got columns: {_names(header)}")
    return _Table(name, header, frame, lambda i: i + 1).series(columns, time_column, series_column, fill, what)


def _table_files(specs, format: str | None, what: str) -> list[Path]:
    """The files named by ``specs``; under a folder, only those of a table format."""
    if format is not None:
        known = {"csv": formats.CSV + formats.TSV, "parquet": formats.PARQUET,
                 "npy": formats.NPY, "npz": formats.NPZ}[format]
    else:
        known = formats.SERIES_EXTENSIONS
    return files_with_extensions(specs, known, "table of series", what)


def _same_columns(first: tuple[str, list[str]], other: tuple[str, list[str]], what: str) -> None:
    (a, ca), (b, cb) = first, other
    if set(ca) == set(cb):
        return
    parts = []
    only_a = [c for c in ca if c not in cb]
    only_b = [c for c in cb if c not in ca]
    if only_a:
        parts.append(f"{a!r} has {_names(only_a)} that {b!r} lacks")
    if only_b:
        parts.append(f"{b!r} has {_names(only_b)} that {a!r} lacks")
    raise UsageError(f"{what}: channels that differ between files: {'; '.join(parts)}; expected the same "
                     f"columns in every file")


class _Table:
    """One file as a DataFrame of the needed columns, its full header, and how its
    data rows map to the rows shown in messages."""

    def __init__(self, name: str, header: list[str], frame, rows):
        self.name, self.header, self.frame, self._rows = name, header, frame, rows

    def row(self, i: int) -> int:
        return self._rows(i)

    # -- loading -----------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, format: str | None, what: str, needed: list[str] | None,
             as_text: list[str]) -> _Table:
        """``needed``: the columns to keep (None: all); ``as_text``: those read as text
        (ids, times)."""
        fmt = format or _format_of(path, what)
        if fmt == "csv":
            return cls._csv(path, what, needed, as_text)
        if fmt == "parquet":
            return cls._parquet(path, what, needed)
        return cls._numpy(path, fmt, what)

    @classmethod
    def _csv(cls, path: Path, what: str, needed: list[str] | None, as_text: list[str]) -> _Table:
        import pandas as pd

        name = str(path)
        text = read_text(path, what)    # UTF-8, binary and empty checks; BOM dropped
        sep = "\t" if path.suffix.lower() in formats.TSV else ","
        try:
            raw_header = list(pd.read_csv(io.StringIO(text), sep=sep, nrows=0).columns)
        except pd.errors.EmptyDataError:
            raise UsageError(f"{what}: {name!r} is empty") from None
        except (pd.errors.ParserError, ValueError) as err:
            raise UsageError(f"{what}: {name!r} is not a readable CSV table: {_first_line(err)}") from None
        header = [str(h).strip() for h in raw_header]
        raw_of = {h: r for h, r in zip(header, raw_header)}
        use = (None if needed is None else
               [raw_of[c] for c in dict.fromkeys(needed) if c in raw_of] or raw_header[:1])   # [:1]: count rows
        try:
            frame = pd.read_csv(io.StringIO(text), sep=sep, usecols=use, keep_default_na=False,
                                na_values=NA_VALUES, float_precision="round_trip",
                                dtype={raw_of[c]: str for c in as_text if c in raw_of})
        except pd.errors.ParserError as err:
            raise UsageError(f"{what}: {name!r} is not a readable CSV table: {_first_line(err)}") from None
        frame.columns = [str(c).strip() for c in frame.columns]
        if len(frame) == 0:
            raise UsageError(f"{what}: {name!r} has a header ({_names(header)}) but no rows")
        return cls(name, header, frame, _CsvRows(text, sep))

    @classmethod
    def _parquet(cls, path: Path, what: str, needed: list[str] | None) -> _Table:
        import pandas as pd

        name = str(path)
        pq = require("pyarrow.parquet", for_what="reading Parquet tables")
        try:
            schema = pq.read_schema(path)
            header = [str(c) for c in schema.names]
            frame = pd.read_parquet(path, columns=None if needed is None else
                                    [c for c in dict.fromkeys(needed) if c in header])
        except OSError as err:
            raise UsageError(f"{what}: cannot read {name!r} as Parquet: {_first_line(err)}") from None
        except Exception as err:   # pyarrow's ArrowInvalid and kin: not a Parquet file
            if type(err).__module__.startswith("pyarrow"):
                raise UsageError(f"{what}: {name!r} is not a Parquet file ({_first_line(err)})") from None
            raise
        if not header:
            raise UsageError(f"{what}: {name!r} is empty (no columns)")
        if len(frame) == 0:
            raise UsageError(f"{what}: {name!r} has columns ({_names(header)}) but no rows")
        return cls(name, header, frame.reset_index(drop=True), lambda i: i + 1)

    @classmethod
    def _numpy(cls, path: Path, fmt: str, what: str) -> _Table:
        import pandas as pd

        name = str(path)
        arrays = _load_numpy(path, fmt, what)
        cols: dict[str, np.ndarray] = {}
        if len(arrays) == 1 and next(iter(arrays.values())).ndim == 2 or fmt == "npy":
            (key, a), = arrays.items()
            if a.ndim == 1:
                cols["0"] = a
            elif a.ndim == 2:
                cols.update({str(j): a[:, j] for j in range(a.shape[1])})
            else:
                raise UsageError(f"{what}: {name!r} holds an array of shape {a.shape}; expected 1-D (T,) or "
                                 f"2-D (T, C)")
        else:
            for key, a in arrays.items():
                if a.ndim == 1:
                    cols[key] = a
                elif a.ndim == 2:
                    cols.update({f"{key}.{j}": a[:, j] for j in range(a.shape[1])})
                else:
                    raise UsageError(f"{what}: {name!r}: array {key!r} has shape {a.shape}; expected 1-D (T,) "
                                     f"or 2-D (T, C)")
        lengths = {k: len(v) for k, v in cols.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k!r} {n}" for k, n in list(lengths.items())[:6])
            raise UsageError(f"{what}: {name!r}: arrays of different lengths ({shown}); expected one length T")
        if not cols or not next(iter(lengths.values())):
            raise UsageError(f"{what}: {name!r} holds no values")
        return cls(name, list(cols), pd.DataFrame(cols), lambda i: i + 1)

    # -- series ------------------------------------------------------------------------
    def series(self, columns: list[str], time_column: str | None, series_column: str | None,
               fill: str | None, what: str) -> list[Series]:
        import pandas as pd

        where = f"{what}: {self.name!r}"
        values = {c: self._numbers(c, where) for c in self.header if c in columns}   # file column order
        time = self._times(time_column, where) if time_column is not None else None
        n = len(self.frame)
        if series_column is None:
            groups = [(Path(self.name).stem, np.arange(n))]
        else:
            ids = self._present(series_column, "series id", "an id", where)
            codes, uniques = pd.factorize(ids.astype(str).str.strip(), sort=False)   # ids in order of first appearance
            order = np.argsort(codes, kind="stable")
            starts = np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]
            groups = list(zip((str(u) for u in uniques), np.split(order, starts)))
        out = []
        for sid, idx in groups:
            at = where if series_column is None else f"{where}: series {sid!r}"
            t = None
            if time is not None:
                t = time[idx]
                self._check_increasing(t, idx, time_column, at)
            cols = {}
            for c, v in values.items():
                try:
                    cols[c] = fill_gaps(v[idx], fill)
                except MissingValues as err:
                    row = self.row(int(idx[err.index]))
                    if err.kind == "empty":
                        raise UsageError(f"{at}: column {c!r} has no values ({err.count} missing)") from None
                    if err.kind == "leading":
                        raise UsageError(f"{at}: column {c!r}, row {row}: missing value at the start of the "
                                         f"series, with nothing before it for --fill ffill; expected a value "
                                         f"there, or --fill interpolate|zero") from None
                    plural = "value" if err.count == 1 else "values"
                    raise UsageError(f"{at}: column {c!r} has {err.count} missing {plural}, the first at row "
                                     f"{row}; pass --fill ffill|interpolate|zero") from None
            out.append(Series(sid, cols, t, self.name, self.row(int(idx[0]))))
        return out

    def _numbers(self, column: str, where: str) -> np.ndarray:
        """The column as float64, NaN where missing; text or infinities are errors."""
        import pandas as pd

        col = self.frame[column]
        if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
            v = col.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            num = pd.to_numeric(col, errors="coerce")
            bad = (num.isna() & col.notna()).to_numpy()
            if bad.any():
                i = int(np.argmax(bad))
                raise UsageError(f"{where}: column {column!r}, row {self.row(i)}: expected a number, got "
                                 f"{_shown(col.iloc[i])}")
            v = num.to_numpy(dtype=np.float64, na_value=np.nan)
        inf = np.isinf(v)
        if inf.any():
            i = int(np.argmax(inf))
            raise UsageError(f"{where}: column {column!r}, row {self.row(i)}: expected a finite number, "
                             f"got {_shown(col.iloc[i])}")
        return v

    def _present(self, column: str, thing: str, a_thing: str, where: str):
        """The column, or an error at its first empty row."""
        col = self.frame[column]
        absent = col.isna().to_numpy()
        if absent.any():
            i = int(np.argmax(absent))
            raise UsageError(f"{where}: column {column!r}, row {self.row(i)}: missing {thing}; expected "
                             f"{a_thing} on every row")
        return col

    def _times(self, column: str, where: str) -> np.ndarray:
        col = self._present(column, "time", "a time", where)
        parsed, bad = parse_times(col)
        if bad is not None:
            raise UsageError(f"{where}: column {column!r}, row {self.row(bad)}: expected a number or a date, "
                             f"got {_shown(col.iloc[bad])}")
        return parsed

    def _check_increasing(self, t: np.ndarray, idx: np.ndarray, column: str, where: str) -> None:
        if len(t) < 2:
            return
        step_ok = t[1:] > t[:-1]
        if step_ok.all():
            return
        k = int(np.argmin(step_ok))          # t[k + 1] <= t[k]
        r0, r1 = self.row(int(idx[k])), self.row(int(idx[k + 1]))
        if t[k + 1] == t[k]:
            raise UsageError(f"{where}: column {column!r}: time {_fmt_time(t[k])} appears twice, at rows {r0} "
                             f"and {r1}; expected one row per time")
        raise UsageError(f"{where}: column {column!r}, row {r1}: time {_fmt_time(t[k + 1])} comes before "
                         f"{_fmt_time(t[k])} at row {r0}; expected increasing times")


class _CsvRows:
    """Data row index -> line number (header line 1), worked out only when needed: rows
    are lines 2, 3, ... unless the text has blank lines or quoted fields (which may
    hold line breaks), when the file is scanned once with the csv module."""

    def __init__(self, text: str, sep: str):
        self.text, self.sep, self.lines = text, sep, None
        self.simple = '"' not in text and "\n\n" not in text and "\n\r\n" not in text and text[:1] not in "\r\n"

    def __call__(self, i: int) -> int:
        if self.simple:
            return i + 2
        if self.lines is None:
            import csv

            reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.sep)
            starts = []
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except (StopIteration, csv.Error):
                    break
                if row:
                    starts.append(start)
            self.lines = starts[1:]       # the header's line left out
        return self.lines[i] if i < len(self.lines) else i + 2


def _format_of(path: Path, what: str) -> str:
    ext = path.suffix.lower()
    if ext in formats.CSV + formats.TSV:
        return "csv"
    if ext in formats.PARQUET:
        return "parquet"
    if ext in formats.NPY + formats.NPZ:
        return ext[1:]
    raise UsageError(f"{what}: {str(path)!r} has an unknown extension {ext or '(none)'!r}; known: "
                     f"{', '.join(formats.SERIES_EXTENSIONS)} (or pass --format {'|'.join(SERIES_FORMATS)})")


def _load_numpy(path: Path, fmt: str, what: str) -> dict[str, np.ndarray]:
    """The arrays of an .npy (key "0") or .npz file, no pickles."""
    name = str(path)
    try:
        if fmt == "npy":
            return {"0": np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise UsageError(f"{what}: {name!r} is a single .npy array, not an .npz archive; pass "
                                 f"--format npy")
            arrays = {k: z[k] for k in z.files}
    except UsageError:
        raise
    except (OSError, ValueError, EOFError) as err:
        raise UsageError(f"{what}: cannot read {name!r} as {fmt} ({_first_line(err)})") from None
    if not arrays:
        raise UsageError(f"{what}: {name!r} holds no arrays")
    return arrays


# ---- times -----------------------------------------------------------------------------
def parse_times(values) -> tuple[np.ndarray, int | None]:
    """Times from a pandas Series of numbers, dates or strings (none missing): int64 or
    float64 for numbers, ``datetime64[ns]`` for dates (UTC offsets converted to UTC,
    then dropped). Returns (times, None), or (partial, index of the first value that
    does not parse)."""
    import warnings

    import pandas as pd

    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _naive_ns(values), None
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        arr = values.to_numpy()
        return (arr.astype(np.int64) if np.issubdtype(arr.dtype, np.integer) else arr.astype(np.float64)), None
    as_text = values.astype(str).str.strip()
    num = pd.to_numeric(as_text, errors="coerce")
    if not num.isna().any():
        arr = num.to_numpy()
        return (arr.astype(np.int64) if np.issubdtype(arr.dtype, np.integer) else arr.astype(np.float64)), None
    from pandas.tseries.api import guess_datetime_format

    attempts = [{"format": "ISO8601"}]
    guessed = guess_datetime_format(str(as_text.iloc[0]))
    if guessed:
        attempts.append({"format": guessed})
    attempts.append({})                  # pandas' own parser, element by element if it must
    best = None
    for kwargs in attempts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = pd.to_datetime(as_text, errors="coerce", **kwargs)
            except ValueError:           # mixed UTC offsets
                try:
                    parsed = pd.to_datetime(as_text, errors="coerce", utc=True, **kwargs)
                except (ValueError, TypeError):
                    continue
            except TypeError:
                continue
        failed = parsed.isna().to_numpy()
        if not failed.any():
            return _naive_ns(parsed), None
        first_bad = int(np.argmax(failed))
        if best is None or first_bad > best:
            best = first_bad
    return np.asarray(values), (best if best is not None else 0)


def _naive_ns(values) -> np.ndarray:
    import pandas as pd

    s = pd.Series(values)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.to_numpy().astype("datetime64[ns]")


def infer_step(time: np.ndarray, *, first_row: int = 1, context: str = ""):
    """The regular step of a time axis.

    Returns a ``np.timedelta64`` (ns) for dates a fixed duration apart (days, hours, ...),
    a pandas ``DateOffset`` for calendar steps that vary in length (month starts or
    ends, quarters, years, business days: whatever ``pd.infer_freq`` recognises), or a
    number (int for integer times; the mean step for floats within 1e-6 of it).

    Args:
        time: (T,) times, T >= 2, increasing.
        first_row: the row of ``time[0]``, to name rows in messages.
        context: a prefix for messages (e.g. the file and series).

    Raises:
        UsageError: fewer than 2 times, times not increasing, or an irregular step:
            ``expected a regular time step, got steps of 1 day and 2 days (from
            2020-01-04 to 2020-01-06, rows 5 and 6)``.
    """
    time = np.asarray(time)
    if len(time) < 2:
        raise UsageError(f"{context}expected at least 2 times to find the time step, got {len(time)}")
    steps = np.diff(time)
    if np.issubdtype(time.dtype, np.datetime64):
        time = time.astype("datetime64[ns]")
        steps = np.diff(time)
        zero = np.timedelta64(0, "ns")
    else:
        zero = 0
    if (steps <= zero).any():
        k = int(np.argmax(steps <= zero))
        raise UsageError(f"{context}expected increasing times, got {_fmt_time(time[k + 1])} after "
                         f"{_fmt_time(time[k])} (rows {first_row + k} and {first_row + k + 1})")
    if np.issubdtype(time.dtype, np.datetime64):
        if (steps == steps[0]).all():
            return steps[0]
        if len(time) >= 3:
            import pandas as pd
            from pandas.tseries.frequencies import to_offset

            freq = pd.infer_freq(pd.DatetimeIndex(time))
            if freq is not None:
                return to_offset(freq)
        k = int(np.argmax(steps != steps[0]))
    elif np.issubdtype(time.dtype, np.integer):
        if (steps == steps[0]).all():
            return int(steps[0])
        k = int(np.argmax(steps != steps[0]))
    else:
        mean = (float(time[-1]) - float(time[0])) / (len(time) - 1)
        off = np.abs(steps - mean) > 1e-6 * abs(mean)
        if not off.any():
            return mean
        k = int(np.argmax(np.abs(steps - steps[0]) > 1e-6 * abs(mean)))
        k = k if k > 0 else int(np.argmax(off))
    raise UsageError(f"{context}expected a regular time step, got steps of {_fmt_step(steps[0])} and "
                     f"{_fmt_step(steps[k])} (from {_fmt_time(time[k])} to {_fmt_time(time[k + 1])}, rows "
                     f"{first_row + k} and {first_row + k + 1})")


def continue_time(time: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` times after the end of ``time``, at its step (:func:`infer_step`):
    ``datetime64[ns]`` for dates, the time's own dtype for numbers.

    Example::

        continue_time(np.array(["2020-01-01", "2020-02-01", "2020-03-01"], "datetime64[ns]"), 2)
        # 2020-04-01, 2020-05-01 (month starts)
    """
    time = np.asarray(time)
    step = infer_step(time)
    if n < 0:
        raise UsageError(f"expected a number of steps >= 0, got {n}")
    ahead = np.arange(1, n + 1)
    if isinstance(step, np.timedelta64):
        return time[-1].astype("datetime64[ns]") + ahead * step
    if np.issubdtype(time.dtype, np.datetime64):      # a calendar offset
        import pandas as pd

        return pd.date_range(start=pd.Timestamp(time[-1]), periods=n + 1, freq=step)[1:].to_numpy() \
            .astype("datetime64[ns]")
    if np.issubdtype(time.dtype, np.integer):
        return (time[-1] + ahead * step).astype(time.dtype)
    return float(time[-1]) + ahead * step


# ---- formatting ------------------------------------------------------------------------
_UNITS = [("day", 86_400 * 10**9), ("hour", 3600 * 10**9), ("minute", 60 * 10**9), ("second", 10**9),
          ("millisecond", 10**6), ("microsecond", 10**3), ("nanosecond", 1)]


def _fmt_step(step) -> str:
    if isinstance(step, np.timedelta64):
        ns = int(step.astype("timedelta64[ns]").astype(np.int64))
        for unit, size in _UNITS:
            if ns % size == 0:
                k = ns // size
                return f"{k} {unit}" + ("" if abs(k) == 1 else "s")
    if isinstance(step, (float, np.floating)):
        return f"{float(step):g}"
    return str(step)


def _fmt_time(t) -> str:
    if isinstance(t, np.datetime64):
        import pandas as pd

        ts = pd.Timestamp(t)
        return str(ts.date()) if ts == ts.normalize() else str(ts)
    if isinstance(t, (float, np.floating)):
        return f"{float(t):g}"
    return str(t)


def _shown(value) -> str:
    text = repr(str(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _names(names, limit: int = 10) -> str:
    names = [repr(str(n)) for n in names]
    if len(names) > limit:
        names = names[:limit] + [f"... ({len(names) - limit} more)"]
    return ", ".join(names) if names else "none"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
