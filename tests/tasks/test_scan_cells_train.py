"""The parallel-scan cells through the trainer: ``rnnkit train classify --cell mingru``
learns, saves and predicts like the classic cells; the options that concern W_hh are
refused for them."""

import json

import pytest
import torch

from rnnkit.cli import main
from rnnkit.config import ModelConfig
from rnnkit.errors import UsageError
from rnnkit.nn.registry import LAYERS
from rnnkit.tasks.base import recurrent_stack
from rnnkit.training import load_run
from tests.conftest import cli_fails
from tests.tasks.text_data import topic_texts, write_csv


@pytest.mark.parametrize("cell", ["mingru"])
def test_train_classify_with_a_scan_cell(cell, tmp_path):
    write_csv(tmp_path / "train.csv", topic_texts(240, 0))
    write_csv(tmp_path / "test.csv", topic_texts(60, 1))
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
                 "--out", str(run), "--cell", cell, "--hidden-size", "24", "--num-layers", "1",
                 "--embedding-size", "8", "--max-epochs", "6", "--lr", "0.03", "--batch-size", "16",
                 "--valid-fraction", "0.05", "--head", "mean", "--no-progress-bar", "--accelerator", "cpu"]) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["test"]["accuracy"] > 0.9                       # topic words are easy for every cell
    module, cfg = load_run(run)
    assert type(module.net.encoder.rnn).__name__ == LAYERS[cell] and cfg.model.cell == cell
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), "--data", str(tmp_path / "test.csv"), "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 61


def test_options_for_w_hh_are_refused_for_scan_cells(tmp_path, capsys):
    with pytest.raises(UsageError, match="recurrent_init: orthogonal initialises W_hh, which cell mingru has not"):
        recurrent_stack(ModelConfig(cell="mingru", recurrent_init="orthogonal"), 3)
    with pytest.raises(UsageError, match="backend: fused applies to cells rnn, lstm, gru; expected auto for cell mingru"):
        recurrent_stack(ModelConfig(cell="mingru", backend="fused"), 3)
    with pytest.raises(UsageError, match="forget_bias: expected cell lstm"):
        recurrent_stack(ModelConfig(cell="mingru", forget_bias=1.0), 3)
    layer = recurrent_stack(ModelConfig(cell="mingru", hidden_size=5, num_layers=2, bidirectional=True), 3)
    y, h = layer(torch.randn(2, 4, 3), lengths=torch.tensor([4, 2]))
    assert layer.batch_first and y.shape == (2, 4, 10) and h.shape == (4, 2, 5)
    write_csv(tmp_path / "train.csv", topic_texts(40, 0))
    cli_fails(capsys, ["train", "classify", "--data", str(tmp_path / "train.csv"), "--out", str(tmp_path / "r"),
                       "--cell", "mingru", "--recurrent-init", "orthogonal", "--accelerator", "cpu"],
              "error: --recurrent-init: orthogonal initialises W_hh")
    assert not (tmp_path / "r").exists()
