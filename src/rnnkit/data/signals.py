"""Reading real-valued sequences: labelled sequences for classification (UCR, UEA .ts,
.npz) and biosignal records (WFDB, EDF/BDF, .npy, CSV), whole or in chunks.

Labelled sequences (:func:`read_labelled_arrays`), format by ``format`` or extension:

- ``ucr`` (``--format ucr``; never guessed, since .tsv/.csv are also tables): one
  series per line, the label first, then the values, separated by tabs, commas or
  spaces (whichever the line has, in that order). Univariate. Trailing NaNs (or empty
  fields) end a shorter series (variable length); NaNs inside it are filled by
  ``fill`` or are an error at file:line.
- ``.ts`` (UEA / sktime / aeon): read with ``aeon.datasets.load_from_ts_file``;
  multivariate, variable length, ``?`` for missing values. Each case (C, T_i) becomes
  (T_i, C). Cases are named file:line.
- ``.npz``: arrays ``x`` (N, T, C) or (N, T), ``y`` (N,) labels (strings or integers),
  optional ``lengths`` (N,) (sequence i is ``x[i, :lengths[i]]``; without it trailing
  all-NaN steps are dropped) and ``channels`` (C,) names; key names in any case. Cases
  are named file[i].
- ``.npy``: ``x`` alone, (N, T, C) or (N, T): sequences without labels (predict).
Channels are named "0", "1", ... unless an .npz names them; every file must have the
same channels. Missing values inside a sequence: ``fill`` as for series tables
(:func:`rnnkit.data.series.fill_gaps`: ffill, interpolate, zero), per channel.
``normalize`` z-normalises each sequence per channel: (x - mean) / std, std 0 taken as 1.

Records (:func:`read_record`, :func:`iter_record_chunks`):

- WFDB: the record's ``.hea`` file, its ``.dat`` file, or the record path without
  extension; read with ``wfdb`` in physical units.
- EDF / BDF (``.edf``, ``.bdf``): read with ``pyedflib``; the channels read must share
  one sample rate (pick them with ``channels``).
- ``.npy`` (T,) or (T, C), channels "0".."C-1"; ``.csv`` / ``.parquet``: every column a
  channel (pick them with ``channels``, e.g. to leave a time column out), all numeric,
  none missing. These have no sample rate: ``fs`` is 1.0 and ``resample`` is refused.
``resample`` changes the rate with ``scipy.signal.resample_poly`` (a polyphase
low-pass filter, then up/down sampling) by the ratio ``rate / fs`` approximated as
up/down with ``fractions.Fraction(rate / fs).limit_denominator(1000)``; the record's
``fs`` becomes ``fs * up / down`` (the rate asked for whenever the ratio is exact).

Example::

    data = read_labelled_arrays(["GunPoint_TRAIN.tsv"], format="ucr", normalize=True)
    data.x[0].shape, data.labels[0], data.sources[0]       # (150, 1), '2', 'GunPoint_TRAIN.tsv:1'
    rec = read_record("mitdb/100.hea", channels=["MLII"], resample=180)
    rec.signal.shape, rec.fs                                # (325000, 1), 180.0
    for start, chunk in iter_record_chunks("mitdb/100.hea", 65536):
        ...                                                 # (<=65536, 2) float32 pieces
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._optional import require
from ..errors import UsageError
from . import formats
from .scaling import znorm
from .gaps import FILL_POLICIES, MissingValues, fill_gaps
from .series import _first_line, _names, _Table
from .tables import LabelFiles
from .text import files_with_extensions, read_text

LABELLED_FORMATS = ("ucr", "ts", "npz", "npy")
RECORD_FORMATS = ("wfdb", "edf", "npy", "csv", "parquet")


@dataclass
class LabelledArrays:
    """Sequences of real values and their labels, in file order.

    ``x[i]`` is (T_i, C) float32; ``labels`` is None when read without labels;
    ``sources[i]`` names sequence i: ``"file:line"`` (UCR, .ts) or ``"file[i]"`` (.npz,
    .npy); ``files`` lists the files read."""
    x: list[np.ndarray]
    labels: list[str] | None
    channels: list[str]
    sources: list[str]
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Record:
    """A biosignal record: ``signal`` (T, C) float32 at ``fs`` samples per second (1.0
    when the file has no rate), channel names, the file it came from."""
    signal: np.ndarray
    fs: float
    channels: list[str]
    source: str


@dataclass
class RecordInfo:
    """A record's header: rate, channels (after selection), length in samples."""
    fs: float
    channels: list[str]
    length: int
    source: str


