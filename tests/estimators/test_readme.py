"""The README's "Python API" examples run as written (in a temporary folder)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def python_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_section_has_examples():
    assert len(python_examples()) >= 4


@pytest.mark.parametrize("index", range(5))
def test_example_runs(index, tmp_path, monkeypatch, no_plots):
    examples = python_examples()
    if index >= len(examples):
        pytest.skip("fewer examples")
    monkeypatch.chdir(tmp_path)
    exec(compile(examples[index], f"README.md Python API example {index + 1}", "exec"), {})
