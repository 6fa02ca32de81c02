"""The budget: steps from the data's size, time budgets, validation and checkpoint
intervals, early stopping and the learning rate scaled to it, the validation split's
floor; and a run trained with no limit given follows it."""

import csv
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.config import TrainConfig
from rnnkit.data.splits import split_items, validation_size
from rnnkit.training import budget as B
from rnnkit.training.budget import BudgetEarlyStopping, cosine_factor, resolve_budget
from tests.tasks.text_data import topic_texts, write_csv


def test_steps_follow_the_data_size():
    # tiny data: at least MIN_STEPS, validated about VALIDATIONS times, across epochs
    b = resolve_budget(TrainConfig(), steps_per_epoch=2)
    assert (b.max_steps, b.max_epochs, b.planned_steps) == (1000, -1, 1000)
    assert b.val_every_n_steps == 20 and b.checkpoint_every_n_steps == 20
    # medium: ten epochs; validations inside an epoch, the last checkpoint each epoch
    b = resolve_budget(TrainConfig(), steps_per_epoch=500)
    assert b.max_steps == 5000 and b.val_every_n_steps == 100 and b.checkpoint_every_n_steps is None
    # large: at most MAX_STEPS, unless one epoch is longer
    assert resolve_budget(TrainConfig(), steps_per_epoch=5000).max_steps == 20_000
    assert resolve_budget(TrainConfig(), steps_per_epoch=30_000).max_steps == 30_000


def test_a_time_budget_has_no_step_limit_and_validates_by_the_epoch():
    b = resolve_budget(TrainConfig(max_time=60), steps_per_epoch=9)
    assert (b.max_steps, b.max_epochs, b.max_time, b.planned_steps) == (-1, -1, 60, None)
    assert b.val_every_n_steps == B.MIN_VALIDATION_STEPS            # tiny epochs are grouped
    b = resolve_budget(TrainConfig(max_time=60), steps_per_epoch=100)
    assert b.val_every_n_steps is None                             # exactly every epoch
    assert resolve_budget(TrainConfig(max_time=60), steps_per_epoch=10_000).val_every_n_steps == 500


def test_what_the_user_sets_wins():
    b = resolve_budget(TrainConfig(max_epochs=3), steps_per_epoch=7)
    assert (b.max_steps, b.max_epochs, b.planned_steps, b.val_every_n_steps) == (-1, 3, 21, None)
    b = resolve_budget(TrainConfig(max_steps=40, val_every_n_steps=4, checkpoint_every_n_steps=8,
                                   early_stopping_patience=3), steps_per_epoch=100)
    assert (b.max_steps, b.val_every_n_steps, b.checkpoint_every_n_steps, b.patience) == (40, 4, 8, 3)
    # a step limit with a time limit: both apply, progress is the larger part spent
    b = resolve_budget(TrainConfig(max_steps=100, max_time=10.0), steps_per_epoch=5)
    assert b.progress(50, 1.0) == 0.5 and b.progress(10, 8.0) == 0.8 and b.progress(500, 0) == 1.0


