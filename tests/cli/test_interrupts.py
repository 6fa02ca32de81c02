"""predict, lab and the Python API under a signal: exit 128 + signal, one line, no
half-written output; train() leaves the process's global torch settings as it found them;
predict refuses to write over its input or an existing file."""

import json
import os
import random
import signal
import sys

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.io.atomic import atomic_open

posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@posix
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_predict_interrupted_while_writing_leaves_nothing(trained_run, corpus, tmp_path, capsys, monkeypatch, sig):
    from rnnkit.tasks.lm import behaviour as lm_spec

    def slow_predict(self, module, paths, out):
        with atomic_open(out, "w") as f:
            f.write("file,characters\n")
            os.kill(os.getpid(), sig)        # the signal arrives halfway through the write
            f.write("more\n")
        return 1

    monkeypatch.setattr(lm_spec.LMSpec, "predict", slow_predict)
    out = tmp_path / "scores.csv"
    assert main(["predict", str(trained_run), "--data", str(corpus), "--out", str(out)]) == 128 + sig
    err = capsys.readouterr().err
    assert err == f"interrupted: {sig.name}; predict stopped, {str(out)!r} was not written\n"
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(sig) is not None and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@posix
def test_lab_interrupted_keeps_the_runs_that_finished(tmp_path, capsys, monkeypatch):
    from rnnkit.lab import long_range

    calls = []

    def fake_run(cfg, cell, T, variant):
        calls.append(cell)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return {"task": "adding", "cell": cell, "length": T, "variant": variant, "metric": "mse", "test": 0.1,
                "baseline": 0.17, "solved": False, "steps": 3, "steps_to_solve": None, "effective_memory": 1,
                "generalisation": {}, "seconds": 0.0}

    monkeypatch.setattr(long_range, "run_one", fake_run)
    out = tmp_path / "lab"
    assert main(["lab", "long-range", "--cells", "rnn,lstm,gru", "--lengths", "4", "--out", str(out)]) == 143
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("interrupted: SIGTERM after 1 run(s)") and "no --resume" in err[-1]
    saved = json.loads((out / "long_range_adding.json").read_text())
    assert saved["interrupted"] == "SIGTERM" and [r["cell"] for r in saved["results"]] == ["rnn"]


def test_predict_refuses_its_input_and_an_existing_file(trained_run, corpus, tmp_path, capsys):
    data = tmp_path / "notes.txt"
    data.write_text(corpus.read_text())
    before = data.read_bytes()
    link = tmp_path / "link.txt"
    link.symlink_to(data)
    for out in (data, link, trained_run / "checkpoints" / "best.ckpt", trained_run / "config.yaml"):
        assert main(["predict", str(trained_run), "--data", str(data), "--out", str(out), "--overwrite"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --out: ") and "is also an input" in err and err.count("\n") == 1, err
    assert data.read_bytes() == before
    out = tmp_path / "scores.csv"
    out.write_text("keep me")
    assert main(["predict", str(trained_run), "--data", str(data), "--out", str(out)]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_text() == "keep me"
    assert main(["predict", str(trained_run), "--data", str(data), "--out", str(out), "--overwrite"]) == 0
    assert out.read_text().startswith("file,")


def test_predict_horizon_zero_is_refused(trained_run, corpus, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["predict", str(trained_run), "--data", str(corpus), "--out", str(out), "--horizon", "0"]) == 2
    assert capsys.readouterr().err == "error: --horizon: expected a positive number of steps to forecast, got 0\n"
    assert not out.exists()


def test_train_restores_the_global_torch_settings(tmp_path, corpus):
    """Non-default values before the call, each of which training changes."""
    from rnnkit.config import RunConfig
    from rnnkit.training import global_state, train

    cfg = RunConfig.from_dict({"task": "lm", "data": {"data": [str(corpus)], "seq_length": 16},
                               "model": {"hidden_size": 8, "embedding_size": 4, "num_layers": 1},
                               "train": {"max_steps": 3, "batch_size": 4, "progress_bar": False,
                                         "accelerator": "cpu", "seed": 3}})
    old = global_state.snapshot()
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)   # Lightning sets warn_only=False
        torch.utils.deterministic.fill_uninitialized_memory = True  # training sets False
        torch.backends.cudnn.benchmark = True                        # Lightning sets False
        torch.set_float32_matmul_precision("medium")
        torch.manual_seed(12345)                                     # seed_everything reseeds
        np.random.seed(54321)
        random.seed(7)
        os.environ.pop("PL_GLOBAL_SEED", None)
        before = global_state.snapshot()
        train(cfg, tmp_path / "run")
        after = global_state.snapshot()
        assert global_state.same(before, after) == []
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.utils.deterministic.fill_uninitialized_memory is True
        assert "PL_GLOBAL_SEED" not in os.environ
        assert (tmp_path / "run" / "metrics.json").is_file()
    finally:
        global_state.restore(old)


@posix
def test_evaluate_interrupted_exits_143_with_one_line(trained_run, corpus, capsys, monkeypatch):
    from rnnkit.tasks.lm import behaviour as lm_spec

    def interrupted_evaluate(self, module, paths, **arguments):
        os.kill(os.getpid(), signal.SIGTERM)
        return {"loss": 0.0}

    monkeypatch.setattr(lm_spec.LMSpec, "evaluate", interrupted_evaluate)
    assert main(["evaluate", str(trained_run), "--data", str(corpus)]) == 143
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "interrupted: SIGTERM; rnnkit evaluate stopped (a file is written whole or not at all)\n"
