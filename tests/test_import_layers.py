"""No import cycle between rnnkit.training and rnnkit.tasks: the trainer uses the
tasks; the tasks never import the trainer's package (not at module level, not inside
a function). Read from the source with ast, so a lazy import counts too."""

import ast
from pathlib import Path

import rnnkit

SRC = Path(rnnkit.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    return imports_in(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")


def imports_in(source: str, name: str, is_package: bool = False) -> set[str]:
    """Every module the source of module ``name`` imports, anywhere (functions
    included), as absolute names (``from X import y`` counts as X and X.y: y may be a
    submodule)."""
    package = name if is_package else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _package_imports(package: str, other: str) -> dict[str, list[str]]:
    """{module of ``package``: the modules of ``other`` it imports}."""
    found = {}
    for path in sorted((SRC / package.split(".")[-1]).rglob("*.py")):
        hits = sorted(m for m in imports_of(path) if m == other or m.startswith(other + "."))
        if hits:
            found[_module_name(path)] = hits
    return found


def test_the_scanner_resolves_relative_and_lazy_imports():
    # rnnkit/training/trainer.py imports the task registry: the scanner must see it
    assert any(m.startswith("rnnkit.tasks") for m in imports_of(SRC / "training" / "trainer.py"))
    src = ("from ..training.plots import x\n"
           "def f():\n    from ..training import train\n    import rnnkit.training.tune\n"
           "class C:\n    def g(self):\n        from .. import training\n")
    found = imports_in(src, "rnnkit.tasks.forecast_spec")
    assert {"rnnkit.training.plots", "rnnkit.training", "rnnkit.training.tune"} <= found
    assert imports_in("from . import spec\n", "rnnkit.tasks", is_package=True) >= {"rnnkit.tasks.spec"}


def test_tasks_never_import_training_and_there_is_no_cycle():
    tasks_to_training = _package_imports("rnnkit.tasks", "rnnkit.training")
    training_to_tasks = _package_imports("rnnkit.training", "rnnkit.tasks")
    assert not (tasks_to_training and training_to_tasks), \
        f"import cycle: tasks -> training {tasks_to_training}; training -> tasks {training_to_tasks}"
    assert tasks_to_training == {}, f"tasks import the trainer's package: {tasks_to_training}"