# ---- labelled sequences ----------------------------------------------------------------
def read_labelled_arrays(specs, *, format: str | None = None, normalize: bool = False, fill: str | None = None,
                         labels_required: bool = True, min_classes: int = 2,
                         what: str = "--data") -> LabelledArrays:
    """Labelled sequences from UCR, .ts, .npz or .npy files (see the module docstring).

    Args:
        specs: a path or a list of paths: files, folders (the files of the format
            under them) or glob patterns.
        format: "ucr", "ts", "npz" or "npy" for every file; None: by extension (.ts,
            .npz, .npy; UCR files need ``format="ucr"``).
        normalize: z-normalise each sequence per channel.
        fill: None, "ffill", "interpolate" or "zero", for missing values inside a sequence.
        labels_required: with False (predict), files without labels are accepted and
            ``labels`` is None unless every sequence has one.
        min_classes: with labels required, the fewest distinct labels accepted.
        what: the option the paths came from, for messages.

    Raises:
        UsageError: a one-line message naming the file (and line) at fault.
    """
    if format is not None and format not in LABELLED_FORMATS:
        raise UsageError(f"--format: {format!r} is not a format of labelled sequences; expected one of "
                         f"{', '.join(LABELLED_FORMATS)}")
    if fill is not None and fill not in FILL_POLICIES:
        raise UsageError(f"--fill: expected one of {', '.join(FILL_POLICIES)}, got {fill!r}")
    reader = _ArrayReader(fill, labels_required, what)
    for path in _labelled_files(specs, format, what):
        fmt = format or _labelled_format(path, what)
        getattr(reader, "read_" + fmt)(path)
    return reader.result(normalize, min_classes)


def labelled_arrays(x, labels=None, *, lengths=None, channels: list[str] | None = None, normalize: bool = False,
                    fill: str | None = None, min_classes: int = 1, what: str = "X") -> LabelledArrays:
    """Labelled sequences from arrays in memory, checked and cleaned as the .npz reader
    does: ``x`` (N, T, C) or (N, T) (with ``lengths`` (N,): sequence i is
    ``x[i, :lengths[i]]``; without: trailing all-NaN steps are dropped), or a list of
    (T_i, C) or (T_i,) arrays taken whole. Missing values inside a sequence: ``fill``;
    ``normalize``: per sequence and channel. ``labels`` (N,) are taken as strings
    (``str``; floats that are integers as integers), or None (predict). Sequences are
    named ``what[i]``.

    Raises:
        UsageError: a one-line message naming the sequence (and step) at fault.
    """
    if fill is not None and fill not in FILL_POLICIES:
        raise UsageError(f"fill: expected one of {', '.join(FILL_POLICIES)}, got {fill!r}")
    reader = _ArrayReader(fill, labels is not None, what)
    if isinstance(x, np.ndarray) and x.dtype != object:
        xs = reader._batch(x, what, "x")                                     # (N, T, C)
        n = len(xs)
        if lengths is not None:
            lengths = np.asarray(lengths)
            if (lengths.shape != (n,) or not np.issubdtype(lengths.dtype, np.integer) or (lengths < 1).any()
                    or (lengths > xs.shape[1]).any()):
                raise UsageError(f"lengths: expected integers of shape ({n},) between 1 and {xs.shape[1]}, got "
                                 f"{lengths.dtype} of shape {lengths.shape}")
        seqs = [xs[i, :lengths[i]] if lengths is not None else xs[i] for i in range(n)]
        strip = lengths is None
    else:
        if lengths is not None:
            raise UsageError("lengths: expected none with a list of sequences (each is taken whole), got lengths")
        seqs = []
        for i, a in enumerate(x):
            a = np.asarray(a)
            if a.ndim == 1:
                a = a[:, None]                                              # (T,) -> (T, 1)
            if a.ndim != 2 or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
                raise UsageError(f"{what}[{i}]: expected a sequence of numbers (T, C) or (T,), got "
                                 f"{'dtype ' + str(a.dtype) if a.ndim == 2 else 'shape ' + str(a.shape)}")
            if len(a) == 0:
                raise UsageError(f"{what}[{i}]: expected at least one step, got an empty sequence")
            seqs.append(a)
        if not seqs:
            raise UsageError(f"{what}: expected at least one sequence, got none")
        widths = sorted({a.shape[1] for a in seqs})
        if len(widths) > 1:
            raise UsageError(f"{what}: expected the same number of channels in every sequence, got {widths}")
        strip = False
    width = seqs[0].shape[1]
    if channels is None:
        channels = [str(c) for c in range(width)]
    if len(channels) != width:
        raise UsageError(f"{what}: expected {len(channels)} channel(s) ({_names(channels)}), got {width}")
    if labels is not None and len(labels) != len(seqs):
        raise UsageError(f"{what}: expected one label per sequence, got {len(labels)} labels for {len(seqs)} "
                         f"sequences")
    reader._start(Path(what), list(channels))
    for i, a in enumerate(seqs):
        where = f"{what}[{i}]"
        reader._add(reader._trim(a, where, strip=strip), None if labels is None else _label(labels[i]), where, what)
    out = reader.result(normalize, min_classes)
    out.files = []
    return out


