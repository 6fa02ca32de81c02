"""rnnkit train tag on real-valued sequences: a label per step, from tables and .npz;
prediction over long records chunk by chunk with the recurrent state carried over."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.cli import main
from rnnkit.metrics import event_f1
from rnnkit.tasks.tag import TagTask
from rnnkit.training import load_run

FAST = ["--no-progress-bar", "--accelerator", "cpu", "--cell", "gru", "--num-layers", "1", "--hidden-size", "32",
        "--batch-size", "16", "--lr", "0.01", "--dropout", "0", "--early-stopping-patience", "null"]


def dip_spike(n, length, seed):
    """Noise with dips (-1 for 2 steps) and spikes (+1 for 3 steps) at random gaps. A
    spike's steps are labelled "spike" when a dip ended at most 10 steps before it,
    "other_spike" otherwise; every other step is "none". Both kinds of spike look the
    same: only what came before tells them apart, which no per-step threshold can."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.05, (n, length)).astype(np.float32)
    y = np.full((n, length), "none", dtype=object)
    for i in range(n):
        t, last_dip = int(rng.integers(0, 10)), None
        while t < length - 5:
            if rng.random() < 0.5:
                x[i, t:t + 2] -= 1.0
                last_dip = t + 2
                t += 2
            else:
                y[i, t:t + 3] = "spike" if last_dip is not None and t - last_dip < 10 else "other_spike"
                x[i, t:t + 3] += 1.0
                t += 3
            t += int(rng.integers(2, 12))
    return x, y.astype(str)


def write_table(path, x, y, labels=True):
    rows = {"rec": np.repeat([f"r{i}" for i in range(len(x))], x.shape[1]),
            "t": np.tile(np.arange(x.shape[1]), len(x)), "ecg": x.reshape(-1)}
    if labels:
        rows["label"] = y.reshape(-1)
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("tag_series")
    for name, n, seed in (("train", 60, 0), ("valid", 15, 1)):
        x, y = dip_spike(n, 400, seed)
        write_table(d / f"{name}.csv", x, y)
        np.savez(d / f"{name}.npz", x=x, y=y)
    return d


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    """A unidirectional GRU trained on the CSV (series and time columns); the schedule
    is pinned to the one the margins over the baseline below were measured with."""
    out = tmp_path_factory.mktemp("runs") / "uni"
    assert main(["train", "tag", "--data", str(data / "train.csv"), "--valid", str(data / "valid.csv"),
                 "--series-column", "rec", "--time-column", "t", "--out", str(out), *FAST, "--max-epochs", "40",
                 "--lr-schedule", "plateau", "--no-bidirectional"]) == 0
    return out


def test_the_label_of_a_spike_depends_on_what_came_before(run, data):
    m = json.loads((run / "metrics.json").read_text())["validation"]
    assert set(m) >= {"loss", "accuracy", "event_precision", "event_recall", "event_f1", "sequences", "steps"}
    assert m["sequences"] == 15 and m["steps"] == 15 * 400
    assert m["accuracy"] > 0.97, m
    assert m["event_f1"] > 0.9, m
    # a threshold on each step's value finds the spikes but cannot name them
    x, y = dip_spike(15, 400, 1)
    for name in ("spike", "other_spike"):
        rule = np.where(x > 0.5, name, "none")
        assert event_f1(list(y), list(rule), "none")["f1"] < 0.75
    module, _ = load_run(run)
    assert module.kind == "signal" and module.channels == ["ecg"] and module.background == "none"
    assert module.tags == ["none", "other_spike", "spike"] and not module.bidirectional


def test_predict_writes_a_row_per_step(run, data, tmp_path, capsys):
    out = tmp_path / "labels.csv"
    assert main(["predict", str(run), "--data", str(data / "valid.csv"), "--out", str(out)]) == 0
    p = pd.read_csv(out)
    assert list(p.columns) == ["source", "step", "time", "label", "p_none", "p_other_spike", "p_spike",
                               "true_label"]
    assert len(p) == 15 * 400
    assert p["source"].nunique() == 15 and p["source"].iloc[0].endswith("valid.csv[r0]")
    assert p["step"].iloc[:400].tolist() == list(range(400)) and p["time"].iloc[399] == 399
    assert np.allclose(p[["p_none", "p_other_spike", "p_spike"]].sum(axis=1), 1.0, atol=1e-5)
    assert (p["label"] == p["true_label"]).mean() > 0.97
    # without labels: no true_label column
    x, y = dip_spike(2, 300, 5)
    write_table(tmp_path / "new.csv", x, y, labels=False)
    assert main(["predict", str(run), "--data", str(tmp_path / "new.csv"), "--out", str(out), "--overwrite"]) == 0
    p = pd.read_csv(out)
    assert len(p) == 600 and "true_label" not in p.columns
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(data / "valid.csv"), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["steps"] == 6000 and m["event_f1"] > 0.9


