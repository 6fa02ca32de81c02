"""rnnkit train classify on real-valued sequences: what the label depends on is how far
apart two events are, which the past values taken as independent features (the
window-logistic baseline) cannot see, since the events move."""

import json

import numpy as np

from rnnkit.cli import main
from rnnkit.training import load_run


def two_bumps(n, seed, length=60):
    """Two equal bumps (+1 for 3 steps) in noise; the label is "close" when they are
    4-10 steps apart, "far" when 16-22. Where the pair sits is random, so a weighted
    sum of the values (a linear model on the flattened sequence) adds up one term per
    bump and cannot measure the distance between them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, length, 1)).astype(np.float32)
    y = []
    for i in range(n):
        close = i % 2 == 0
        gap = rng.integers(4, 11) if close else rng.integers(16, 23)
        a = rng.integers(0, length - 3 - gap)
        for p in (a, a + gap):
            x[i, p:p + 3, 0] += 1.0
        y.append("close" if close else "far")
    return x, np.array(y)


def test_the_distance_between_events_is_what_the_rnn_sees(tmp_path, capsys):
    x, y = two_bumps(1200, 0)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    x, y = two_bumps(300, 1)
    np.savez(tmp_path / "valid.npz", x=x, y=y)
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(tmp_path / "train.npz"), "--valid", str(tmp_path / "valid.npz"),
                 "--out", str(run), "--no-progress-bar", "--accelerator", "cpu", "--cell", "gru",
                 "--num-layers", "1", "--hidden-size", "32", "--batch-size", "32", "--lr", "0.01",
                 "--dropout", "0", "--max-epochs", "12", "--early-stopping-patience", "null"]) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["validation"]["accuracy"] > 0.9, m["validation"]
    assert m["baseline"]["model"] == "window_logistic"
    assert m["baseline"]["validation"]["accuracy"] < 0.7, m["baseline"]
    module, _ = load_run(run)
    assert module.kind == "signal" and len(module.channels) == 1

    # the baseline is kept in the run and evaluated beside the RNN on any file
    assert (run / "baseline.npz").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "valid.npz"), "--baseline", "--json"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["accuracy"] == m["validation"]["accuracy"]
    assert e["baseline"]["model"] == "window_logistic"
    assert e["baseline"]["accuracy"] == m["baseline"]["validation"]["accuracy"]
    assert main(["evaluate", str(run), "--data", str(tmp_path / "valid.npz"), "--baseline"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["rnn", "window_logistic"]
    assert table[2].split()[0] == "accuracy" and float(table[2].split()[2]) == round(e["baseline"]["accuracy"], 4)