def _labelled_format(path: Path, what: str) -> str:
    ext = path.suffix.lower()
    if ext in formats.LABELLED_EXTENSIONS:
        return ext[1:]
    if ext in formats.UCR:
        raise UsageError(f"{what}: {str(path)!r}: a {ext} file is read as a UCR file (the label, then the "
                         f"values, one series per line) only with --format ucr; pass it")
    raise UsageError(f"{what}: {str(path)!r} has an unknown extension {ext or '(none)'!r}; known: .ts, .npz, "
                     f".npy, and {', '.join(formats.UCR)} with --format ucr")


def _labelled_files(specs, format: str | None, what: str) -> list[Path]:
    known = formats.LABELLED_BY_FORMAT[format] if format else formats.LABELLED_EXTENSIONS
    return files_with_extensions(specs, known, "labelled sequences", what)


class _ArrayReader:
    """Accumulates sequences over files; one method per format."""

    def __init__(self, fill: str | None, labels_required: bool, what: str):
        self.fill, self.labels_required, self.what = fill, labels_required, what
        self.x: list[np.ndarray] = []
        self.labels: list[str | None] = []
        self.sources: list[str] = []
        self.files: list[str] = []
        self.channels: list[str] | None = None
        self.label_files = LabelFiles()

    # -- formats -----------------------------------------------------------------------
    def read_ucr(self, path: Path) -> None:
        name, what = str(path), self.what
        text = read_text(path, what)        # UTF-8, binary and empty checks
        self._start(path, ["0"])
        count = 0
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.strip()
            if not line:
                continue
            fields = line.split("\t") if "\t" in line else line.split(",") if "," in line else line.split()
            label, values = fields[0].strip(), fields[1:]
            where = f"{name}:{number}"
            if not label:
                raise UsageError(f"{what}: {where}: empty label in the first field; expected the label, then "
                                 f"the values")
            if not values:
                raise UsageError(f"{what}: {where}: expected a label and then the series' values, got only "
                                 f"{label!r}")
            v = _floats(values, where, what, first_field=2)
            self._add(self._trim(v[:, None], where), label, where, name)
            count += 1
        if count == 0:
            raise UsageError(f"{what}: {name!r} holds no series")

    def read_ts(self, path: Path) -> None:
        name, what = str(path), self.what
        text = read_text(path, what)
        head, lines = _ts_data_lines(text)
        load_from_ts_file = require("aeon.datasets", for_what="reading .ts files").load_from_ts_file

        body = text.split("\n")
        try:
            if len(lines) == len(body) - head - (body[-1] == ""):
                X, y = load_from_ts_file(str(path))
            else:      # aeon reads a blank or comment line among the cases as a case: leave them out
                import tempfile

                with tempfile.TemporaryDirectory() as tmp:
                    clean = Path(tmp) / path.name
                    clean.write_text("\n".join(body[:head] + [body[n - 1] for n in lines]) + "\n", encoding="utf-8")
                    X, y = load_from_ts_file(str(clean))
        except (OSError, ValueError, IndexError, KeyError, TypeError) as err:
            raise UsageError(f"{what}: {_ts_where(name, text, lines, err)}") from None
        if len(X) == 0:
            raise UsageError(f"{what}: {name!r} holds no cases (expected '@data' and then one case per line)")
        labels = None if y is None or len(y) == 0 else [str(v) for v in y]
        if labels is not None and len(lines) == len(labels):
            written = [body[n - 1].strip().rsplit(":", 1)[-1].strip() for n in lines]
            if [w.lower() for w in written] == [v.lower() for v in labels]:
                labels = written                # aeon lowercases labels: keep them as written
        if labels is None and self.labels_required:
            raise UsageError(f"{what}: {name!r} has no class labels (@classLabel false); expected labelled "
                             f"cases")
        channels = [str(c) for c in range(X[0].shape[0])]
        self._start(path, channels)
        for i, case in enumerate(X):
            where = f"{name}:{lines[i]}" if len(lines) == len(X) else f"{name}[{i}]"
            a = np.asarray(case, dtype=np.float64).T                  # (C, T_i) -> (T_i, C)
            self._add(self._trim(a, where), labels[i] if labels else None, where, name)

    def read_npz(self, path: Path) -> None:
        name, what = str(path), self.what
        try:
            with np.load(path, allow_pickle=False) as z:
                if not hasattr(z, "files"):
                    raise UsageError(f"{what}: {name!r} is a single .npy array, not an .npz archive")
                keys = {}
                for k in z.files:
                    if k.lower() in keys:
                        raise UsageError(f"{what}: {name!r} has both {keys[k.lower()]!r} and {k!r}; expected one "
                                         f"array per name, in any case")
                    keys[k.lower()] = k
                if "x" not in keys:
                    raise UsageError(f"{what}: {name!r} has no array 'x'; expected x (N, T, C) or (N, T) and y "
                                     f"(N,), got arrays: {_names(z.files)}")
                arrays = {k: z[keys[k]] for k in ("x", "y", "lengths", "channels") if k in keys}
        except UsageError:
            raise
        except (OSError, ValueError, EOFError) as err:
            raise UsageError(f"{what}: cannot read {name!r} as .npz ({_first_line(err)})") from None
        x = self._batch(arrays["x"], name, "x")
        n = len(x)
        y = arrays.get("y")
        if y is None and self.labels_required:
            raise UsageError(f"{what}: {name!r} has no array 'y'; expected labels y (N,) beside x")
        if y is not None and (y.ndim != 1 or len(y) != n):
            raise UsageError(f"{what}: {name!r}: expected y of shape ({n},) (one label per sequence of x), got "
                             f"shape {y.shape}")
        lengths = arrays.get("lengths")
        if lengths is not None and (lengths.shape != (n,) or not np.issubdtype(lengths.dtype, np.integer)
                                    or (lengths < 1).any() or (lengths > x.shape[1]).any()):
            raise UsageError(f"{what}: {name!r}: expected lengths: integers of shape ({n},) between 1 and "
                             f"{x.shape[1]}, got {lengths.dtype} of shape {lengths.shape} "
                             f"(min {lengths.min() if lengths.size else '-'}, max "
                             f"{lengths.max() if lengths.size else '-'})")
        channels = [str(c) for c in range(x.shape[2])]
        if "channels" in arrays:
            names = arrays["channels"]
            if names.shape != (x.shape[2],):
                raise UsageError(f"{what}: {name!r}: expected channels of shape ({x.shape[2]},) (a name per "
                                 f"channel of x), got shape {names.shape}")
            channels = [str(c) for c in names]
        self._start(path, channels)
        for i in range(n):
            where = f"{name}[{i}]"
            a = x[i, :lengths[i]] if lengths is not None else x[i]
            self._add(self._trim(a, where, strip=lengths is None), None if y is None else _label(y[i]), where, name)

    def read_npy(self, path: Path) -> None:
        name, what = str(path), self.what
        if self.labels_required:
            raise UsageError(f"{what}: {name!r} holds sequences without labels (.npy); expected labels: an .npz "
                             f"with arrays x and y, a .ts file or a UCR file")
        try:
            raw = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise UsageError(f"{what}: cannot read {name!r} as .npy ({_first_line(err)})") from None
        x = self._batch(raw, name, "the array")
        self._start(path, [str(c) for c in range(x.shape[2])])
        for i in range(len(x)):
            self._add(self._trim(x[i], f"{name}[{i}]"), None, f"{name}[{i}]", name)

    # -- helpers -----------------------------------------------------------------------
    def _batch(self, x: np.ndarray, name: str, key: str) -> np.ndarray:
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise UsageError(f"{self.what}: {name!r}: expected numbers in {key}, got dtype {x.dtype}")
        if x.ndim == 2:
            x = x[:, :, None]                       # (N, T) -> (N, T, 1)
        if x.ndim != 3:
            raise UsageError(f"{self.what}: {name!r}: expected {key} of shape (N, T, C) or (N, T), got "
                             f"shape {x.shape}")
        if x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
            raise UsageError(f"{self.what}: {name!r} holds no sequences ({key} has shape {x.shape})")
        return x

    def _start(self, path: Path, channels: list[str]) -> None:
        name = str(path)
        if self.channels is None:
            self.channels, self.first_file = channels, name
        elif channels != self.channels:
            raise UsageError(f"{self.what}: channels that differ between files: {len(self.channels)} "
                             f"({_names(self.channels)}) in {self.first_file!r}, {len(channels)} "
                             f"({_names(channels)}) in {name!r}; expected the same channels in every file")
        self.files.append(name)

    def _trim(self, a: np.ndarray, where: str, strip: bool = True) -> np.ndarray:
        """Trailing all-missing steps dropped (``strip``: they mark a shorter sequence);
        missing values inside filled (or an error)."""
        a = np.asarray(a, dtype=np.float64)
        present = ~np.isnan(a).all(axis=1)
        if not present.any():
            raise UsageError(f"{self.what}: {where}: the sequence has no values (all missing)")
        if strip:
            a = a[:len(present) - int(np.argmax(present[::-1]))]
        if np.isinf(a).any():
            t, c = np.argwhere(np.isinf(a))[0]
            raise UsageError(f"{self.what}: {where}: channel {self.channels[c]!r}, step {t + 1}: expected a "
                             f"finite number, got {a[t, c]}")
        try:
            return fill_gaps(a, self.fill)
        except MissingValues as err:
            chan = f": channel {self.channels[err.column]!r}" if a.shape[1] > 1 else ""
            if err.kind == "empty":
                raise UsageError(f"{self.what}: {where}{chan}: no values (all {err.count} missing)") from None
            if err.kind == "leading":
                raise UsageError(f"{self.what}: {where}{chan}: missing value at step 1, with nothing before it "
                                 f"for --fill ffill; expected a value there, or --fill interpolate|zero") from None
            plural = "value" if err.count == 1 else "values"
            raise UsageError(f"{self.what}: {where}{chan}: {err.count} missing {plural} inside the sequence, "
                             f"the first at step {err.index + 1}; pass --fill ffill|interpolate|zero") from None

    def _add(self, a: np.ndarray, label: str | None, source: str, file: str) -> None:
        if label is None and self.labels_required:
            raise UsageError(f"{self.what}: {source}: missing label; every sequence needs one")
        self.x.append(a)
        self.labels.append(label)
        self.sources.append(source)
        self.label_files.add(label, file)

    def result(self, normalize: bool, min_classes: int) -> LabelledArrays:
        if not self.x:
            raise UsageError(f"{self.what}: no sequences read")
        x = [znorm(a) if normalize else a for a in self.x]
        x = [a.astype(np.float32) for a in x]
        labels = self.labels
        if self.labels_required:
            self.label_files.check(self.what, min_classes)
        if any(label is None for label in labels):
            labels = None
        return LabelledArrays(x, labels, list(self.channels), self.sources, self.files)


