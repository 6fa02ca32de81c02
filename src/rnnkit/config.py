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

# ``TASKS`` (the task names, in the registry's order) is derived from
# :mod:`rnnkit.tasks.registry`: see ``__getattr__`` at the end of this module.
# the fraction of a text (lm), of every series' steps (forecast, tag on one record) held
# out for validation when ``valid_fraction`` is not given; labelled examples (classify,
# tag) use :func:`rnnkit.tasks.sequence_data.validation_size`
DEFAULT_VALID_FRACTION = 0.05


@dataclass
class ModelConfig:
    """Architecture: an embedding (symbolic input), the recurrent stack, the task head.

    ``model`` bow is the bag-of-words / bag-of-n-grams linear baseline (classify only);
    ``num_layers``, ``dropout``, ``embedding_size``, ``bidirectional`` and ``head``
    None take the task's choice for its input (and ``lowercase`` and ``min_freq`` of
    :class:`DataConfig`): see :data:`rnnkit.tasks.declare.DATA_DEFAULTS` and each
    task's ``defaults``.
    The regularisers (``weight_drop`` ... ``layer_norm``) are described in
    :func:`rnnkit.tasks.base.recurrent_stack` and :class:`rnnkit.tasks.base.StackDropout`.
    """

    model: Literal["rnn", "bow"] = "rnn"
    cell: Literal["rnn", "lstm", "gru", "mingru", "minlstm", "rglru", "qrnn"] = "lstm"
    hidden_size: int = 256
    num_layers: Optional[int] = None
    bidirectional: Optional[bool] = None
    dropout: Optional[float] = None
    embedding_size: Optional[int] = None
    nonlinearity: Literal["tanh", "relu"] = "tanh"
    backend: Literal["auto", "fused", "unrolled"] = "auto"
    recurrent_init: Literal["default", "orthogonal", "identity"] = "default"
    forget_bias: Optional[float] = None
    tie_embeddings: bool = False
    head: Optional[Literal["last", "mean", "max"]] = None
    # classify, real values: consecutive steps read as one (rnnkit.tasks.sequence.ValueInputs);
    # None: chosen from the training sequences' median length (1 for texts)
    patch: Optional[int] = None
    # classify, real values: convolutions of this many channels read the series before
    # the patch (rnnkit.tasks.sequence.ConvStem), each patch then the max of its steps;
    # 0: none; None: the task's choice for a new run (none in a run saved before the option)
    stem: Optional[int] = None
    ngrams: int = 2
    loss: Literal["mse", "mae", "gaussian", "quantile"] = "mse"
    quantiles: list[float] = field(default_factory=lambda: [0.1, 0.5, 0.9])
    decoder: Literal["direct", "autoregressive"] = "direct"
    # forecast, direct decoder: each input window's targets standardised by their own
    # mean and std, the forecast taken back (rnnkit.tasks.forecast.network.Forecaster.direct);
    # None: on with the direct decoder for a new run (off in a run saved before the option)
    window_norm: Optional[bool] = None
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
    lowercase: Optional[bool] = None
    min_freq: Optional[int] = None
    max_vocab: Optional[int] = None
    # classify and tag, words: in training, a word seen n times is read as <unk> with
    # probability word_dropout / (word_dropout + n) (rnnkit.data.batching.WordDropout);
    # None: the task's choice for a new run (0, off, in a run saved before the option)
    word_dropout: Optional[float] = None
    # classify and tag, words: a word not in the vocabulary is read by its shape
    # (rnnkit.data.tokenizers.WORD_SHAPES: capitalised, all capitals, a number, ...)
    # rather than as one <unk>; None: the task's choice for a new run
    word_shapes: Optional[bool] = None
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
    """Everything a training run needs; saved as ``config.yaml`` in the run directory.

    ``task`` is a registered task's name (:mod:`rnnkit.tasks.registry`). The sections
    hold every task's fields; a key is accepted for the tasks that declare it (the
    common options, and the task's own: ``rnnkit.tasks.registry.options_of``). A key
    of another task with a value other than its default is refused
    (:class:`ForeignOption`); at its default it is accepted and ignored, as in
    config files written before the tasks declared their options. Options a task
    declares that are no dataclass field (a task added outside rnnkit) are stored as
    attributes of their section.
    """

    task: str = "lm"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: dict, source: str = "config", task: str | None = None) -> "RunConfig":
        """Build from nested dicts (a parsed YAML file); every key and value checked.
        ``task``, when given, replaces the values' own (the command line's TASK)."""
        return _build_run(cls, values, source, task)

    @classmethod
    def from_yaml(cls, path, task: str | None = None) -> "RunConfig":
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
        return cls.from_dict(values, source=str(path), task=task)

    def to_dict(self, own: bool = False) -> dict:
        """Nested dicts of every field (and the task's declared extra options); with
        ``own``, only the keys of :attr:`task` (the common ones and its own)."""
        from .tasks.registry import options_of

        out = dataclasses.asdict(self)
        options = options_of(self.task)
        for o in options:
            if o.name not in field_names(_SECTIONS[o.section]):
                out[o.section][o.name] = getattr(getattr(self, o.section), o.name, o.default)
        if own:
            keys = {o.key for o in options}
            out = {k: ({n: v for n, v in part.items() if f"{k}.{n}" in keys} if isinstance(part, dict) else part)
                   for k, part in out.items()}
        return out

    def to_yaml(self) -> str:
        """config.yaml: the task and its own options (the common ones and the task's)."""
        import yaml

        return yaml.safe_dump(self.to_dict(own=True), sort_keys=False)

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
                _refuse_foreign(key, values.get("task", self.task), source)
                raise UsageError(f"unknown config key {key!r}")
            target[name] = _Text(value) if isinstance(value, str) else value
        return _build_run(type(self), values, source)


