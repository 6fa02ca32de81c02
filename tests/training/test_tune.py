"""``rnnkit tune``: the search spaces the tasks declare, the budget rule, the pruning
callback against a real Optuna study, the search loop (on a stand-in trainer that
reports chosen validation losses), and the command line end to end on a tiny language
model: two trials, a kill and a resume, the best run used by evaluate, predict and info."""

import csv
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

optuna = pytest.importorskip("optuna")

from rnnkit.cli import main  # noqa: E402
from rnnkit.config import TASKS, RunConfig  # noqa: E402
from rnnkit.errors import UsageError  # noqa: E402
from rnnkit.tasks import get_task  # noqa: E402
from rnnkit.training import tune as tune_mod  # noqa: E402
from rnnkit.training.tune import PruningCallback, check_space, default_trials, trial_time, tune  # noqa: E402
from tests.conftest import cli_fails, one_line_error  # noqa: E402

# A language model small enough to train in a second or two: one epoch of 3,000 characters.
TINY_TUNE = ["--hidden-size", "16", "--num-layers", "1", "--embedding-size", "8", "--seq-length", "16",
             "--batch-size", "8", "--max-epochs", "1", "--max-chars", "3000", "--accelerator", "cpu",
             "--min-trial-time", "1"]
FIXED = {"model.hidden_size", "model.num_layers", "model.embedding_size"}


# ---- the spaces ----------------------------------------------------------------------------
def _values(spec):
    return list(spec[1]) if spec[0] == "choice" else [spec[1], spec[2]]


@pytest.mark.parametrize("task", TASKS)
def test_each_task_declares_a_valid_space_of_config_keys(task):
    spec = get_task(task)
    data = {"horizon": 3, "season": 4} if task == "forecast" else {}     # other tasks refuse forecast's keys
    cfg = RunConfig.from_dict({"task": task, "data": data})
    space = spec.search_space(cfg)
    assert space and set(space) <= set(spec.tuning_space) | {"data.input_length"}
    check_space(space)
    for key, s in space.items():
        for value in _values(s):
            got = cfg.override({key: value})                  # a real key, a value of its type
            section, name = key.split(".")
            assert getattr(getattr(got, section), name) == value


def test_spaces_follow_the_data_and_the_fixed_options():
    classify = get_task("classify")
    text = classify.search_space(RunConfig.from_dict({"task": "classify", "data": {"data": ["a.csv"]}}))
    series = classify.search_space(RunConfig.from_dict({"task": "classify", "data": {"data": ["a.ts"]}}))
    assert "model.embedding_size" in text and "data.normalize" not in text
    assert "model.embedding_size" not in series and "data.normalize" in series
    assert "model.patch" in series and "model.patch" not in text
    assert "data.word_dropout" in text and "data.word_dropout" not in series
    tag = get_task("tag")
    assert "data.word_dropout" in tag.search_space(RunConfig.from_dict({"task": "tag"}))
    assert "data.word_dropout" not in tag.search_space(RunConfig.from_dict({"task": "tag",
                                                                            "data": {"format": "npz"}}))
    forecast = get_task("forecast")
    space = forecast.search_space(RunConfig.from_dict({"task": "forecast", "data": {"horizon": 6, "season": 12}}))
    assert space["data.input_length"] == ("choice", [6, 12, 24, 48])
    ar = RunConfig.from_dict({"task": "forecast", "data": {"horizon": 6}, "model": {"decoder": "autoregressive"}})
    assert "model.bidirectional" not in forecast.search_space(ar)
    assert "model.window_norm" in space and "model.window_norm" not in forecast.search_space(ar)
    assert get_task("forecast").search_space(ar)["data.input_length"] == ("choice", [6, 12, 24, 48])


def test_a_bad_space_is_refused():
    for bad in ({"lr": ("float", 1e-4, 1e-2)}, {"train.lr": ("float", 1e-2, 1e-4)},
                {"train.lr": ("float", 0.0, 1.0, "log")}, {"model.cell": ("choice", [])},
                {"model.cell": ("normal", 0, 1)}):
        with pytest.raises(ValueError):
            check_space(bad)


# ---- the budget ----------------------------------------------------------------------------
def test_trials_share_what_is_left_of_the_budget():
    assert trial_time(100.0, 4, 0.0, 10.0) == 25.0
    assert trial_time(100.0, 4, 5.0, 10.0) == 20.0        # less the time a trial spends outside training
    assert trial_time(30.0, 10, 0.0, 10.0) == 10.0         # never below the floor
    assert [default_trials(s) for s in (10, 59, 240, 600, 3600, 10**6)] == [1, 1, 4, 10, 20, 20]


