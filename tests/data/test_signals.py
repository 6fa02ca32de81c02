"""Labelled sequences (UCR, .ts, .npz, .npy) and biosignal records (WFDB, EDF, .npy,
CSV): values read back against what was written, variable lengths, fill and
normalisation, channel selection, resampling, chunked reading, and the errors."""

import numpy as np
import pytest

from rnnkit.data.signals import (
    LabelledArrays,
    Record,
    iter_record_chunks,
    read_labelled_arrays,
    read_record,
    record_info,
)
from rnnkit.errors import UsageError


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# ---- UCR -------------------------------------------------------------------------------
UCR = "1\t0.5\t1.5\t2.5\t3.5\n2\t-1\t-2\tNaN\tNaN\n1\t4\t3\t2\t1\n"


def test_ucr_tsv_with_variable_length(tmp_path):
    path = write(tmp_path / "Toy_TRAIN.tsv", UCR)
    data = read_labelled_arrays([path], format="ucr")
    assert isinstance(data, LabelledArrays) and len(data) == 3
    assert data.labels == ["1", "2", "1"] and data.channels == ["0"]
    assert data.sources == [f"{path}:1", f"{path}:2", f"{path}:3"] and data.files == [str(path)]
    np.testing.assert_array_equal(data.x[0], np.array([[0.5], [1.5], [2.5], [3.5]], np.float32))
    assert data.x[1].shape == (2, 1) and data.x[1].dtype == np.float32   # trailing NaNs: a shorter series
    np.testing.assert_array_equal(data.x[1][:, 0], [-1, -2])


def test_ucr_commas_spaces_and_interior_gaps(tmp_path):
    write(tmp_path / "c.csv", "a,1,,3\nb,2,4,6\n")               # an empty field inside: missing
    with pytest.raises(UsageError) as err:
        read_labelled_arrays(tmp_path / "c.csv", format="ucr")
    assert str(err.value) == (f"data.data: {tmp_path / 'c.csv'}:1: 1 missing value inside the sequence, the first at "
                              f"step 2; pass data.fill ffill|interpolate|zero")
    data = read_labelled_arrays(tmp_path / "c.csv", format="ucr", fill="interpolate")
    np.testing.assert_array_equal(data.x[0][:, 0], [1, 2, 3])
    write(tmp_path / "s.txt", "a 1 2\nb  3 4\n")
    assert read_labelled_arrays(tmp_path / "s.txt", format="ucr").x[1][:, 0].tolist() == [3, 4]


def test_ucr_errors(tmp_path):
    write(tmp_path / "bad.tsv", "1\t1\t2\n2\t3\tabc\n")
    with pytest.raises(UsageError, match=r"bad\.tsv:2: field 3: expected a number, got 'abc'"):
        read_labelled_arrays(tmp_path / "bad.tsv", format="ucr")
    write(tmp_path / "one.tsv", "1\t1\t2\n1\t3\t4\n")
    with pytest.raises(UsageError, match=r"expected at least 2 classes, got only '1' \(in '.*one\.tsv'\)"):
        read_labelled_arrays(tmp_path / "one.tsv", format="ucr")
    assert read_labelled_arrays(tmp_path / "one.tsv", format="ucr", min_classes=1).labels == ["1", "1"]
    write(tmp_path / "lonely.tsv", "1\n")
    with pytest.raises(UsageError, match=r"lonely\.tsv:1: expected a label and then the series' values, got "
                                         r"only '1'"):
        read_labelled_arrays(tmp_path / "lonely.tsv", format="ucr")
    with pytest.raises(UsageError, match=r"only with data.format ucr"):
        read_labelled_arrays(tmp_path / "one.tsv")                 # never guessed
    with pytest.raises(UsageError, match=r"is empty"):
        read_labelled_arrays(write(tmp_path / "e.tsv", "\n\n"), format="ucr")
    with pytest.raises(UsageError, match=r"data.format: 'csv' is not a format of labelled sequences"):
        read_labelled_arrays(tmp_path / "one.tsv", format="csv")


# ---- .ts -------------------------------------------------------------------------------
TS = """# A toy problem: two dimensions, cases of different lengths.
@problemName Toy
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
1.0,2.0,3.0:4.0,5.0,6.0:up

0.5,0.25:-1,-2:down
1,?,3,4:1,2,3,4:up
"""


