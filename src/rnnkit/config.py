"""Typed configuration: one dataclass per component, composed into a :class:`RunConfig`.

Values come, in increasing priority, from the dataclass defaults, a YAML file and
command-line flags. Every value is checked against its field's type; unknown keys and
values of the wrong type raise :class:`~rnnkit.errors.UsageError` with the key's dotted
name. Models take architecture only; optimiser, steps and learning rate belong to
:class:`TrainConfig`.

Example::

    cfg = RunConfig.from_dict({"task": "lm", "model": {"cell": "gru"}})
    cfg = cfg.override({"train.lr": "0.01"})      # strings as given on a command line
    cfg.train.lr                                  # 0.01
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Union

from .errors import UsageError

TASKS = ("lm", "classify", "tag", "forecast")
# the fraction of a text (lm), of every series' steps (forecast, tag on one record) held
# out for validation when ``valid_fraction`` is not given; labelled examples (classify,
# tag) use :func:`rnnkit.tasks.sequence_data.validation_size`
DEFAULT_VALID_FRACTION = 0.05


@dataclass
class ModelConfig:
    """Architecture: an embedding (symbolic input), the recurrent stack, the task head.

    ``model`` bow is the bag-of-words / bag-of-n-grams linear baseline (classify only);
    ``bidirectional`` None takes the task's default (true for tag, false otherwise).
    The regularisers (``weight_drop`` ... ``layer_norm``) are described in
    :func:`rnnkit.tasks.base.recurrent_stack` and :class:`rnnkit.tasks.base.StackDropout`.
    """

    model: Literal["rnn", "bow"] = "rnn"
    cell: Literal["rnn", "lstm", "gru", "mingru", "minlstm", "rglru", "qrnn"] = "lstm"
    hidden_size: int = 256
    num_layers: int = 2
    bidirectional: Optional[bool] = None
    dropout: float = 0.1
    embedding_size: int = 64
    nonlinearity: Literal["tanh", "relu"] = "tanh"
    backend: Literal["auto", "fused", "unrolled"] = "auto"
    recurrent_init: Literal["default", "orthogonal", "identity"] = "default"
    forget_bias: Optional[float] = None
    tie_embeddings: bool = False
    head: Literal["last", "mean", "max"] = "last"
    ngrams: int = 2
    loss: Literal["mse", "mae", "gaussian", "quantile"] = "mse"
    quantiles: list[float] = field(default_factory=lambda: [0.1, 0.5, 0.9])
    decoder: Literal["direct", "autoregressive"] = "direct"
    # regularisers (rnnkit.nn.regularise), all off by default: locked and embedding
    # dropout for every cell; weight drop, hidden_dropout, zoneout and layer norm for
    # the cells rnn, lstm and gru
    weight_drop: float = 0.0
    input_dropout: float = 0.0
    hidden_dropout: float = 0.0
    output_dropout: float = 0.0
    embedding_dropout: float = 0.0
    zoneout: float = 0.0
    layer_norm: bool = False


@dataclass
class DataConfig:
    """Where the data is and how it is cut into training examples."""

    data: Optional[list[str]] = None
    valid: Optional[list[str]] = None
    test: Optional[list[str]] = None
    valid_fraction: Optional[float] = None
    seq_length: int = 128
    max_chars: Optional[int] = None
    tokenizer: Optional[Literal["char", "word", "bpe"]] = None
    lowercase: bool = False
    min_freq: int = 1
    max_vocab: Optional[int] = None
    vocab_size: int = 8000
    text_column: str = "text"
    label_column: str = "label"
    max_length: Optional[int] = None
    format: Optional[Literal["csv", "parquet", "npy", "npz", "ucr", "ts", "wfdb", "edf"]] = None
    target: Optional[list[str]] = None
    time_column: Optional[str] = None
    series_column: Optional[str] = None
    covariates: Optional[list[str]] = None
    future_covariates: Optional[list[str]] = None
    horizon: Optional[int] = None
    input_length: Optional[int] = None
    stride: int = 1
    season: Optional[int] = None
    fill: Optional[Literal["ffill", "interpolate", "zero"]] = None
    scale: Literal["series", "global", "none"] = "series"
    normalize: bool = False
    channels: Optional[list[str]] = None
    resample: Optional[float] = None


@dataclass
class TrainConfig:
    """How the model is trained: optimiser, schedule, limits, hardware.

    The limits form one budget (:mod:`rnnkit.training.budget`): ``max_time`` alone
    trains for that time unless validation stops improving; ``max_steps`` /
    ``max_epochs`` are taken as given; with none of them the budget in steps follows the
    data's size. ``max_steps`` -1 and ``max_epochs`` None mean "not given".
    ``early_stopping_patience`` auto and ``val_every_n_steps`` None scale with the
    budget; an integer patience counts validations without improvement, null turns
    early stopping off.
    """

    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    max_epochs: Optional[int] = None
    max_steps: int = -1
    max_time: Optional[float] = None
    seed: int = 0
    gradient_clip: Optional[float] = 5.0
    lr_schedule: Literal["none", "plateau", "cosine"] = "cosine"
    early_stopping_patience: Union[int, Literal["auto"], None] = "auto"
    val_every_n_steps: Optional[int] = None
    checkpoint_every_n_steps: Optional[int] = None
    log_every_n_steps: int = 10
    precision: Literal["auto", "32", "64", "bf16-mixed", "16-mixed"] = "auto"
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: Union[int, str] = 1
    strategy: str = "auto"
    num_nodes: int = 1
    progress_bar: bool = True


@dataclass
class RunConfig:
    """Everything a training run needs; saved as ``config.yaml`` in the run directory."""

    task: Literal["lm", "classify", "tag", "forecast"] = "lm"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> "RunConfig":
        """Build from nested dicts (a parsed YAML file); every key and value checked."""
        return _build(cls, values, prefix="", source=source)

    @classmethod
    def from_yaml(cls, path) -> "RunConfig":
        import yaml

        path = Path(path)
        if not path.is_file():
            raise UsageError(f"config file {str(path)!r} does not exist")
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UsageError(f"config file {str(path)!r} is not valid YAML: {first}") from None
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise UsageError(f"config file {str(path)!r}: expected a mapping at the top level, "
                             f"got {type(values).__name__}")
        return cls.from_dict(values, source=str(path))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def override(self, flat: dict[str, Any], source: str = "command line") -> "RunConfig":
        """A copy with dotted keys (``"train.lr"``) replaced. String values are parsed to
        the field's type (as typed on a command line); other values are checked as is."""
        values = self.to_dict()
        for key, value in flat.items():
            section, _, name = key.rpartition(".")
            target = values
            if section:
                if section not in values or not isinstance(values[section], dict):
                    raise UsageError(f"unknown config key {key!r}")
                target = values[section]
            if name not in target:
                raise UsageError(f"unknown config key {key!r}")
            target[name] = _Text(value) if isinstance(value, str) else value
        return _build(type(self), values, prefix="", source=source)


