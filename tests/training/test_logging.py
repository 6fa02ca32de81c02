"""The training loss in RUN/logs/metrics.csv: ``train_loss_step`` on every
``log_every_n_steps``-th step with that step's batch loss, ``train_loss_epoch`` the mean
over the epoch's examples, both checked against the losses the training steps returned
(read by a callback, not through the log)."""

import csv

import lightning as L
import numpy as np
import pytest

from rnnkit.config import RunConfig
from rnnkit.training import train


class Losses(L.Callback):
    """(epoch, global step before the optimiser step, loss, batch size) of each batch."""

    def __init__(self):
        self.rows = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.step = trainer.global_step

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.rows.append((trainer.current_epoch, self.step, float(outputs["loss"]), len(batch["x"])))


@pytest.fixture()
def series_csv(tmp_path):
    t = np.arange(150)
    rng = np.random.default_rng(0)
    path = tmp_path / "series.csv"
    with open(path, "w") as f:
        f.write("y\n" + "".join(f"{v:.5f}\n" for v in np.sin(t / 5) + rng.normal(0, 0.1, len(t))))
    return path


def test_logged_losses_are_the_batch_losses_and_their_example_weighted_epoch_mean(tmp_path, series_csv):
    cfg = RunConfig.from_dict({
        "task": "forecast",
        "model": {"cell": "gru", "hidden_size": 8, "loss": "mse"},
        "data": {"data": [str(series_csv)], "target": ["y"], "horizon": 3, "input_length": 10,
                 "valid_fraction": 0.2},
        # 105 training windows in batches of 16: the last batch of each epoch has 9
        "train": {"batch_size": 16, "max_epochs": 2, "log_every_n_steps": 3, "progress_bar": False,
                  "accelerator": "cpu", "early_stopping_patience": None, "lr_schedule": "none"}})
    seen = Losses()
    train(cfg, tmp_path / "run", extra_callbacks=[seen])
    with open(tmp_path / "run" / "logs" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    sizes = {n for *_, n in seen.rows}
    assert len(sizes) == 2, "the check needs batches of different sizes"

    steps = {int(r["step"]): float(r["train_loss_step"]) for r in rows if r.get("train_loss_step")}
    expected = {step: loss for _, step, loss, _ in seen.rows if (step + 1) % 3 == 0}
    assert sorted(steps) == sorted(expected) and len(steps) >= 4
    for step, loss in expected.items():
        assert steps[step] == pytest.approx(loss, rel=1e-6)

    epochs = [float(r["train_loss_epoch"]) for r in rows if r.get("train_loss_epoch")]
    for epoch, logged in enumerate(epochs):
        batch = [(loss, n) for e, _, loss, n in seen.rows if e == epoch]
        mean = sum(loss * n for loss, n in batch) / sum(n for _, n in batch)
        assert logged == pytest.approx(mean, rel=1e-6)
        assert logged != pytest.approx(np.mean([loss for loss, _ in batch]), rel=1e-9)   # weighted, not per batch
    assert len(epochs) == 2