def test_ts_multivariate_variable_length(tmp_path):
    path = write(tmp_path / "Toy_TRAIN.ts", TS)
    with pytest.raises(UsageError, match=r"Toy_TRAIN\.ts:13: channel .0.: 1 missing value inside the sequence, the first at "
                                         r"step 2; pass data.fill"):
        read_labelled_arrays(path)
    data = read_labelled_arrays(path, fill="ffill")
    assert data.labels == ["up", "down", "up"] and data.channels == ["0", "1"]
    assert data.sources == [f"{path}:10", f"{path}:12", f"{path}:13"]
    assert [a.shape for a in data.x] == [(3, 2), (2, 2), (4, 2)]
    np.testing.assert_array_equal(data.x[0], [[1, 4], [2, 5], [3, 6]])          # (C, T) -> (T, C)
    np.testing.assert_array_equal(data.x[2][:, 0], [1, 1, 3, 4])                 # '?' forward-filled


def test_ts_errors_name_the_line(tmp_path):
    bad = write(tmp_path / "bad.ts", TS.replace("0.5,0.25", "0.5,oops"))
    with pytest.raises(UsageError, match=r"bad\.ts:12: expected a number, got 'oops'"):
        read_labelled_arrays(bad, fill="zero")
    dims = write(tmp_path / "dims.ts", TS.replace("0.5,0.25:-1,-2:down", "0.5,0.25:down"))
    with pytest.raises(UsageError, match=r"dims\.ts:12: .*dimensions"):
        read_labelled_arrays(dims, fill="zero")
    two = write(tmp_path / "Two.ts", TS.replace("@dimensions 2", "@dimensions 1")
                .replace(":4.0,5.0,6.0", "").replace(":-1,-2", "").replace(":1,2,3,4", ""))
    with pytest.raises(UsageError, match=r"channels that differ between files: 2 \('0', '1'\) in '.*Toy\.ts', "
                                         r"1 \('0'\) in '.*Two\.ts'"):
        read_labelled_arrays([write(tmp_path / "Toy.ts", TS), two], fill="zero")


def test_aeon_bundled_ts_file_reads():
    import os

    import aeon

    path = os.path.join(os.path.dirname(aeon.__file__), "datasets", "data", "BasicMotions", "BasicMotions_TRAIN.ts")
    data = read_labelled_arrays(path)
    assert len(data) == 40 and data.x[0].shape == (100, 6)
    assert set(data.labels) == {"Standing", "Running", "Walking", "Badminton"}   # as written (aeon lowercases)


# ---- .npz / .npy -----------------------------------------------------------------------
def test_npz_with_lengths_channels_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 6, 3))
    y = np.array([0, 1, 1, 0])
    np.savez(tmp_path / "d.npz", X=x, Y=y, lengths=np.array([6, 2, 4, 1]), channels=np.array(["ax", "ay", "az"]))
    data = read_labelled_arrays(tmp_path / "d.npz")
    assert data.labels == ["0", "1", "1", "0"] and data.channels == ["ax", "ay", "az"]
    assert [a.shape for a in data.x] == [(6, 3), (2, 3), (4, 3), (1, 3)]
    np.testing.assert_allclose(data.x[2], x[2, :4].astype(np.float32))
    assert data.sources[3] == f"{tmp_path / 'd.npz'}[3]"


def test_npz_2d_trailing_nan_and_normalize(tmp_path):
    x = np.array([[1.0, 2.0, 3.0, np.nan], [5.0, 5.0, 5.0, 5.0]])
    np.savez(tmp_path / "u.npz", x=x, y=np.array(["a", "b"]))
    data = read_labelled_arrays(tmp_path / "u.npz", normalize=True)
    assert data.channels == ["0"] and data.x[0].shape == (3, 1)
    z = np.array([-1.0, 0.0, 1.0]) / np.std([1.0, 2.0, 3.0])
    np.testing.assert_allclose(data.x[0][:, 0], z, rtol=1e-6)
    np.testing.assert_array_equal(data.x[1][:, 0], [0, 0, 0, 0])                 # constant: centred only


