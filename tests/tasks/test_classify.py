"""rnnkit train classify end to end, and the point of sequence models: labels that
live in word order, which the bag-of-words baseline cannot see."""

import csv
import json

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.training import load_run
from tests.conftest import tiny
from tests.tasks.text_data import order_texts, topic_texts, write_csv

FAST = ["--no-progress-bar", "--accelerator", "cpu"]


@pytest.fixture(scope="module")
def topic_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("classify")
    write_csv(d / "train.csv", topic_texts(240, 0))
    write_csv(d / "test.csv", topic_texts(60, 1))
    run = d / "run"
    assert main(["train", "classify", "--data", str(d / "train.csv"), "--test", str(d / "test.csv"),
                 "--out", str(run), *tiny("classify"), "--hidden-size", "24", "--max-epochs", "8", "--lr", "0.01",
                 "--batch-size", "16", "--valid-fraction", "0.05", "--dropout", "0.1"]) == 0   # 8 epochs of 24 units
    return d, run


def test_run_directory_and_metrics(topic_run):
    d, run = topic_run
    m = json.loads((run / "metrics.json").read_text())
    for split in ("train", "validation", "test"):
        assert set(m[split]) >= {"loss", "accuracy", "macro_f1", "examples"}
    assert m["train"]["examples"] + m["validation"]["examples"] == 240   # 5% held out
    assert m["test"]["examples"] == 60
    assert m["test"]["accuracy"] > 0.9                                    # topic words are easy
    assert m["baseline"]["model"] == "bow" and m["baseline"]["test"]["accuracy"] > 0.9
    cms = json.loads((run / "confusion_matrix.json").read_text())
    assert cms["test"]["classes"] == ["food", "sport", "tech"]
    assert np.array(cms["test"]["matrix"]).sum() == 60
    for split in ("validation", "test"):
        assert (run / "plots" / f"confusion_matrix_{split}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run / "baseline.npz").is_file() and (run / "plots" / "accuracy.png").is_file()


def test_evaluate_matches_predict_and_the_module(topic_run, capsys, tmp_path):
    d, run = topic_run
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(d / "test.csv"), "--json", "--baseline"]) == 0
    m = json.loads(capsys.readouterr().out)
    metrics = json.loads((run / "metrics.json").read_text())
    assert m["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert m["baseline"]["accuracy"] == pytest.approx(metrics["baseline"]["test"]["accuracy"])
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), "--data", str(d / "test.csv"), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 60 and rows[0]["source"].endswith("test.csv:2")
    probs = np.array([[float(r[f"p_{c}"]) for c in ("food", "sport", "tech")] for r in rows])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    correct = np.mean([r["label"] == r["true_label"] for r in rows])
    assert correct == pytest.approx(m["accuracy"])
    # the probabilities are the model's, recomputed one text at a time (no padding)
    module, _ = load_run(run)
    texts = [t for t, _ in topic_texts(60, 1)]
    for i in (0, 17, 59):
        x = module.tokenizer.encode(texts[i])
        with torch.no_grad():
            p = torch.softmax(module.net(x[None], torch.tensor([len(x)])), -1)[0].numpy()
        np.testing.assert_allclose(probs[i], p, atol=2e-6)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(d / "test.csv"), "--baseline"]) == 0
    table = capsys.readouterr().out
    assert "rnn" in table and "bow" in table and "macro_f1" in table
    assert main(["info", str(run)]) == 0
    info = capsys.readouterr().out
    assert "3 classes (food, sport, tech)" in info and "baseline: bow" in info


def test_the_order_of_words_is_what_the_rnn_sees_and_the_bag_of_words_cannot(tmp_path):
    write_csv(tmp_path / "train.csv", order_texts(1200, 0))
    write_csv(tmp_path / "valid.csv", order_texts(300, 1))
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(tmp_path / "train.csv"), "--valid", str(tmp_path / "valid.csv"),
                 "--out", str(run), *FAST, "--hidden-size", "32", "--num-layers", "1", "--embedding-size", "16",
                 "--batch-size", "32", "--lr", "0.01", "--max-epochs", "12", "--dropout", "0",
                 "--early-stopping-patience", "null"]) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["validation"]["accuracy"] > 0.95, m["validation"]
    assert m["baseline"]["ngrams"] == 2
    assert m["baseline"]["validation"]["accuracy"] < 0.65, m["baseline"]   # chance is 0.5


def test_bow_model_trains_and_serves_through_the_same_commands(tmp_path, capsys):
    write_csv(tmp_path / "t.tsv", topic_texts(150, 2), delimiter="\t")
    run = tmp_path / "bow"
    assert main(["train", "classify", "--model", "bow", "--data", str(tmp_path / "t.tsv"), "--out", str(run),
                 "--ngrams", "1"]) == 0
    assert not (run / "checkpoints").exists() and (run / "bow.npz").is_file()
    m = json.loads((run / "metrics.json").read_text())
    assert m["model"] == "bow" and m["validation"]["accuracy"] > 0.85
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "t.tsv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["examples"] == 150
    assert main(["predict", str(run), "--data", str(tmp_path / "t.tsv"), "--out", str(tmp_path / "p.csv")]) == 0
    assert len(list(csv.DictReader((tmp_path / "p.csv").open()))) == 150
    assert main(["info", str(run)]) == 0
    assert "logistic regression" in capsys.readouterr().out
    assert main(["train", "lm", "--model", "bow", "--out", str(tmp_path / "x")]) == 2
    assert main(["evaluate", str(run), "--data", str(tmp_path / "t.tsv"), "--baseline"]) == 2


@pytest.mark.parametrize("extra", [["--bidirectional", "--head", "mean", "--cell", "gru"],
                                   ["--head", "max", "--tokenizer", "char", "--max-length", "20"],
                                   ["--tokenizer", "bpe", "--vocab-size", "300", "--cell", "rnn"]])
def test_heads_tokenizers_and_folders(tmp_path, extra):
    for text, label in topic_texts(60, 3):
        folder = tmp_path / "data" / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{len(list(folder.iterdir()))}.txt").write_text(text, encoding="utf-8")
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(tmp_path / "data"), "--out", str(run), *tiny("classify"), *extra]) == 0
    module, cfg = load_run(run)
    assert module.classes == ["food", "sport", "tech"]
    assert module.net.encoder.rnn.bidirectional == ("--bidirectional" in extra)
    m = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= m["validation"]["accuracy"] <= 1.0
