"""The ``rnnkit`` command line: a thin layer over :mod:`rnnkit.config`,
:mod:`rnnkit.training` and :mod:`rnnkit.tasks`.

    rnnkit train TASK [--data PATH ...] --out RUN [--config FILE] [flags]
    rnnkit tune TASK [--data PATH ...] --out RUN --max-time S [--trials N] [--resume] [flags]
    rnnkit evaluate RUN --data PATH [--json]
    rnnkit predict RUN --data PATH --out FILE [--overwrite]
    rnnkit generate RUN [--prime TEXT] [--length N] [--temperature T] [--top-k K] [--top-p P] [--seed S]
    rnnkit info RUN
    rnnkit datasets list [--json]
    rnnkit datasets export NAME DIR [--overwrite]

Bad use (a wrong flag, a bad config value, missing or unreadable data, an existing run
directory) prints one line on stderr and exits with status 2, writing nothing. SIGINT
and SIGTERM print one line (``interrupted: ...``) and exit with 130 / 143 (128 + the
signal); train first writes a checkpoint that ``--resume`` continues from.
"""

from __future__ import annotations

import argparse
import time
import json
import os
import sys
import typing
from pathlib import Path

from ..config import RunConfig
from ..errors import Interrupted, UsageError, flag_of
from ..tasks.declare import DATA_DEFAULTS
from ..tasks.registry import (all_options, declaration, option_default, option_keys, option_type, owners,
                              task_default, task_names)

SECTIONS = ("model", "data", "train")
# Flags of list-valued data fields take one or more paths.
_PATH_LISTS = {"data.data", "data.valid", "data.test"}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _type_name(hint) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "{" + ",".join(map(str, typing.get_args(hint))) + "}"
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args:
        return "|".join(_type_name(a) for a in args)
    return {int: "INT", float: "FLOAT", str: "TEXT", bool: "BOOL"}.get(hint, "VALUE")


