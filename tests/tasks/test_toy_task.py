"""Adding a task is its declaration plus one registration: a toy task, defined here,
reads a CSV of numbers and regresses each row's sum; the command line trains,
evaluates and describes it, with its own option in its help and in no other task's."""

import csv
import json

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from rnnkit.cli import main
from rnnkit.errors import UsageError
from rnnkit.tasks import Option, Task, TaskSpec, register, unregister
from rnnkit.tasks.base import TaskModule, recurrent_stack
from tests.conftest import cli_fails


def _read(cfg, paths) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, time) numbers, the first ``data.row_length`` of each row, and their sums."""
    n = cfg.data.row_length
    rows = []
    for path in paths:
        with open(path, newline="") as f:
            rows += [[float(v) for v in r[:n]] for r in csv.reader(f) if r]
    if not rows or any(len(r) < n for r in rows):
        raise UsageError(f"--data: expected rows of at least {n} numbers, got {[len(r) for r in rows][:3]}")
    x = torch.tensor(rows, dtype=torch.float32)
    return x, x.sum(dim=1)


class ToyModule(TaskModule):
    def __init__(self, config: dict, preprocessing: dict):
        super().__init__(config, preprocessing)
        self.rnn = recurrent_stack(self.cfg.model, 1)
        self.head = torch.nn.Linear(self.cfg.model.hidden_size, 1)

    def forward(self, x):                      # (batch, time) -> (batch,)
        out, _ = self.rnn(x.unsqueeze(-1))     # (batch, time, hidden)
        return self.head(out[:, -1]).squeeze(-1)

    def training_step(self, batch, _):
        x, y = batch
        loss = F.mse_loss(self(x), y)
        self.log_train_loss(loss, len(y))
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val_loss", F.mse_loss(self(x), y), prog_bar=True)


class ToyData(L.LightningDataModule):
    def __init__(self, cfg):
        super().__init__()
        x, y = _read(cfg, cfg.data.data or [])
        cut = int(len(x) * 0.8)
        self.train, self.valid = TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:])
        self.batch_size = cfg.train.batch_size

    def preprocessing(self) -> dict:
        return {}

    def train_dataloader(self):
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.valid, batch_size=self.batch_size)


def _mae(module, x, y) -> dict:
    with torch.no_grad():
        return {"mae": float((module(x) - y).abs().mean()), "rows": len(y)}


class ToySpec(TaskSpec):
    name = "toy"

    def data(self, cfg, preprocessing=None, memory=None):
        return ToyData(cfg)

    def final_metrics(self, module, data) -> dict:
        return {"train": _mae(module, *data.train.tensors), "validation": _mae(module, *data.valid.tensors)}

    def evaluate(self, module, paths) -> dict:
        return _mae(module, *_read(module.cfg, paths))


TOY_SPEC = ToySpec()
TOY = Task(
    name="toy", about="the sum of a row of numbers",
    options=(Option("data.row_length", "numbers of each row the model reads", type=int, default=3),),
    reads=("CSV rows of numbers",),
    model=f"{__name__}:ToyModule", behaviour=f"{__name__}:TOY_SPEC",
    metrics=("mae", "rows"), capabilities=frozenset(),
    tuning_space={"train.lr": ("float", 1e-3, 3e-2, "log")},
)


@pytest.fixture
def toy():
    register(TOY)
    yield TOY
    unregister("toy")


def _help(capsys, argv) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


def test_the_toy_tasks_option_is_in_its_help_only(capsys, toy, tmp_path):
    text = _help(capsys, ["train", "toy"])
    assert "--row-length" in text and "numbers of each row the model reads (default: 3)" in " ".join(text.split())
    assert "--cell" in text and "--horizon" not in text and "--seq-length" not in text
    assert "toy" in _help(capsys, ["train"]) and "--row-length" in _help(capsys, ["tune", "toy"])
    for task in ("lm", "classify", "tag", "forecast"):
        assert "--row-length" not in _help(capsys, ["train", task])
    cli_fails(capsys, ["train", "lm", "--row-length", "4", "--out", str(tmp_path / "run")],
              "--row-length is not an option of task lm; it belongs to toy")
    cli_fails(capsys, ["train", "toy", "--tie-embeddings", "--out", str(tmp_path / "run")],
              "--tie-embeddings is not an option of task toy; it belongs to lm")


def test_train_evaluate_and_info_a_toy_task_through_the_cli(capsys, toy, tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "rows.csv"
    rows = rng.uniform(0, 1, (400, 5))
    data.write_text("\n".join(",".join(f"{v:.4f}" for v in r) for r in rows) + "\n")
    run = tmp_path / "run"
    assert main(["train", "toy", "--data", str(data), "--out", str(run), "--row-length", "2",
                 "--hidden-size", "16", "--num-layers", "1", "--batch-size", "16", "--lr", "0.02",
                 "--max-steps", "150", "--no-progress-bar", "--accelerator", "cpu"]) == 0
    config = (run / "config.yaml").read_text()
    assert "row_length: 2" in config and "horizon" not in config and "seq_length" not in config
    metrics = json.loads((run / "metrics.json").read_text())
    # the sum of the first 2 numbers; predicting their mean (1.0) is off by 1/3 on average
    baseline = np.abs(rows[320:, :2].sum(1) - rows[:320, :2].sum(1).mean()).mean()
    assert metrics["task"] == "toy" and metrics["validation"]["mae"] < 0.5 * baseline
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(data), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["rows"] == 400 and got["mae"] < 0.5 * baseline
    assert main(["info", str(run)]) == 0
    assert "task:       toy" in capsys.readouterr().out
    cli_fails(capsys, ["generate", str(run)], "generate: expected a run of a task that generates (lm), got task 'toy'")
    # it declares no streaming: Stream refuses it by name, saying which tasks stream
    from rnnkit import Stream

    with pytest.raises(ValueError, match=r"^Stream: expected a run of a task that streams "
                                         r"\(lm, classify, tag and forecast\), got task 'toy'$"):
        Stream(run)
    # nor export: refused by name before anything is written
    cli_fails(capsys, ["export", str(run), "--format", "onnx", "--out", str(tmp_path / "toy.onnx")],
              "export: expected a run of a task that exports (lm, classify, tag and forecast), got task 'toy'")
    assert not (tmp_path / "toy.onnx").exists() and not (tmp_path / "toy.onnx.json").exists()


def test_the_toy_tasks_option_is_a_key_the_renderers_know(toy):
    from rnnkit.errors import as_flags, as_params, config_keys

    assert "data.row_length" in config_keys()
    assert as_flags("data.row_length: expected a positive integer, got 0") == \
        "--row-length: expected a positive integer, got 0"
    assert as_params("data.row_length: expected a positive integer") == "row_length: expected a positive integer"
    unregister("toy")
    assert "data.row_length" not in config_keys() and as_flags("data.row_length") == "data.row_length"
    register(TOY)


# ---- no shared module branches on a task's name ------------------------------------
def _builtin_names() -> set[str]:
    import importlib

    from rnnkit.tasks.registry import BUILTIN

    return {importlib.import_module(path).TASK.name for path in BUILTIN}


def _task_name_comparisons(source: str, where: str, names: set[str]) -> list[str]:
    """Comparisons (``==``, ``!=``, ``in``, ``match``/``case``) of an expression that
    mentions a task (``task``, ``cfg.task``, ``self.task``) with a builtin task's name."""
    import ast

    def named(node) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in names
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(named(e) for e in node.elts)
        return False

    def about_a_task(node) -> bool:
        return "task" in ast.unparse(node).lower()

    hits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(named(o) for o in operands) and any(not named(o) and about_a_task(o) for o in operands):
                hits.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Match) and about_a_task(node.subject):
            for case in node.cases:
                for pattern in ast.walk(case.pattern):
                    if isinstance(pattern, ast.MatchValue) and named(pattern.value):
                        hits.append(f"{where}:{case.pattern.lineno}: case {ast.unparse(pattern.value)}")
    return hits


