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
