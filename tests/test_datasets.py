"""rnnkit.datasets and ``rnnkit datasets``: the bundled series are written as CSV whose
rows equal the package's data, the UCR/UEA files are copied byte for byte, nothing is
overwritten without being asked."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main
from rnnkit.datasets import export, list_datasets
from rnnkit.errors import UsageError
from tests.conftest import cli_fails as _fails


def _aeon_data() -> Path:
    import aeon

    return Path(aeon.__file__).parent / "datasets" / "data"


# --- the list ----------------------------------------------------------------------------

def test_list_has_the_forecast_series_and_the_ucr_sets():
    rows = list_datasets()
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names))
    assert {"co2", "sunspots", "nile", "elnino", "macrodata"} <= set(names)
    classify = [r for r in rows if r["kind"] == "classify"]
    assert len(classify) >= 3 and {"GunPoint", "ArrowHead", "BasicMotions"} <= {r["name"] for r in classify}
    assert {r["kind"] for r in rows} == {"forecast", "classify"}
    for r in rows:
        assert r["description"] and "\n" not in r["description"]
        assert r["package"] in r["description"] and r["installed"]
        assert r["commands"] and all(c.startswith("rnnkit train ") and "{dir}" in c for c in r["commands"])
    co2 = rows[names.index("co2")]
    assert (co2["target"], co2["time_column"], co2["season"], co2["fill"]) == ("co2", "date", 52, "interpolate")
    assert "--fill" in co2["description"] and "missing" in co2["description"]
    gp = rows[names.index("GunPoint")]
    assert (gp["train"], gp["test"]) == ("GunPoint_TRAIN.ts", "GunPoint_TEST.ts")


def test_every_listed_ucr_set_is_in_the_installed_aeon():
    for r in list_datasets():
        if r["kind"] == "classify":
            for name in r["files"]:
                assert list(_aeon_data().glob(f"*/{name}")), name


# --- forecasting series ------------------------------------------------------------------

def test_co2_rows_equal_statsmodels_with_missing_values_as_empty_cells(tmp_path):
    import statsmodels.api as sm

    paths = export("co2", tmp_path / "co2")
    assert paths == [tmp_path / "co2" / "co2.csv"]
    want = sm.datasets.co2.load_pandas().data
    got = pd.read_csv(paths[0])
    assert list(got.columns) == ["date", "co2"] and len(got) == len(want) == 2284
    assert (pd.to_datetime(got["date"]).to_numpy() == want.index.to_numpy()).all()
    np.testing.assert_array_equal(got["co2"].to_numpy(), want["co2"].to_numpy())   # NaN where NaN
    lines = paths[0].read_text().splitlines()
    assert lines[0] == "date,co2" and lines[1] == "1958-03-29,316.1"
    empty = [line for line in lines[1:] if line.endswith(",")]
    assert len(empty) == int(want["co2"].isna().sum()) == 59
    assert not list((tmp_path / "co2").glob(".*"))                     # no temporary file left


def test_elnino_table_becomes_a_monthly_series(tmp_path):
    import statsmodels.api as sm

    table = sm.datasets.elnino.load_pandas().data                      # YEAR, JAN..DEC
    got = pd.read_csv(export("elnino", tmp_path)[0])
    assert len(got) == 12 * len(table)
    assert got["date"].iloc[:3].tolist() == ["1950-01-01", "1950-02-01", "1950-03-01"]
    assert got["date"].iloc[-1] == "2010-12-01"
    np.testing.assert_array_equal(got["temperature"].iloc[12:24], table.iloc[1, 1:].to_numpy())  # 1951
    assert (pd.to_datetime(got["date"]).diff().dropna().dt.days.between(28, 31)).all()


def test_macrodata_dates_from_year_and_quarter(tmp_path):
    import statsmodels.api as sm

    want = sm.datasets.macrodata.load_pandas().data
    got = pd.read_csv(export("macrodata", tmp_path)[0])
    assert got["date"].iloc[:5].tolist() == ["1959-01-01", "1959-04-01", "1959-07-01", "1959-10-01", "1960-01-01"]
    assert list(got.columns) == ["date"] + [c for c in want.columns if c not in ("year", "quarter")]
    np.testing.assert_array_equal(got.iloc[:, 1:].to_numpy(), want.iloc[:, 2:].to_numpy())


def test_every_forecast_series_has_its_suggested_columns_and_increasing_time(tmp_path):
    for r in list_datasets():
        if r["kind"] != "forecast":
            continue
        df = pd.read_csv(export(r["name"], tmp_path / r["name"])[0])
        assert df.columns[0] == r["time_column"], r["name"]
        assert set(r["target"].split(",")) <= set(df.columns), r["name"]
        t = df[r["time_column"]]
        t = t if r["time_column"] == "year" else pd.to_datetime(t)
        assert t.is_monotonic_increasing and t.is_unique, r["name"]
        assert len(df) > r["input_length"] + r["horizon"], r["name"]
        assert df.drop(columns=r["time_column"]).isna().any().any() == (r["fill"] is not None), r["name"]


# --- UCR / UEA sets ----------------------------------------------------------------------

@pytest.mark.parametrize("name, files", [
    ("GunPoint", ["GunPoint_TRAIN.ts", "GunPoint_TEST.ts", "GunPoint_TRAIN.tsv"]),
    ("BasicMotions", ["BasicMotions_TRAIN.ts", "BasicMotions_TEST.ts"]),
    ("JapaneseVowels_eq", ["JapaneseVowels_eq_TRAIN.ts", "JapaneseVowels_eq_TEST.ts"]),
])
def test_ucr_files_are_copied_byte_for_byte(tmp_path, name, files):
    paths = export(name, tmp_path / "out")
    assert [p.name for p in paths] == files
    for p in paths:
        (src,) = _aeon_data().glob(f"*/{p.name}")
        assert p.read_bytes() == src.read_bytes()


def test_names_are_case_insensitive(tmp_path):
    assert [p.name for p in export("itALYpowerdemand", tmp_path)] == [
        "ItalyPowerDemand_TRAIN.ts", "ItalyPowerDemand_TEST.ts"]


# --- refusals ----------------------------------------------------------------------------

def test_existing_files_are_kept_unless_overwrite(tmp_path):
    (path,) = export("sunspots", tmp_path)
    path.write_text("mine\n")
    with pytest.raises(UsageError, match=re.escape(f"{str(path)!r} exists; pass --overwrite to replace it")):
        export("sunspots", tmp_path)
    assert path.read_text() == "mine\n"
    export("sunspots", tmp_path, overwrite=True)
    assert path.read_text().startswith("year,sunactivity\n1700,5.0\n")


def test_one_existing_file_and_nothing_is_written(tmp_path):
    (tmp_path / "GunPoint_TEST.ts").write_text("mine\n")
    with pytest.raises(UsageError, match="GunPoint_TEST.ts' exists"):
        export("GunPoint", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["GunPoint_TEST.ts"]


def test_unknown_name_lists_the_known_ones(tmp_path):
    with pytest.raises(UsageError, match=r"unknown dataset 'co3'; expected one of: co2, sunspots, .*GunPoint"):
        export("co3", tmp_path)
    assert not list(tmp_path.iterdir())


def test_missing_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "statsmodels", None)        # as if not installed
    with pytest.raises(ImportError) as err:
        export("co2", tmp_path / "x")
    assert isinstance(err.value, UsageError)
    assert str(err.value) == ("rnnkit: dataset 'co2' needs the datasets extra (statsmodels is not installed): "
                              "pip install 'rnnkit[datasets]'")
    assert not (tmp_path / "x").exists()
    assert [r["installed"] for r in list_datasets() if r["name"] == "co2"] == [False]


def test_a_file_where_the_folder_should_be(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError, match="exists and is not a folder"):
        export("nile", tmp_path / "f")


# --- the command line --------------------------------------------------------------------

def test_cli_list(capsys):
    assert main(["datasets", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == list_datasets()
    assert main(["datasets", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "kind", "description"]
    assert len(lines) == 1 + len(rows)
    assert any(line.split()[:2] == ["co2", "forecast"] for line in lines)
    assert any(line.split()[:2] == ["GunPoint", "classify"] for line in lines)


def test_cli_export_prints_the_files_and_the_suggested_command(capsys, tmp_path):
    out = tmp_path / "data" / "co2"
    assert main(["datasets", "export", "co2", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [str(out / "co2.csv")]
    assert f"rnnkit train forecast --data {out / 'co2.csv'} --target co2" in captured.err
    _fails(capsys, ["datasets", "export", "co2", str(out)], "co2.csv' exists; pass --overwrite to replace it")
    assert main(["datasets", "export", "co2", str(out), "--overwrite"]) == 0


def test_cli_errors(capsys, tmp_path):
    _fails(capsys, ["datasets", "export", "nope", str(tmp_path)], "unknown dataset 'nope'; expected one of: co2")
    _fails(capsys, ["datasets", "export", "co2"], "the following arguments are required: DIR")
    _fails(capsys, ["datasets", "remove"], "invalid choice: 'remove'")
    _fails(capsys, ["datasets"], "the following arguments are required: ACTION")
    assert not list(tmp_path.iterdir())