def test_the_scan_finds_task_name_comparisons():
    names = _builtin_names()
    assert names == {"lm", "classify", "tag", "forecast"}
    code = ('if cfg.task == "lm": pass\nif self.task in ("classify", "tag"): pass\n'
            'if "forecast" != task: pass\nmatch cfg.task:\n    case "tag": pass\n')
    assert sorted(int(h.split(":")[1]) for h in _task_name_comparisons(code, "x.py", names)) == [1, 2, 3, 5]
    # a dataset's kind, or a task compared with another task, is no task name comparison
    assert _task_name_comparisons('if d.kind == "forecast": pass\nif cfg.task != base.task: pass\n',
                                  "x.py", names) == []


def test_no_shared_module_compares_a_task_with_a_builtin_tasks_name():
    """A task joins streaming, export, the baseline verdict (and the rest) through its
    declaration and TaskSpec, so no module outside rnnkit/tasks and rnnkit/cli names one:
    rnnkit/lab's synthetic tasks are its own."""
    from pathlib import Path

    import rnnkit

    root = Path(rnnkit.__file__).parent
    names = _builtin_names()
    hits = []
    for path in sorted(root.rglob("*.py")):
        part = path.relative_to(root).parts[0]
        if part in ("tasks", "cli", "lab"):
            continue
        hits += _task_name_comparisons(path.read_text(encoding="utf-8"), str(path.relative_to(root)), names)
    assert len(list(root.rglob("*.py"))) > 50                                       # it read the package
    assert hits == []
