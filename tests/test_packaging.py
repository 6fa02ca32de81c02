"""Packaging: the command line starts without torch, ``import rnnkit`` is lazy and keeps
its public names, every optional package missing is one line naming its extra (an
ImportError and a ValueError in Python, exit 2 from the command line), and
pyproject.toml, constraints.txt and rnnkit._optional agree."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit._optional import EXTRAS, MissingExtraError, require
from rnnkit.errors import UsageError
from tests.conftest import cli_fails

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "lightning", "pandas", "numpy", "sklearn", "matplotlib", "yaml")


def _child(code: str) -> str:
    """Run ``code`` in a fresh interpreter with this tree's src first on the path."""
    env_path = str(ROOT / "src")
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {env_path!r})\n{code}"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_of_every_command_imports_no_torch():
    out = _child(
        "import runpy\n"
        "from rnnkit.cli.main import COMMANDS, main\n"
        "for argv in [['--help'], *[[c, '--help'] for c in COMMANDS], ['datasets', 'list', '--help']]:\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (argv, e.code)\n"
        "sys.argv = ['rnnkit', '--help']\n"           # what `python -m rnnkit --help` runs
        "try:\n"
        "    runpy.run_module('rnnkit', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert "usage: rnnkit" in out
    assert out.strip().splitlines()[-1] == "[]"


def test_python_m_rnnkit_help_runs():
    done = subprocess.run([sys.executable, "-m", "rnnkit", "--help"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
    assert done.returncode == 0 and done.stdout.startswith("usage: rnnkit"), done.stderr


def test_import_rnnkit_is_lazy_and_keeps_its_public_names():
    out = _child(
        "import rnnkit\n"
        "print('torch' in sys.modules)\n"
        "assert rnnkit.nn.GRU.__module__ == 'rnnkit.nn.layers'\n"     # the subpackage, after `import rnnkit`
        "from rnnkit import GRU\n"
        "import torch\n"
        "assert GRU is rnnkit.nn.GRU and rnnkit.LSTM is rnnkit.nn.LSTM\n"
        "assert all(getattr(rnnkit, n) is not None for n in rnnkit.__all__)\n"
        "assert set(rnnkit.__all__) <= set(dir(rnnkit))\n"
        "print(isinstance(rnnkit.LSTM(3, 4), torch.nn.Module))")
    assert out.split() == ["False", "True"]


def test_unknown_attribute_is_an_attribute_error():
    import rnnkit

    with pytest.raises(AttributeError, match="module 'rnnkit' has no attribute 'LSTMM'"):
        rnnkit.LSTMM  # noqa: B018
    assert not hasattr(rnnkit, "nope")


# ---- a missing extra ---------------------------------------------------------------------
def _block(monkeypatch, *packages):
    """Make ``packages`` (and their already imported submodules) unimportable."""
    for name in list(sys.modules):
        if name.split(".", 1)[0] in packages:
            monkeypatch.setitem(sys.modules, name, None)
    for name in packages:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("package", sorted(EXTRAS))
def test_require_names_the_extra_and_the_pip_command(monkeypatch, package):
    _block(monkeypatch, package)
    with pytest.raises(ImportError) as err:
        require(package, for_what="doing X")
    assert isinstance(err.value, ValueError) and isinstance(err.value, UsageError)
    extra = EXTRAS[package]
    assert str(err.value) == (f"rnnkit: doing X needs the {extra} extra ({package} is not installed): "
                              f"pip install 'rnnkit[{extra}]'")
    assert err.value.name == package and err.value.extra == extra


def test_require_returns_the_module_when_installed():
    import wfdb

    assert require("wfdb", for_what="x") is wfdb
    with pytest.raises(KeyError, match="'numpy' is not one of rnnkit's optional packages"):
        require("numpy", for_what="x")


def test_a_broken_optional_package_keeps_its_own_error(tmp_path, monkeypatch):
    # Installed, but one of its own imports fails: not reported as a missing extra.
    (tmp_path / "brokenpkg").mkdir()
    (tmp_path / "brokenpkg" / "__init__.py").write_text("import rnnkit_no_such_module\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as err:
        require("brokenpkg", extra="signals", for_what="x")
    assert not isinstance(err.value, MissingExtraError) and err.value.name == "rnnkit_no_such_module"
    monkeypatch.setitem(sys.modules, "brokenpkg", None)
    with pytest.raises(MissingExtraError, match=r"^rnnkit: x needs the signals extra \(brokenpkg is not"):
        require("brokenpkg", extra="signals", for_what="x")


@pytest.mark.parametrize("package, name, extra", [("wfdb", "r.hea", "signals"), ("pyedflib", "r.edf", "signals"),
                                                  ("pyarrow", "r.parquet", "parquet")])
def test_reading_a_record_without_its_extra(tmp_path, monkeypatch, package, name, extra):
    from rnnkit.data.signals import read_record

    (tmp_path / name).write_bytes(b"")
    _block(monkeypatch, package)
    with pytest.raises(MissingExtraError, match=rf"needs the {extra} extra \({package} is not installed\): "
                                                rf"pip install 'rnnkit\[{extra}\]'$"):
        read_record(tmp_path / name)


def test_reading_tables_and_ts_files_without_their_extra(tmp_path, monkeypatch):
    from rnnkit.data.series import read_series_table
    from rnnkit.data.signals import read_labelled_arrays
    from rnnkit.data.tagged_series import read_tagged_series

    pd.DataFrame({"a": [1.0, 2.0], "label": ["x", "y"]}).to_parquet(tmp_path / "t.parquet", index=False)
    (tmp_path / "Toy.ts").write_text("@problemName Toy\n@classLabel true a b\n@data\n1,2,3:a\n", encoding="utf-8")
    _block(monkeypatch, "pyarrow", "aeon")
    with pytest.raises(MissingExtraError, match=r"^rnnkit: reading Parquet tables needs the parquet extra"):
        read_series_table(tmp_path / "t.parquet", columns=["a"])
    with pytest.raises(MissingExtraError, match=r"^rnnkit: reading Parquet tables needs the parquet extra"):
        read_tagged_series([str(tmp_path / "t.parquet")])
    with pytest.raises(MissingExtraError, match=r"^rnnkit: reading \.ts files needs the datasets extra \(aeon"):
        read_labelled_arrays(tmp_path / "Toy.ts")


def test_cli_exits_2_with_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    pd.DataFrame({"date": pd.date_range("2020-01-01", periods=60, freq="D"),
                  "sales": rng.normal(size=60)}).to_parquet(tmp_path / "s.parquet", index=False)
    _block(monkeypatch, "pyarrow", "aeon")
    cli_fails(capsys, ["train", "forecast", "--data", str(tmp_path / "s.parquet"), "--target", "sales",
                       "--time-column", "date", "--horizon", "5", "--out", str(tmp_path / "run")],
              "pip install 'rnnkit[parquet]'")
    assert not (tmp_path / "run").exists()
    err = cli_fails(capsys, ["datasets", "export", "GunPoint", str(tmp_path / "gp")], "pip install 'rnnkit[datasets]'")
    assert err == ("error: rnnkit: dataset 'GunPoint' needs the datasets extra (aeon is not installed): "
                   "pip install 'rnnkit[datasets]'\n")
    assert not (tmp_path / "gp").exists()


# ---- declarations agree ------------------------------------------------------------------
def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_extras_in_pyproject_match_the_optional_imports():
    from packaging.requirements import Requirement

    extras = _pyproject()["optional-dependencies"]
    for package, extra in EXTRAS.items():
        assert package in [Requirement(r).name for r in extras[extra]], (package, extra)
    named = {e for e in extras if e not in ("all", "test")}
    assert Requirement(extras["all"][0]).extras == named
    assert "rnnkit[all]" in extras["test"]
    core = {Requirement(r).name for r in _pyproject()["dependencies"]}
    assert not core & set(EXTRAS), "an optional package is also a core dependency"


def test_dependencies_are_lower_bounds_and_constraints_satisfy_them():
    from packaging.requirements import Requirement

    project = _pyproject()
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra
             if not r.startswith("rnnkit")]
    pins = {}
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    assert next(line for line in lines if not line.startswith("#")) == "torch==2.13.0"
    for r in reqs:
        assert all(s.operator == ">=" for s in r.specifier), f"{r}: expected lower bounds only"
        name = r.name.lower().replace("_", "-")
        assert name in pins, f"{r.name} is declared but not in constraints.txt"
        assert r.specifier.contains(pins[name]), f"constraints.txt has {r.name}=={pins[name]}, outside {r}"