def _and(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# data options that say how files are read, not what the model learned: evaluate and
# predict accept them too (for the tasks that declare them), defaulting to the run's own
READING_OPTIONS = ("data.format", "data.text_column", "data.label_column", "data.time_column",
                   "data.series_column", "data.fill")


def _add_option(group, option, reading: bool = False, task: str | None = None) -> None:
    """The flag of a declared option (``--hidden-size`` -> ``model.hidden_size``);
    ``task`` shows its choice for the keys it chooses from the input."""
    hint = option_type(option)
    about = option.help
    if reading:   # "(default: ...)" of training does not apply
        about = about.split(" (default:")[0]
    shown = "the run's" if reading else option_default(option)
    if task is not None and option.key in DATA_DEFAULTS and not reading:
        text_value, values_value = (task_default(task, kind, option.key) for kind in ("text", "values"))
        shown = (text_value if text_value == values_value
                 else f"{text_value} for texts, {values_value} for values")
    text = about if "(default:" in about else f"{about} (default: {shown})"    # the help says it already
    text = text.replace("%", "%%")
    if hint in (bool, typing.Optional[bool]):
        group.add_argument(option.flag, dest=option.key, action=argparse.BooleanOptionalAction, default=None,
                           help=text)
    elif option.key in _PATH_LISTS:
        group.add_argument(option.flag, dest=option.key, nargs="+", metavar="PATH", default=None, help=text)
    else:
        group.add_argument(option.flag, dest=option.key, metavar=_type_name(hint), default=None, help=text)


class _Foreign(argparse.Action):
    """The flag of another task's option: refused, naming the task it belongs to."""

    def __init__(self, option_strings, dest, task: str = "", belongs=(), **kwargs):
        super().__init__(option_strings, dest, nargs="*", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        self.task, self.belongs = task, list(belongs)

    def __call__(self, parser, namespace, values, option_string=None):
        raise UsageError(f"{option_string} is not an option of task {self.task}; it belongs to "
                         f"{_and(self.belongs)}")


def _add_task_flags(p: argparse.ArgumentParser, task: str) -> None:
    """The flags of ``task``'s options: the common ones by section, then the task's own;
    another task's flag is refused with a message naming the task it belongs to."""
    from ..tasks.registry import common_options

    common = common_options()
    for section in SECTIONS:
        group = p.add_argument_group(f"{section} (every task)")
        for option in common:
            if option.section == section:
                _add_option(group, option, task=task)
    decl = declaration(task)
    group = p.add_argument_group(f"{task} (this task's own)")
    for option in decl.options:
        _add_option(group, option, task=task)
    own = option_keys(task)
    for key, option in all_options().items():
        if key in own:
            continue
        flags = [option.flag]
        if option_type(option) in (bool, typing.Optional[bool]):
            flags.append("--no-" + option.flag[2:])
        p.add_argument(*flags, dest=f"_foreign.{key}", action=_Foreign, task=task, belongs=owners(key))


def _task_parsers(p: argparse.ArgumentParser, command: str, about: str):
    """One sub-parser per registered task under ``command`` (``rnnkit train TASK``)."""
    tasks = p.add_subparsers(dest="task", metavar="TASK", parser_class=_Parser,
                             help="one of: " + ", ".join(task_names()) + f" ('rnnkit {command} TASK --help': "
                                  f"that task's options)")
    tasks.required = True
    for name in task_names():
        decl = declaration(name)
        reads = "; ".join(decl.reads)
        q = tasks.add_parser(name, help=decl.about,
                             description=f"{about} Task {name}: {decl.about}."
                                         + (f" Reads {reads}." if reads else ""))
        yield name, q


def _add_reading_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("reading the files (default: as the run was trained; the options of the "
                                 "run's task)")
    options = all_options()
    for key in READING_OPTIONS:
        if key in options:
            _add_option(group, options[key], reading=True)


def _command_args(command: str) -> dict:
    """The task arguments of evaluate / predict (``Arg``), by name, over every task:
    name -> (Arg, [tasks that take it])."""
    out: dict = {}
    for name in task_names():
        for arg in getattr(declaration(name), f"{command}_args"):
            out.setdefault(arg.name, (arg, []))[1].append(name)
    return out


def _add_command_args(p: argparse.ArgumentParser, command: str) -> None:
    for arg, tasks in _command_args(command).values():
        text = f"{'/'.join(tasks)}: {arg.help}"
        if arg.kind == "flag":
            p.add_argument(arg.flag, dest=arg.name, action="store_true", help=text)
        elif arg.kind == "paths":
            p.add_argument(arg.flag, dest=arg.name, nargs="+", default=None, metavar=arg.metavar, help=text)
        else:
            p.add_argument(arg.flag, dest=arg.name, type=_int, default=None, metavar=arg.metavar, help=text)


def _task_arguments(args, command: str, task: str) -> dict:
    """The keywords of the task's evaluate / predict: its declared arguments' values;
    another task's argument given is refused."""
    own = {a.name for a in getattr(declaration(task), f"{command}_args")}
    out = {}
    for name, (arg, tasks) in _command_args(command).items():
        value = getattr(args, name, None)
        if name in own:
            out[arg.keyword or name] = value
        elif value not in (None, False):
            wanted = (f"a {tasks[0]} run" if len(tasks) == 1
                      else f"a run of task {', '.join(tasks[:-1])} or {tasks[-1]}")
            raise UsageError(f"{arg.flag}: expected {wanted}, got task {task!r}")
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnkit", description="Recurrent neural networks from data files to trained models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("train", help="train a model into a run directory",
                       description="Train a model. 'rnnkit train TASK --help' lists that task's options.")
    for name, q in _task_parsers(p, "train", "Train a model. Values come from the defaults, then --config, "
                                             "then flags."):
        q.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory to create (or to resume)")
        q.add_argument("--config", metavar="FILE", help="YAML file with model/data/train sections")
        q.add_argument("--resume", action="store_true", help="continue RUN_DIR from its last checkpoint")
        q.add_argument("--overwrite", action="store_true", help="replace an existing RUN_DIR")
        _add_task_flags(q, name)

    about = ("Hyperparameter search with Optuna. Each trial trains into RUN/tune/trial-NNNN "
             "with the trainer's max_time set to (budget left) / (trials left), at least "
             "--min-trial-time; poor trials are pruned at a validation; the objective is "
             "the validation loss (val_loss), minimised. The flags given are fixed, the "
             "rest of the task's search space is searched. RUN's top level is the best "
             "trial's run directory (evaluate, predict, info use it as any run); "
             "RUN/tune holds the study (study.db), trials.csv and trials.png.")
    p = sub.add_parser("tune", help="search a task's options within a time budget (Optuna); RUN ends as the best run",
                       description=about + " 'rnnkit tune TASK --help' lists that task's options.")
    for name, q in _task_parsers(p, "tune", about):
        q.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory to create (or to resume)")
        q.add_argument("--trials", type=_int, default=None, metavar="N",
                       help="trials in all (default: one per minute of --max-time, 1 to 20)")
        q.add_argument("--min-trial-time", type=_float, default=None, metavar="S",
                       help="the least max_time a trial is given, in seconds (default: 10)")
        q.add_argument("--config", metavar="FILE", help="YAML file with model/data/train sections (its keys are fixed)")
        q.add_argument("--resume", action="store_true",
                       help="continue the study in RUN_DIR/tune/study.db: complete trials kept, a trial cut by a "
                            "kill run again, the budget counted from what was spent")
        q.add_argument("--overwrite", action="store_true", help="replace an existing RUN_DIR")
        _add_task_flags(q, name)
        for action in q._actions:
            if action.dest == "train.max_time":
                action.help = "the whole search's budget in seconds (required; with --resume, default: the study's)"

    p = sub.add_parser("evaluate", help="metrics of a trained run on data",
                       description="Evaluate the run's best checkpoint on data.")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--data", required=True, nargs="+", metavar="PATH", help="files, folders or globs")
    p.add_argument("--json", action="store_true", help="print one JSON object of metrics and nothing else")
    _add_command_args(p, "evaluate")
    _add_reading_flags(p)

    p = sub.add_parser("predict", help="write predictions for data to a file",
                       description="Predict with the run's best checkpoint. lm: one row per file with its "
                                   "log-probability and perplexity (CSV). classify: one row per text with the "
                                   "predicted label and each class's probability (CSV). tag: the input's tokens "
                                   "with a predicted tag each (CoNLL); on real values, one row per step with the "
                                   "predicted label and each label's probability (CSV). Records (WFDB .hea, EDF, "
                                   ".npy) are read in chunks: a unidirectional tagger carries its state across "
                                   "them (memory independent of the length), a bidirectional one reads "
                                   "consecutive windows of its training --max-length (10,000 steps without "
                                   "one), each whole.")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--data", required=True, nargs="+", metavar="PATH", help="files, folders or globs")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="output file (CSV); never one of the inputs, an existing one only with --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace --out when it exists")
    _add_command_args(p, "predict")
    _add_reading_flags(p)

    p = sub.add_parser("generate", help="sample text from a language model",
                       description="Sample text from a trained language model.")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--prime", default="", metavar="TEXT", help="text the sample continues (default: a new line)")
    p.add_argument("--length", type=_int, default=500, metavar="N", help="tokens to generate: characters, words or subwords (500)")
    p.add_argument("--temperature", type=_float, default=1.0, metavar="T", help="softmax temperature (default: 1.0)")
    p.add_argument("--top-k", type=_int, default=None, metavar="K", help="sample among the K most likely")
    p.add_argument("--top-p", type=_float, default=None, metavar="P", help="nucleus sampling: smallest set reaching P")
    p.add_argument("--seed", type=_int, default=None, metavar="S", help="random seed (repeatable samples)")

    p = sub.add_parser("export", help="write the model as ONNX or pt2, with its preprocessing as JSON",
                       description="Export the run's model (best checkpoint) as a graph that takes the model's "
                                   "input, lengths where the task has them, and the recurrent state, and returns "
                                   "the outputs and the new state (so a stream can be fed chunk by chunk; "
                                   "bidirectional and pooling models take whole sequences, without state), with "
                                   "dynamic batch and time axes. Beside FILE: FILE.json (the preprocessing: "
                                   "vocabulary, classes, scalers, columns, ...) and, for a BPE tokenizer, "
                                   "FILE.tokenizer.json. Nothing of rnnkit is needed to use them: onnxruntime "
                                   "runs the ONNX file, torch.export.load the pt2 file.")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--format", required=True, choices=["onnx", "pt2"], help="onnx or pt2 (torch.export)")
    p.add_argument("--out", required=True, metavar="FILE", help="the model file to write")
    p.add_argument("--overwrite", action="store_true", help="replace FILE (and its JSON) if they exist")

    p = sub.add_parser("inspect", help="how far back a trained model looks: gradient flow, spectra, gates",
                       description="Diagnose a trained run on data: the norm of the gradient of the last "
                                   "step's loss with respect to each earlier input and state, the effective "
                                   "memory length, the recurrent weights' spectra and gate saturation. Writes "
                                   "inspect.json and gradient_flow.png.")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--data", required=True, nargs="+", metavar="PATH", help="files, folders or globs")
    p.add_argument("--length", type=_int, default=200, metavar="N", help="steps per window (200)")
    p.add_argument("--windows", type=_int, default=32, metavar="N", help="windows averaged over (32)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: RUN_DIR/inspect)")

    p = sub.add_parser("lab", help="experiments: where plain RNNs forget and LSTM/GRU remember",
                       description="Experiments of the long-range lab.")
    labs = p.add_subparsers(dest="lab", metavar="EXPERIMENT", parser_class=_Parser)
    labs.required = True
    q = labs.add_parser("long-range", help="each cell at each length under the same budget",
                        description="Train each cell at each sequence length on the adding problem, the copy "
                                    "task or the selective copy task, under the same time budget per run; print "
                                    "a table (test metric against the trivial baseline, steps to solve, effective "
                                    "memory, the same weights at 2T-8T) and write a plot and the results to --out.")
    q.add_argument("--task", default="adding", metavar="{adding,copy,selective-copy}",
                   help="adding (MSE), copy or selective-copy (recall accuracy)")
    q.add_argument("--cells", default=None, metavar="LIST",
                   help="comma-separated cells (default: every cell rnnkit.nn.registry names)")
    q.add_argument("--lengths", default="25,50,100,200", metavar="LIST", help="comma-separated sequence lengths")
    q.add_argument("--variants", default="default", metavar="LIST",
                   help="comma-separated remedies, each run for the cells it applies to: default (clip 1), "
                        "noclip, orthogonal (cells with a recurrent matrix W_hh), irnn (rnn), forget_bias (lstm)")
    q.add_argument("--max-time", type=_float, default=30.0, metavar="S", help="seconds of training per run (30)")
    q.add_argument("--max-steps", type=_int, default=20_000, metavar="N", help="steps per run at most (20000)")
    q.add_argument("--hidden-size", type=_int, default=64, metavar="N", help="units (64)")
    q.add_argument("--batch-size", type=_int, default=None, metavar="N",
                   help="sequences per batch (default: 64 up to T = 256, then 16384 / T, at least 16)")
    q.add_argument("--lr", type=_float, default=1e-3, metavar="LR", help="Adam learning rate (0.001)")
    q.add_argument("--seed", type=_int, default=0, metavar="S", help="random seed (0)")
    q.add_argument("--out", default="runs/lab-long-range", metavar="DIR",
                   help="folder for the plot and results.json (default: runs/lab-long-range)")
    q.add_argument("--json", action="store_true", help="print the results as one JSON list and nothing else")

    p = sub.add_parser("info", help="what a run's model is, what it was trained on, its metrics",
                       description="Describe a run directory, or (--system) how this machine runs the layers.")
    p.add_argument("run", metavar="RUN_DIR", nargs="?")
    p.add_argument("--system", action="store_true",
                   help="print torch's version and threads, which kernels the layers use and the denormal state")

    p = sub.add_parser("datasets", help="real datasets shipped inside installed packages, for offline examples",
                       description="Datasets bundled with statsmodels and aeon: forecasting series (written as "
                                   "CSV) and UCR/UEA classification sets (the .ts files as they are).")
    ds = p.add_subparsers(dest="datasets", metavar="ACTION", parser_class=_Parser)
    ds.required = True
    q = ds.add_parser("list", help="name, kind and description of each dataset",
                      description="List the datasets: name, kind (forecast or classify), description.")
    q.add_argument("--json", action="store_true",
                   help="print one JSON list (with suggested settings and commands) and nothing else")
    q = ds.add_parser("export", help="write a dataset's files into a folder",
                      description="Write a dataset's files into DIR (created if missing) and print their paths.")
    q.add_argument("name", metavar="NAME", help="a name from 'rnnkit datasets list'")
    q.add_argument("dir", metavar="DIR", help="folder to write into")
    q.add_argument("--overwrite", action="store_true", help="replace files that exist")
    return parser


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


# ---- commands ----------------------------------------------------------------------------
def cmd_train(args) -> int:
    from ..training import train
    from ..training.run_dir import CONFIG

    flags = {k: v for k, v in vars(args).items() if "." in k and v is not None}
    run = Path(args.out)
    if args.resume:
        if args.overwrite:
            raise UsageError("train: --resume and --overwrite exclude each other")
        if not (run / CONFIG).is_file():
            raise UsageError(f"--resume: {str(run / CONFIG)!r} does not exist; nothing to resume")
        cfg = RunConfig.from_yaml(run / CONFIG)
        if cfg.task != args.task:
            raise UsageError(f"--resume: run directory {str(run)!r} holds task {cfg.task!r}, got {args.task!r}")
    elif args.config:
        cfg = RunConfig.from_yaml(args.config, task=args.task)
    else:
        cfg = RunConfig(task=args.task)
    cfg = cfg.override(flags)
    metrics = train(cfg, run, overwrite=args.overwrite, resume=args.resume)
    if metrics:
        print(f"run directory: {run}")
        _print_metrics(metrics)
        if metrics.get("baseline_wins"):
            print(verdict_line(metrics["baseline_wins"]), file=sys.stderr)
    return 0


def cmd_tune(args) -> int:
    from ..training.tune import format_summary, tune

    flags = {k: v for k, v in vars(args).items() if "." in k and v is not None}
    budget = flags.pop("train.max_time", None)
    if budget is not None:
        try:
            budget = float(budget)
        except ValueError:
            raise UsageError(f"--max-time: expected the search's budget in seconds, got {budget!r}") from None
    elif not args.resume:
        raise UsageError("tune: --max-time S is required (the whole search's budget in seconds)")
    fixed = set(flags)
    cfg = RunConfig(task=args.task)
    if args.config:
        cfg = RunConfig.from_yaml(args.config, task=args.task)
        import yaml

        values = yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) or {}
        fixed |= {f"{section}.{k}" for section, part in values.items() if isinstance(part, dict) for k in part}
        fixed.discard("train.max_time")
    cfg = cfg.override(flags)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        result = tune(cfg, args.out, max_time=budget, trials=args.trials, fixed=fixed, resume=args.resume,
                      overwrite=args.overwrite, min_trial_time=args.min_trial_time, log=progress)
    except UsageError as err:   # the library names config keys; spell tune's own as flags
        import re

        text = re.sub(r"\b(max_time|min_trial_time)\b", lambda m: flag_of(m.group(1)), str(err))
        text = re.sub(r"^(trials|resume):", r"--\1:", text)
        raise UsageError(text) from None
    if "best_trial" not in result["tune"]:
        c = result["tune"]["counts"]
        print(f"error: no trial completed ({c['pruned']} pruned, {c['failed']} failed); see "
              f"{Path(args.out) / 'tune' / 'trials.csv'}", file=sys.stderr)
        return 1
    for line in format_summary(result):
        print(line)
    _print_metrics(result)
    return 0


def _flag(key: str, value) -> str:
    """A config key and value as the command line spells them."""
    flag = flag_of(key)
    if value is None:
        return f"a longer {flag}"
    if value is True:
        return flag
    if value is False:
        return "--no-" + flag[2:]
    return f"{flag} {value}"


def verdict_line(v: dict) -> str:
    """One line: the baseline beat the RNN on validation, by how much, what to try."""
    fmt = (lambda x: f"{x:.4g}")
    tries = " ".join(_flag(k, val) for k, val in v["try"].items() if val is not None)
    longer = [_flag(k, None) for k, val in v["try"].items() if val is None]
    advice = ", ".join(([tries] if tries else []) + longer + ["or rnnkit tune"])
    return (f"note: the baseline {v['baseline']} beats the RNN on validation {v['metric']} "
            f"({fmt(v['baseline_value'])} against {fmt(v['rnn'])}); try {advice}")


def _print_metrics(metrics: dict, indent: str = "") -> None:
    for split in ("train", "validation", "test"):
        if metrics.get(split):
            shown = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in metrics[split].items() if not isinstance(v, (dict, list)))
            print(f"{indent}{split:<10} {shown}")
            if metrics[split].get("baselines"):
                for line in _baseline_table(metrics[split]).splitlines():
                    print(f"{indent}  {line}")
    if metrics.get("baseline"):
        b = metrics["baseline"]
        what = b.get("about") or (f"bag of 1..{b['ngrams']}-grams" if "ngrams" in b
                                  else "the flattened sequence, logistic regression")
        print(f"{indent}baseline: {b['model']} ({what}, same training split)")
        _print_metrics({k: v for k, v in b.items() if k != "baseline"}, indent + "  ")


