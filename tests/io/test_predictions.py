"""The one prediction writer: CSV tables (row by row or a block of columns) and tokens
in the CoNLL layout, all written atomically."""

import csv

import pytest

from rnnkit.io.predictions import prediction_table, quote, write_prediction_table, write_token_predictions


def test_a_table_reads_back_with_the_csv_module(tmp_path):
    out = tmp_path / "preds.csv"
    rows = [["a.txt:2", "spam", "0.900000"], ['say "hi", then\nleave', "ham", "0.100000"]]
    assert write_prediction_table(out, ["source", "label", "p_spam"], rows) == 2
    with open(out, newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [["source", "label", "p_spam"], *rows]
    assert out.read_bytes().count(b"\r") == 0                 # "\n" line ends on every platform


def test_blocks_match_rows_written_one_by_one(tmp_path):
    sources = ["rec,1", 'q"x', "plain"]
    steps, probs = [0, 1, 2], [0.25, 1 / 3, 0.5]
    with prediction_table(tmp_path / "block.csv", ["source", "step", "p"]) as t:
        t.block([[quote(s) for s in sources], steps, probs], ["%s", "%d", "%.6f"])
    assert t.rows == 3
    write_prediction_table(tmp_path / "rows.csv", ["source", "step", "p"],
                           ([s, k, f"{p:.6f}"] for s, k, p in zip(sources, steps, probs)))
    assert (tmp_path / "block.csv").read_bytes() == (tmp_path / "rows.csv").read_bytes()
    with pytest.raises(ValueError, match="expected one format per column, got 1 formats for 2 columns"):
        with prediction_table(tmp_path / "bad.csv", ["a", "b"]) as t:
            t.block([[1], [2]], ["%d"])
    assert not (tmp_path / "bad.csv").exists()


def test_an_error_while_writing_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "preds.csv"
    out.write_text("old\n")

    def rows():
        yield ["a", "1"]
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError, match="model failed"):
        write_prediction_table(out, ["x", "y"], rows())
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["preds.csv"]


def test_tokens_in_the_conll_layout(tmp_path):
    out = tmp_path / "tags.txt"
    n = write_token_predictions(out, [[("EU", "B-ORG", "B-ORG"), ("rejects", "O", "O")], [("Peter", "B-PER")]])
    assert n == 3
    assert out.read_text(encoding="utf-8") == "EU\tB-ORG\tB-ORG\nrejects\tO\tO\n\nPeter\tB-PER\n\n"
