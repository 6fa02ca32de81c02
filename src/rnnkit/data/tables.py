"""Reading labelled texts for classification: CSV, TSV, JSON Lines, or a folder with one
subfolder of .txt files per class.

Formats, chosen by the file's extension:

- ``.csv``: comma-separated, a header row first, RFC 4180 quoting (a quoted field may
  hold commas, doubled quotes and line breaks). A malformed quoted field is an error.
- ``.tsv`` / ``.tab``: tab-separated, a header row first, no quoting (as GLUE's files):
  a field holds no tab or line break, and quotes are kept as written.
- ``.jsonl`` / ``.ndjson`` / ``.json``: JSON Lines, one object per line. Label values
  that are numbers or booleans are read as ``str(value)``; ``null`` is a missing label.

Each row needs the text column and the label column (``--text-column``,
``--label-column``; keys for JSON Lines). Texts and labels are stripped of surrounding
whitespace; an empty one is an error at its file and line.

Folders. A folder is read by this rule:

- if any table file (the extensions above) lies under it, every table file under it
  is read, sorted (other files, e.g. a README.md, are ignored);
- otherwise, if it holds .txt files, it is a folder of classes: each immediate
  subfolder is one class (its name is the label) and each .txt file under that
  subfolder (recursively) is one example. Other files are ignored;
- a folder with both table files and .txt files, a .txt file at its top level, a class
  subfolder without .txt files, or a folder with neither is an error.

Hidden files and folders (names starting with ".") are skipped everywhere.

Example::

    data = read_labelled_texts(["train.csv"])
    data.texts[0], data.labels[0], data.sources[0]    # 'a fine film', 'pos', 'train.csv:2'
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from . import formats
from .formats import TEXT_TABLE_EXTENSIONS
from .text import read_text, resolve_paths



@dataclass
class LabelledTexts:
    """Texts and their labels, in file order.

    ``sources[i]`` says where example ``i`` came from: ``"file:line"`` for a table (the
    line its row starts on, 1-based, the header being line 1) or the .txt file's path.
    ``labels`` is None when read without labels (predict)."""
    texts: list[str]
    labels: list[str] | None
    sources: list[str]
    files: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def read_labelled_texts(specs, text_column: str = "text", label_column: str = "label",
                        what: str = "--data", labels_required: bool = True,
                        min_classes: int = 2) -> LabelledTexts:
    """Texts and labels from files, folders or globs (see the module docstring).

    Args:
        specs: a path or a list of paths: files, folders or glob patterns.
        text_column, label_column: the header names (JSON keys) to read.
        what: the option the paths came from, for error messages.
        labels_required: with False (predict), the label column may be absent: labels
            are returned only when every example has one, else ``labels`` is None.
            With True, every example needs a label.
        min_classes: with labels required, the fewest distinct labels accepted (2 for
            training data; 1 for validation, test or evaluation data).

    Raises:
        UsageError: a one-line message naming the file (and line) at fault.
    """
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    out = _Reader(text_column, label_column, what, labels_required, min_classes)
    for spec in specs:
        path = Path(str(spec))
        if path.is_dir():
            out.read_folder(path)
        else:
            for file in resolve_paths([spec], what):
                out.read_table(file)
    return out.result()


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def _quote_list(names, limit: int = 10) -> str:
    names = [repr(n) for n in names]
    if len(names) > limit:
        names = names[:limit] + [f"... ({len(names) - limit} more)"]
    return ", ".join(names) if names else "none"


class LabelFiles:
    """Which files each label occurs in, in reading order: for the "at least 2 classes"
    check of the labelled readers (texts here, sequences in :mod:`rnnkit.data.signals`)."""

    def __init__(self):
        self.files: dict[str, list[str]] = {}

    def add(self, label: str | None, file: str) -> None:
        if label is not None:
            files = self.files.setdefault(label, [])
            if not files or files[-1] != file:
                files.append(file)

    def check(self, what: str, min_classes: int) -> None:
        """UsageError when ``min_classes`` >= 2 and every example has the same label."""
        if min_classes >= 2 and len(self.files) == 1:
            (only, files), = self.files.items()
            where = _quote_list(list(dict.fromkeys(files)), limit=3)
            raise UsageError(f"{what}: expected at least 2 classes, got only {only!r} (in {where})")


class _Reader:
    """Accumulates examples over files; one method per layout."""

    def __init__(self, text_column: str, label_column: str, what: str, labels_required: bool,
                 min_classes: int = 2):
        self.min_classes = min_classes
        self.text_column, self.label_column = text_column, label_column
        self.what, self.labels_required = what, labels_required
        self.texts: list[str] = []
        self.labels: list[str | None] = []
        self.sources: list[str] = []
        self.files: list[str] = []
        self.label_files = LabelFiles()

    # -- layouts ---------------------------------------------------------------------
    def read_folder(self, folder: Path) -> None:
        what = self.what
        subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        files = [p for p in folder.rglob("*") if p.is_file() and _visible(p, folder)]
        if not files:
            if subfolders:
                raise UsageError(f"{what}: folder {str(folder)!r} has class subfolders "
                                 f"({_quote_list(p.name for p in subfolders)}) but no .txt files in them")
            resolve_paths([folder], what)   # raises: the folder contains no files
        tables = sorted(p for p in files if p.suffix.lower() in TEXT_TABLE_EXTENSIONS)
        txts = sorted(p for p in files if p.suffix.lower() == ".txt")
        if tables and txts:
            raise UsageError(f"{what}: folder {str(folder)!r} mixes table files ({str(tables[0])!r}) and "
                             f".txt files ({str(txts[0])!r}); expected one layout: table files, or "
                             f"one subfolder of .txt files per class (pass the files you mean)")
        if tables:
            for table in tables:
                self.read_table(table)
            return
        if not txts:
            raise UsageError(f"{what}: folder {str(folder)!r} holds neither table files "
                             f"({', '.join(TEXT_TABLE_EXTENSIONS)}) nor class subfolders of .txt files; "
                             f"found e.g. {str(files[0])!r}")
        loose = [p for p in txts if p.parent == folder]
        if loose:
            raise UsageError(f"{what}: {str(loose[0])!r} lies at the top of folder {str(folder)!r}; "
                             f"expected one subfolder per class holding its .txt files")
        for sub in subfolders:
            examples = [p for p in txts if p.relative_to(folder).parts[0] == sub.name]
            if not examples:
                raise UsageError(f"{what}: class subfolder {str(sub)!r} has no .txt files "
                                 f"(expected one example per .txt file)")
            for path in examples:
                text = read_text(path, what).strip()
                if not text:
                    raise UsageError(f"{what}: {str(path)!r} holds only whitespace; expected the "
                                     f"example's text")
                self._add(text, sub.name, str(path), str(sub))
                self.files.append(str(path))

    def read_table(self, path: Path) -> None:
        ext = path.suffix.lower()
        if ext not in TEXT_TABLE_EXTENSIONS:
            raise UsageError(f"{self.what}: {str(path)!r} has an unknown extension {ext or '(none)'!r}; "
                             f"the format is chosen by extension, known: {', '.join(TEXT_TABLE_EXTENSIONS)} "
                             f"(or a folder with one subfolder of .txt files per class)")
        text = read_text(path, self.what)   # UTF-8, binary and empty checks; BOM dropped
        self.files.append(str(path))
        if ext in formats.JSONL:
            self._read_jsonl(path, text)
        else:
            self._read_delimited(path, text, tsv=ext in formats.TSV)

    # -- formats ---------------------------------------------------------------------
    def _read_delimited(self, path: Path, text: str, tsv: bool) -> None:
        what, name = self.what, str(path)
        kind = "TSV" if tsv else "CSV"
        options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tsv else {"strict": True}
        reader = csv.reader(io.StringIO(text, newline=""), **options)
        old_limit = csv.field_size_limit(2**31 - 1)   # long documents in one cell
        try:
            header, header_line = None, 0
            rows_read = 0
            start = 1
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as err:
                    expected = ("tab-separated fields" if tsv else "comma-separated fields, a quoted "
                                "field closed by a quote and then a comma or the line's end")
                    raise UsageError(f"{what}: {name}:{start}: malformed {kind} row ({err}); "
                                     f"expected {expected}") from None
                if not row:
                    continue        # a blank line
                if header is None:
                    header, header_line = [h.strip() for h in row], start
                    i_text = self._column_index(header, self.text_column, "--text-column", name, required=True)
                    i_label = self._column_index(header, self.label_column, "--label-column", name,
                                                 required=self.labels_required)
                    continue
                if len(row) != len(header):
                    raise UsageError(f"{what}: {name}:{start}: expected {len(header)} fields as in the "
                                     f"header on line {header_line}, got {len(row)}: {_clip(row)}")
                rows_read += 1
                label = row[i_label] if i_label is not None else None
                self._add_row(row[i_text], label, name, start)
        finally:
            csv.field_size_limit(old_limit)
        if header is None:
            raise UsageError(f"{what}: {name!r} is empty")
        if rows_read == 0:
            raise UsageError(f"{what}: {name!r} has a header ({_quote_list(header)}) but no rows")

    def _read_jsonl(self, path: Path, text: str) -> None:
        what, name = self.what, str(path)
        rows_read = 0
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                hint = "expected one JSON object per line (JSON Lines)"
                if rows_read == 0:
                    try:
                        whole = json.loads(text)
                    except json.JSONDecodeError:
                        whole = None
                    if whole is not None:
                        hint = (f"the file holds one JSON document (a {type(whole).__name__}); " + hint)
                raise UsageError(f"{what}: {name}:{number}: malformed JSON ({err.msg} at column "
                                 f"{err.colno}); {hint}") from None
            if not isinstance(obj, dict):
                raise UsageError(f"{what}: {name}:{number}: expected a JSON object with keys "
                                 f"{self.text_column!r} and {self.label_column!r}, got a "
                                 f"{_json_type(obj)}")
            if self.text_column not in obj:
                raise UsageError(f"{what}: {name}:{number}: no key {self.text_column!r} (--text-column); "
                                 f"the object has keys: {_quote_list(obj)}")
            if self.labels_required and self.label_column not in obj:
                raise UsageError(f"{what}: {name}:{number}: no key {self.label_column!r} (--label-column); "
                                 f"the object has keys: {_quote_list(obj)}")
            value = obj[self.text_column]
            if isinstance(value, (dict, list)):
                raise UsageError(f"{what}: {name}:{number}: expected a string under "
                                 f"{self.text_column!r}, got a {_json_type(value)}")
            label = obj.get(self.label_column)
            if isinstance(label, (dict, list)):
                raise UsageError(f"{what}: {name}:{number}: expected a label (string, number or "
                                 f"boolean) under {self.label_column!r}, got a {_json_type(label)}")
            rows_read += 1
            self._add_row("" if value is None else str(value), None if label is None else str(label),
                          name, number)
        if rows_read == 0:
            raise UsageError(f"{what}: {name!r} is empty")

    # -- rows ------------------------------------------------------------------------
    def _column_index(self, header: list[str], column: str, option: str, name: str,
                      required: bool) -> int | None:
        if column in header:
            return header.index(column)
        if not required:
            return None
        raise UsageError(f"{self.what}: {name!r} has no column {column!r} ({option}); its columns are: "
                         f"{_quote_list(header)}")

    def _add_row(self, text: str, label: str | None, name: str, line: int) -> None:
        text = text.strip()
        if not text:
            raise UsageError(f"{self.what}: {name}:{line}: empty text in column {self.text_column!r}; "
                             f"expected the example's text")
        if label is not None:
            label = label.strip() or None
        if label is None and self.labels_required:
            raise UsageError(f"{self.what}: {name}:{line}: missing label in column {self.label_column!r}; "
                             f"every example needs one")
        self._add(text, label, f"{name}:{line}", name)

    def _add(self, text: str, label: str | None, source: str, file: str) -> None:
        self.texts.append(text)
        self.labels.append(label)
        self.sources.append(source)
        self.label_files.add(label, file)

    def result(self) -> LabelledTexts:
        labels = self.labels
        if self.labels_required:
            self.label_files.check(self.what, self.min_classes)
        elif any(label is None for label in labels):
            labels = None
        return LabelledTexts(self.texts, labels, self.sources, self.files)


def _json_type(value) -> str:
    return {dict: "JSON object", list: "JSON array", str: "string", bool: "boolean",
            type(None): "null"}.get(type(value), "number")


def _clip(row: list[str], width: int = 80) -> str:
    shown = repr(row)
    return shown if len(shown) <= width else shown[:width - 3] + "..."
