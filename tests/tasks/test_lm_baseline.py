"""The language model's n-gram baseline inside a run: fitted on the training text,
scored on the same splits as the model, saved beside it, read by evaluate --baseline,
and the verdict when it beats the RNN."""

import json

import numpy as np
import pytest

from rnnkit.baselines import NGramLM
from rnnkit.cli.main import main
from rnnkit.training import load_run

from ..conftest import TINY


@pytest.fixture
def texts(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the cat", "a dog", "sat on", "the mat", "ran to", "a tree", "and then", "it slept"]

    def text(n):
        return " ".join(words[i] for i in rng.integers(0, len(words), n)) + "\n"

    (tmp_path / "train.txt").write_text(text(1500))
    (tmp_path / "valid.txt").write_text(text(200))
    (tmp_path / "test.txt").write_text(text(200))
    return tmp_path


def _reference(run, train, held):
    """NGramLM of order 7 on the run's own tokenizer: nats per token on ``held``."""
    module, _ = load_run(run)
    tok = module.tokenizer
    ref = NGramLM(7).fit(tok.encode(train.read_text()).numpy(), tok.vocab_size)
    return float(-ref.log_prob(tok.encode(held.read_text()).numpy()).mean())


def test_a_run_fits_scores_and_keeps_its_ngram_baseline(texts, capsys):
    run = texts / "run"
    assert main(["train", "lm", "--data", str(texts / "train.txt"), "--valid", str(texts / "valid.txt"),
                 "--test", str(texts / "test.txt"), "--out", str(run), *TINY]) == 0
    m = json.loads((run / "metrics.json").read_text())
    b = m["baseline"]
    assert b["model"] == "ngram" and b["order"] == 7 and (run / "baseline.npz").is_file()
    assert set(b) >= {"train", "validation", "test"}
    for split, path in (("validation", "valid.txt"), ("test", "test.txt")):
        assert b[split]["loss"] == pytest.approx(_reference(run, texts / "train.txt", texts / path), rel=1e-9)
        assert b[split]["bits_per_char"] == pytest.approx(b[split]["loss"] / np.log(2), rel=1e-12)
    out = capsys.readouterr().out
    assert "baseline: ngram (interpolated Kneser-Ney 7-gram, same training split)" in out
    # evaluate --baseline scores any text with the saved model, beside the RNN
    assert main(["evaluate", str(run), "--data", str(texts / "test.txt"), "--baseline", "--json"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["baseline"]["model"] == "ngram"
    assert e["baseline"]["loss"] == pytest.approx(b["test"]["loss"], rel=1e-9)
    assert e["loss"] == pytest.approx(m["test"]["loss"], rel=1e-6)


def test_a_run_that_loses_to_the_ngram_says_so(texts, capsys):
    run = texts / "run"
    # two steps of training: the 7-gram knows this text far better
    assert main(["train", "lm", "--data", str(texts / "train.txt"), "--valid", str(texts / "valid.txt"),
                 "--out", str(run), *TINY, "--max-steps", "2"]) == 0
    m = json.loads((run / "metrics.json").read_text())
    v = m["baseline_wins"]
    assert v["baseline"] == "ngram" and v["metric"] == "loss" and v["higher_is_better"] is False
    assert v["baseline_value"] == m["baseline"]["validation"]["loss"] < v["rnn"] == m["validation"]["loss"]
    err = capsys.readouterr().err
    assert "note: the baseline ngram beats the RNN on validation loss" in err
    assert "--cell gru --lr 0.004" in err


def test_evaluate_baseline_without_the_file_is_a_one_line_error(texts, capsys):
    run = texts / "run"
    assert main(["train", "lm", "--data", str(texts / "train.txt"), "--out", str(run), *TINY,
                 "--max-steps", "1"]) == 0
    (run / "baseline.npz").unlink()
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(texts / "test.txt"), "--baseline"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--baseline: run directory" in err[0] and "has no baseline" in err[0]
