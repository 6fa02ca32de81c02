"""``rnnkit export`` on a trained run: the files it writes, the README's serving
example run where neither rnnkit nor torch can be imported (its text equals ``rnnkit
generate --top-k 1``), and the refusals (exit 2, one line, nothing written)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnnkit.cli import main
from tests.conftest import cli_fails

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "serve_onnx_lm.py"

# the example, in a process where importing rnnkit or torch fails
ISOLATED = ("import sys, runpy; sys.modules['rnnkit'] = None; sys.modules['torch'] = None; "
            "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    pytest.importorskip("onnxscript")
    out = tmp_path_factory.mktemp("export") / "lm.onnx"
    assert main(["export", str(trained_run), "--format", "onnx", "--out", str(out)]) == 0
    return out


def test_export_writes_the_model_and_its_json(exported):
    doc = json.loads(Path(str(exported) + ".json").read_text(encoding="utf-8"))
    assert doc["task"] == "lm" and doc["model_file"] == "lm.onnx" and doc["stateful"]
    assert doc["preprocessing"]["tokenizer"]["kind"] == "char"
    assert sorted(p.name for p in exported.parent.iterdir()) == ["lm.onnx", "lm.onnx.json"]   # no temp files


def test_readme_example_serves_with_onnxruntime_alone(exported, trained_run, capsys):
    pytest.importorskip("onnxruntime")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert EXAMPLE.read_text(encoding="utf-8") in readme          # the README shows the file verbatim
    done = subprocess.run([sys.executable, "-I", "-c", ISOLATED, str(EXAMPLE), str(exported), "def ", "60"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert main(["generate", str(trained_run), "--prime", "def ", "--length", "60", "--top-k", "1"]) == 0
    assert done.stdout == capsys.readouterr().out
    assert done.stdout.startswith("def ") and len(done.stdout) == len("def ") + 60 + 1


def test_refusals_write_nothing(exported, trained_run, tmp_path, capsys):
    before = exported.read_bytes()
    cli_fails(capsys, ["export", str(trained_run), "--format", "onnx", "--out", str(exported)],
              "already exists; pass --overwrite to replace it")
    assert exported.read_bytes() == before
    config = trained_run / "config.yaml"
    text = config.read_text()
    cli_fails(capsys, ["export", str(trained_run), "--format", "pt2", "--out", str(config), "--overwrite"],
              "is a file of the run directory itself")
    assert config.read_text() == text
    cli_fails(capsys, ["export", str(trained_run), "--format", "pt2", "--out", str(tmp_path / "no" / "m.pt2")],
              "does not exist; expected an existing folder")
    cli_fails(capsys, ["export", str(trained_run), "--format", "tflite", "--out", str(tmp_path / "m")],
              "tflite")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_atomically(trained_run, tmp_path):
    out = tmp_path / "lm.pt2"
    out.write_bytes(b"old")
    assert main(["export", str(trained_run), "--format", "pt2", "--out", str(out), "--overwrite"]) == 0
    assert out.read_bytes()[:2] == b"PK"                               # a pt2 archive (zip)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lm.pt2", "lm.pt2.json"]
