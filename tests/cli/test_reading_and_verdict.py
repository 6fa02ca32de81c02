"""evaluate and predict take train's reading options (defaulting to the run's own), and
a run whose baseline beats it on validation says so in one line with what to try."""

import csv
import json

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.cli.main import verdict_line
from rnnkit.config import RunConfig
from rnnkit.training.verdict import baseline_verdict
from tests.conftest import tiny, cli_fails
from tests.tasks.text_data import topic_texts, write_csv


@pytest.fixture(scope="module")
def columns_run(tmp_path_factory):
    """A classify run trained on columns body/topic, for one optimiser step: the bag of
    words beside it learns these topics at once, the RNN cannot in one step."""
    d = tmp_path_factory.mktemp("reading")
    write_csv(d / "train.csv", topic_texts(120, 0), header=("body", "topic"))
    write_csv(d / "other.csv", topic_texts(30, 1), header=("content", "category"))
    run = d / "run"
    assert main(["train", "classify", "--data", str(d / "train.csv"), "--out", str(run), *tiny("classify"),
                 "--text-column", "body", "--label-column", "topic", "--max-steps", "1"]) == 0
    return d, run


def test_evaluate_and_predict_read_with_the_flags_given(columns_run, capsys):
    d, run = columns_run
    other = str(d / "other.csv")
    # the run's own columns by default: the other file has none of them
    cli_fails(capsys, ["evaluate", str(run), "--data", other], "body")
    assert main(["evaluate", str(run), "--data", other, "--json",
                 "--text-column", "content", "--label-column", "category"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["examples"] == 30
    out = d / "pred.csv"
    assert main(["predict", str(run), "--data", other, "--out", str(out), "--text-column", "content"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 30
    # the run itself is unchanged: its config still reads body/topic
    cfg = RunConfig.from_yaml(run / "config.yaml")
    assert (cfg.data.text_column, cfg.data.label_column) == ("body", "topic")
    # a reading flag is checked like train's
    capsys.readouterr()
    cli_fails(capsys, ["evaluate", str(run), "--data", other, "--fill", "sideways"], "fill")
    # and only reading options are accepted: what the model learned is not a flag here
    cli_fails(capsys, ["evaluate", str(run), "--data", other, "--hidden-size", "8"], "--hidden-size")


def test_evaluate_reads_another_format(tmp_path, capsys):
    """A run trained on .npz reads a UCR text file given --format ucr (its name says nothing)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 12, 1)).astype(np.float32)
    y = np.array(["a", "b"] * 20)
    x[y == "a"] += 2.0
    np.savez(tmp_path / "train.npz", x=x, y=y)
    lines = [",".join([lab] + [f"{v:.5f}" for v in row[:, 0]]) for row, lab in zip(x, y)]
    (tmp_path / "test.data").write_text("\n".join(lines) + "\n")
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(tmp_path / "train.npz"), "--out", str(run), *tiny("classify")]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "test.data"), "--json"]) == 2   # the run's npz
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "test.data"), "--format", "ucr", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["examples"] == 40


def test_a_run_that_loses_to_its_baseline_says_so(columns_run):
    _, run = columns_run
    m = json.loads((run / "metrics.json").read_text())
    v = m["baseline_wins"]
    assert v["baseline"] == "bow" and v["metric"] == "accuracy"
    assert v["baseline_value"] == m["baseline"]["validation"]["accuracy"] > v["rnn"] == m["validation"]["accuracy"]
    line = verdict_line(v)
    assert "\n" not in line and line.startswith("note: the baseline bow beats the RNN on validation accuracy")
    # the rest of the text recipe, as flags, and more time; what the defaults do already is left out
    for flag in ("--embedding-size 128", "a longer --max-time"):     # the run set an embedding of 8
        assert flag in line, line
    for flag in ("--bidirectional", "--head", "--lowercase", "--min-freq", "--num-layers", "--dropout"):
        assert flag not in line, line


def _cfg(task, **sections):
    return RunConfig.from_dict({"task": task, **sections})


def test_verdict_compares_on_the_main_metric_in_the_right_direction():
    # classify: higher accuracy wins; a run that beats its baseline gets no verdict
    m = {"validation": {"accuracy": 0.9}, "baseline": {"model": "bow", "validation": {"accuracy": 0.8}}}
    assert baseline_verdict("classify", m, _cfg("classify"), "text") is None
    m["baseline"]["validation"]["accuracy"] = 0.95
    assert baseline_verdict("classify", m, _cfg("classify"), "text")["baseline_value"] == 0.95
    # forecast: lower MASE wins, the best of several baselines is named, NaN is skipped
    m = {"validation": {"mase": 1.2, "baselines": {"naive": {"mase": 1.5}, "seasonal_naive": {"mase": 0.9},
                                                   "window_ridge": {"mase": float("nan")}}}}
    v = baseline_verdict("forecast", m, _cfg("forecast", data={"season": 12, "input_length": 12}))
    assert v["baseline"] == "seasonal_naive" and v["rnn"] == 1.2 and not v["higher_is_better"]
    assert v["try"]["data.input_length"] == 24
    assert "model.window_norm" not in v["try"]          # null: not yet chosen
    on = _cfg("forecast", data={"season": 12, "input_length": 24}, model={"window_norm": True})
    assert baseline_verdict("forecast", m, on)["try"]["model.window_norm"] is False   # the other reading
    m["validation"]["mase"] = 0.8
    assert baseline_verdict("forecast", m, _cfg("forecast")) is None
    # no baseline, or a task without one: nothing to say
    assert baseline_verdict("classify", {"validation": {"accuracy": 0.1}}, _cfg("classify")) is None
    assert baseline_verdict("lm", {"validation": {"loss": 9.0}}, _cfg("lm")) is None


def test_verdict_suggests_only_what_the_run_does_not_already_do():
    m = {"validation": {"accuracy": 0.3}, "baseline": {"model": "bow", "validation": {"accuracy": 0.9}}}
    cfg = _cfg("classify", model={"head": "mean", "dropout": 0.3, "num_layers": 3},
               data={"lowercase": True, "min_freq": 3})
    tries = baseline_verdict("classify", m, cfg, "text")["try"]
    assert "data.lowercase" not in tries and "data.min_freq" not in tries and "model.dropout" not in tries
    assert tries["model.head"] == "max" and tries["model.num_layers"] == 1 and "train.max_time" in tries
    # a config that leaves them to the task has what the task chooses for texts
    tries = baseline_verdict("classify", m, _cfg("classify"), "text")["try"]
    assert set(tries) == {"train.max_time"}
    # series classification gets the series advice
    tries = baseline_verdict("classify", m, _cfg("classify"), "signal")["try"]
    assert tries["model.cell"] == "gru" and tries["model.head"] == "max" and "data.lowercase" not in tries
    assert "model.stem" not in tries                   # left to the task: not known here
    tries = baseline_verdict("classify", m, _cfg("classify", model={"stem": 64}), "signal")["try"]
    assert tries["model.stem"] == 0
    tries = baseline_verdict("classify", m, _cfg("classify", model={"stem": 0}), "signal")["try"]
    assert "model.stem" not in tries
