"""The one table of file extensions: every reader takes its extensions from
rnnkit.data.formats, and the groups agree with what the readers do."""

import re
from pathlib import Path

import pytest

import rnnkit
from rnnkit.data import formats
from rnnkit.errors import UsageError

SRC = Path(rnnkit.__file__).parent


def test_no_module_spells_its_own_extension_table():
    own = re.compile(r"^\s*[A-Z_]*EXTENSIONS\s*=", re.MULTILINE)
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if p.name != "formats.py" and own.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_groups():
    assert formats.has_extension("A/B.PARQUET", formats.VALUE_TABLE_EXTENSIONS)
    assert not formats.has_extension("notes.txt", formats.TEXT_TABLE_EXTENSIONS)
    # for tag, a file is a table of labelled steps or a record without labels, never both
    assert not set(formats.RECORD_ONLY_EXTENSIONS) & set(formats.SIGNAL_TAG_EXTENSIONS)
    assert set(formats.RECORD_EXTENSIONS) == set(formats.RECORD_ONLY_EXTENSIONS) | set(formats.VALUE_TABLE_EXTENSIONS)
    # UCR text files need format="ucr": not found as labelled sequences on their own
    assert not set(formats.UCR) & set(formats.LABELLED_EXTENSIONS)


def test_the_series_reader_takes_exactly_its_extensions(tmp_path):
    from rnnkit.data.series import _format_of

    for ext in formats.SERIES_EXTENSIONS:
        assert _format_of(tmp_path / f"x{ext.upper()}", "--data") in ("csv", "parquet", "npy", "npz")
    with pytest.raises(UsageError, match=re.escape(", ".join(formats.SERIES_EXTENSIONS))):
        _format_of(tmp_path / "x.jsonl", "--data")


def test_the_record_reader_names_every_record_extension(tmp_path):
    from rnnkit.data.signals import read_record

    path = tmp_path / "x.xyz"
    path.write_text("1\n")
    with pytest.raises(UsageError, match=re.escape(", ".join(formats.RECORD_EXTENSIONS))):
        read_record(path)