def _floats(fields: list[str], where: str, what: str, first_field: int = 1) -> np.ndarray:
    """Fields as float64, an empty field as NaN; text or infinities name the field."""
    fields = [f.strip() or "nan" for f in fields]
    try:
        v = np.asarray(fields, dtype=np.float64)
    except ValueError:
        for k, f in enumerate(fields):
            try:
                float(f)
            except ValueError:
                raise UsageError(f"{what}: {where}: field {k + first_field}: expected a number, got "
                                 f"{f[:30]!r}") from None
        raise
    if np.isinf(v).any():
        k = int(np.argmax(np.isinf(v)))
        raise UsageError(f"{what}: {where}: field {k + first_field}: expected a finite number, got {fields[k]!r}")
    return v


def _label(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value.item() if isinstance(value, np.generic) else value)


def _ts_data_lines(text: str) -> tuple[int, list[int]]:
    """The number of lines up to and including @data, and the line numbers of the cases
    of a .ts file (the lines after @data that are neither blank nor # comments)."""
    out, head = [], None
    for number, line in enumerate(text.split("\n"), start=1):
        s = line.strip()
        if head is None:
            if s.lower().startswith("@data"):
                head = number
        elif s and not s.startswith("#"):
            out.append(number)
    return (head if head is not None else len(text.split("\n"))), out


