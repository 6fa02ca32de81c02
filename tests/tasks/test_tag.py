"""rnnkit train tag end to end on CoNLL-style files."""

import json

import pytest

from rnnkit.cli import main
from rnnkit.training import load_run
from rnnkit.data.conll import read_conll
from rnnkit.metrics import span_f1
from tests.tasks.text_data import write_conll


def most_frequent(train, test):
    """Each test word's most frequent tag among the training split's (lowercased, ties to
    the tag more frequent over all; O for a word never seen), counted here without rnnkit."""
    from collections import Counter, defaultdict

    seen, overall = defaultdict(Counter), Counter()
    for words, tags in zip(train.tokens, train.tags):
        for w, t in zip(words, tags):
            seen[w.lower()][t] += 1
            overall[t] += 1
    best = lambda c: max(c, key=lambda t: (c[t], overall[t]))       # noqa: E731
    return [[best(seen[w.lower()]) if w.lower() in seen else best(overall) for w in words] for words in test.tokens]

FAST = ["--no-progress-bar", "--accelerator", "cpu", "--num-layers", "1", "--hidden-size", "24",
        "--embedding-size", "16", "--batch-size", "16", "--lr", "0.02", "--dropout", "0",
        "--early-stopping-patience", "null"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("tag")
    write_conll(d / "train.conll", 400, 0)
    write_conll(d / "valid.conll", 100, 1)
    return d


def test_tags_that_depend_on_the_next_word_need_both_directions(data, tmp_path):
    runs = {}
    for name, flag in (("bi", []), ("uni", ["--no-bidirectional"])):
        runs[name] = tmp_path / name
        assert main(["train", "tag", "--data", str(data / "train.conll"), "--valid", str(data / "valid.conll"),
                     "--out", str(runs[name]), *FAST, "--max-epochs", "8", *flag]) == 0
    bi = json.loads((runs["bi"] / "metrics.json").read_text())["validation"]
    uni = json.loads((runs["uni"] / "metrics.json").read_text())["validation"]
    assert set(bi) >= {"loss", "accuracy", "precision", "recall", "f1", "sentences", "tokens"}
    assert bi["f1"] > 0.97, bi                  # bidirectional by default: sees the "inc" after a name
    assert uni["f1"] < 0.8, uni                 # left to right, a name's tag is a coin toss
    module, _ = load_run(runs["bi"])
    assert module.net.encoder.rnn.bidirectional
    # a word's tag alone cannot tell a name before "inc" from one that is not
    m = json.loads((runs["bi"] / "metrics.json").read_text())
    assert m["baseline"]["model"] == "most_frequent_tag" and m["baseline"]["validation"]["f1"] < 0.8
    assert "baseline_wins" not in m


def test_a_run_that_loses_to_its_baseline_says_so(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "tag", "--data", str(data / "train.conll"), "--valid", str(data / "valid.conll"),
                 "--out", str(run), *FAST, "--max-steps", "2", "--word-dropout", "0"]) == 0
    m = json.loads((run / "metrics.json").read_text())
    v = m["baseline_wins"]
    assert v["baseline"] == "most_frequent_tag" and v["metric"] == "f1"
    assert v["baseline_value"] == m["baseline"]["validation"]["f1"] > v["rnn"] == m["validation"]["f1"]
    line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("note: the baseline")]
    assert line and "--word-dropout 1" in line[0] and "--bidirectional" not in line[0], line


def test_evaluate_predict_and_unseen_words(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "tag", "--data", str(data / "train.conll"), "--out", str(run), *FAST,
                 "--max-epochs", "3"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(data / "valid.conll"), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["sentences"] == 100 and 0 <= m["f1"] <= 1
    # the baseline of text: each word's most frequent training tag, beside the model
    assert (run / "baseline.npz").is_file()
    assert main(["evaluate", str(run), "--data", str(data / "valid.conll"), "--baseline", "--json"]) == 0
    b = json.loads(capsys.readouterr().out)["baseline"]
    assert b["model"] == "most_frequent_tag" and b["sentences"] == 100
    sents = read_conll([str(data / "valid.conll")], "data.data")
    train = read_conll([str(data / "train.conll")], "data.data")
    assert b["f1"] == pytest.approx(span_f1(sents.tags, most_frequent(train, sents))["f1"])
    raw = tmp_path / "raw.txt"
    raw.write_text("zyzzyva\nacme\ninc\n\nthe\nunseenword\n", encoding="utf-8")   # tokens only, new words
    out = tmp_path / "pred.conll"
    assert main(["predict", str(run), "--data", str(raw), "--out", str(out)]) == 0
    blocks = out.read_text().strip().split("\n\n")
    assert [len(b.splitlines()) for b in blocks] == [3, 2]
    first = [line.split("\t") for line in blocks[0].splitlines()]
    assert [t[0] for t in first] == ["zyzzyva", "acme", "inc"]
    module, _ = load_run(run)
    assert all(t[1] in module.tags for t in first)
    # given tags are kept beside the predicted ones
    assert main(["predict", str(run), "--data", str(data / "valid.conll"), "--out", str(out), "--overwrite"]) == 0
    assert len(out.read_text().splitlines()[0].split("\t")) == 3