# ---- checking ------------------------------------------------------------------------
class _Text(str):
    """A string from a command line: parsed into the field's type rather than taken as is."""


def _build(cls, values, prefix: str, source: str):
    if not isinstance(values, dict):
        raise UsageError(f"{source}: expected a mapping for {prefix.rstrip('.') or 'the config'}, "
                         f"got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in values if k not in names]
    if unknown:
        raise UsageError(f"{source}: unknown config key {prefix + str(unknown[0])!r} "
                         f"(known in {prefix.rstrip('.') or 'the top level'}: {', '.join(names)})")
    kwargs = {}
    for name in names:
        if name not in values:
            continue
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, values[name] if values[name] is not None else {},
                                  prefix + name + ".", source)
        else:
            kwargs[name] = _coerce(values[name], hint, prefix + name, source)
    return cls(**kwargs)


def _describe(hint) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is list:
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    if hint is type(None):
        return "null"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint)))


class _Mismatch(Exception):
    pass


def _coerce(value, hint, key: str, source: str):
    try:
        return _convert(value, hint)
    except _Mismatch:
        shown = str(value) if isinstance(value, _Text) else repr(value)
        kind = "" if isinstance(value, _Text) else f" ({type(value).__name__})"
        raise UsageError(f"{source}: {key} expected {_describe(hint)}, got {shown}{kind}") from None


def _convert(value, hint):
    origin = typing.get_origin(hint)
    text = isinstance(value, _Text)
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        # None first: "null"/"none" on a command line means no value.
        if type(None) in args and (value is None or (text and value.lower() in ("null", "none", ""))):
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg)
            except _Mismatch:
                pass
        raise _Mismatch
    if origin is Literal:
        choices = typing.get_args(hint)
        if value in choices:
            return str(value) if text else value
        raise _Mismatch
    if origin is list:
        (item,) = typing.get_args(hint)
        if text:
            value = [_Text(v) for v in value.split(",") if v]
        elif isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise _Mismatch
        return [_convert(v, item) for v in value]
    if hint is bool:
        if isinstance(value, bool):
            return value
        if text and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise _Mismatch
    if hint is int:
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, int):
            return value
        if text:
            try:
                return int(value)
            except ValueError:
                raise _Mismatch from None
        raise _Mismatch
    if hint is float:
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, (int, float)):
            return float(value)
        if text:
            try:
                return float(value)
            except ValueError:
                raise _Mismatch from None
        raise _Mismatch
    if hint is str:
        if isinstance(value, str):
            return str(value)
        raise _Mismatch
    raise TypeError(f"unsupported config type {hint!r}")


def field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]
