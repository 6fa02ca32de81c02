"""data.word_dropout (classify and tag, words): in training a word seen n times is read
as <unk> with probability a / (a + n), so that the unknown id learns what unseen words
are; the task's choice for a new run, off for real values and for runs saved before."""

import json
import random

import lightning as L
import pytest
import torch
import yaml

from rnnkit.cli import main
from rnnkit.config import RunConfig
from rnnkit.tasks.classify.module import WORD_DROPOUT as CLASSIFY_WORD_DROPOUT, ClassifyData
from rnnkit.tasks.tag.module import WORD_DROPOUT as TAG_WORD_DROPOUT, TagData, TagTask
from rnnkit.training import load_run
from tests.tasks.text_data import FILLER, topic_texts, write_csv

FAST = ["--no-progress-bar", "--accelerator", "cpu", "--num-layers", "1", "--hidden-size", "24",
        "--embedding-size", "16", "--batch-size", "16", "--lr", "0.02", "--dropout", "0",
        "--early-stopping-patience", "null", "--min-freq", "1"]


def write_names(path, n: int, seed: int, prefix: str):
    """Sentences of filler words with one name each, at a random place: B-PER. Every
    name is new (``prefix`` + a number), so only the word's rarity tells a name."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        words = [(rng.choice(FILLER), "O") for _ in range(rng.randint(3, 8))]
        words.insert(rng.randint(0, len(words)), (f"{prefix}{i}", "B-PER"))
        lines += [f"{w}\t{t}" for w, t in words] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def names(tmp_path_factory):
    d = tmp_path_factory.mktemp("names")
    return write_names(d / "train.conll", 300, 0, "tr"), write_names(d / "test.conll", 100, 1, "te")


def test_unseen_words_learn_from_the_rare_ones(names, tmp_path):
    train, test = names
    runs = {}
    for a in ("1", "0"):
        runs[a] = tmp_path / f"wd{a}"
        assert main(["train", "tag", "--data", str(train), "--valid", str(test), "--out", str(runs[a]), *FAST,
                     "--max-epochs", "6", "--word-dropout", a]) == 0
    on = json.loads((runs["1"] / "metrics.json").read_text())["validation"]
    assert on["recall"] > 0.9 and on["precision"] > 0.9, on      # every test name is unseen: <unk> -> B-PER
    # without it the unknown id never occurs in training: its embedding stays as initialised
    module, cfg = load_run(runs["0"])
    assert cfg.data.word_dropout == 0.0
    L.seed_everything(cfg.train.seed, workers=True, verbose=False)
    fresh = TagTask(cfg.to_dict(), module.hparams["preprocessing"])
    trained, init = module.net.encoder.embed.weight, fresh.net.encoder.embed.weight
    assert torch.equal(trained[0], init[0]) and not torch.equal(trained[1:], init[1:])


def test_the_training_batches_hold_the_unknown_id_and_validation_does_not(names):
    train, _ = names
    cfg = RunConfig(task="tag").override({"data.data": [str(train)], "data.word_dropout": "1",
                                          "data.min_freq": "1", "data.word_shapes": "false"})
    data = TagData(cfg)
    assert not any(bool((x == 0).any()) for x, _ in data.train_items)
    batches = list(data.train_dataloader())
    x = torch.cat([b["x"][i, :n] for b in batches for i, n in enumerate(b["lengths"])])
    names_seen = sum(int(y.eq(data.tags.index("B-PER")).sum()) for _, y in data.train_items)
    assert 0.3 * names_seen < int((x == 0).sum()) < 0.7 * names_seen + 20    # a name seen once: p 1/2
    unknown_in_valid = sum(int((x == 0).sum()) for x, _ in data.valid_items)    # its names: never seen
    assert unknown_in_valid > 0 and sum(int((b["x"][i, :n] == 0).sum()) for b in data.val_dataloader()
                                        for i, n in enumerate(b["lengths"])) == unknown_in_valid


def test_each_task_chooses_and_a_value_given_wins(names, tmp_path):
    train, _ = names
    tag = TagData(RunConfig(task="tag").override({"data.data": [str(train)]}))
    assert tag.cfg.data.word_dropout == TAG_WORD_DROPOUT
    texts = write_csv(tmp_path / "t.csv", topic_texts(60, 0))
    cls = ClassifyData(RunConfig(task="classify").override({"data.data": [str(texts)]}))
    assert cls.cfg.data.word_dropout == CLASSIFY_WORD_DROPOUT
    given = TagData(RunConfig(task="tag").override({"data.data": [str(train)], "data.word_dropout": "0.5"}))
    assert given.cfg.data.word_dropout == 0.5
    # a run saved before the option (null in its config) was trained without it
    old = TagData(RunConfig(task="tag").override({"data.data": [str(train)]}), tag.preprocessing())
    assert old.cfg.data.word_dropout == 0.0


@pytest.mark.parametrize("args, message", [
    (["--word-dropout", "-0.5"], "error: --word-dropout: expected a number >= 0, got -0.5"),
    (["--word-dropout", "nan"], "error: --word-dropout: expected a number >= 0, got nan"),
    (["--word-dropout", "1", "--tokenizer", "char"], "expected no --word-dropout with tokenizer char, got 1"),
])
def test_bad_values_are_refused_with_nothing_written(args, message, tmp_path, capsys):
    texts = write_csv(tmp_path / "t.csv", topic_texts(60, 0))
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(texts), "--out", str(run), *FAST, "--max-epochs", "1",
                 *args]) != 0
    assert message in capsys.readouterr().err and not run.exists()


def test_real_values_have_no_words(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    path = tmp_path / "s.npz"
    np.savez(path, x=rng.normal(size=(20, 30, 2)).astype("float32"), y=np.arange(20) % 2)
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(path), "--out", str(run), *FAST[:-2], "--max-epochs", "1",
                 "--word-dropout", "0.25"]) != 0
    assert "expected no --word-dropout with real values, got 0.25" in capsys.readouterr().err
    assert not run.exists()
    cfg = ClassifyData(RunConfig(task="classify").override({"data.data": [str(path)]})).cfg
    assert cfg.data.word_dropout == 0.0
    assert yaml.safe_load(cfg.to_yaml())["data"]["word_dropout"] == 0.0


def write_cased(path, n: int, seed: int):
    """Filler words, one rare lower-case word (O) and one capitalised name (B-PER) per
    sentence, both new every time: only a word's shape tells them apart."""
    rng = random.Random(seed)
    word = lambda: "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))  # noqa: E731
    lines = []
    for _ in range(n):
        words = [(rng.choice(FILLER), "O") for _ in range(rng.randint(3, 8))]
        words.insert(rng.randint(0, len(words)), (word(), "O"))
        words.insert(rng.randint(0, len(words)), (word().capitalize(), "B-PER"))
        lines += [f"{w}\t{t}" for w, t in words] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_word_shapes_tell_unseen_names_from_unseen_words(tmp_path):
    train, test = write_cased(tmp_path / "train.conll", 300, 0), write_cased(tmp_path / "test.conll", 100, 1)
    f1 = {}
    for name, flags in (("shapes", ["--word-shapes"]), ("one unk", ["--no-word-shapes"])):
        run = tmp_path / name
        assert main(["train", "tag", "--data", str(train), "--valid", str(test), "--out", str(run), *FAST,
                     "--max-epochs", "6", "--word-dropout", "1", *flags]) == 0
        f1[name] = json.loads((run / "metrics.json").read_text())["validation"]["f1"]
    assert f1["shapes"] > 0.9 and f1["one unk"] < 0.75, f1
    module, cfg = load_run(tmp_path / "shapes")
    assert cfg.data.word_shapes and module.tokenizer.shapes
    assert module.predict_tags([["the", "Zoltar", "of", "quibbly"]]) == [["O", "B-PER", "O", "O"]]