def test_cosine_schedule_warms_up_then_decays_to_its_floor():
    planned = 1000
    warm = max(1, int(B.WARMUP_FRACTION * planned))
    assert cosine_factor(0.0, 0, planned) == pytest.approx(1 / warm)
    assert cosine_factor(warm / planned, warm - 1, planned) == pytest.approx(1.0)
    values = [cosine_factor(s / planned, s, planned) for s in range(warm, planned + 1, 50)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert cosine_factor(0.5, 500, planned) == pytest.approx(B.FINAL_LR_FRACTION + (1 - B.FINAL_LR_FRACTION) / 2)
    assert cosine_factor(1.0, planned, planned) == pytest.approx(B.FINAL_LR_FRACTION)


def _fake_trainer(step, loss):
    return SimpleNamespace(sanity_checking=False, callback_metrics={"val_loss": loss}, global_step=step,
                           callbacks=[], should_stop=False,
                           strategy=SimpleNamespace(reduce_boolean_decision=lambda d, all=True: d))


def test_early_stopping_waits_for_patience_and_a_quarter_of_the_budget():
    budget = resolve_budget(TrainConfig(max_steps=1000, val_every_n_steps=10), steps_per_epoch=10)
    stop = BudgetEarlyStopping(budget)
    # improving until step 100, then flat
    for step in range(10, 101, 10):
        t = _fake_trainer(step, 1.0 / step)
        stop.on_validation_end(t, None)
        assert not t.should_stop
    stopped = None
    for step in range(110, 1001, 10):
        t = _fake_trainer(step, 1.0)
        stop.on_validation_end(t, None)
        if t.should_stop:
            stopped = step
            break
    # 5 validations pass at step 150, but a quarter of the budget only at step 350
    assert stopped == 350
    # its state survives a checkpoint
    again = BudgetEarlyStopping(budget)
    again.load_state_dict(stop.state_dict())
    assert again.state_dict() == stop.state_dict()
    # few, far-apart validations: the patience in validations holds it longer
    budget = resolve_budget(TrainConfig(max_steps=1000, val_every_n_steps=250), steps_per_epoch=10)
    stop = BudgetEarlyStopping(budget)
    for i, step in enumerate([250, 500, 750, 1000]):
        t = _fake_trainer(step, 1.0 if i else 0.5)
        stop.on_validation_end(t, None)
        assert not t.should_stop


def test_early_stopping_waits_while_the_model_is_at_chance():
    """A classifier whose validation loss never left the prior's (ln 2 on two balanced
    classes) trains on: there is nothing to overfit yet. Once below it, the same
    patience stops it."""
    budget = resolve_budget(TrainConfig(max_steps=1000, val_every_n_steps=10), steps_per_epoch=10)
    chance = math.log(2)
    stop = BudgetEarlyStopping(budget, chance_loss=chance)
    for step in range(10, 1001, 10):        # best 0.99 x chance at step 10, then worse
        t = _fake_trainer(step, chance * (0.99 if step == 10 else 1.05))
        stop.on_validation_end(t, None)
        assert not t.should_stop
    stop = BudgetEarlyStopping(budget, chance_loss=chance)
    stopped = None
    for step in range(10, 1001, 10):        # best 0.9 x chance at step 10: stops as before
        t = _fake_trainer(step, chance * (0.9 if step == 10 else 1.05))
        stop.on_validation_end(t, None)
        if t.should_stop:
            stopped = step
            break
    assert stopped == 260


def test_the_chance_loss_of_a_classifier_is_the_prior_on_validation(tmp_path):
    from rnnkit.config import RunConfig
    from rnnkit.tasks.classify.module import ClassifyData

    x = np.random.default_rng(0).normal(size=(40, 12, 1)).astype(np.float32)
    y = np.array(["a"] * 30 + ["b"] * 10)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "valid.npz", x=x[:8], y=np.array(["a"] * 4 + ["b"] * 4))
    cfg = RunConfig.from_dict({"task": "classify", "data": {"data": [str(tmp_path / "train.npz")],
                                                            "valid": [str(tmp_path / "valid.npz")]}})
    # add-one frequencies 31/42 and 11/42; half the validation labels each
    want = -(math.log(31 / 42) + math.log(11 / 42)) / 2
    assert abs(ClassifyData(cfg).chance_loss() - want) < 1e-12


def test_validation_split_has_a_floor():
    assert validation_size(270, None) == 54             # 20% of a small set
    assert validation_size(1700, None) == 200           # the floor
    assert validation_size(10_000, None) == 500         # 5% of a large one
    assert validation_size(270, 0.05) == 14             # a fraction given is taken as is
    labels = [i % 9 for i in range(270)]
    tr, va = split_items(270, None, 0, labels)
    assert len(va) == 54 and len(tr) == 216 and not set(tr) & set(va)
    assert sorted({labels[i] for i in va}) == list(range(9))   # stratified: every class in it


def test_a_run_without_limits_trains_its_budget(tmp_path):
    """40 texts at batch 32: 2 steps an epoch, so 1,000 steps (500 epochs), validated
    every 20 steps, the learning rate following the cosine to its floor."""
    write_csv(tmp_path / "t.csv", topic_texts(48, 0))
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(tmp_path / "t.csv"), "--out", str(run), "--hidden-size", "8",
                 "--num-layers", "1", "--embedding-size", "4", "--no-progress-bar", "--accelerator", "cpu",
                 "--early-stopping-patience", "null", "--lr", "0.01"]) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["steps"] == 1000 and m["epochs"] == 500
    rows = list(csv.DictReader((run / "logs" / "metrics.csv").open()))
    val_steps = sorted({int(r["step"]) for r in rows if r.get("val_loss")})
    assert len(val_steps) == 50 and val_steps[1] - val_steps[0] == 20
    lrs = [float(r["lr-Adam"]) for r in rows if r.get("lr-Adam")]
    assert max(lrs) <= 0.01 + 1e-12 and math.isclose(lrs[-1], 0.01 * B.FINAL_LR_FRACTION, rel_tol=0.05)


def test_a_budget_that_ends_before_any_validation_keeps_its_last_weights(tmp_path):
    write_csv(tmp_path / "t.csv", topic_texts(120, 0))
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(tmp_path / "t.csv"), "--out", str(run), "--hidden-size", "8",
                 "--embedding-size", "8", "--num-layers", "1", "--max-steps", "2", "--val-every-n-steps", "10",
                 "--no-progress-bar", "--accelerator", "cpu"]) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["steps"] == 2 and m["checkpoint"] == "last"
    assert (run / "checkpoints" / "last.ckpt").is_file()