def _ts_where(name: str, text: str, lines: list[int], err: Exception) -> str:
    """Where a .ts file failed to parse: the first value that is not a number, else the
    case aeon names ("case 3"), else just the file; with aeon's message."""
    body = text.split("\n")
    labelled = re.search(r"^\s*@classlabel\s+true", text, re.IGNORECASE | re.MULTILINE) is not None
    for number in lines:
        parts = body[number - 1].strip().split(":")
        if labelled:
            parts = parts[:-1]
        for part in parts:
            for value in part.split(","):
                v = value.strip()
                if v in ("?", ""):
                    continue
                try:
                    float(v)
                except ValueError:
                    return f"{name}:{number}: expected a number, got {v[:30]!r}"
    found = re.search(r"case (\d+)", str(err))
    if found and 1 <= int(found.group(1)) <= len(lines):
        return f"{name}:{lines[int(found.group(1)) - 1]}: {_first_line(err)}"
    return f"{name!r} is not a readable .ts file ({_first_line(err)})"


# ---- records ---------------------------------------------------------------------------
def read_record(path, *, format: str | None = None, channels: list[str] | None = None,
                resample: float | None = None, what: str = "--data") -> Record:
    """A whole record (see the module docstring).

    Args:
        path: a WFDB record (.hea, .dat, or the path without extension), an EDF/BDF
            file, an .npy or a CSV/Parquet file.
        format: "wfdb", "edf", "npy", "csv" or "parquet"; None: by extension.
        channels: the channels to read, by name, in this order; None: all.
        resample: the rate to resample to, in samples per second; None: as recorded.
        what: the option the path came from, for messages.

    Raises:
        UsageError: a one-line message naming the file (and channel) at fault.
    """
    src = _RecordSource(path, format, channels, what)
    try:
        if resample is not None:
            src.check_resample(resample)
        signal = src.read(0, src.length)
    finally:
        src.close()
    fs = src.fs
    if resample is not None:
        signal, fs = _resample(signal, fs, resample)
    return Record(signal, fs, src.channels, src.source)


