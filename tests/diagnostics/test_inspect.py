"""rnnkit inspect on a trained language model."""

import json

from rnnkit.cli import main


def test_inspect_writes_summary_and_plot(trained_run, corpus, tmp_path, capsys):
    out = tmp_path / "inspect"
    assert main(["inspect", str(trained_run), "--data", str(corpus), "--length", "40", "--windows", "8",
                 "--out", str(out)]) == 0
    assert "effective memory" in capsys.readouterr().out
    s = json.loads((out / "inspect.json").read_text())
    assert s["cell"] == "lstm" and s["windows"] == 8 and s["length"] == 40
    assert len(s["gradient_norm_input"]) == 40 and len(s["gradient_norm_state"]) == 1
    m = s["effective_memory"]
    assert 0 <= m["0.1"] <= m["0.01"] <= 39
    # the gradient of the last step's prediction is largest at the last steps
    assert s["gradient_norm_input"][-1] > s["gradient_norm_input"][0]
    assert [d["gate"] for d in s["spectrum"]] == ["input", "forget", "cell", "output"]
    assert [d["gate"] for d in s["gate_saturation"]] == ["input", "forget", "output"]
    assert (out / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG"


def test_inspect_errors(trained_run, tmp_path, capsys):
    short = tmp_path / "short.txt"
    short.write_text("def f(): pass\n")
    assert main(["inspect", str(trained_run), "--data", str(short), "--length", "100",
                 "--out", str(tmp_path / "o")]) == 2
    assert "expected at least 101 characters" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["inspect", str(tmp_path / "nope"), "--data", str(short)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_inspect_and_info_of_a_parallel_scan_cell(corpus, tmp_path, capsys):
    """A minGRU language model (two layers): inspect's gradient of the last step's loss
    with respect to each input step equals autograd through the model's own forward (the
    parallel scan in one pass), and info names the layer."""
    import torch
    import torch.nn.functional as F

    from rnnkit.diagnostics.report import _lm_windows
    from rnnkit.training import load_run
    from tests.conftest import TINY

    run = tmp_path / "run"
    assert main(["train", "lm", "--data", str(corpus), "--out", str(run), *TINY, "--cell", "mingru",
                 "--num-layers", "2", "--max-epochs", "1", "--max-chars", "3000"]) == 0
    assert main(["inspect", str(run), "--data", str(corpus), "--length", "30", "--windows", "4",
                 "--out", str(tmp_path / "inspect")]) == 0
    s = json.loads((tmp_path / "inspect" / "inspect.json").read_text())
    assert s["cell"] == "mingru" and s["spectrum"] == [] and s["gate_saturation"] == []
    assert len(s["gradient_norm_state"]) == 2 and len(s["gradient_norm_state"][1]) == 30
    module, _ = load_run(run)
    net = module.net.eval()
    windows = _lm_windows(module, [str(corpus)], 30, 4)
    emb = net.embed(windows[:, :-1]).detach().requires_grad_(True)
    y, _ = net.rnn(emb)
    F.cross_entropy(net.logits(y[:, -1]), windows[:, -1]).backward()
    torch.testing.assert_close(torch.tensor(s["gradient_norm_input"]), emb.grad.norm(dim=-1).mean(0),
                               atol=1e-7, rtol=1e-4)
    capsys.readouterr()
    assert main(["info", str(run)]) == 0
    assert "model:      MinGRU, 2 layer(s) x 16 units" in capsys.readouterr().out
