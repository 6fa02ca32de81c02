"""The long-range lab end to end on tiny settings."""

import json
import re

import pytest

from rnnkit.cli import main
from rnnkit.lab.long_range import VARIANTS, LabConfig, applies, sizes_for
from rnnkit.nn.registry import CELL_NAMES


def test_adding_lab_end_to_end(tmp_path, capsys):
    out = tmp_path / "lab"
    assert main(["lab", "long-range", "--task", "adding", "--cells", "rnn,lstm", "--lengths", "4,8",
                 "--max-time", "5", "--max-steps", "30", "--hidden-size", "8", "--out", str(out), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [(r["cell"], r["length"]) for r in results] == [("rnn", 4), ("rnn", 8), ("lstm", 4), ("lstm", 8)]
    for r in results:
        assert r["metric"] == "mse" and r["baseline"] == pytest.approx(1 / 6)
        assert 0 < r["steps"] <= 30 and r["test"] >= 0
        assert 0 <= r["effective_memory"] <= r["length"] - 1
        assert r["solved"] == (r["test"] < 0.1 / 6)
        # the same weights tested at 2T, 4T and 8T
        assert list(r["generalisation"]) == ["2T", "4T", "8T"]
        assert all(v >= 0 for v in r["generalisation"].values())
    saved = json.loads((out / "long_range_adding.json").read_text())
    assert saved["results"] == results
    assert (out / "long_range_adding.png").read_bytes()[:4] == b"\x89PNG"


def test_copy_lab_with_remedies_that_apply_to_one_cell(tmp_path, capsys):
    assert main(["lab", "long-range", "--task", "copy", "--cells", "rnn,lstm,gru", "--lengths", "3",
                 "--variants", "irnn,forget_bias", "--max-time", "5", "--max-steps", "20", "--hidden-size", "8",
                 "--out", str(tmp_path)]) == 0
    table, summary = capsys.readouterr().out.split("solved under the same budget")
    rows = [line for line in table.splitlines() if line.startswith("| irnn") or line.startswith("| forget_bias")]
    assert [row.split("|")[1:3] for row in rows] == [[" irnn ", " rnn "], [" forget_bias ", " lstm "]]
    assert "test recall_accuracy" in table and "| 0.1250 |" in table   # chance: 1 / 8 symbols
    # which cells solve which lengths: one row per (variant, cell), one column per length
    assert "| variant | cell | T = 3 |" in summary
    got = [line.split("|")[1:4] for line in summary.splitlines() if line.startswith(("| irnn", "| forget"))]
    assert [g[:2] for g in got] == [[" irnn ", " rnn "], [" forget_bias ", " lstm "]]
    for g, row in zip(got, rows):
        solved, test = row.split("|")[6].strip(), float(row.split("|")[4])
        m = re.fullmatch(r" (yes|no) \((\d\.\d{3}); 8T: \d\.\d{3}\) ", g[2])
        assert m and m[1] == solved and abs(float(m[2]) - test) <= 0.0006


@pytest.mark.parametrize("args, message", [
    (["--task", "sorting"], "--task: expected one of adding, copy, selective-copy, got 'sorting'"),
    (["--task", "selective-copy", "--lengths", "4,8"], "--lengths: expected lengths of at least 5 for the selective"),
    (["--batch-size", "0"], "--batch-size: expected a positive integer, got 0"),
    (["--cells", "rnn,tcn"], f"--cells: expected names among {', '.join(CELL_NAMES)}, got 'tcn'"),
    (["--variants", "magic"], "--variants: expected names among"),
    (["--lengths", "1,4"], "--lengths: expected lengths of at least 2"),
    (["--max-time", "0"], "--max-time: expected a positive number of seconds"),
])
def test_bad_lab_options(tmp_path, capsys, args, message):
    assert main(["lab", "long-range", "--out", str(tmp_path / "lab"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "lab").exists()


def test_selective_copy_lab_and_its_generalisation(tmp_path, capsys):
    assert main(["lab", "long-range", "--task", "selective-copy", "--cells", "gru", "--lengths", "6",
                 "--max-time", "5", "--max-steps", "20", "--hidden-size", "8", "--out", str(tmp_path), "--json"]) == 0
    [r] = json.loads(capsys.readouterr().out)
    assert (r["task"], r["cell"], r["length"], r["metric"]) == ("selective-copy", "gru", 6, "recall_accuracy")
    assert r["baseline"] == pytest.approx(1 / 8) and 0 <= r["test"] <= 1 and r["solved"] == (r["test"] >= 0.9)
    assert list(r["generalisation"]) == ["2T", "4T", "8T"] and all(0 <= v <= 1 for v in r["generalisation"].values())
    # 20 steps of a GRU of 8 units do not recall (they learn first the blank that fills most steps)
    assert r["test"] < 0.3 and not r["solved"]
    assert 0 <= r["effective_memory"] <= 6 + 5 - 1
    assert r["sizes"] == {"batch_size": 64, "val_every": 50, "n_val": 512, "n_test": 1024, "n_generalise": 256}


def test_sizes_follow_the_length_past_256_steps():
    cfg = LabConfig()
    assert sizes_for(cfg, 200) == sizes_for(cfg, 256) == {"batch_size": 64, "val_every": 50, "n_val": 512,
                                                          "n_test": 1024, "n_generalise": 256}
    assert sizes_for(cfg, 1000) == {"batch_size": 16, "val_every": 50, "n_val": 131, "n_test": 262,
                                    "n_generalise": 65}
    assert sizes_for(cfg, 5000) == {"batch_size": 16, "val_every": 10, "n_val": 64, "n_test": 128,
                                    "n_generalise": 16}
    # set ones are kept
    fixed = LabConfig(batch_size=8, n_val=10, n_test=20, n_generalise=4, val_every=3)
    assert sizes_for(fixed, 5000) == {"batch_size": 8, "val_every": 3, "n_val": 10, "n_test": 20, "n_generalise": 4}


def test_variants_apply_to_the_cells_whose_layer_builds_with_them():
    assert all(applies("default", c) and applies("noclip", c) for c in CELL_NAMES)
    assert [c for c in CELL_NAMES if applies("irnn", c)] == ["rnn"]
    assert [c for c in CELL_NAMES if applies("forget_bias", c)] == ["lstm"]
    # orthogonal: every cell with a recurrent matrix W_hh
    from rnnkit.nn.registry import layer_class
    with_w_hh = [c for c in CELL_NAMES if hasattr(layer_class(c)(2, 2), "weight_hh_l0")]
    assert [c for c in CELL_NAMES if applies("orthogonal", c)] == with_w_hh
    assert set(VARIANTS) == {"default", "noclip", "orthogonal", "irnn", "forget_bias"}


def test_parallel_scan_cells_join_the_lab_by_the_registry(tmp_path, capsys):
    """Every registry cell beyond rnn, lstm, gru runs in the lab (its gradient flow read
    by the layer itself); "orthogonal", which initialises W_hh, is skipped for them."""
    from rnnkit.nn.registry import CLASSIC

    scan = [c for c in CELL_NAMES if c not in CLASSIC]
    assert scan and not any(applies("orthogonal", c) or applies("forget_bias", c) for c in scan)
    assert main(["lab", "long-range", "--task", "adding", "--cells", ",".join(scan), "--lengths", "6",
                 "--variants", "default,orthogonal", "--max-time", "5", "--max-steps", "10", "--hidden-size", "8",
                 "--out", str(tmp_path), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [(r["variant"], r["cell"]) for r in results] == [("default", c) for c in scan]
    for r in results:
        assert r["steps"] == 10 and 0 <= r["effective_memory"] <= 5 and r["test"] >= 0
        assert all(v >= 0 for v in r["generalisation"].values())
