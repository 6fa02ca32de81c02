"""The benchmark scripts stay in step with the library: each one imports (every name it
takes from rnnkit exists) without running anything."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def test_every_benchmark_script_is_found():
    assert {"_common.py", "bench_quality.py", "bench_recurrences.py", "gpu_check.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_benchmark_script_imports(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))   # the scripts import _common from their folder
    name = f"_rnnkit_benchmark_{script.stem}"
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)                  # module level only: main() runs under __main__
    assert module.__doc__, f"{script.name} has no docstring saying what it measures"