def record_info(path, *, format: str | None = None, channels: list[str] | None = None,
                what: str = "--data") -> RecordInfo:
    """A record's rate, channels (after selection) and length, from its header (WFDB,
    EDF) or its array's shape (.npy); CSV/Parquet files are read."""
    src = _RecordSource(path, format, channels, what)
    src.close()
    return RecordInfo(src.fs, src.channels, src.length, src.source)


def iter_record_chunks(record_or_path, chunk: int, *, format: str | None = None,
                       channels: list[str] | None = None, what: str = "--data"):
    """Yield ``(start, signal[start:start + chunk])`` over a record, (n, C) float32
    pieces with n <= ``chunk``, without reading the whole record: WFDB through
    ``sampfrom``/``sampto``, EDF through ``readSignal(channel, start, n)``, .npy memory
    mapped (CSV/Parquet are read whole, then cut). A :class:`Record` is cut as it is.
    Concatenated, the chunks equal :func:`read_record`'s signal (without resampling:
    resample a whole record with :func:`read_record`)."""
    if not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise UsageError(f"expected a positive chunk size in samples, got {chunk!r}")
    if isinstance(record_or_path, Record):
        signal = record_or_path.signal
        for start in range(0, len(signal), chunk):
            yield start, signal[start:start + chunk]
        return
    src = _RecordSource(record_or_path, format, channels, what)
    try:
        for start in range(0, src.length, chunk):
            yield start, src.read(start, min(start + chunk, src.length))
    finally:
        src.close()


