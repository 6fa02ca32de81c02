"""The one table of file extensions: which files each reader takes, by extension
(lower case, with the dot). Readers and tasks import these; none spells its own.

Kinds of file:

- one format each: ``CSV``, ``TSV``, ``JSONL``, ``PARQUET``, ``NPY``, ``NPZ``, ``TS``
  (sktime/aeon .ts), ``UCR`` (the UCR archive's text files, read as UCR only with
  ``format="ucr"``), ``WFDB`` (PhysioNet header and signal), ``EDF`` (EDF/BDF);
- what a reader takes:

  ==========================  ====================================================
  ``TEXT_TABLE_EXTENSIONS``   labelled texts (classify on text): CSV, TSV, JSON Lines
  ``SERIES_EXTENSIONS``       series tables (forecast): CSV, TSV, Parquet, NumPy
  ``VALUE_TABLE_EXTENSIONS``  a label per step of real values (tag): CSV, Parquet
  ``SIGNAL_TAG_EXTENSIONS``   what tag trains on as real values: value tables, .npz
  ``LABELLED_EXTENSIONS``     labelled sequences found without ``format``: .ts, .npz, .npy
  ``RECORD_ONLY_EXTENSIONS``  recordings without labels, streamed: WFDB, EDF/BDF, .npy
  ``RECORD_EXTENSIONS``       everything the record reader streams: the above and
                              value tables
  ==========================  ====================================================
"""

from __future__ import annotations

CSV = (".csv",)
TSV = (".tsv", ".tab")
JSONL = (".jsonl", ".ndjson", ".json")
PARQUET = (".parquet", ".pq")
NPY = (".npy",)
NPZ = (".npz",)
TS = (".ts",)
UCR = (".tsv", ".csv", ".txt")
WFDB = (".hea", ".dat")
EDF = (".edf", ".bdf")

TEXT_TABLE_EXTENSIONS = CSV + TSV + JSONL
SERIES_EXTENSIONS = CSV + TSV + PARQUET + NPY + NPZ
VALUE_TABLE_EXTENSIONS = CSV + PARQUET
SIGNAL_TAG_EXTENSIONS = VALUE_TABLE_EXTENSIONS + NPZ
LABELLED_EXTENSIONS = TS + NPZ + NPY
RECORD_ONLY_EXTENSIONS = WFDB + EDF + NPY
RECORD_EXTENSIONS = RECORD_ONLY_EXTENSIONS + VALUE_TABLE_EXTENSIONS
# labelled sequences read with format="..."
LABELLED_BY_FORMAT = {"ucr": UCR, "ts": TS, "npz": NPZ, "npy": NPY}


def has_extension(path, extensions: tuple[str, ...]) -> bool:
    """Whether ``path``'s name ends with one of ``extensions`` (any case)."""
    return str(path).lower().endswith(extensions)