def test_npz_and_npy_errors(tmp_path):
    np.savez(tmp_path / "nox.npz", data=np.zeros((2, 3)))
    with pytest.raises(UsageError, match=r"has no array 'x'; expected x \(N, T, C\) or \(N, T\) and y \(N,\), "
                                         r"got arrays: 'data'"):
        read_labelled_arrays(tmp_path / "nox.npz")
    np.savez(tmp_path / "noy.npz", x=np.zeros((2, 3)))
    with pytest.raises(UsageError, match=r"has no array 'y'"):
        read_labelled_arrays(tmp_path / "noy.npz")
    unlabelled = read_labelled_arrays(tmp_path / "noy.npz", labels_required=False)
    assert unlabelled.labels is None and len(unlabelled) == 2
    np.savez(tmp_path / "ylen.npz", x=np.zeros((2, 3)), y=np.zeros(3))
    with pytest.raises(UsageError, match=r"expected y of shape \(2,\)"):
        read_labelled_arrays(tmp_path / "ylen.npz")
    np.save(tmp_path / "x.npy", np.ones((3, 5, 2)))
    with pytest.raises(UsageError, match=r"holds sequences without labels \(\.npy\)"):
        read_labelled_arrays(tmp_path / "x.npy")
    data = read_labelled_arrays(tmp_path / "x.npy", labels_required=False)
    assert data.labels is None and data.channels == ["0", "1"] and data.x[0].shape == (5, 2)
    np.savez(tmp_path / "c3.npz", x=np.zeros((2, 3, 3)), y=np.array([0, 1]))
    np.savez(tmp_path / "c1.npz", x=np.zeros((2, 3)), y=np.array([0, 1]))
    with pytest.raises(UsageError, match=r"channels that differ between files"):
        read_labelled_arrays([tmp_path / "c3.npz", tmp_path / "c1.npz"])
    with pytest.raises(UsageError, match=r"unknown extension '\.h5'"):
        read_labelled_arrays(write(tmp_path / "d.h5", "x"))


# ---- records: WFDB ---------------------------------------------------------------------
def sine_record(tmp_path, fs=360, seconds=10):
    import wfdb

    t = np.arange(fs * seconds) / fs
    sig = np.stack([np.sin(2 * np.pi * 5 * t), 0.5 * np.cos(2 * np.pi * 12 * t)], axis=1)
    wfdb.wrsamp("100", fs=fs, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=sig, fmt=["16", "16"],
                write_dir=str(tmp_path))
    return tmp_path / "100", sig


def peak_hz(x: np.ndarray, fs: float) -> float:
    spectrum = np.abs(np.fft.rfft(x - x.mean()))
    return float(np.fft.rfftfreq(len(x), 1 / fs)[np.argmax(spectrum)])


def test_wfdb_read_select_resample(tmp_path):
    base, sig = sine_record(tmp_path)
    for path in (base, tmp_path / "100.hea", tmp_path / "100.dat"):
        rec = read_record(path)
        assert isinstance(rec, Record) and rec.fs == 360.0 and rec.channels == ["MLII", "V5"]
        assert rec.signal.shape == (3600, 2) and rec.signal.dtype == np.float32
        assert rec.source == str(tmp_path / "100.hea")
        np.testing.assert_allclose(rec.signal, sig, atol=1e-3)        # 16-bit quantisation
    rec = read_record(base, channels=["V5", "MLII"])
    assert rec.channels == ["V5", "MLII"]
    np.testing.assert_allclose(rec.signal[:, 0], sig[:, 1], atol=1e-3)
    half = read_record(base, channels=["MLII"], resample=180)
    assert half.fs == 180.0 and half.signal.shape == (1800, 1)
    assert peak_hz(half.signal[:, 0], half.fs) == pytest.approx(5.0, abs=0.1)
    both = read_record(base, resample=180)
    assert peak_hz(both.signal[:, 1], 180) == pytest.approx(12.0, abs=0.1)
    odd = read_record(base, resample=250)                         # 360 -> 250: up 25, down 36
    assert odd.fs == 250.0 and odd.signal.shape == (2500, 2)
    info = record_info(base, channels=["V5"])
    assert (info.fs, info.channels, info.length) == (360.0, ["V5"], 3600)


def test_wfdb_errors(tmp_path):
    base, _ = sine_record(tmp_path)
    with pytest.raises(UsageError, match=r"data.channels: '.*100\.hea' has no channel 'II'; its channels are: "
                                         r"'MLII', 'V5'"):
        read_record(base, channels=["II"])
    with pytest.raises(UsageError, match=r"data.resample: expected a positive rate"):
        read_record(base, resample=0)
    (tmp_path / "100.dat").unlink()
    with pytest.raises(UsageError) as err:
        read_record(tmp_path / "100.hea")
    assert str(err.value) == f"data.data: {str(tmp_path / '100.hea')!r}: signal file '100.dat' is missing"
    with pytest.raises(UsageError, match=r"does not exist"):
        read_record(tmp_path / "200")


