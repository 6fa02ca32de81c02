"""The command line with word and BPE language models: train, then evaluate, predict,
generate and info from the run directory alone; bad tokenizer options."""

import csv
import json
import math
import subprocess
import sys

import pytest

from rnnkit.cli import main
from rnnkit.data.tokenizers import WordTokenizer
from tests.cli.test_errors import _fails
from tests.conftest import TINY

RUNS = {"word": ["--tokenizer", "word", "--tie-embeddings"],
        "bpe": ["--tokenizer", "bpe", "--vocab-size", "300", "--lowercase"]}


@pytest.fixture(scope="module", params=sorted(RUNS))
def token_run(request, tmp_path_factory, corpus):
    run = tmp_path_factory.mktemp("runs") / request.param
    assert main(["train", "lm", "--data", str(corpus), "--out", str(run), *TINY, *RUNS[request.param]]) == 0
    return request.param, run


def test_run_directory_and_metrics(token_run):
    kind, run = token_run
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("train", "validation"):
        m = metrics[split]
        assert "bits_per_char" not in m and m["tokens"] > 0
        assert m["perplexity"] == pytest.approx(math.exp(m["loss"]))
    from rnnkit.training import load_run

    module, cfg = load_run(run)
    vocab = module.tokenizer.vocab_size
    assert module.tokenizer.kind == kind and cfg.data.tokenizer == kind
    assert metrics["validation"]["perplexity"] < vocab          # better than a uniform guess
    if kind == "bpe":
        assert vocab == 300 and module.tokenizer.lowercase
    else:   # tied, with a projection 16 -> 8, after a round trip through the checkpoint
        assert module.net.head.weight is module.net.embed.weight and module.net.proj.weight.shape == (8, 16)
    assert (run / "plots" / "perplexity.png").is_file() and not (run / "plots" / "bits_per_char.png").exists()
    assert module.hparams["preprocessing"]["data"]["train_tokens"] > 0


def test_evaluate_json_has_perplexity_and_no_bits_per_char(token_run, corpus):
    _, run = token_run
    out = subprocess.run([sys.executable, "-m", "rnnkit", "evaluate", str(run), "--data", str(corpus), "--json"],
                         capture_output=True, text=True, check=True)
    m = json.loads(out.stdout)
    assert {"loss", "perplexity", "tokens", "unknown_tokens"} <= set(m) and "bits_per_char" not in m
    assert m["perplexity"] == pytest.approx(math.exp(m["loss"]))


def test_generate_gives_text_of_the_length_asked(token_run, capsys):
    kind, run = token_run
    args = ["generate", str(run), "--length", "30", "--seed", "2", "--temperature", "0.8"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and "<unk>" not in first
    if kind == "word":
        assert len(WordTokenizer.split(first)) == 30
    else:
        assert len(first.strip()) >= 30        # 30 subwords of at least a byte each
    assert main(["generate", str(run), "--prime", "def wrap(", "--length", "10", "--seed", "0"]) == 0
    assert capsys.readouterr().out.startswith("def wrap(")


def test_predict_writes_a_row_per_file(token_run, corpus, tmp_path):
    kind, run = token_run
    other = tmp_path / "other.txt"
    other.write_text("zzzz qqqq\n" * 20)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), "--data", str(corpus), str(other), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["file"] for r in rows] == [str(corpus), str(other)]
    assert list(rows[0]) == ["file", "characters", "tokens", "log_prob", "perplexity", "unknown_tokens"]
    assert int(rows[1]["characters"]) == 200
    if kind == "word":   # two words never seen, 20 times each
        assert int(rows[1]["tokens"]) == 40 and int(rows[1]["unknown_tokens"]) == 40
    else:                # bytes: nothing is unknown
        assert int(rows[1]["unknown_tokens"]) == 0 and 0 < int(rows[1]["tokens"]) <= 200
    assert float(rows[0]["log_prob"]) < 0 and float(rows[0]["perplexity"]) > 1


def test_info_describes_the_tokens(token_run, capsys):
    kind, run = token_run
    assert main(["info", str(run)]) == 0
    out = capsys.readouterr().out
    if kind == "word":
        assert "input: words and punctuation marks" in out and "tied to the input embedding" in out
    else:
        assert "byte-level BPE subwords, lowercased, vocabulary of 300" in out


@pytest.mark.parametrize("args, message", [
    (["--tokenizer", "word", "--min-freq", "0"], "min_freq: expected an integer >= 1, got 0"),
    (["--tokenizer", "word", "--max-vocab", "0"], "max_vocab: expected an integer >= 1 or null, got 0"),
    (["--tokenizer", "word", "--min-freq", "100000"], "expected at least one word in the vocabulary"),
    (["--tokenizer", "bpe", "--vocab-size", "1"], "vocab_size: expected at least 257 for byte-level BPE"),
    (["--tokenizer", "bpe", "--vocab-size", "many"], "command line: --vocab-size expected an integer, got many"),
    (["--tokenizer", "sentencepiece"], "command line: --tokenizer expected one of 'char', 'word', 'bpe' or null"),
    (["--tokenizer", "word", "--valid-fraction", "1.5"], "--valid-fraction: expected a fraction strictly"),
])
def test_bad_tokenizer_options_write_nothing(capsys, tmp_path, corpus, args, message):
    run = tmp_path / "run"
    _fails(capsys, ["train", "lm", "--data", str(corpus), "--out", str(run), *TINY, *args], message)
    assert not run.exists()
