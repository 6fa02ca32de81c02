"""The command line end to end on a small language model: the run directory, and
evaluate, predict, generate and info from that directory alone."""

import csv
import json
import math
import subprocess
import sys

import pytest
import yaml

from rnnkit.cli import main
from tests.conftest import TINY


def test_run_directory_holds_everything(trained_run):
    for name in ("config.yaml", "metrics.json", "checkpoints/best.ckpt", "checkpoints/last.ckpt",
                 "logs/metrics.csv", "plots/loss.png", "plots/bits_per_char.png"):
        assert (trained_run / name).is_file(), name
    cfg = yaml.safe_load((trained_run / "config.yaml").read_text())
    assert cfg["task"] == "lm" and cfg["model"]["hidden_size"] == 16 and cfg["train"]["max_epochs"] == 2
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["steps"] > 0
    for split in ("train", "validation"):
        m = metrics[split]
        assert m["bits_per_char"] == pytest.approx(m["loss"] / math.log(2))
        assert m["perplexity"] == pytest.approx(math.exp(m["loss"]))
    # it learned something: below the uniform distribution over the vocabulary
    assert metrics["validation"]["perplexity"] < 40
    assert (trained_run / "plots/loss.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(trained_run.rglob("*.tmp"))


def test_evaluate_json_is_one_object_on_stdout(trained_run, corpus):
    out = subprocess.run([sys.executable, "-m", "rnnkit", "evaluate", str(trained_run), "--data", str(corpus),
                          "--json"], capture_output=True, text=True, check=True)
    metrics = json.loads(out.stdout)
    assert set(metrics) >= {"loss", "bits_per_char", "perplexity"}
    assert metrics["bits_per_char"] == pytest.approx(metrics["loss"] / math.log(2))


def test_evaluate_table(trained_run, corpus, capsys):
    assert main(["evaluate", str(trained_run), "--data", str(corpus)]) == 0
    assert "bits_per_char" in capsys.readouterr().out


def test_predict_scores_each_file(trained_run, corpus, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("zzzz qqqq\n" * 20)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(trained_run), "--data", str(corpus), str(other), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["file"] for r in rows] == [str(corpus), str(other)]
    # the text it was trained on is more likely than gibberish
    assert float(rows[0]["bits_per_char"]) < float(rows[1]["bits_per_char"])


def test_generate_is_repeatable_with_a_seed(trained_run, capsys):
    args = ["generate", str(trained_run), "--prime", "def ", "--length", "60", "--seed", "4", "--top-p", "0.9"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert first.startswith("def ") and len(first.rstrip("\n")) >= 60


def test_info(trained_run, capsys):
    assert main(["info", str(trained_run)]) == 0
    out = capsys.readouterr().out
    assert "LSTM, 1 layer(s) x 16 units" in out and "textwrap.txt" in out and "validation" in out


def test_console_script_and_help():
    for cmd in (["rnnkit", "--help"], [sys.executable, "-m", "rnnkit", "train", "--help"]):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        assert "usage:" in out
    for sub in ("evaluate", "predict", "generate", "info"):
        with pytest.raises(SystemExit) as exit_:
            main([sub, "--help"])
        assert exit_.value.code == 0


def test_same_seed_same_metrics(tmp_path, corpus):
    """Deterministic CPU runs: the same seed, data and flags give the same figures."""
    runs = []
    for name in ("a", "b"):
        assert main(["train", "lm", "--data", str(corpus), "--out", str(tmp_path / name), "--seed", "3",
                     "--dropout", "0.2", *TINY]) == 0
        m = json.loads((tmp_path / name / "metrics.json").read_text())
        m.pop("seconds")
        m["baseline"].pop("seconds")              # the n-gram baseline's fitting time
        runs.append(m)
    assert runs[0] == runs[1]
    assert main(["train", "lm", "--data", str(corpus), "--out", str(tmp_path / "c"), "--seed", "4",
                 "--dropout", "0.2", *TINY]) == 0
    other = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert other["validation"] != runs[0]["validation"]


def test_config_file_and_flag_override(tmp_path, corpus):
    config = tmp_path / "c.yaml"
    config.write_text(f"model:\n  cell: gru\n  hidden_size: 12\ndata:\n  data: [{corpus}]\n"
                      "train:\n  max_epochs: 1\n  lr: 0.01\n")
    run = tmp_path / "run"
    assert main(["train", "lm", "--config", str(config), "--out", str(run), "--hidden-size", "10",
                 "--no-progress-bar", "--seq-length", "16", "--batch-size", "4"]) == 0
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["model"]["cell"] == "gru" and cfg["model"]["hidden_size"] == 10 and cfg["train"]["lr"] == 0.01
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 1


def test_max_time_stops_and_leaves_a_usable_run(tmp_path, corpus):
    run = tmp_path / "run"
    flags = [f for f in TINY]
    flags[flags.index("--max-epochs") + 1] = "100000"
    assert main(["train", "lm", "--data", str(corpus), "--out", str(run), "--max-time", "2", *flags]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["seconds"] < 30 and metrics["epochs"] < 100000
    assert (run / "checkpoints/last.ckpt").is_file()


def test_default_data_is_the_standard_library(tmp_path):
    run = tmp_path / "run"
    flags = [f for f in TINY]
    flags[flags.index("--max-epochs") + 1] = "1"
    assert main(["train", "lm", "--out", str(run), "--max-chars", "20000", *flags]) == 0
    from rnnkit.training import load_run
    module, cfg = load_run(run)
    assert cfg.data.data is None
    assert module.hparams["preprocessing"]["data"]["first_files"][0].endswith(".py")


def test_python_dash_m_trains(tmp_path, corpus):
    run = tmp_path / "run"
    flags = [f for f in TINY]
    flags[flags.index("--max-epochs") + 1] = "1"
    proc = subprocess.run([sys.executable, "-m", "rnnkit", "train", "lm", "--data", str(corpus), "--out",
                           str(run), *flags], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "validation loss" in proc.stdout and (run / "metrics.json").is_file()
