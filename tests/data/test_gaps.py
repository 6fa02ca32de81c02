"""The one gap filler: each policy on known numbers, both leading-gap behaviours, and
infinities as gaps (the tagging reader) or as values (the series reader)."""

import numpy as np
import pytest

from rnnkit.data.gaps import MissingValues, fill_gaps

NAN, INF = np.nan, np.inf


def test_policies_on_known_numbers():
    x = np.array([1.0, NAN, NAN, 4.0, NAN])
    np.testing.assert_array_equal(fill_gaps(x, "ffill"), [1, 1, 1, 4, 4])
    np.testing.assert_array_equal(fill_gaps(x, "interpolate"), [1, 2, 3, 4, 4])   # end: the nearest value
    np.testing.assert_array_equal(fill_gaps(x, "zero"), [1, 0, 0, 4, 0])
    clean = np.array([1.0, 2.0])
    assert fill_gaps(clean, None) is clean                    # nothing missing: the array itself


def test_a_leading_gap_is_refused_or_filled_backwards():
    x = np.array([NAN, NAN, 3.0, NAN, 5.0])
    with pytest.raises(MissingValues) as err:
        fill_gaps(x, "ffill")
    assert (err.value.kind, err.value.index, err.value.count) == ("leading", 0, 3)
    np.testing.assert_array_equal(fill_gaps(x, "ffill", leading="backfill"), [3, 3, 3, 3, 5])
    np.testing.assert_array_equal(fill_gaps(x, "interpolate"), [3, 3, 3, 4, 5])


def test_infinities_are_gaps_only_when_asked():
    x = np.array([[1.0, 2.0], [INF, NAN], [3.0, -INF]], dtype=np.float32)
    filled = fill_gaps(x, "ffill", leading="backfill", infinite=True)
    assert filled.dtype == np.float32
    np.testing.assert_array_equal(filled, [[1, 2], [1, 2], [3, 2]])
    kept = fill_gaps(x, "zero")                               # NaN only: the infinities stay
    np.testing.assert_array_equal(kept, [[1, 2], [INF, 0], [3, -INF]])


def test_errors_name_the_column_and_the_first_gap():
    x = np.array([[1.0, 1.0], [2.0, NAN], [3.0, NAN]])
    with pytest.raises(MissingValues) as err:
        fill_gaps(x, None)
    assert (err.value.kind, err.value.column, err.value.index, err.value.count) == ("missing", 1, 1, 2)
    with pytest.raises(MissingValues) as err:
        fill_gaps(np.array([[1.0, NAN], [2.0, NAN]]), "interpolate")
    assert (err.value.kind, err.value.column) == ("empty", 1)
    with pytest.raises(ValueError, match="expected leading refuse or backfill, got 'skip'"):
        fill_gaps(x, "ffill", leading="skip")