class _RecordSource:
    """An open record: ``fs``, ``channels``, ``length`` known; ``read(a, b)`` returns
    samples a..b-1 of the selected channels as float32 (n, C)."""

    def __init__(self, path, format: str | None, channels: list[str] | None, what: str):
        self.what = what
        self.fmt, self.path = _record_format(Path(str(path)), format, what)
        self.source = str(self.path)
        self.has_rate = self.fmt in ("wfdb", "edf")
        self._edf = None
        getattr(self, "_open_" + self.fmt)(channels)

    def close(self) -> None:
        if self._edf is not None:
            self._edf.close()
            self._edf = None

    def read(self, a: int, b: int) -> np.ndarray:
        if self.fmt == "wfdb":
            wfdb = require("wfdb", for_what="reading WFDB records")
            rec = wfdb.rdrecord(self.record_name, sampfrom=a, sampto=b, channels=self.index, physical=True)
            return np.asarray(rec.p_signal, dtype=np.float32).reshape(b - a, len(self.index))
        if self.fmt == "edf":
            return np.stack([self._edf.readSignal(i, a, b - a) for i in self.index], axis=1).astype(np.float32)
        return np.asarray(self._array[a:b][:, self.index], dtype=np.float32)

    def check_resample(self, rate) -> None:
        if not self.has_rate:
            raise UsageError(f"--resample: {self.source!r} ({self.fmt}) has no sample rate to resample from; "
                             f"expected a WFDB or EDF record, or no --resample")
        if not rate > 0:
            raise UsageError(f"--resample: expected a positive rate in samples per second, got {rate}")

    # -- formats -----------------------------------------------------------------------
    def _select(self, names: list[str], channels: list[str] | None) -> None:
        if channels is None:
            self.index, self.channels = list(range(len(names))), list(names)
            return
        if not channels:
            raise UsageError("--channels: expected at least one channel name, got none")
        index = []
        for c in channels:
            if c not in names:
                raise UsageError(f"--channels: {self.source!r} has no channel {c!r}; its channels are: "
                                 f"{_names(names, limit=64)}")
            if names.index(c) in index:
                raise UsageError(f"--channels: channel {c!r} is named twice; expected each channel once")
            index.append(names.index(c))
        self.index, self.channels = index, list(channels)

    def _open_wfdb(self, channels) -> None:
        wfdb = require("wfdb", for_what="reading WFDB records")

        header = self.path
        self.record_name = str(header)[:-len(".hea")]
        try:
            h = wfdb.rdheader(self.record_name)
        except (OSError, ValueError, IndexError, KeyError, TypeError, AttributeError) as err:
            raise UsageError(f"{self.what}: {self.source!r} is not a readable WFDB header ({_first_line(err)})") \
                from None
        self._select([str(n) for n in (h.sig_name or [])], channels)
        if not self.channels:
            raise UsageError(f"{self.what}: {self.source!r} describes no signals")
        for fname in dict.fromkeys(getattr(h, "file_name", None) and [h.file_name[i] for i in self.index] or []):
            if not (header.parent / fname).is_file():
                raise UsageError(f"{self.what}: {self.source!r}: signal file {fname!r} is missing")
        self.fs = float(h.fs) if h.fs else 1.0
        self.length = int(h.sig_len or 0)

    def _open_edf(self, channels) -> None:
        pyedflib = require("pyedflib", for_what="reading EDF/BDF records")

        try:
            f = pyedflib.EdfReader(str(self.path))
        except OSError as err:
            raise UsageError(f"{self.what}: {self.source!r} is not a readable EDF/BDF file "
                             f"({_first_line(err)})") from None
        self._edf = f
        try:
            self._select([str(n).strip() for n in f.getSignalLabels()], channels)
            rates = [float(f.getSampleFrequency(i)) for i in self.index]
            if len(set(rates)) > 1:
                shown = ", ".join(f"{c!r} {r:g} Hz" for c, r in zip(self.channels, rates))
                raise UsageError(f"{self.what}: {self.source!r}: channels at different sample rates ({shown}); "
                                 f"expected one rate: pass --channels to pick channels that share one")
            sizes = [int(f.getNSamples()[i]) for i in self.index]
        except BaseException:
            self.close()
            raise
        self.fs, self.length = rates[0], min(sizes)

    def _open_npy(self, channels) -> None:
        try:
            a = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise UsageError(f"{self.what}: cannot read {self.source!r} as .npy ({_first_line(err)})") from None
        if a.ndim == 1:
            a = a[:, None]                                    # (T,) -> (T, 1)
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.number):
            raise UsageError(f"{self.what}: {self.source!r}: expected numbers of shape (T,) or (T, C), got "
                             f"{a.dtype} of shape {a.shape}")
        self._array, self.fs, self.length = a, 1.0, len(a)
        self._select([str(c) for c in range(a.shape[1])], channels)

    def _open_csv(self, channels, fmt: str = "csv") -> None:
        table = _Table.load(self.path, fmt, self.what, None, [])
        self._select(table.header, channels)
        where = f"{self.what}: {self.source!r}"
        cols = []
        for c in self.channels:
            v = table._numbers(c, where)
            missing = np.isnan(v)
            if missing.any():
                raise UsageError(f"{where}: column {c!r} has {int(missing.sum())} missing values, the first at "
                                 f"row {table.row(int(np.argmax(missing)))}; expected a value at every row of "
                                 f"a record")
            cols.append(v)
        self._array = np.stack(cols, axis=1)                  # (T, C) of the selected channels
        self.index = list(range(len(cols)))
        self.fs, self.length = 1.0, len(self._array)

    def _open_parquet(self, channels) -> None:
        self._open_csv(channels, fmt="parquet")