def cmd_evaluate(args) -> int:
    module, cfg = _load_reading(args)
    decl = declaration(cfg.task)
    extra = _task_arguments(args, "evaluate", cfg.task)
    metrics = decl.spec.evaluate(module, args.data, **extra)
    if args.json:
        print(json.dumps(metrics))
    elif decl.table or metrics.get("baseline"):
        print(_side_by_side(metrics, [k for k in decl.metrics if k in metrics]))
    else:
        for k, v in metrics.items():
            if isinstance(v, (dict, list)):
                continue
            print(f"{k:<20} {v:.4f}" if isinstance(v, float) else f"{k:<20} {v}")
        if metrics.get("baselines"):
            print(_baseline_table(metrics))
    return 0


def _side_by_side(metrics: dict, keys) -> str:
    """evaluate's table: the RNN's figures and, when there is one, the baseline's beside
    them in a column named after it."""
    base = metrics.get("baseline", {})
    w = max(10, len(base.get("model", "")) + 2)
    lines = [f"{'':<16}{'rnn':>10}{base.get('model', 'baseline'):>{w}}"] if base else []
    for k in keys:
        v, b = metrics[k], base.get(k)
        show = (lambda x, n=10: f"{x:>{n}}") if isinstance(v, int) else (lambda x, n=10: f"{x:>{n}.4f}")
        lines.append(f"{k:<16}{show(v)}{show(b, w) if b is not None else ''}")
    return "\n".join(lines)


