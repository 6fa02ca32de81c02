"""The settings a task chooses from its input (direction, head, lowercasing, the word
count cut-off): filled where the config leaves them null, never over a value given,
saved resolved in the run, and runs saved before the choice existed still load."""

import pytest
import torch
import yaml

from rnnkit.cli import main
from rnnkit.config import RunConfig
from rnnkit.tasks.declare import DATA_DEFAULTS, Task
from rnnkit.tasks.registry import task_default, with_task_defaults
from rnnkit.training import load_run
from tests.conftest import tiny
from tests.tasks.text_data import topic_texts, write_csv

KEYS = ("model.bidirectional", "model.head", "data.lowercase", "data.min_freq", "model.num_layers",
        "model.embedding_size", "model.dropout")


def _values(cfg) -> tuple:
    return tuple(getattr(getattr(cfg, k.split(".")[0]), k.split(".")[1]) for k in KEYS)


@pytest.mark.parametrize("task, kind, expected", [
    ("classify", "text", (False, "max", True, 1, 1, 128, 0.3)),
    ("classify", "values", (False, "last", False, 1, 2, 64, 0.1)),
    ("tag", "text", (True, None, True, 1, 2, 64, 0.1)),                  # tag has no head to choose
    ("tag", "values", (True, None, False, 1, 2, 64, 0.1)),
    ("lm", "text", (None, None, False, 1, 2, 64, 0.1)),                 # lm reads neither direction nor head
    ("forecast", "values", (False, None, None, None, 2, None, 0.1)),
])
def test_each_task_chooses_for_its_input(task, kind, expected):
    assert set(_values(RunConfig(task=task))) == {None}
    assert _values(with_task_defaults(RunConfig(task=task), kind)) == expected


def test_a_value_given_is_kept_even_when_it_equals_the_fallback():
    cfg = RunConfig(task="classify").override({"model.bidirectional": "false", "model.head": "last",
                                               "data.lowercase": "false", "data.min_freq": "1",
                                               "model.num_layers": "2", "model.embedding_size": "64",
                                               "model.dropout": "0.1"})
    assert _values(with_task_defaults(cfg, "text")) == (False, "last", False, 1, 2, 64, 0.1)
    partly = RunConfig(task="classify").override({"model.head": "mean"})
    assert _values(with_task_defaults(partly, "text")) == (False, "mean", True, 1, 1, 128, 0.3)
    resolved = with_task_defaults(RunConfig(task="classify"), "text")
    assert with_task_defaults(resolved, "values") is resolved          # nothing null: unchanged


def test_a_declaration_with_an_unknown_kind_or_key_is_refused():
    with pytest.raises(ValueError, match="defaults expected kinds among text, values"):
        Task(name="bad", about="x", defaults={"audio": {"model.head": "max"}})
    with pytest.raises(ValueError, match="keys among"):
        Task(name="bad", about="x", defaults={"text": {"model.hidden_size": 8}})
    with pytest.raises(ValueError, match="expected kind among text, values, got 'signal'"):
        with_task_defaults(RunConfig(task="classify"), "signal")
    assert task_default("classify", "values", "model.head") == DATA_DEFAULTS["model.head"] == "last"


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    d = tmp_path_factory.mktemp("defaults")
    rows = [(t.upper() if i % 2 else t, label) for i, (t, label) in enumerate(topic_texts(80, 0))]
    return write_csv(d / "train.csv", rows + [("zzzonce ball", rows[0][1])])


def test_a_text_run_trains_and_saves_what_the_task_chose(texts, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(texts), "--out", str(run), *tiny("classify"),
                 "--max-epochs", "1"]) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert (saved["model"]["bidirectional"], saved["model"]["head"]) == (False, "max")
    assert (saved["data"]["lowercase"], saved["data"]["min_freq"]) == (True, 1)
    assert (saved["data"]["word_dropout"], saved["data"]["word_shapes"]) == (1.0, True)
    module, cfg = load_run(run)
    assert not module.net.encoder.rnn.bidirectional and module.net.how == "max"
    words = module.tokenizer.words
    assert "ball" in words and "BALL" not in words and "zzzonce" in words   # lowercased, every word kept
    assert module.tokenizer.shapes
    assert _values(cfg) == (False, "max", True, 1, 1, 8, 0.3)        # 1 layer, 8: the flags of tiny()


def test_flags_win_over_the_tasks_choice(texts, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(texts), "--out", str(run), *tiny("classify"),
                 "--max-epochs", "1", "--bidirectional", "--head", "last", "--no-lowercase",
                 "--min-freq", "1"]) == 0
    module, cfg = load_run(run)
    assert _values(cfg) == (True, "last", False, 1, 1, 8, 0.3)
    assert module.net.encoder.rnn.bidirectional and module.net.how == "last"
    assert {"BALL", "ball", "zzzonce"} <= set(module.tokenizer.words)


def test_a_run_saved_with_a_null_direction_loads_as_it_was_trained(texts, tmp_path):
    """Before the tasks chose from the input, a classify run saved bidirectional null
    and read one direction (tag: both); its checkpoint must still load that way, and
    resume."""
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(texts), "--out", str(run), *tiny("classify"),
                 "--max-epochs", "1", "--no-bidirectional", "--head", "last"]) == 0
    for path in (run / "checkpoints").glob("*.ckpt"):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        ckpt["hyper_parameters"]["config"]["model"]["bidirectional"] = None
        torch.save(ckpt, path)
    module, _ = load_run(run)
    assert not module.net.encoder.rnn.bidirectional
    assert main(["train", "classify", "--out", str(run), "--resume", "--data", str(texts), *tiny("classify"),
                 "--max-epochs", "2", "--head", "last"]) == 0
    assert not load_run(run)[0].net.encoder.rnn.bidirectional


def test_the_help_shows_each_tasks_choice(capsys):
    with pytest.raises(SystemExit):
        main(["train", "classify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(last state, mean or max over steps) (default: max for texts, last for values)" in text
    with pytest.raises(SystemExit):
        main(["train", "lm", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "keep words seen at least this often (default: 1)" in text


def test_the_estimators_leave_the_choice_to_the_task():
    from rnnkit import Classifier

    params = Classifier().get_params()
    assert {params[k.split(".")[1]] for k in KEYS} == {None} == {params["word_dropout"], params["word_shapes"]}
    rows = topic_texts(60, 0)
    clf = Classifier(hidden_size=8, num_layers=1, embedding_size=8, max_epochs=1, batch_size=8,
                     accelerator="cpu", progress_bar=False).fit([t for t, _ in rows], [y for _, y in rows])
    assert clf.module_.net.how == "max" and _values(clf.module_.cfg) == (False, "max", True, 1, 1, 8, 0.3)