# ---- pruning -------------------------------------------------------------------------------
def _trainer(value):
    return SimpleNamespace(sanity_checking=False, callback_metrics={"val_loss": torch.tensor(value)})


def _study_with(curves):
    study = optuna.create_study(direction="minimize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    for curve in curves:
        t = study.ask()
        for step, v in enumerate(curve):
            t.report(v, step)
        study.tell(t, min(curve))
    return study


def test_pruning_callback_stops_a_trial_worse_than_the_median():
    study = _study_with([[1.0, 0.8, 0.7], [1.1, 0.9, 0.8], [1.2, 1.0, 0.9]])
    trial = study.ask()
    cb = PruningCallback(trial)
    cb.on_validation_end(_trainer(3.0), None)              # the first validation is a warm-up
    with pytest.raises(optuna.TrialPruned, match="validation 2"):
        cb.on_validation_end(_trainer(2.0), None)          # the median at step 1 is 0.9
    assert trial.storage.get_trial(trial._trial_id).intermediate_values == {0: 3.0, 1: 2.0}


def test_pruning_callback_lets_a_good_trial_run_and_keeps_its_best():
    study = _study_with([[1.0, 0.8, 0.7], [1.1, 0.9, 0.8], [1.2, 1.0, 0.9]])
    reports = []
    cb = PruningCallback(study.ask(), on_report=lambda: reports.append(1))
    for v in (0.9, 0.7, 0.75, float("nan")):
        if math.isnan(v):
            break
        cb.on_validation_end(_trainer(v), None)
    assert cb.best == pytest.approx(0.7) and len(reports) == 3
    cb.on_validation_end(SimpleNamespace(sanity_checking=True, callback_metrics={}), None)   # ignored
    assert len(cb.values) == 3


# ---- the search loop, on a stand-in trainer ------------------------------------------------
class FakeTrain:
    """Stands for rnnkit.training.train: writes a small run directory and reports the
    validation losses ``curve(cfg)`` to the callbacks, as Lightning would."""

    def __init__(self, curve, fail_on=None):
        self.curve, self.fail_on, self.calls = curve, fail_on or {}, []

    def __call__(self, cfg, out, overwrite=False, extra_callbacks=()):
        self.calls.append(cfg)
        n = len(self.calls)
        if n in self.fail_on:
            raise self.fail_on[n]
        out = Path(out)
        (out / "checkpoints").mkdir(parents=True)
        (out / "config.yaml").write_text(cfg.to_yaml())
        (out / "checkpoints" / "best.ckpt").write_text(f"weights of call {n}")
        if n == 1:
            (out / "only_first.txt").write_text("a file the later runs lack")
        curve = self.curve(cfg)
        for v in curve:
            for cb in extra_callbacks:
                cb.on_validation_end(_trainer(v), None)
        metrics = {"task": cfg.task, "validation": {"loss": min(curve)}, "seconds": 0.01}
        (out / "metrics.json").write_text(json.dumps(metrics))
        return metrics


def _cfg():
    return RunConfig.from_dict({"task": "lm", "data": {"data": ["corpus.txt"]}})


def _rows(run):
    with open(run / "tune" / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_search_loop_prunes_publishes_the_best_and_sizes_trials(tmp_path, monkeypatch):
    # trials 0-2 complete (the pruner's start-up), trial 3 is worse than their median at
    # its second validation and is pruned, trial 4 is the best
    curves = {1: [1.0, 0.8], 2: [1.1, 0.9], 3: [1.2, 0.85], 4: [3.0, 2.5, 0.1], 5: [0.9, 0.5]}
    clock = [0.0]

    def curve(cfg):
        clock[0] += 4.0                                             # every trial takes 4 s
        return curves[len(fake.calls)]

    fake = FakeTrain(curve)
    monkeypatch.setattr(tune_mod, "get_train", lambda: fake)
    monkeypatch.setattr(tune_mod, "_now", lambda: clock[0])
    run = tmp_path / "run"
    lines = []
    cfg = _cfg().override({"model.num_layers": "3"})
    result = tune(cfg, run, max_time=100.0, trials=5, fixed=["model.num_layers"], min_trial_time=1.0,
                  log=lines.append)
    rows = _rows(run)
    assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED", "COMPLETE"]
    assert float(rows[3]["value"]) == 2.5 and "pruned at validation 2" in rows[3]["note"]
    assert result["tune"]["best_trial"] == 4 and result["tune"]["value"] == 0.5
    assert result["validation"]["loss"] == 0.5                      # the best trial's metrics.json
    # RUN's top level is the best trial's run directory, the first best's extra file gone
    assert (run / "checkpoints" / "best.ckpt").read_text() == "weights of call 5"
    assert (run / "metrics.json").read_text() == (run / "tune" / "trial-0004" / "metrics.json").read_text()
    assert not (run / "only_first.txt").exists()
    assert json.loads((run / "tune" / "best.json").read_text())["trial"] == 4
    assert (run / "tune" / "trials.png").read_bytes()[:4] == b"\x89PNG"
    # the fixed key is not searched; every trial is given a share of the budget
    assert all(c.model.num_layers == 3 for c in fake.calls)
    assert "model.num_layers" not in rows[0] and "model.cell" in rows[0]
    # an equal share of what is left, less the 4 - 0.01 s a trial spent outside training
    assert [c.train.max_time for c in fake.calls[:2]] == [100.0 / 5, pytest.approx(96.0 / 4 - 3.99)]
    assert result["tune"]["seconds_spent"] == 20.0
    assert all(c.train.progress_bar is False for c in fake.calls)
    assert any("pruned" in line for line in lines)
    lines = tune_mod.format_summary(result)
    assert lines[0].startswith("trials: 4 complete, 1 pruned, 0 failed")
    assert lines[2].split()[0] == "4"                              # best first


def test_every_cell_is_selectable_fixed_and_the_rest_searched(tmp_path, monkeypatch):
    """The default search's cells (SEARCHED_CELLS) are registry cells; a parallel-scan
    cell left out of it is fixed with --cell and every trial trains it."""
    from rnnkit.nn.registry import CELL_NAMES
    from rnnkit.tasks.spec import SEARCHED_CELLS

    for task in TASKS:
        assert get_task(task).tuning_space["model.cell"] == ("choice", list(SEARCHED_CELLS))
    assert set(SEARCHED_CELLS) < set(CELL_NAMES)
    fake = FakeTrain(lambda cfg: [1.0, 0.9])
    monkeypatch.setattr(tune_mod, "get_train", lambda: fake)
    cfg = _cfg().override({"model.cell": "mingru"})
    tune(cfg, tmp_path / "run", max_time=100.0, trials=2, fixed=["model.cell"], min_trial_time=1.0)
    assert [c.model.cell for c in fake.calls] == ["mingru", "mingru"]
    assert "model.cell" not in _rows(tmp_path / "run")[0] and "model.hidden_size" in _rows(tmp_path / "run")[0]


def test_small_budget_runs_fewer_trials_at_the_floor(tmp_path, monkeypatch):
    fake = FakeTrain(lambda cfg: [1.0])
    monkeypatch.setattr(tune_mod, "get_train", lambda: fake)
    clock = [0.0]
    monkeypatch.setattr(tune_mod, "_now", lambda: clock[0])

    def slow(cfg, out, **kw):                                       # every trial takes 12 s
        clock[0] += 12.0
        return fake(cfg, out, **kw)

    monkeypatch.setattr(tune_mod, "get_train", lambda: slow)
    result = tune(_cfg(), tmp_path / "run", max_time=30.0, trials=10, min_trial_time=10.0)
    assert len(fake.calls) == 2                                     # 30 s: 0-12, 12-24; 6 s left < 10
    assert all(c.train.max_time == 10.0 for c in fake.calls)
    assert result["tune"]["seconds_spent"] == 24.0


def test_failed_trials_are_recorded_and_bad_input_stops_early(tmp_path, monkeypatch):
    fake = FakeTrain(lambda cfg: [1.0], fail_on={1: RuntimeError("loss is nan\nmore")})
    monkeypatch.setattr(tune_mod, "get_train", lambda: fake)
    tune(_cfg(), tmp_path / "run", max_time=100.0, trials=2, min_trial_time=1.0)
    rows = _rows(tmp_path / "run")
    assert [r["state"] for r in rows] == ["FAIL", "COMPLETE"] and rows[0]["note"] == "RuntimeError: loss is nan"

    bad = UsageError("data: 'missing.txt' does not exist")
    fake = FakeTrain(lambda cfg: [1.0], fail_on={1: bad, 2: bad, 3: bad})
    monkeypatch.setattr(tune_mod, "get_train", lambda: fake)
    with pytest.raises(UsageError, match="missing.txt"):
        tune(_cfg(), tmp_path / "bad", max_time=100.0, trials=5, min_trial_time=1.0)
    assert len(fake.calls) == 3 and not (tmp_path / "bad").exists()     # nothing left on disk


def test_an_interrupted_trial_runs_again_on_resume(tmp_path, monkeypatch):
    fake = FakeTrain(lambda cfg: [1.0 / len(fake.calls)], fail_on={2: KeyboardInterrupt()})
    monkeypatch.setattr(tune_mod, "get_train", lambda: fake)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        tune(_cfg(), run, max_time=100.0, trials=3, min_trial_time=1.0)
    rows = _rows(run)
    assert [r["state"] for r in rows] == ["COMPLETE", "FAIL", "WAITING"]
    assert rows[2]["note"] == "queued: runs trial 1 again"
    interrupted = fake.calls[1]
    result = tune(_cfg(), run, resume=True)
    rows = _rows(run)
    assert [r["state"] for r in rows] == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    assert rows[1]["note"] == "stopped (killed or interrupted); run again as trial 2"
    searched = [k for k in rows[0] if k.startswith(("model.", "train.", "data."))]
    assert {k: rows[2][k] for k in searched} == {k: rows[1][k] for k in searched}
    assert fake.calls[2].to_dict()["model"] == interrupted.to_dict()["model"]
    assert result["tune"]["counts"] == {"complete": 3, "pruned": 0, "failed": 0, "retried": 1}


def test_resume_checks_fixed_options_and_budget_errors(tmp_path, monkeypatch):
    fake = FakeTrain(lambda cfg: [1.0])
    monkeypatch.setattr(tune_mod, "get_train", lambda: fake)
    run = tmp_path / "run"
    tune(_cfg(), run, max_time=100.0, trials=1, fixed=["model.hidden_size"], min_trial_time=1.0)
    other = _cfg().override({"model.hidden_size": 32})
    assert "model.hidden_size is 32 but the study was started with 256" in one_line_error(
        tune, other, run, fixed=["model.hidden_size"], resume=True)
    assert "model.cell is searched in this study" in one_line_error(tune, _cfg(), run, fixed=["model.cell"],
                                                                   resume=True)
    assert "nothing to resume" in one_line_error(tune, _cfg(), tmp_path / "none", resume=True)
    assert "already exists" in one_line_error(tune, _cfg(), run, max_time=100.0)
    # more trials on resume: the study goes on with what is left of its budget
    result = tune(_cfg(), run, trials=2, resume=True)
    assert result["tune"]["counts"]["complete"] == 2 and len(fake.calls) == 2
    all_fixed = list(get_task("lm").tuning_space)
    assert "nothing is left to search" in one_line_error(tune, _cfg(), tmp_path / "x", 100.0, fixed=all_fixed)
    assert not (tmp_path / "x").exists()


# ---- the command line ----------------------------------------------------------------------
def test_budget_too_small_for_one_trial_is_one_line(tmp_path, capsys, corpus):
    run = tmp_path / "run"
    base = ["tune", "lm", "--data", str(corpus), "--out", str(run)]
    err = cli_fails(capsys, [*base, "--max-time", "5"], "--max-time: expected at least 10 s, the least one trial")
    assert "got 5 s" in err and "(--min-trial-time 10)" in err
    cli_fails(capsys, [*base, "--max-time", "3", "--min-trial-time", "4"], "expected at least 4 s")
    cli_fails(capsys, [*base, "--max-time", "60", "--trials", "0"], "--trials: expected a positive number")
    cli_fails(capsys, base, "--max-time S is required")
    cli_fails(capsys, [*base, "--max-time", "60", "--model", "bow"],
              "--model is not an option of task lm; it belongs to classify")
    cli_fails(capsys, ["tune", "classify", "--data", str(corpus), "--out", str(run), "--max-time", "60", "--model",
                       "bow"], "expected model rnn")
    assert not run.exists()


def test_without_optuna_one_line_says_how_to_install_it(tmp_path, capsys, monkeypatch, corpus):
    monkeypatch.setitem(sys.modules, "optuna", None)                  # import optuna raises ImportError
    cli_fails(capsys, ["tune", "lm", "--data", str(corpus), "--out", str(tmp_path / "run"), "--max-time", "60"],
              "pip install 'rnnkit[tune]'")
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory, corpus):
    run = tmp_path_factory.mktemp("tune") / "run"
    assert main(["tune", "lm", "--data", str(corpus), "--out", str(run), "--max-time", "600", "--trials", "2",
                 *TINY_TUNE]) == 0
    return run


def test_tune_end_to_end_two_trials(tuned_run, capsys):
    rows = _rows(tuned_run)
    assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE"]
    best = min(rows, key=lambda r: float(r["value"]))
    assert json.loads((tuned_run / "tune" / "best.json").read_text())["trial"] == int(best["number"])
    trial = tuned_run / "tune" / f"trial-{int(best['number']):04d}"
    assert (tuned_run / "checkpoints" / "best.ckpt").read_bytes() == (trial / "checkpoints" / "best.ckpt").read_bytes()
    metrics = json.loads((tuned_run / "metrics.json").read_text())
    assert metrics["validation"]["loss"] == pytest.approx(float(best["value"]), rel=1e-4)
    # the flags given are fixed in every trial, the rest searched
    for r in rows:
        cfg = RunConfig.from_yaml(tuned_run / "tune" / f"trial-{int(r['number']):04d}" / "config.yaml")
        assert (cfg.model.hidden_size, cfg.model.num_layers, cfg.model.embedding_size) == (16, 1, 8)
        assert cfg.model.cell == r["model.cell"] and cfg.train.lr == pytest.approx(float(r["train.lr"]), rel=1e-5)
    assert not FIXED & set(rows[0]) and {"model.cell", "train.lr", "model.dropout"} <= set(rows[0])
    assert rows[0]["train.lr"] != rows[1]["train.lr"]
    study = optuna.load_study(study_name="rnnkit-tune", storage=f"sqlite:///{tuned_run / 'tune' / 'study.db'}")
    assert len(study.trials) == 2 and study.best_trial.number == int(best["number"])
    assert study.user_attrs["seconds_spent"] > 0
    assert (tuned_run / "tune" / "trials.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tuned_run.rglob("*.tmp"))


def test_the_best_run_is_used_as_any_run(tuned_run, corpus, tmp_path, capsys):
    assert main(["evaluate", str(tuned_run), "--data", str(corpus), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] > 0
    out = tmp_path / "pred.csv"
    assert main(["predict", str(tuned_run), "--data", str(corpus), "--out", str(out)]) == 0
    assert [r["file"] for r in csv.DictReader(out.open())] == [str(corpus)]
    assert main(["info", str(tuned_run)]) == 0
    out = capsys.readouterr().out
    assert "LSTM" in out or "GRU" in out


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return True


def test_a_trial_pruned_inside_lightning_stops_cleanly(tmp_path, corpus, monkeypatch, capsys):
    monkeypatch.setattr(tune_mod, "make_pruner", AlwaysPrune)
    run = tmp_path / "run"
    assert main(["tune", "lm", "--data", str(corpus), "--out", str(run), "--max-time", "600", "--trials", "1",
                 *TINY_TUNE]) == 1
    assert "no trial completed" in capsys.readouterr().err
    (row,) = _rows(run)
    assert row["state"] == "PRUNED" and row["note"].startswith("pruned at validation 1: val_loss")
    assert (run / "tune" / "trial-0000" / "config.yaml").is_file()        # it trained, then stopped
    assert not (run / "tune" / "trial-0000" / "metrics.json").exists()
    assert not (run / "checkpoints").exists() and not (run / "tune" / "best.json").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_search_resumes_keeps_complete_trials_and_finishes(tmp_path, corpus):
    run = tmp_path / "run"
    args = ["tune", "lm", "--data", str(corpus), "--out", str(run), "--max-time", "900", "--trials", "3",
            *TINY_TUNE]
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    table = run / "tune" / "trials.csv"
    deadline = time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline:
        if table.is_file() and "COMPLETE" in table.read_text():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the search finished before it could be killed"
    before = {r["number"]: r for r in _rows(run) if r["state"] == "COMPLETE"}
    assert len(before) >= 1
    assert (run / "checkpoints" / "best.ckpt").is_file()             # a kill leaves a usable RUN

    assert main([*args[:1], "lm", "--out", str(run), "--resume"]) == 0
    rows = _rows(run)
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    assert len(complete) == 3
    for number, r in before.items():                                  # kept as they were
        assert rows[int(number)]["value"] == r["value"] and rows[int(number)]["state"] == "COMPLETE"
    for r in rows:
        if r["state"] == "FAIL":                                      # the trial the kill cut, run again
            again = rows[int(r["note"].rsplit(" ", 1)[-1])]
            assert again["model.cell"] == r["model.cell"] and again["train.lr"] == r["train.lr"]
    best = min(complete, key=lambda r: float(r["value"]))
    assert json.loads((run / "tune" / "best.json").read_text())["trial"] == int(best["number"])
    assert main(["evaluate", str(run), "--data", str(corpus), "--json"]) == 0
