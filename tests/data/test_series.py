"""Tables of series: CSV / Parquet / NumPy round trips, wide and long layouts, time
axes and their steps, fill policies, and the one-line errors with file, column, row."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.series import (
    MissingValues,
    Series,
    continue_time,
    fill_gaps,
    infer_step,
    read_series_table,
)
from rnnkit.errors import UsageError


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def wide_frame(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"date": pd.date_range("2021-03-01", periods=n, freq="D"),
                         "units": rng.normal(size=n).round(6), "price": rng.uniform(1, 2, size=n)})


# ---- round trips -----------------------------------------------------------------------
def test_wide_csv_round_trip(tmp_path):
    df = wide_frame()
    path = tmp_path / "sales.csv"
    df.to_csv(path, index=False)
    (s,) = read_series_table([path], columns=["price", "units"], time_column="date")
    assert isinstance(s, Series) and s.name == "sales" and s.source == str(path) and s.first_row == 2
    assert list(s.columns) == ["units", "price"]                     # the file's column order
    np.testing.assert_array_equal(s.columns["units"], df["units"].to_numpy())
    np.testing.assert_array_equal(s.columns["price"], df["price"].to_numpy())   # bit for bit
    assert s.time.dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(s.time, df["date"].to_numpy().astype("datetime64[ns]"))
    assert len(s) == 30 and s.columns["units"].dtype == np.float64


def test_columns_not_asked_for_are_left_out_and_no_time_column(tmp_path):
    path = write(tmp_path / "x.csv", "a,b,c\n1,2,3\n4,5,6\n")
    (s,) = read_series_table(path, columns=["c"])
    assert list(s.columns) == ["c"] and s.time is None
    np.testing.assert_array_equal(s.columns["c"], [3.0, 6.0])


def test_wide_parquet_round_trip(tmp_path):
    df = wide_frame()
    path = tmp_path / "sales.parquet"
    df.to_parquet(path, index=False)
    (s,) = read_series_table(path, columns=["units", "price"], time_column="date")
    np.testing.assert_array_equal(s.columns["units"], df["units"].to_numpy())
    np.testing.assert_array_equal(s.time, df["date"].to_numpy().astype("datetime64[ns]"))
    assert s.first_row == 1                                           # Parquet rows: 1-based index


def test_format_overrides_extension(tmp_path):
    df = wide_frame(5)
    path = tmp_path / "sales.data"
    df.to_parquet(path, index=False)
    (s,) = read_series_table(path, columns=["units"], format="parquet")
    np.testing.assert_array_equal(s.columns["units"], df["units"].to_numpy())


def test_long_layout_csv_and_parquet(tmp_path):
    rows = []
    for t in range(4):                       # interleaved: B appears first
        for sid, base in (("B", 100.0), ("A", 0.0)):
            rows.append({"store": sid, "t": t, "units": base + t, "extra": -1})
    df = pd.DataFrame(rows)
    csv = tmp_path / "long.csv"
    df.to_csv(csv, index=False)
    pq = tmp_path / "long.pq"
    df.to_parquet(pq, index=False)
    for path, first_rows in ((csv, (2, 3)), (pq, (1, 2))):
        got = read_series_table(path, columns=["units"], time_column="t", series_column="store")
        assert [s.name for s in got] == ["B", "A"]
        np.testing.assert_array_equal(got[0].columns["units"], [100, 101, 102, 103])
        np.testing.assert_array_equal(got[1].columns["units"], [0, 1, 2, 3])
        assert got[1].time.dtype == np.int64
        np.testing.assert_array_equal(got[1].time, [0, 1, 2, 3])
        assert (got[0].first_row, got[1].first_row) == first_rows


def test_long_ids_keep_leading_zeros_and_one_file_per_series(tmp_path):
    write(tmp_path / "a.csv", "id,v\n001,1\n001,2\n2,3\n")
    got = read_series_table(tmp_path / "a.csv", columns=["v"], series_column="id")
    assert [s.name for s in got] == ["001", "2"]
    write(tmp_path / "b.csv", "id,v\n2,4\n")
    with pytest.raises(UsageError, match=r"series '2' appears in '.*a\.csv' and in '.*b\.csv'"):
        read_series_table([tmp_path / "a.csv", tmp_path / "b.csv"], columns=["v"], series_column="id")


def test_several_files_folder_and_glob(tmp_path):
    for k in range(3):
        write(tmp_path / f"s{k}.csv", f"v\n{k}\n{k + 1}\n")
    write(tmp_path / "README.md", "not a table\n")
    got = read_series_table(tmp_path, columns=["v"])                # the README under the folder is skipped
    assert [s.name for s in got] == ["s0", "s1", "s2"]
    got = read_series_table(str(tmp_path / "s*.csv"), columns=["v"])
    np.testing.assert_array_equal(got[2].columns["v"], [2, 3])


def test_npy_and_npz(tmp_path):
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    np.save(tmp_path / "m.npy", x)
    (s,) = read_series_table(tmp_path / "m.npy", columns=["1"])
    np.testing.assert_array_equal(s.columns["1"], x[:, 1])
    np.save(tmp_path / "u.npy", x[:, 0])
    (s,) = read_series_table(tmp_path / "u.npy", columns=["0"])
    np.testing.assert_array_equal(s.columns["0"], x[:, 0])
    np.savez(tmp_path / "k.npz", load=x[:, 0], temp=x[:, 1], t=np.arange(10) * 5)
    (s,) = read_series_table(tmp_path / "k.npz", columns=["temp", "load"], time_column="t")
    assert list(s.columns) == ["load", "temp"]
    np.testing.assert_array_equal(s.time, np.arange(10) * 5)
    np.savez(tmp_path / "one.npz", data=x)
    (s,) = read_series_table(tmp_path / "one.npz", columns=["0", "1"])
    np.testing.assert_array_equal(s.columns["1"], x[:, 1])
    with pytest.raises(UsageError, match=r"'.*m\.npy' has no column '2' \(data.target\); its columns are: '0', '1'"):
        read_series_table(tmp_path / "m.npy", columns=["2"])
    np.savez(tmp_path / "bad.npz", a=np.zeros(3), b=np.zeros(4))
    with pytest.raises(UsageError, match=r"arrays of different lengths \('a' 3, 'b' 4\)"):
        read_series_table(tmp_path / "bad.npz", columns=["a"])


# ---- times -----------------------------------------------------------------------------
def test_time_columns_dates_numbers_and_offsets(tmp_path):
    write(tmp_path / "f.csv", "t,v\n0.5,1\n1.0,2\n1.5,3\n")
    (s,) = read_series_table(tmp_path / "f.csv", columns=["v"], time_column="t")
    assert s.time.dtype == np.float64 and infer_step(s.time) == pytest.approx(0.5)
    write(tmp_path / "d.csv", "t,v\n03/01/2020,1\n03/02/2020,2\n")       # US style, guessed format
    (s,) = read_series_table(tmp_path / "d.csv", columns=["v"], time_column="t")
    np.testing.assert_array_equal(s.time, np.array(["2020-03-01", "2020-03-02"], "datetime64[ns]"))
    write(tmp_path / "z.csv", "t,v\n2020-01-01T01:00+01:00,1\n2020-01-01T03:00+02:00,2\n")   # mixed offsets
    (s,) = read_series_table(tmp_path / "z.csv", columns=["v"], time_column="t")
    np.testing.assert_array_equal(s.time, np.array(["2020-01-01T00:00", "2020-01-01T01:00"], "datetime64[ns]"))


def test_infer_step_and_continue_time_daily_hourly_integer():
    days = np.arange("2020-01-01", "2020-01-06", dtype="datetime64[D]").astype("datetime64[ns]")
    assert infer_step(days) == np.timedelta64(1, "D")
    np.testing.assert_array_equal(continue_time(days, 2),
                                  np.array(["2020-01-06", "2020-01-07"], "datetime64[ns]"))
    hours = pd.date_range("2020-01-01", periods=4, freq="h").to_numpy()
    assert continue_time(hours, 1)[0] == np.datetime64("2020-01-01T04:00", "ns")
    ints = np.array([10, 13, 16], dtype=np.int64)
    assert infer_step(ints) == 3
    out = continue_time(ints, 3)
    assert out.dtype == np.int64 and out.tolist() == [19, 22, 25]
    assert continue_time(ints, 0).shape == (0,)


def test_monthly_steps_follow_the_calendar():
    starts = pd.date_range("2020-01-01", periods=5, freq="MS").to_numpy()    # 31, 29, 31, 30 days apart
    assert pd.Timestamp("2020-01-01") + infer_step(starts) == pd.Timestamp("2020-02-01")
    np.testing.assert_array_equal(continue_time(starts, 3),
                                  np.array(["2020-06-01", "2020-07-01", "2020-08-01"], "datetime64[ns]"))
    ends = pd.date_range("2019-10-31", periods=4, freq="ME").to_numpy()
    np.testing.assert_array_equal(continue_time(ends, 2), np.array(["2020-02-29", "2020-03-31"], "datetime64[ns]"))


def test_irregular_steps_are_an_error_naming_both_steps():
    t = np.array(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-06"], "datetime64[ns]")
    with pytest.raises(UsageError, match=r"expected a regular time step, got steps of 1 day and 2 days "
                                         r"\(from 2020-01-04 to 2020-01-06, rows 5 and 6\)"):
        infer_step(t, first_row=2)
    with pytest.raises(UsageError, match="steps of 1 and 2"):
        continue_time(np.array([1, 2, 4]), 2)
    with pytest.raises(UsageError, match="at least 2 times"):
        infer_step(np.array([1]))


# ---- fill ------------------------------------------------------------------------------
GAPPY = "t,v\n1,\n2,2\n3,\n4,\n5,8\n6,\n"        # v: NaN 2 NaN NaN 8 NaN (rows 2..7)


def test_fill_policies_against_hand_computed_values(tmp_path):
    path = write(tmp_path / "g.csv", GAPPY)
    got = {how: read_series_table(path, columns=["v"], fill=how)[0].columns["v"]
           for how in ("interpolate", "zero")}
    np.testing.assert_array_equal(got["interpolate"], [2, 2, 4, 6, 8, 8])
    np.testing.assert_array_equal(got["zero"], [0, 2, 0, 0, 8, 0])
    write(tmp_path / "h.csv", "v\n1\n\n\nNA\n5\nnan\n")   # blank lines are skipped, not missing
    (s,) = read_series_table(tmp_path / "h.csv", columns=["v"], fill="ffill")
    np.testing.assert_array_equal(s.columns["v"], [1, 1, 5, 5])


def test_fill_errors_name_file_column_and_row(tmp_path):
    path = write(tmp_path / "g.csv", GAPPY)
    with pytest.raises(UsageError) as err:
        read_series_table(path, columns=["v"])
    assert str(err.value) == (f"data.data: {str(path)!r}: column 'v' has 4 missing values, the first at row 2; "
                              f"pass data.fill ffill|interpolate|zero")
    with pytest.raises(UsageError, match=r"column 'v', row 2: missing value at the start of the series.*ffill"):
        read_series_table(path, columns=["v"], fill="ffill")
    write(tmp_path / "e.csv", "v,w\n,1\n,2\n")
    with pytest.raises(UsageError, match=r"column 'v' has no values \(2 missing\)"):
        read_series_table(tmp_path / "e.csv", columns=["v"], fill="zero")


def test_fill_is_per_series_in_the_long_layout(tmp_path):
    write(tmp_path / "l.csv", "id,v\na,1\nb,\nb,4\na,\n")
    got = read_series_table(tmp_path / "l.csv", columns=["v"], series_column="id", fill="interpolate")
    np.testing.assert_array_equal(got[0].columns["v"], [1, 1])      # not filled from series b
    np.testing.assert_array_equal(got[1].columns["v"], [4, 4])
    with pytest.raises(UsageError, match=r"series 'b': column 'v', row 3: missing value at the start"):
        read_series_table(tmp_path / "l.csv", columns=["v"], series_column="id", fill="ffill")


def test_fill_gaps_on_arrays():
    x = np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, np.nan]])
    np.testing.assert_array_equal(fill_gaps(x[:, :1], "ffill")[:, 0], [1, 1, 3])
    with pytest.raises(MissingValues) as err:
        fill_gaps(x, "ffill")
    assert (err.value.kind, err.value.column, err.value.index) == ("leading", 1, 0)
    np.testing.assert_array_equal(fill_gaps(x, "interpolate"), [[1, 2], [2, 2], [3, 2]])


# ---- errors ----------------------------------------------------------------------------
def test_non_numeric_value_names_file_column_and_line(tmp_path):
    lines = ["date,units"] + [f"2020-01-{d:02d},{d}" for d in range(1, 16)]
    lines[15] = "2020-01-15,n/a"                   # line 16 of the file
    path = write(tmp_path / "sales.csv", "\n".join(lines) + "\n")
    with pytest.raises(UsageError) as err:
        read_series_table(path, columns=["units"], time_column="date")
    assert str(err.value) == f"data.data: {str(path)!r}: column 'units', row 16: expected a number, got 'n/a'"
    write(tmp_path / "q.csv", 'name,v\n"two\nlines",1\n\nx,oops\n')   # a quoted line break and a blank line
    with pytest.raises(UsageError, match=r"column 'v', row 5: expected a number, got 'oops'"):
        read_series_table(tmp_path / "q.csv", columns=["v"])
    write(tmp_path / "inf.csv", "v\n1\ninf\n")
    with pytest.raises(UsageError, match=r"row 3: expected a finite number, got 'inf'"):
        read_series_table(tmp_path / "inf.csv", columns=["v"])


def test_missing_column_lists_the_columns(tmp_path):
    path = write(tmp_path / "s.csv", "date, units ,price\n2020-01-01,1,2\n")
    (s,) = read_series_table(path, columns=["units"])                 # header names are stripped
    assert s.columns["units"].tolist() == [1.0]
    with pytest.raises(UsageError, match=r"'.*s\.csv' has no column 'sales' \(data.target\); its columns are: "
                                         r"'date', 'units', 'price'$"):
        read_series_table(path, columns=["sales"])
    with pytest.raises(UsageError, match=r"no column 'when' \(data.time_column\)"):
        read_series_table(path, columns=["units"], time_column="when")


def test_time_errors_unparseable_unsorted_duplicate_missing(tmp_path):
    bad = write(tmp_path / "b.csv", "date,v\n2020-01-01,1\n2020-01-02,2\nyesterday,3\n")
    with pytest.raises(UsageError, match=r"column 'date', row 4: expected a number or a date, got 'yesterday'"):
        read_series_table(bad, columns=["v"], time_column="date")
    days = ["2020-01-01", "2020-01-02", "2020-01-04", "2020-01-05", "2020-01-06", "2020-01-07", "2020-01-05",
            "2020-01-03"]
    unsorted = write(tmp_path / "u.csv", "date,v\n" + "".join(f"{d},1\n" for d in days[:6]) + "2020-01-03,1\n")
    with pytest.raises(UsageError) as err:
        read_series_table(unsorted, columns=["v"], time_column="date")
    assert str(err.value) == (f"data.data: {str(unsorted)!r}: column 'date', row 8: time 2020-01-03 comes before "
                              f"2020-01-07 at row 7; expected increasing times")
    dup = write(tmp_path / "d.csv", "t,v\n1,1\n2,1\n2,1\n")
    with pytest.raises(UsageError, match=r"column 't': time 2 appears twice, at rows 3 and 4; expected one row "
                                         r"per time"):
        read_series_table(dup, columns=["v"], time_column="t")
    gap = write(tmp_path / "m.csv", "t,v\n1,1\n,1\n")
    with pytest.raises(UsageError, match=r"column 't', row 3: missing time"):
        read_series_table(gap, columns=["v"], time_column="t")
    # in the long layout, times are checked within each series only
    ok = write(tmp_path / "l.csv", "id,t,v\na,2,1\nb,1,1\na,3,1\nb,2,1\n")
    assert len(read_series_table(ok, columns=["v"], time_column="t", series_column="id")) == 2


def test_files_with_different_columns(tmp_path):
    a = write(tmp_path / "a.csv", "t,x,y\n1,1,1\n")
    b = write(tmp_path / "b.csv", "t,x,z\n1,1,1\n")
    with pytest.raises(UsageError) as err:
        read_series_table([a, b], columns=["x"])
    msg = str(err.value)
    assert "channels that differ between files" in msg and "\n" not in msg
    assert f"{str(a)!r} has 'y' that {str(b)!r} lacks" in msg and f"{str(b)!r} has 'z' that {str(a)!r} lacks" in msg


def test_file_level_errors(tmp_path):
    with pytest.raises(UsageError, match=r"is empty"):
        read_series_table(write(tmp_path / "e.csv", "\n"), columns=["v"])
    with pytest.raises(UsageError, match=r"has a header \('v', 'w'\) but no rows"):
        read_series_table(write(tmp_path / "h.csv", "v,w\n"), columns=["v"])
    with pytest.raises(UsageError, match=r"unknown extension '\.xlsx'; known: \.csv, \.tsv, \.tab, \.parquet, "
                                         r"\.pq, \.npy, \.npz"):
        read_series_table(write(tmp_path / "x.xlsx", "v\n1\n"), columns=["v"])
    latin = tmp_path / "l.csv"
    latin.write_bytes("v,caf\xe9\n1,2\n".encode("latin-1"))
    with pytest.raises(UsageError, match=r"'.*l\.csv' is not UTF-8 text \(byte 0xe9 at line 1"):
        read_series_table(latin, columns=["v"])
    with pytest.raises(UsageError, match=r"is not a Parquet file"):
        read_series_table(write(tmp_path / "p.parquet", "v\n1\n"), columns=["v"])
    with pytest.raises(UsageError, match=r"does not exist"):
        read_series_table(tmp_path / "none.csv", columns=["v"])
    with pytest.raises(UsageError, match=r"data.format: 'ucr' is not a table of series"):
        read_series_table(tmp_path / "h.csv", columns=["v"], format="ucr")
    with pytest.raises(UsageError, match=r"data.fill: expected one of ffill, interpolate, zero, got 'mean'"):
        read_series_table(tmp_path / "h.csv", columns=["v"], fill="mean")


def test_wide_files_need_distinct_names(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a" / "s.csv", "v\n1\n")
    write(tmp_path / "b" / "s.csv", "v\n1\n")
    with pytest.raises(UsageError, match=r"two files give series 's'"):
        read_series_table([tmp_path / "a" / "s.csv", tmp_path / "b" / "s.csv"], columns=["v"])


def test_every_error_is_one_line(tmp_path):
    path = write(tmp_path / "g.csv", GAPPY)
    for kwargs in ({"columns": ["v"]}, {"columns": ["nope"]}, {"columns": ["v"], "time_column": "v"}):
        with pytest.raises(UsageError) as err:
            read_series_table(path, **kwargs)
        assert "\n" not in str(err.value)