# ---- records: EDF ----------------------------------------------------------------------
def write_edf(path, rates, seconds=4):
    import pyedflib.highlevel as hl

    signals, headers = [], []
    for k, fs in enumerate(rates):
        t = np.arange(fs * seconds) / fs
        signals.append(50 * np.sin(2 * np.pi * (k + 2) * t))
        headers += hl.make_signal_headers([f"ch{k}"], sample_frequency=fs, physical_min=-100, physical_max=100)
    hl.write_edf(str(path), signals, headers)
    return signals


def test_edf_read_and_rates(tmp_path):
    path = tmp_path / "rec.edf"
    signals = write_edf(path, [128, 128])
    rec = read_record(path)
    assert rec.fs == 128.0 and rec.channels == ["ch0", "ch1"] and rec.signal.shape == (512, 2)
    np.testing.assert_allclose(rec.signal, np.stack(signals, 1), atol=0.01)
    assert peak_hz(read_record(path, resample=64).signal[:, 1], 64) == pytest.approx(3.0, abs=0.3)
    mixed = tmp_path / "mixed.edf"
    write_edf(mixed, [128, 32])
    with pytest.raises(UsageError, match=r"channels at different sample rates \('ch0' 128 Hz, 'ch1' 32 Hz\); "
                                         r"expected one rate: pass data.channels"):
        read_record(mixed)
    rec = read_record(mixed, channels=["ch1"])
    assert rec.fs == 32.0 and rec.signal.shape == (128, 1)
    with pytest.raises(UsageError, match=r"is not a readable EDF/BDF file"):
        read_record(write(tmp_path / "fake.edf", "not an edf"))


# ---- records: npy / CSV, chunks --------------------------------------------------------
def test_npy_and_csv_records(tmp_path):
    a = np.arange(12, dtype=np.float64).reshape(6, 2)
    np.save(tmp_path / "r.npy", a)
    rec = read_record(tmp_path / "r.npy", channels=["1"])
    assert rec.fs == 1.0 and rec.channels == ["1"]
    np.testing.assert_array_equal(rec.signal[:, 0], a[:, 1])
    with pytest.raises(UsageError, match=r"data.resample: .* has no sample rate"):
        read_record(tmp_path / "r.npy", resample=2)
    write(tmp_path / "r.csv", "time,ecg,resp\n0,1,2\n1,3,4\n2,5,6\n")
    rec = read_record(tmp_path / "r.csv", channels=["resp", "ecg"])
    np.testing.assert_array_equal(rec.signal, [[2, 1], [4, 3], [6, 5]])
    write(tmp_path / "g.csv", "ecg\n1\n\n2\nx\n")
    with pytest.raises(UsageError, match=r"column 'ecg', row 5: expected a number, got 'x'"):
        read_record(tmp_path / "g.csv")
    with pytest.raises(UsageError, match=r"unknown extension '\.wav'"):
        read_record(write(tmp_path / "a.wav", "x"))


def test_chunks_concatenate_to_the_whole_record(tmp_path):
    base, _ = sine_record(tmp_path)
    edf = tmp_path / "rec.edf"
    write_edf(edf, [128, 128])
    np.save(tmp_path / "r.npy", np.random.default_rng(0).normal(size=(1000, 3)))
    for path, kwargs in ((base, {}), (base, {"channels": ["V5"]}), (edf, {}), (tmp_path / "r.npy", {})):
        whole = read_record(path, **kwargs).signal
        pieces = list(iter_record_chunks(path, 333, **kwargs))
        assert [s for s, _ in pieces] == list(range(0, len(whole), 333))
        assert all(c.dtype == np.float32 and len(c) <= 333 for _, c in pieces)
        np.testing.assert_array_equal(np.concatenate([c for _, c in pieces]), whole)
    rec = read_record(base)
    np.testing.assert_array_equal(np.concatenate([c for _, c in iter_record_chunks(rec, 1000)]), rec.signal)
    with pytest.raises(UsageError, match="positive chunk size"):
        next(iter_record_chunks(rec, 0))
