"""The regularisers as config options: off by default (old configs load, models and
state_dicts unchanged), wired into every task, identity in eval mode, unsupported
combinations refused with one line naming the key."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from rnnkit.cli import main
from rnnkit.cli.main import build_parser
from rnnkit.config import ModelConfig, RunConfig
from rnnkit.errors import UsageError
from rnnkit.tasks.base import StackDropout, recurrent_stack
from rnnkit.tasks.forecast import Forecaster
from rnnkit.tasks.lm import LanguageModel
from rnnkit.tasks.sequence import SequenceEncoder
from tests.conftest import TINY, cli_fails

AWD = dict(weight_drop=0.5, input_dropout=0.1, hidden_dropout=0.25, output_dropout=0.1, embedding_dropout=0.1)


def test_defaults_are_off_and_old_configs_load():
    cfg = RunConfig.from_dict({"task": "lm", "model": {"cell": "gru", "hidden_size": 8}})  # no new keys
    m = cfg.model
    assert (m.weight_drop, m.input_dropout, m.hidden_dropout, m.output_dropout, m.embedding_dropout,
            m.zoneout, m.layer_norm) == (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False)
    layer = recurrent_stack(m, 4)
    assert (layer.weight_drop, layer.locked_dropout, layer.zoneout, layer.layer_norm) == (0.0, False, 0.0, False)
    cfg = cfg.override({"model.weight_drop": "0.5", "model.layer_norm": "true"})
    assert cfg.model.weight_drop == 0.5 and cfg.model.layer_norm is True


def test_flags_are_derived_from_the_config():
    args = build_parser().parse_args(["train", "lm", "--out", "x", "--weight-drop", "0.5", "--input-dropout", "0.1",
                                      "--hidden-dropout", "0.2", "--output-dropout", "0.1",
                                      "--embedding-dropout", "0.1", "--zoneout", "0.1", "--layer-norm"])
    got = vars(args)
    assert got["model.weight_drop"] == "0.5" and got["model.layer_norm"] is True
    assert got["model.embedding_dropout"] == "0.1"


def test_recurrent_stack_passes_the_layer_regularisers():
    cfg = ModelConfig(cell="lstm", hidden_size=8, num_layers=2, zoneout=0.1, layer_norm=True, **AWD)
    layer = recurrent_stack(cfg, 4)
    assert layer.weight_drop == 0.5 and layer.locked_dropout and layer.dropout == 0.25
    assert layer.zoneout == 0.1 and layer.layer_norm and hasattr(layer, "ln_c_weight_l1")


@pytest.mark.parametrize("key, value", [("weight_drop", 0.5), ("hidden_dropout", 0.2), ("zoneout", 0.1),
                                        ("layer_norm", True)])
def test_layer_regularisers_refused_for_other_cells(key, value):
    # a cell name outside rnn/lstm/gru (the config type is not checked by the dataclass)
    cfg = ModelConfig(cell="mingru", **{key: value})
    with pytest.raises(UsageError, match=f"^model.{key}: expected cell rnn, lstm, gru .*got cell mingru$"):
        recurrent_stack(cfg, 4)


def test_locked_and_embedding_dropout_are_not_refused_for_other_cells():
    StackDropout(ModelConfig(cell="mingru", input_dropout=0.1, output_dropout=0.1, embedding_dropout=0.1))


@pytest.mark.parametrize("key", ["weight_drop", "input_dropout", "embedding_dropout", "zoneout"])
def test_rates_out_of_range_are_refused(key):
    with pytest.raises(UsageError, match=f"^model.{key}: expected a rate in \\[0, 1\\), got 1.0$"):
        recurrent_stack(ModelConfig(**{key: 1.0}), 4)


def test_embedding_dropout_refused_without_an_embedding():
    cfg = ModelConfig(hidden_size=8, embedding_dropout=0.1)
    with pytest.raises(UsageError, match="^model.embedding_dropout: expected 0 for real-valued inputs"):
        Forecaster(cfg, 1, 0, 0, 3)
    with pytest.raises(UsageError, match="^model.embedding_dropout: expected 0 for real-valued inputs"):
        SequenceEncoder(cfg, input_size=3)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_language_model_eval_is_identity_and_state_dict_unchanged(cell):
    torch.manual_seed(0)
    plain = LanguageModel(ModelConfig(cell=cell, hidden_size=12, embedding_size=6, num_layers=2, dropout=0.0), 20)
    regs = LanguageModel(ModelConfig(cell=cell, hidden_size=12, embedding_size=6, num_layers=2, dropout=0.0,
                                     **AWD), 20)
    assert list(regs.state_dict()) == list(plain.state_dict())
    regs.load_state_dict(plain.state_dict())
    ids = torch.randint(20, (3, 9))
    plain.eval(), regs.eval()
    with torch.no_grad():
        assert torch.allclose(regs(ids)[0], plain(ids)[0], atol=1e-6)
        regs.train()
        torch.manual_seed(1)
        assert not torch.allclose(regs(ids)[0], plain(ids)[0], atol=1e-3)


def test_sequence_encoder_output_dropout_one_mask_for_outputs_and_summary():
    torch.manual_seed(0)
    enc = SequenceEncoder(ModelConfig(cell="gru", hidden_size=6, num_layers=1, dropout=0.0, bidirectional=True,
                                      output_dropout=0.5), input_size=3).double()
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 5, 1])
    enc.eval()
    y0, last0 = enc(x, lengths)
    enc.train()
    y1, last1 = enc(x, lengths)
    for b in range(4):
        n = int(lengths[b])
        ratio = y1[b, :n] / y0[b, :n]                           # (n, 2H): the mask
        assert torch.allclose(ratio, ratio[:1].expand_as(ratio))
        assert torch.allclose(last1[b], last0[b] * ratio[0])    # the same mask on the summary
        assert set(ratio[0].round(decimals=6).tolist()) <= {0.0, 2.0}


def test_forecaster_locked_input_dropout_shared_over_time(monkeypatch):
    from rnnkit.tasks import base

    seen = []
    real = base.locked_dropout

    def spy(x, p, training, batch_first=True):
        out = real(x, p, training, batch_first)
        seen.append((x, out, p))
        return out

    monkeypatch.setattr(base, "locked_dropout", spy)
    torch.manual_seed(0)
    net = Forecaster(ModelConfig(cell="gru", hidden_size=8, input_dropout=0.5, output_dropout=0.3), 2, 0, 0, 3)
    net.train()
    x = torch.rand(4, 10, 2) + 0.5
    net(x)
    x_in, x_out, p = seen[0]
    assert p == 0.5
    ratio = x_out / x_in
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio))
    assert seen[1][2] == 0.3 and seen[1][0].dim() == 2           # the summary (B, H)


def test_cli_trains_lm_with_the_awd_regularisers(tmp_path, corpus):
    run = tmp_path / "run"
    flags = ["--weight-drop", "0.5", "--input-dropout", "0.1", "--hidden-dropout", "0.25", "--output-dropout", "0.1",
             "--embedding-dropout", "0.1", "--dropout", "0"]
    argv = ["train", "lm", "--data", str(corpus), "--out", str(run), *TINY, "--num-layers", "2",
            "--max-epochs", "1", *flags]
    assert main(argv) == 0
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["model"]["weight_drop"] == 0.5 and cfg["model"]["hidden_dropout"] == 0.25
    m = json.loads((run / "metrics.json").read_text())
    assert m["validation"]["bits_per_char"] > 0


def test_cli_refuses_a_bad_rate(capsys, tmp_path, corpus):
    cli_fails(capsys, ["train", "lm", "--data", str(corpus), "--out", str(tmp_path / "r"), *TINY,
                       "--weight-drop", "1.5"], "--weight-drop: expected a rate in [0, 1), got 1.5")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("cell", ["mingru", "rglru"])
def test_locked_and_embedding_dropout_on_the_parallel_scan_cells(cell):
    """They live outside the layer: any cell takes them; eval mode is the identity."""
    torch.manual_seed(0)
    kw = dict(cell=cell, hidden_size=8, embedding_size=6, num_layers=1, dropout=0.0)
    plain = LanguageModel(ModelConfig(**kw), 20)
    regs = LanguageModel(ModelConfig(**kw, input_dropout=0.2, output_dropout=0.2, embedding_dropout=0.2), 20)
    regs.load_state_dict(plain.state_dict())
    ids = torch.randint(20, (2, 9))
    with torch.no_grad():
        assert torch.allclose(regs.eval()(ids)[0], plain.eval()(ids)[0], atol=1e-6)
        assert not torch.allclose(regs.train()(ids)[0], plain(ids)[0], atol=1e-4)
