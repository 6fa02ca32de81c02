"""The library names options by their config keys (``data.fill``); the command line
renders them as flags (``--fill``), the estimators as parameter names (``fill``)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main
from rnnkit.config import DataConfig, ModelConfig, TrainConfig
from rnnkit.errors import UsageError, as_flags, as_params, config_keys, flag_of

SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}
FIELDS = [(s, f.name) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]


def test_the_keys_are_the_config_fields():
    assert config_keys() == {f"{s}.{name}" for s, name in FIELDS}
    assert {"data.fill", "data.data", "model.hidden_size", "train.max_time"} <= config_keys()


@pytest.mark.parametrize("section, name", FIELDS)
def test_every_field_renders_as_its_flag_and_its_parameter(section, name):
    flag = "--" + name.replace("_", "-")
    assert flag_of(f"{section}.{name}") == flag
    message = f"{section}.{name}: expected a value, got 'x'; pass {section}.{name}=y (see {section}.{name})."
    assert as_flags(message) == f"{flag}: expected a value, got 'x'; pass {flag}=y (see {flag})."
    assert as_params(message) == f"{name}: expected a value, got 'x'; pass {name}=y (see {name})."


def test_the_flags_the_parser_has():
    assert as_flags("data.data, data.valid and data.test") == "--data, --valid and --test"
    assert as_flags("model.hidden_size, train.max_time, data.valid_fraction") == \
        "--hidden-size, --max-time, --valid-fraction"


@pytest.mark.parametrize("text", [
    "model.pt", "data.csv", "data.txt", "train.parquet", "'data.test'", "runs/data.fill", "my_data.fill",
    "data.data.csv", "data.fill.npy", "model.bogus", "train.learning_rate", "x.model.hidden_size", "data.Fill",
    "run-data.horizon",
])
def test_text_that_is_no_key_is_left_alone(text):
    message = f"error reading {text}: expected something, got nothing"
    assert as_flags(message) == message
    assert as_params(message) == message


def test_a_config_file_names_its_own_keys():
    message = "runs/cfg.yaml: model.hidden_size expected an integer, got 'large' (str)"
    assert as_flags(message) == message
    assert as_flags("command line: model.hidden_size expected an integer, got ten") == \
        "command line: --hidden-size expected an integer, got ten"


def _series_file(tmp_path):
    path = tmp_path / "s.csv"
    pd.DataFrame({"y": np.sin(np.arange(40) / 3.0)}).to_csv(path, index=False)
    return path


def test_a_library_error_names_the_key(tmp_path):
    from rnnkit.data.series import read_series_table

    with pytest.raises(UsageError, match=r"^data\.fill: expected one of ffill, interpolate, zero, got 'mean'$"):
        read_series_table(_series_file(tmp_path), columns=["y"], fill="mean")


def test_the_command_line_gives_the_flag(tmp_path, capsys):
    path = _series_file(tmp_path)
    base = ["train", "forecast", "--data", str(path), "--target", "y", "--out", str(tmp_path / "run")]
    assert main(base + ["--fill", "mean"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: command line: --fill expected one of") and "data.fill" not in err
    assert main(base + ["--horizon", "0"]) == 2             # raised by the task, as data.horizon
    assert capsys.readouterr().err == "error: --horizon: expected a positive number of steps to forecast, got 0\n"
    assert not (tmp_path / "run").exists()


def test_an_estimator_gives_the_parameter(tmp_path):
    from rnnkit import Forecaster

    frame = pd.DataFrame({"y": np.sin(np.arange(40) / 3.0)})
    with pytest.raises(UsageError, match=r"^fill: expected one of ffill, interpolate, zero, got 'mean'$"):
        Forecaster(fill="mean").fit(frame)
    with pytest.raises(ValueError, match=r"^horizon: expected a positive number of steps to forecast, got 0$"):
        Forecaster(horizon=0, max_steps=1).fit(frame, run_dir=tmp_path / "run")
    with pytest.raises(UsageError, match=r"^Forecaster: hidden_size expected an integer, got 'big' \(str\)$"):
        Forecaster(hidden_size="big").fit(frame)          # the config's own check
