"""Typed configuration: defaults, YAML, flag overrides, unknown keys and wrong types."""

import pytest

from rnnkit.config import ModelConfig, RunConfig, TrainConfig
from rnnkit.errors import UsageError


def test_defaults_are_the_dataclass_defaults():
    cfg = RunConfig()
    assert cfg.model == ModelConfig() and cfg.train == TrainConfig()
    assert cfg.model.cell == "lstm" and cfg.train.max_time is None


def test_yaml_round_trip(tmp_path):
    cfg = RunConfig.from_dict({"task": "lm", "model": {"cell": "gru", "hidden_size": 32},
                               "data": {"data": ["a.txt", "b/"], "seq_length": 16},
                               "train": {"lr": 0.01, "max_time": 30, "devices": "auto"}})
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    back = RunConfig.from_yaml(path)
    assert back == cfg
    assert back.train.max_time == 30.0 and isinstance(back.train.max_time, float)
    assert back.train.devices == "auto"


def test_flag_strings_are_parsed_to_the_field_type():
    cfg = RunConfig(task="classify").override({"model.hidden_size": "48", "train.lr": "1e-3", "model.bidirectional": "true",
                                "train.max_time": "null", "train.gradient_clip": "none",
                                "data.data": ["x.txt"], "train.devices": "2"})
    assert cfg.model.hidden_size == 48 and cfg.train.lr == 1e-3 and cfg.model.bidirectional is True
    assert cfg.train.max_time is None and cfg.train.gradient_clip is None
    assert cfg.data.data == ["x.txt"] and cfg.train.devices == 2


@pytest.mark.parametrize("values, message", [
    ({"model": {"hiden_size": 3}}, "unknown config key 'model.hiden_size'"),
    ({"optimiser": {}}, "unknown config key 'optimiser'"),
    ({"model": {"hidden_size": "big"}}, "model.hidden_size expected an integer, got 'big' (str)"),
    ({"model": {"hidden_size": 3.5}}, "model.hidden_size expected an integer, got 3.5 (float)"),
    ({"model": {"hidden_size": True}}, "model.hidden_size expected an integer, got True (bool)"),
    ({"model": {"cell": "transformer"}}, "model.cell expected one of 'rnn', 'lstm', 'gru'"),
    ({"train": {"lr": "fast"}}, "train.lr expected a number, got 'fast'"),
    ({"model": {"bidirectional": "yes"}}, "model.bidirectional expected true or false or null, got 'yes'"),
    ({"data": {"data": 3}}, "data.data expected a list of a string or null, got 3 (int)"),
    ({"model": 5}, "expected a mapping for model, got int"),
])
def test_bad_values_are_rejected_with_the_key(values, message):
    with pytest.raises(UsageError) as err:
        RunConfig.from_dict(values, source="c.yaml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_flag_values_are_rejected():
    with pytest.raises(UsageError, match="train.batch_size expected an integer, got 3x$"):
        RunConfig().override({"train.batch_size": "3x"})
    with pytest.raises(UsageError, match="unknown config key 'train.nope'"):
        RunConfig().override({"train.nope": "1"})


def test_yaml_file_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        RunConfig.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(UsageError, match="is not valid YAML"):
        RunConfig.from_yaml(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n")
    with pytest.raises(UsageError, match="expected a mapping at the top level, got list"):
        RunConfig.from_yaml(top)


def test_every_configurable_cell_is_a_registered_layer():
    import typing

    from rnnkit import nn as rnn
    from rnnkit.nn.registry import CELL_NAMES, layer_class

    assert typing.get_args(typing.get_type_hints(ModelConfig)["cell"]) == CELL_NAMES
    for cell in CELL_NAMES:
        assert layer_class(cell) is getattr(rnn, layer_class(cell).__name__)
    with pytest.raises(ValueError, match="cell: expected one of rnn, lstm, gru.*got 'xlstm'"):
        layer_class("xlstm")