def _baseline_table(metrics: dict) -> str:
    """The model's error figures beside each baseline's, one column each."""
    names = list(metrics["baselines"])
    keys = [k for k in ("mae", "rmse", "smape", "mase") if k in metrics]
    lines = [f"{'':<8}{'rnn':>12}" + "".join(f"{n:>16}" for n in names)]
    for k in keys:
        lines.append(f"{k:<8}{metrics[k]:>12.4f}" + "".join(f"{metrics['baselines'][n].get(k, float('nan')):>16.4f}"
                                                        for n in names))
    return "\n".join(lines)


def _load_reading(args):
    """The run's module and config, its reading options replaced by the flags given."""
    from ..training import load_run

    module, cfg = load_run(args.run)
    flags = {k: v for k, v in vars(args).items() if k.startswith("data.") and v is not None}
    own = option_keys(cfg.task)
    for key in flags:
        if key not in own:
            flag = flag_of(key)
            raise UsageError(f"{flag} is not an option of task {cfg.task}; it belongs to {_and(owners(key))}")
    if flags:
        cfg = cfg.override(flags)
        module.cfg = cfg
    return module, cfg


def cmd_predict(args) -> int:
    from ..io.atomic import check_output_path
    from ..training.run_dir import CONFIG

    if getattr(args, "horizon", None) is not None and args.horizon < 1:
        raise UsageError(f"--horizon: expected a positive number of steps to forecast, got {args.horizon}")
    run = Path(args.run)
    given = [p for arg, _ in _command_args("predict").values() if arg.kind == "paths"
             for p in (getattr(args, arg.name, None) or [])]
    inputs = [*args.data, *given, run / CONFIG, run / "checkpoints"]
    out = check_output_path(args.out, inputs, args.overwrite)
    module, cfg = _load_reading(args)
    decl = declaration(cfg.task)
    extra = _task_arguments(args, "predict", cfg.task)
    if decl.can("predict_plot"):
        plot = out.with_suffix(".png")
        if plot == out:
            raise UsageError(f"--out: {str(out)!r} is also where the forecast's plot goes; expected a name "
                             f"that does not end in .png")
        check_output_path(plot, inputs, args.overwrite, flag="--out (its plot)")
    try:
        with _writer_lock(run, out):
            n = decl.spec.predict(module, args.data, out, **extra)
    except Interrupted as err:
        raise Interrupted(err.signum, f"interrupted: {err.signal_name}; predict stopped, {str(out)!r} "
                                      f"was not written") from None
    print(f"wrote {n} rows to {out}", file=sys.stderr)
    return 0


