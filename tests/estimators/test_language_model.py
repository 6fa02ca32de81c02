"""rnnkit.LanguageModel: fit on a string, generate, score as `rnnkit evaluate` does,
save and load."""

import json
import sysconfig
from pathlib import Path

import pytest

import rnnkit
from rnnkit.cli import main
from tests.estimators.conftest import TINY

LM = {**TINY, "seq_length": 16, "max_steps": 30}


@pytest.fixture(scope="module")
def text():
    return (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text(encoding="utf-8")[:6000]


@pytest.fixture(scope="module")
def lm(text):
    return rnnkit.LanguageModel(**LM).fit(text)


def test_generate_and_score_as_the_command_line(lm, text, tmp_path, capsys):
    sample = lm.generate("def ", 40, temperature=0.8, seed=3)
    assert sample.startswith("def ") and len(sample) == 44
    assert lm.generate("def ", 40, temperature=0.8, seed=3) == sample
    run = lm.save(tmp_path / "run")
    assert main(["generate", str(run), "--prime", "def ", "--length", "40", "--temperature", "0.8",
                 "--seed", "3"]) == 0
    assert capsys.readouterr().out == sample + "\n"
    held = text[-1500:]
    path = tmp_path / "held.txt"
    path.write_text(held, encoding="utf-8")
    assert main(["evaluate", str(run), "--data", str(path), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    mine = lm.score(held)
    for key in ("loss", "bits_per_char", "perplexity", "tokens", "unknown_tokens"):
        assert mine[key] == pytest.approx(cli[key], rel=1e-6), key
    # the text it learned from is more likely than gibberish
    assert lm.score(held)["bits_per_char"] < lm.score("zq" * 400)["bits_per_char"]
    assert main(["info", str(run)]) == 0
    assert "trained on: data in memory" in capsys.readouterr().out


def test_load_gives_a_language_model(lm, tmp_path):
    again = rnnkit.load(lm.save(tmp_path / "run"))
    # left to the task (None): as the run chose them
    chosen = {"lowercase": False, "min_freq": 1, "num_layers": 2, "embedding_size": 64, "dropout": 0.1}
    assert type(again) is rnnkit.LanguageModel
    assert again.get_params() == {k: chosen.get(k, v) if v is None else v for k, v in lm.get_params().items()}
    assert again.generate("x", 20, seed=1) == lm.generate("x", 20, seed=1)


def test_a_list_of_strings_is_joined_by_lines(no_plots):
    lines = ["the cat sat on the mat", "the dog sat on the log"] * 60
    small = {**LM, "max_steps": 4, "val_every_n_steps": 2, "batch_size": 2}
    lm = rnnkit.LanguageModel(**small, tokenizer="word").fit(lines)
    assert lm.module_.tokenizer.kind == "word"
    # the lines joined with line breaks, as files are: the same tokens as the joined text
    assert lm.score(lines[:10]) == lm.score("\n".join(lines[:10]) + "\n")
    assert lm.score(lines[:10])["tokens"] > 0


@pytest.mark.parametrize("X, message", [
    ("", "expected text to learn from, got an empty string"),
    (["a", 3], "expected a string or a list of strings, got a list holding int"),
    (42, "expected a string or a list of strings, got int"),
])
def test_bad_input(X, message):
    with pytest.raises(ValueError, match=message):
        rnnkit.LanguageModel(**LM).fit(X)


def test_no_bidirectional_for_a_language_model():
    with pytest.raises(ValueError, match="unknown parameter 'bidirectional'"):
        rnnkit.LanguageModel(bidirectional=True)
