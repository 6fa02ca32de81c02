"""The one prediction writer: what ``rnnkit predict`` writes, for every task.

Predictions are a CSV table (a header, then one row per text, per series and step, per
file, or per step of a signal) or, for tags on text, the tokens one per line in the
CoNLL layout. Either way the file is written through :mod:`rnnkit.io.atomic`: the rows
go to a temporary file beside ``out``, renamed to ``out`` when the last one is
written, so an error or an interruption leaves nothing half-written (an old ``out``
stays as it was). Whether ``out`` may be written at all (a folder, an input, an
existing file without ``--overwrite``) is checked before anything is read, with
:func:`rnnkit.io.atomic.check_output_path`.

Example::

    from rnnkit.io.predictions import write_prediction_table, prediction_table
    write_prediction_table("preds.csv", ["source", "label"], [["a.txt:2", "spam"]])
    with prediction_table("steps.csv", ["source", "step", "p"]) as t:     # rows as they come
        t.row(["rec", 0, "0.5"])
        t.block([["rec"] * 2, [1, 2], [0.25, 0.75]], ["%s", "%d", "%.6f"])  # columns, fast
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .atomic import atomic_open


def quote(text: str) -> str:
    """``text`` as one CSV field: quoted (inner quotes doubled) when it holds a comma, a
    quote or a line break, as :mod:`csv` writes it; as is otherwise."""
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


class PredictionTable:
    """Rows of a prediction table, written to the open text file ``f`` as they come;
    ``rows`` counts them (the header excluded)."""

    def __init__(self, f, header: Sequence[str]):
        self.f = f
        self.rows = 0
        self._csv = csv.writer(f, lineterminator="\n")
        self._csv.writerow(list(header))

    def row(self, values: Sequence) -> None:
        """One row; each value written as ``str()`` does, quoted when it has to be."""
        self._csv.writerow(list(values))
        self.rows += 1

    def block(self, columns: Sequence[Sequence], formats: Sequence[str]) -> None:
        """Many rows at once, given as columns of equal length, each with its ``%``
        format (``"%d"``, ``"%.6f"``, ``"%s"``). Text in ``"%s"`` columns must already
        be a CSV field (see :func:`quote`): quoting once per distinct value, not once
        per row, is what makes this fast on records of millions of steps."""
        if len(columns) != len(formats):
            raise ValueError(f"expected one format per column, got {len(formats)} formats for {len(columns)} columns")
        template = ",".join(formats) + "\n"
        lines = [template % values for values in zip(*columns)]
        self.f.write("".join(lines))
        self.rows += len(lines)


@contextlib.contextmanager
def prediction_table(out, header: Sequence[str]) -> Iterator[PredictionTable]:
    """A :class:`PredictionTable` writing to ``out`` atomically: ``out`` appears, whole,
    when the block ends without an error; otherwise it is left as it was."""
    with atomic_open(Path(out), "w", newline="") as f:
        yield PredictionTable(f, header)


def write_prediction_table(out, header: Sequence[str], rows: Iterable[Sequence]) -> int:
    """The table ``header`` + ``rows`` to ``out`` (CSV, atomically); returns the number
    of rows written."""
    with prediction_table(out, header) as table:
        for values in rows:
            table.row(values)
    return table.rows


def write_token_predictions(out, sentences: Iterable[Iterable[Sequence[str]]]) -> int:
    """Tags on text, in the CoNLL layout: each token's fields (token, [given tag,]
    predicted tag) on one line, separated by tabs, and a blank line after each
    sentence; to ``out`` atomically. Returns the number of tokens written."""
    count = 0
    with atomic_open(Path(out), "w", newline="") as f:
        for sentence in sentences:
            lines = ["\t".join(fields) + "\n" for fields in sentence]
            f.write("".join(lines) + "\n")
            count += len(lines)
    return count