def _writer_lock(run: Path, out: Path):
    """The run directory's write lock when ``out`` lies inside it (a command writing
    into a run while train writes it is refused); nothing otherwise."""
    import contextlib

    from ..io.lock import DirectoryLock

    try:
        inside = Path(out).resolve().is_relative_to(Path(run).resolve())
    except OSError:
        inside = False
    return DirectoryLock(run) if inside else contextlib.nullcontext()

def cmd_export(args) -> int:
    from ..export import export_run

    files = export_run(args.run, args.out, args.format, overwrite=args.overwrite)
    for path in files.values():
        print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_generate(args) -> int:
    from ..training import load_run

    module, cfg = load_run(args.run)
    decl = declaration(cfg.task)
    if not decl.can("generate"):
        able = [t for t in task_names() if declaration(t).can("generate")]
        raise UsageError(f"generate: expected a run of a task that generates ({_and(able) if able else 'none'}), "
                         f"got task {cfg.task!r}")
    text = decl.spec.generate(module, args.prime, args.length, args.temperature, args.top_k, args.top_p,
                              args.seed)
    sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    return 0


def cmd_info(args) -> int:
    if args.system == (args.run is not None):
        raise UsageError("info: expected either a run directory or --system, got "
                         + ("both" if args.system else "neither"))
    if args.system:
        from ..nn import native
        print("\n".join(native.describe()))
        return 0
    from ..tasks import get_task
    from ..training import load_run
    from ..training.run_dir import METRICS

    module, cfg = load_run(args.run)
    m = cfg.model
    print(f"run:        {args.run}")
    print(f"task:       {cfg.task}")
    if m.model == "bow":
        print(f"model:      bag of 1..{m.ngrams}-grams (TF-IDF) -> logistic regression; "
              f"{module.model.n_features:,} features")
        data = {}
    else:
        n_params = sum(p.numel() for p in module.parameters())
        data = module.hparams["preprocessing"].get("data", {})
        from ..nn.registry import LAYERS

        print(f"model:      {LAYERS.get(m.cell, m.cell)}, {m.num_layers} layer(s) x {m.hidden_size} units"
              f"{', bidirectional' if module.cfg.model.bidirectional else ''}"
              f"{f', embedding {m.embedding_size}' if getattr(module, 'tokenizer', None) is not None else ''}, "
              f"dropout {m.dropout}; {n_params:,} parameters")
    for line in get_task(cfg.task).describe(module):
        print(f"            {line}")
    if data:
        first = ", ".join(data.get("first_files", []))
        more = data.get("files", 0) - len(data.get("first_files", []))
        counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in data.items()
                           if k not in ("files", "first_files") and isinstance(v, int))
        if data.get("files"):
            print(f"trained on: {data.get('files')} file(s) ({first}{f' and {more} more' if more > 0 else ''}); "
                  f"{counts}")
        else:    # a run trained from Python on data in memory (rnnkit.Classifier().fit(X, y), ...)
            print(f"trained on: data in memory; {counts}")
    t = cfg.train
    if m.model != "bow":
        window = "".join(f", {label} {_value(cfg, key)}" for label, key in declaration(cfg.task).info)
        print(f"training:   {t.optimizer} lr {t.lr}, batch {t.batch_size}{window}, "
              f"seed {t.seed}, max_epochs {t.max_epochs}, max_time {t.max_time}")
    metrics_path = Path(args.run) / METRICS
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        if metrics.get("interrupted"):
            print(f"stopped:    interrupted by {metrics['interrupted']} at epoch {metrics.get('epochs')}, step "
                  f"{metrics.get('steps')}, {metrics.get('seconds')} s; "
                  + (f"resume with: {metrics['resume']}" if metrics.get("resume") else "nothing to resume"))
        elif m.model == "bow":
            print(f"fitted:     {metrics.get('seconds')} s")
        else:
            print(f"stopped:    epoch {metrics.get('epochs')}, step {metrics.get('steps')}, "
                  f"{metrics.get('seconds')} s; weights: {metrics.get('checkpoint')}")
        _print_metrics(metrics)
    else:
        print("metrics:    none yet (training did not finish)")
    return 0


