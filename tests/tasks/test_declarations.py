"""Each task declared once: the command line's per-task flags and help, another task's
option refused (flag and config file), old config files, every config field declared."""

import dataclasses

import pytest
import yaml

from rnnkit.cli import main
from rnnkit.config import TASKS, DataConfig, ForeignOption, ModelConfig, RunConfig, TrainConfig
from rnnkit.tasks.registry import all_options, declaration, option_keys, options_of, owners, task_names
from tests.conftest import cli_fails


def _help(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def _flags(text: str) -> set[str]:
    return {w.strip("[],") for w in text.split() if w.startswith(("--", "[--"))}


def test_tasks_come_from_the_registry():
    assert TASKS == task_names() == ("lm", "classify", "tag", "forecast")
    assert declaration("forecast").spec.name == "forecast"
    assert declaration("lm").module.__name__ == "LMTask"
    with pytest.raises(ValueError, match="task expected one of 'lm', 'classify', 'tag', 'forecast', got 'speech'"):
        RunConfig.from_dict({"task": "speech"})


def test_every_config_field_is_declared_once_per_task():
    """Each dataclass field is an option of some task; no two options share a flag."""
    declared = set(all_options())
    for section, cls in (("model", ModelConfig), ("data", DataConfig), ("train", TrainConfig)):
        for f in dataclasses.fields(cls):
            assert f"{section}.{f.name}" in declared, f"{section}.{f.name} is declared by no task"
    for task in TASKS:
        flags = [o.flag for o in options_of(task)]
        assert len(flags) == len(set(flags)), task


@pytest.mark.parametrize("command", ["train", "tune"])
def test_per_task_help_shows_the_common_and_its_own_options_only(capsys, command):
    helps = {task: _flags(_help(capsys, [command, task])) for task in TASKS}
    for task, flags in helps.items():
        own = {o.flag for o in options_of(task)}
        assert own <= flags, (task, own - flags)
        others = {o.flag for key, o in all_options().items() if key not in option_keys(task)}
        assert not flags & others, (task, flags & others)
    assert "--horizon" in helps["forecast"] and "--horizon" not in helps["lm"]
    assert "--seq-length" in helps["lm"] and "--seq-length" not in helps["forecast"]
    assert "--text-column" in helps["classify"] and "--text-column" not in helps["tag"]
    assert {"--cell", "--max-time", "--data"} <= helps["tag"]
    text = _help(capsys, [command])
    assert all(task in text for task in TASKS) and f"rnnkit {command} TASK --help" in text


def test_help_texts_come_from_the_declarations(capsys):
    text = " ".join(_help(capsys, ["train", "forecast"]).split())
    assert "--horizon INT|None" not in text and "steps ahead (default: None)" in text
    assert "forecast (this task's own)" in text and "model (every task)" in text
    text = " ".join(_help(capsys, ["train", "lm"]).split())
    assert "char, word or bpe (default: char) --lowercase" in text     # the declared default, once


@pytest.mark.parametrize("argv, message", [
    (["train", "lm", "--horizon", "3"], "--horizon is not an option of task lm; it belongs to forecast"),
    (["train", "forecast", "--seq-length", "8"], "--seq-length is not an option of task forecast; it belongs to lm"),
    (["train", "classify", "--no-tie-embeddings"],
     "--no-tie-embeddings is not an option of task classify; it belongs to lm"),
    (["train", "lm", "--bidirectional"],
     "--bidirectional is not an option of task lm; it belongs to classify, tag and forecast"),
    (["tune", "tag", "--text-column", "body", "--max-time", "5"],
     "--text-column is not an option of task tag; it belongs to classify"),
    (["train", "forecast", "--horizon"], "--horizon: expected one argument"),
])
def test_another_tasks_flag_is_refused_naming_its_task(capsys, tmp_path, argv, message):
    cli_fails(capsys, [*argv, "--out", str(tmp_path / "run")], message)
    assert not (tmp_path / "run").exists()


def test_another_tasks_key_in_a_config_file_is_refused(capsys, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  horizon: 12\nmodel:\n  hidden_size: 8\n")
    cli_fails(capsys, ["train", "lm", "--config", str(path), "--out", str(tmp_path / "run")],
              f"{path}: data.horizon is not an option of task lm; it belongs to forecast")
    assert not (tmp_path / "run").exists()
    # the same file for the task it belongs to: the command line's TASK decides
    cfg = RunConfig.from_yaml(path, task="forecast")
    assert cfg.task == "forecast" and cfg.data.horizon == 12 and cfg.model.hidden_size == 8
    with pytest.raises(ForeignOption) as err:
        RunConfig.from_dict({"task": "tag", "model": {"head": "mean"}}, source="x")
    assert (err.value.key, err.value.task, err.value.owners) == ("model.head", "tag", ["classify"])
    with pytest.raises(ForeignOption, match="command line: data.season is not an option of task lm"):
        RunConfig().override({"data.season": "7"})


def _old_yaml(task: str, **changes) -> str:
    """config.yaml as runs wrote it before the tasks declared their options: every field
    of every section, at its default unless changed."""
    values = {"task": task, "model": {}, "data": {}, "train": {}}
    for section, cls in (("model", ModelConfig), ("data", DataConfig), ("train", TrainConfig)):
        for f in dataclasses.fields(cls):
            values[section][f.name] = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    for key, value in changes.items():
        section, name = key.split("__")
        values[section][name] = value
    return yaml.safe_dump(values, sort_keys=False)


@pytest.mark.parametrize("task, changes, check", [
    ("lm", {"data__seq_length": 32, "model__cell": "gru"}, lambda c: c.data.seq_length == 32),
    ("forecast", {"data__horizon": 6, "data__target": ["y"]}, lambda c: c.data.horizon == 6),
    ("classify", {"model__head": "mean"}, lambda c: c.model.head == "mean"),
    ("tag", {"model__bidirectional": False}, lambda c: c.model.bidirectional is False),
])
def test_old_config_files_load(tmp_path, task, changes, check):
    path = tmp_path / "config.yaml"
    path.write_text(_old_yaml(task, **changes))
    cfg = RunConfig.from_yaml(path)
    assert cfg.task == task and check(cfg)
    # written back: the task's own keys only, which load again to the same config
    again = yaml.safe_load(cfg.to_yaml())
    assert {f"{s}.{k}" for s in ("model", "data", "train") for k in again[s]} == option_keys(task)
    assert RunConfig.from_dict(again) == cfg
    # a checkpoint holds every field (to_dict): it loads too
    assert RunConfig.from_dict(cfg.to_dict(), source="checkpoint") == cfg


def test_an_old_file_with_another_tasks_value_names_the_key(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(_old_yaml("lm", data__horizon=3))
    with pytest.raises(ForeignOption, match=r"config.yaml: data.horizon is not an option of task lm; it belongs "
                                            r"to forecast"):
        RunConfig.from_yaml(path)


def test_evaluate_refuses_another_tasks_reading_flags_and_arguments(capsys, trained_run, corpus):
    cli_fails(capsys, ["evaluate", str(trained_run), "--data", str(corpus), "--text-column", "body"],
              "--text-column is not an option of task lm; it belongs to classify")
    cli_fails(capsys, ["evaluate", str(trained_run), "--data", str(corpus), "--horizon", "3"],
              "--horizon: expected a forecast run, got task 'lm'")
    cli_fails(capsys, ["predict", str(trained_run), "--data", str(corpus), "--out", "x.csv", "--future", "f.csv"],
              "--future: expected a forecast run, got task 'lm'")


def test_capabilities_are_declared():
    assert declaration("lm").can("generate") and not declaration("classify").can("generate")
    assert {t for t in TASKS if declaration(t).can("baseline")} == {"lm", "classify", "tag"}
    assert declaration("forecast").can("intervals") and declaration("tag").defaults["text"]["model.bidirectional"]
    assert owners("data.horizon") == ["forecast"] and owners("train.lr") == list(TASKS)
