"""The long-range lab end to end on tiny settings."""

import json

import pytest

from rnnkit.cli import main


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
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| irnn") or line.startswith("| forget_bias")]
    assert [row.split("|")[1:3] for row in rows] == [[" irnn ", " rnn "], [" forget_bias ", " lstm "]]
    assert "test recall_accuracy" in table and "| 0.1250 |" in table   # chance: 1 / 8 symbols


@pytest.mark.parametrize("args, message", [
    (["--task", "sorting"], "--task: expected one of adding, copy, got 'sorting'"),
    (["--cells", "rnn,tcn"], "--cells: expected names among rnn, lstm, gru, mingru, minlstm, rglru, qrnn, got 'tcn'"),
    (["--variants", "magic"], "--variants: expected names among"),
    (["--lengths", "1,4"], "--lengths: expected lengths of at least 2"),
    (["--max-time", "0"], "--max-time: expected a positive number of seconds"),
])
def test_bad_lab_options(tmp_path, capsys, args, message):
    assert main(["lab", "long-range", "--out", str(tmp_path / "lab"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "lab").exists()