def test_the_window_baseline_is_kept_and_evaluated_beside_the_model(run, data, capsys):
    b = json.loads((run / "metrics.json").read_text())["baseline"]
    assert b["model"] == "window_logistic" and (b["before"], b["after"]) == (31, 0)   # the past, as the model
    assert set(b) >= {"train", "validation"} and (run / "baseline.npz").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(data / "valid.csv"), "--baseline", "--json"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["baseline"]["model"] == "window_logistic" and e["baseline"]["steps"] == 6000
    for k in ("loss", "accuracy", "event_f1"):
        assert e["baseline"][k] == pytest.approx(b["validation"][k], rel=1e-6), k
    # a spike's name depends on a dip up to 10 steps earlier, inside the 32-step window,
    # yet the window's fixed weights per offset name fewer events right than the GRU
    assert e["event_f1"] > e["baseline"]["event_f1"] + 0.05, (e["event_f1"], e["baseline"]["event_f1"])
    assert main(["evaluate", str(run), "--data", str(data / "valid.csv"), "--baseline"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["rnn", "window_logistic"]
    row = dict((line.split()[0], line.split()[1:]) for line in table[1:])
    assert float(row["event_f1"][0]) == round(e["event_f1"], 4)
    assert float(row["event_f1"][1]) == round(e["baseline"]["event_f1"], 4)


def test_bidirectional_on_npz_in_windows_with_normalisation(data, tmp_path):
    run = tmp_path / "bi"
    assert main(["train", "tag", "--data", str(data / "train.npz"), "--out", str(run), *FAST, "--max-epochs", "12",
                 "--normalize", "--max-length", "150", "--valid-fraction", "0.2"]) == 0
    module, _ = load_run(run)
    pre = module.hparams["preprocessing"]
    assert module.bidirectional and module.window == 150 and module.channels == ["0"]
    x, _ = dip_spike(60, 400, 0)
    assert pre["data"]["train_sequences"] == 48 and pre["data"]["train_windows"] == 48 * 3
    assert pre["scale"]["mean"][0] == pytest.approx(float(x.mean()), abs=0.01)   # of the training part
    m = json.loads((run / "metrics.json").read_text())["validation"]
    assert m["event_f1"] > 0.8, m
    out = tmp_path / "labels.csv"
    assert main(["predict", str(run), "--data", str(data / "valid.npz"), "--out", str(out)]) == 0
    p = pd.read_csv(out)
    assert len(p) == 6000 and p["source"].iloc[-1].endswith("valid.npz[14]") and "time" not in p.columns


def tiny_task(bidirectional, cell="lstm", channels=("a", "b"), window=None, layers=2):
    config = {"task": "tag", "model": {"cell": cell, "hidden_size": 16, "num_layers": layers,
                                       "bidirectional": bidirectional, "dropout": 0.0}}
    pre = {"kind": "signal", "channels": list(channels), "tags": ["n", "x", "y"], "background": "n",
           "scale": {"mean": [0.5] * len(channels), "std": [2.0] * len(channels)}, "window": window}
    torch.manual_seed(0)
    return TagTask(config, pre).eval()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_chunked_prediction_equals_one_pass(cell, monkeypatch):
    import rnnkit.tasks.tag.module as tag

    monkeypatch.setattr(tag, "LONGEST_WHOLE", 1000)         # signal_probs streams what is longer
    monkeypatch.setattr(tag, "STREAM_CHUNK", 600)
    task = tiny_task(False, cell)
    x = np.random.default_rng(0).normal(size=(2500, 2)).astype(np.float32)
    chunks = (x[s:s + 777] for s in range(0, len(x), 777))          # 777 does not divide 2500
    streamed = np.concatenate(list(task.stream_probs(chunks)))
    with torch.no_grad():
        whole = torch.softmax(task.net(torch.from_numpy(task.prepare(x))[None], torch.tensor([2500]))[0], -1)
    assert streamed.shape == (2500, 3)
    np.testing.assert_allclose(streamed, whole.numpy(), atol=1e-5)
    # signal_probs streams what is longer than LONGEST_WHOLE in chunks of 600 and batches the rest
    batched = task.signal_probs([x[:100], x])
    np.testing.assert_allclose(batched[1], whole.numpy(), atol=1e-5)
    np.testing.assert_allclose(batched[0], streamed[:100], atol=1e-5)


def test_bidirectional_reads_consecutive_windows():
    task = tiny_task(True, window=400)
    x = np.random.default_rng(1).normal(size=(1000, 2)).astype(np.float32)
    streamed = np.concatenate(list(task.stream_probs(x[s:s + 333] for s in range(0, 1000, 333))))
    with torch.no_grad():
        parts = [torch.softmax(task.net(torch.from_numpy(task.prepare(x[s:s + 400]))[None],
                                        torch.tensor([len(x[s:s + 400])]))[0], -1) for s in (0, 400, 800)]
    np.testing.assert_allclose(streamed, torch.cat(parts).numpy(), atol=1e-5)


def test_long_sequences_are_cut_into_windows_and_one_file_is_split_in_time(tmp_path):
    x, y = dip_spike(1, 12_000, 3)
    pd.DataFrame({"ecg": x[0], "resp": -x[0], "label": y[0]}).to_csv(tmp_path / "long.csv", index=False)
    run = tmp_path / "run"
    rc = main(["train", "tag", "--data", str(tmp_path / "long.csv"), "--out", str(run), *FAST, "--max-epochs", "1"])
    assert rc == 2 and not run.exists()                   # longer than 10,000 steps: --max-length asked for
    assert main(["train", "tag", "--data", str(tmp_path / "long.csv"), "--out", str(run), *FAST,
                 "--max-epochs", "1", "--max-length", "1000", "--channels", "ecg", "--no-bidirectional"]) == 0
    module, _ = load_run(run)
    pre = module.hparams["preprocessing"]["data"]
    assert module.channels == ["ecg"]
    assert pre["train_steps"] == 11_400 and pre["train_windows"] == 12      # the last 5% held out, in windows
    m = json.loads((run / "metrics.json").read_text())
    assert m["validation"]["steps"] == 600 and m["train"]["steps"] == 11_400


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_bad_training_input_exits_2_and_writes_nothing(data, tmp_path, capsys):
    x, y = dip_spike(2, 50, 0)
    table = pd.DataFrame({"rec": np.repeat(["a", "b"], 50), "ecg": x.reshape(-1).astype(object),
                          "label": y.reshape(-1)})
    table.loc[57, "ecg"] = "12,5"                          # a decimal comma: line 59 of the file
    table.to_csv(tmp_path / "bad.csv", index=False)
    table.drop(columns="label").assign(ecg=x.reshape(-1)).to_csv(tmp_path / "nolabel.csv", index=False)
    run = tmp_path / "run"
    capsys.readouterr()
    for path, words in ((tmp_path / "bad.csv", ["bad.csv:59", "'ecg'", "expected a number", "'12,5'"]),
                        (tmp_path / "nolabel.csv", ["--label-column", "'label'", "nolabel.csv"])):
        assert main(["train", "tag", "--data", str(path), "--series-column", "rec", "--out", str(run), *FAST]) == 2
        line = _one_line_error(capsys)
        assert all(w in line for w in words), line
        assert not run.exists()
    assert main(["train", "tag", "--data", str(data / "train.csv"), "--valid", str(data / "valid.npz"),
                 "--series-column", "rec", "--out", str(run), *FAST]) == 2
    assert "channels" in _one_line_error(capsys) and not run.exists()


def test_predict_with_other_channels_exits_2_and_writes_nothing(run, data, tmp_path, capsys):
    x, y = dip_spike(1, 100, 0)
    pd.DataFrame({"rec": "a", "t": np.arange(100), "ECG_II": x[0]}).to_csv(tmp_path / "other.csv", index=False)
    np.save(tmp_path / "two.npy", np.stack([x[0], x[0]], 1))                # no names, 2 channels
    np.savez(tmp_path / "named.npz", x=x, channels=["ECG_II"])
    out = tmp_path / "labels.csv"
    capsys.readouterr()
    for path, theirs in ((tmp_path / "other.csv", "ECG_II"), (tmp_path / "two.npy", "0, 1"),
                         (tmp_path / "named.npz", "ECG_II")):
        assert main(["predict", str(run), "--data", str(data / "valid.csv"), str(path), "--out", str(out)]) == 2
        line = _one_line_error(capsys)
        assert "(ecg)" in line and theirs in line, line
        assert not out.exists() and not list(tmp_path.glob(".labels*"))   # no output, no temporary file
    # files without channel names are read in the model's order when the count matches
    np.save(tmp_path / "one.npy", x[0])
    assert main(["predict", str(run), "--data", str(tmp_path / "one.npy"), str(data / "valid.npz"),
                 "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 100 + 15 * 400


def test_missing_values_need_a_fill_policy(tmp_path, capsys):
    x, y = dip_spike(2, 60, 0)
    x[1, 7] = np.nan
    np.savez(tmp_path / "gaps.npz", x=x, y=y)
    run = tmp_path / "run"
    capsys.readouterr()
    assert main(["train", "tag", "--data", str(tmp_path / "gaps.npz"), "--out", str(run), *FAST,
                 "--max-epochs", "1", "--valid-fraction", "0.5"]) == 2
    line = _one_line_error(capsys)
    assert "gaps.npz[1]" in line and "step 7" in line and "--fill" in line and not run.exists()
    assert main(["train", "tag", "--data", str(tmp_path / "gaps.npz"), "--out", str(run), *FAST,
                 "--max-epochs", "1", "--valid-fraction", "0.5", "--fill", "ffill"]) == 0


def save_run(task, run):
    """A run directory holding ``task``'s weights, as training leaves one."""
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"hyper_parameters": dict(task.hparams), "state_dict": task.state_dict()},
               run / "checkpoints" / "best.ckpt")
    return run


def one_pass(task, x):
    with torch.no_grad():
        return torch.softmax(task.net(torch.from_numpy(task.prepare(x))[None], torch.tensor([len(x)]))[0], -1).numpy()


def test_predict_streams_a_record_chunk_by_chunk(tmp_path, monkeypatch):
    import rnnkit.tasks.tag.behaviour as tag_spec

    monkeypatch.setattr(tag_spec, "STREAM_CHUNK", 1000)          # 2,500 samples: chunks of 1000, 1000, 500
    task = tiny_task(False, channels=("0", "1"))
    run = save_run(task, tmp_path / "run")
    x = np.random.default_rng(2).normal(size=(2500, 2)).astype(np.float32)
    np.save(tmp_path / "rec.npy", x)
    out = tmp_path / "out" / "labels.csv"
    assert main(["predict", str(run), "--data", str(tmp_path / "rec.npy"), "--out", str(out)]) == 0
    p = pd.read_csv(out)
    assert list(p.columns) == ["source", "step", "label", "p_n", "p_x", "p_y"] and len(p) == 2500
    assert p["step"].tolist() == list(range(2500)) and p["source"].iloc[-1].endswith("rec.npy")
    np.testing.assert_allclose(p[["p_n", "p_x", "p_y"]].to_numpy(), one_pass(task, x), atol=1e-5)
    assert p["label"].tolist() == [task.tags[i] for i in one_pass(task, x).argmax(1)]
    assert [f.name for f in out.parent.iterdir()] == ["labels.csv"]          # no temporary file left
    assert main(["evaluate", str(run), "--data", str(tmp_path / "rec.npy")]) == 2     # no labels to score


def test_records_are_matched_to_the_model_by_channel_name(tmp_path, capsys):
    import pyedflib
    import wfdb

    x = np.random.default_rng(3).normal(size=(3000, 3)).astype(np.float64)
    wfdb.wrsamp("rec", fs=250, units=["mV"] * 3, sig_name=["MLII", "V1", "V5"], p_signal=x, fmt=["16"] * 3,
                write_dir=str(tmp_path))
    edf = pyedflib.EdfWriter(str(tmp_path / "rec.edf"), 3, file_type=pyedflib.FILETYPE_EDFPLUS)
    edf.setSignalHeaders([{"label": n, "dimension": "mV", "sample_frequency": 250, "physical_max": 10,
                           "physical_min": -10, "digital_max": 32767, "digital_min": -32768} for n in
                          ("MLII", "V1", "V5")])
    edf.writeSamples([np.ascontiguousarray(x[:, i]) for i in range(3)])
    edf.close()
    task = tiny_task(False, channels=("V5", "MLII"))
    run = save_run(task, tmp_path / "run")
    out = tmp_path / "labels.csv"
    for rec in ("rec.hea", "rec", "rec.edf"):
        assert main(["predict", str(run), "--data", str(tmp_path / rec), "--out", str(out), "--overwrite"]) == 0
        p = pd.read_csv(out)
        assert len(p) == 3000
        y = wfdb.rdrecord(str(tmp_path / "rec")).p_signal[:, [2, 0]].astype(np.float32)     # V5, MLII
        np.testing.assert_allclose(p[["p_n", "p_x", "p_y"]].to_numpy(), one_pass(task, y), atol=1e-3)
    other = save_run(tiny_task(False, channels=("V5", "II")), tmp_path / "other")
    out.unlink()
    capsys.readouterr()
    for rec in ("rec.hea", "rec.edf"):
        assert main(["predict", str(other), "--data", str(tmp_path / rec), "--out", str(out)]) == 2
        line = _one_line_error(capsys)
        assert "V5, II" in line and "MLII, V1, V5" in line, line
        assert not out.exists() and not list(tmp_path.glob(".labels*"))