class ForeignOption(UsageError):
    """A config key that the run's task does not read: it belongs to other tasks.
    ``key`` (dotted), ``task`` and ``owners`` (the tasks that declare it) say which."""

    def __init__(self, key: str, task: str, owners: list[str], source: str = ""):
        self.key, self.task, self.owners, self.source = key, task, list(owners), source
        super().__init__(f"{source + ': ' if source else ''}{key} is not an option of task {task}; "
                         f"it belongs to {_and(self.owners)}")


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


_SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}


def _refuse_foreign(key: str, task: str, source: str) -> None:
    """ForeignOption when another task declares ``key``; nothing otherwise."""
    from .tasks.registry import option_keys, owners

    if key in option_keys(task):
        return
    others = owners(key)
    if others:
        raise ForeignOption(key, task, others, source)


def _build_run(cls, values, source: str, task: str | None = None) -> "RunConfig":
    """A RunConfig from nested dicts: the task checked against the registry, each
    section's keys against the task's declared options."""
    from .tasks.registry import option_keys, options_of, task_names

    if not isinstance(values, dict):
        raise UsageError(f"{source}: expected a mapping for the config, got {type(values).__name__}")
    values = dict(values)
    if task is not None:
        values["task"] = task
    name = values.get("task", cls.task)
    if not isinstance(name, str) or name not in task_names():
        shown = str(name) if isinstance(name, _Text) else repr(name)
        raise UsageError(f"{source}: task expected one of {', '.join(repr(t) for t in task_names())}, "
                         f"got {shown}")
    own = option_keys(name)
    extras = {o.key: o for o in options_of(name) if o.name not in field_names(_SECTIONS[o.section])}
    given, extra_values = [], {}
    for section in _SECTIONS:
        part = values.get(section)
        if not isinstance(part, dict):
            continue      # _build says what is wrong with it
        part = dict(part)
        for key in list(part):
            dotted = f"{section}.{key}"
            if dotted in extras:
                extra_values[dotted] = part.pop(key)
            elif key in field_names(_SECTIONS[section]):
                given.append(dotted)
            else:
                _refuse_foreign(dotted, name, source)      # another task's extra option
        values[section] = part
    cfg = _build(cls, values, prefix="", source=source)
    default = cls()
    for dotted in given:
        if dotted in own:
            continue
        section, key = dotted.split(".")
        if getattr(getattr(cfg, section), key) != getattr(getattr(default, section), key):
            _refuse_foreign(dotted, name, source)
    for dotted, option in extras.items():
        section, key = dotted.split(".")
        value = option.default
        if dotted in extra_values:
            value = _coerce(extra_values[dotted], option.type, dotted, source)
        setattr(getattr(cfg, section), key, value)
    return cfg


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


def __getattr__(name: str):
    # TASKS: the registered tasks' names, derived from the registry when asked for
    if name == "TASKS":
        from .tasks.registry import task_names

        return task_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