def _record_format(path: Path, format: str | None, what: str) -> tuple[str, Path]:
    """The format and the file to open (a WFDB record: its .hea file)."""
    if format is not None and format not in RECORD_FORMATS:
        raise UsageError(f"--format: {format!r} is not a record format; expected one of "
                         f"{', '.join(RECORD_FORMATS)}")
    ext = path.suffix.lower()
    if format == "wfdb" or format is None and (ext in (".hea", ".dat") or Path(str(path) + ".hea").is_file()):
        if ext == ".hea":
            header = path
        elif Path(str(path) + ".hea").is_file():
            header = Path(str(path) + ".hea")
        elif ext == ".dat":
            header = path.with_suffix(".hea")
        else:
            header = Path(str(path) + ".hea")
        if not header.is_file():
            raise UsageError(f"{what}: WFDB header {str(header)!r} does not exist (expected the record's .hea "
                             f"file, or the record path without extension)")
        return "wfdb", header
    if not path.is_file():
        raise UsageError(f"{what}: {str(path)!r} does not exist (expected a record: WFDB .hea, EDF/BDF, .npy "
                         f"or .csv)")
    if format is not None:
        return format, path
    if ext in formats.EDF:
        return "edf", path
    if ext in formats.NPY + formats.CSV:
        return ext[1:], path
    if ext in formats.PARQUET:
        return "parquet", path
    raise UsageError(f"{what}: {str(path)!r} has an unknown extension {ext or '(none)'!r}; known: "
                     f"{', '.join(formats.RECORD_EXTENSIONS)} (or pass --format {'|'.join(RECORD_FORMATS)})")


def _resample(signal: np.ndarray, fs: float, rate: float) -> tuple[np.ndarray, float]:
    """``signal`` (T, C) from ``fs`` to about ``rate`` samples per second (see the module
    docstring); returns the new signal and its exact rate ``fs * up / down``."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(rate / fs).limit_denominator(1000)
    if ratio.numerator == 0:
        raise UsageError(f"--resample: {rate:g} Hz is below 1/1000 of the record's rate ({fs:g} Hz); expected "
                         f"a ratio of at least 1/1000")
    up, down = ratio.numerator, ratio.denominator
    if up == down:
        return signal, fs
    out = resample_poly(signal.astype(np.float64), up, down, axis=0)   # (ceil(T * up / down), C)
    return out.astype(np.float32), fs * up / down