def _value(cfg, key: str):
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def _list(text: str, what: str, kind=str) -> list:
    try:
        items = [kind(t.strip()) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UsageError(f"{what}: expected a comma-separated list of {kind.__name__}, got {text!r}") from None
    if not items:
        raise UsageError(f"{what}: expected a comma-separated list, got {text!r}")
    return items


def cmd_inspect(args) -> int:
    from ..diagnostics.report import inspect_run
    from ..training import load_run

    module, cfg = load_run(args.run)
    if args.windows < 1:
        raise UsageError(f"--windows: expected a positive integer, got {args.windows}")
    out = Path(args.out) if args.out else Path(args.run) / "inspect"
    with _writer_lock(Path(args.run), out):
        s = inspect_run(module, cfg, args.data, out, args.length, args.windows)
    mem = s["effective_memory"]
    print(f"effective memory: {mem['0.1']} steps back at 10% of the last step's gradient, {mem['0.01']} at 1% "
          f"(windows of {s['length']} steps, {s['windows']} windows)")
    for d in s["spectrum"]:
        radius = "-" if d["spectral_radius"] is None else f"{d['spectral_radius']:.3f}"
        print(f"W_hh {d['layer']} {d['gate']:<7} spectral radius {radius}  singular values "
              f"{d['min_singular']:.3f}..{d['max_singular']:.3f}")
    for d in s["gate_saturation"]:
        print(f"gate {d['layer']} {d['gate']:<7} mean {d['mean']:.3f}  below 0.05: {d['below']:.1%}  "
              f"above 0.95: {d['above']:.1%}")
    print(f"wrote {out / 'inspect.json'} and {out / 'gradient_flow.png'}")
    return 0


def cmd_lab(args) -> int:
    from ..lab.long_range import LabConfig, format_row, format_solved, format_table, plot_results, run_lab
    from ..nn.registry import CELL_NAMES
    from ..io.atomic import write_atomic
    from ..training.trainer import quiet_lightning

    quiet_lightning()
    cells = _list(args.cells, "--cells") if args.cells is not None else list(CELL_NAMES)
    cfg = LabConfig(task=args.task, cells=cells, lengths=_list(args.lengths, "--lengths", int),
                    variants=_list(args.variants, "--variants"), max_time=args.max_time, max_steps=args.max_steps,
                    hidden_size=args.hidden_size, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {str(out)!r} exists and is not a folder")
    start = time.perf_counter()
    results = []

    def progress(r):
        results.append(r)
        print(format_row(r), file=sys.stderr, flush=True)

    interrupted = None
    try:
        run_lab(cfg, progress)
    except Interrupted as err:    # keep the runs that finished; the lab has no checkpoints to resume from
        interrupted = err
    seconds = time.perf_counter() - start
    record = {"config": cfg.__dict__, "results": results, "seconds": round(seconds, 1)}
    if interrupted is not None:
        record["interrupted"] = interrupted.signal_name
        if not results:
            raise Interrupted(interrupted.signum, f"interrupted: {interrupted.signal_name} before the first run "
                                                  f"finished; nothing was written (the lab has no --resume)")
    if results:
        plot_results(results, out / f"long_range_{cfg.task}.png")
    write_atomic(out / f"long_range_{cfg.task}.json", json.dumps(record, indent=2) + "\n")
    if interrupted is not None:
        raise Interrupted(interrupted.signum, f"interrupted: {interrupted.signal_name} after {len(results)} "
                                              f"run(s); their results are in {out}/ (marked interrupted); the lab "
                                              f"has no --resume, run it again for the rest") from None
    if args.json:
        print(json.dumps(results))
    else:
        print(format_table(results))
        print(f"\nsolved under the same budget ({cfg.max_time:g} s or {cfg.max_steps} steps per run), test "
              f"{results[0]['metric'] if results else 'metric'}:\n")
        print(format_solved(results))
        print(f"\n{len(results)} runs in {seconds:.0f} s; plot and results in {out}/")
    return 0


def cmd_datasets(args) -> int:
    from ..datasets import export, list_datasets

    if args.datasets == "list":
        rows = list_datasets()
        if args.json:
            print(json.dumps(rows))
            return 0
        width = max(len(r["name"]) for r in rows)
        print(f"{'name':<{width}}  {'kind':<8}  description")
        for r in rows:
            missing = "" if r["installed"] else f" (needs {r['package']})"
            print(f"{r['name']:<{width}}  {r['kind']:<8}  {r['description']}{missing}")
        return 0
    paths = export(args.name, args.dir, overwrite=args.overwrite)
    for path in paths:
        print(path)
    entry = next(r for r in list_datasets() if r["name"].lower() == args.name.lower())
    for command in entry["commands"]:
        print(f"train with: {command.replace('{dir}', str(Path(args.dir)))}", file=sys.stderr)
    return 0


COMMANDS = {"train": cmd_train, "lab": cmd_lab, "inspect": cmd_inspect, "evaluate": cmd_evaluate, "predict": cmd_predict, "generate": cmd_generate,
            "export": cmd_export,
            "info": cmd_info, "datasets": cmd_datasets}
COMMANDS["tune"] = cmd_tune


def main(argv=None) -> int:
    """Run one command; returns its exit status: 0, 2 for bad use (one line on stderr),
    128 + the signal for SIGINT (130) and SIGTERM (143), after one line saying what was
    kept (see :mod:`rnnkit.signals`)."""
    from ..signals import SignalStop

    parser = build_parser()
    command = None
    try:
        with SignalStop():
            args = parser.parse_args(argv)
            command = args.command
            return COMMANDS[command](args)
    except Interrupted as err:
        message = err.message
        if message == f"interrupted: {err.signal_name}" and command:
            message += f"; rnnkit {command} stopped (a file is written whole or not at all)"
        print(" ".join(message.split()), file=sys.stderr)
        return err.exit_code
    except UsageError as err:   # the library names config keys: spelled here as flags
        from ..errors import as_flags

        message = as_flags(" ".join(str(err).split()))
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:   # the reader went away (`rnnkit info RUN | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
