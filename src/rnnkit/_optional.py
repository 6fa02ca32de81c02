"""Optional dependencies: packages rnnkit imports only for one feature, installed with
an extra (``pip install 'rnnkit[signals]'``). Every import of such a package goes
through :func:`require`, so that a missing one is a one-line error naming the pip
command, which the command line prints and exits 2 on.

The extras (declared in pyproject.toml; ``all`` holds every one):

* ``signals``: wfdb, pyedflib (WFDB and EDF/BDF records);
* ``datasets``: aeon, statsmodels (.ts files, and the datasets bundled in them);
* ``parquet``: pyarrow (.parquet tables);
* ``export``: onnx, onnxruntime, onnxscript (ONNX export and its check).

This module imports nothing heavy: the command line uses it before torch is loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .errors import UsageError

# The top-level package of each optional import, and the extra that installs it.
EXTRAS = {
    "wfdb": "signals",
    "pyedflib": "signals",
    "aeon": "datasets",
    "statsmodels": "datasets",
    "pyarrow": "parquet",
    "onnx": "export",
    "onnxruntime": "export",
    "onnxscript": "export",
    "optuna": "tune",
}


class MissingExtraError(UsageError, ImportError):
    """An optional package is not installed. A :class:`~rnnkit.errors.UsageError`
    (so a ``ValueError``: the command line exits 2 with its one line) and an
    ``ImportError`` (what Python code expects of a missing package)."""

    def __init__(self, message: str, *, name: str | None = None, extra: str | None = None):
        super().__init__(message)
        self.name = name          # ImportError's attribute: the missing module
        self.extra = extra


def _extra_of(module: str, extra: str | None) -> str:
    top = module.split(".", 1)[0]
    if extra is None:
        if top not in EXTRAS:
            raise KeyError(f"{top!r} is not one of rnnkit's optional packages ({', '.join(EXTRAS)})")
        extra = EXTRAS[top]
    return extra


def missing_message(module: str, *, for_what: str, extra: str | None = None) -> str:
    """The one line :func:`require` raises, e.g. ``rnnkit: reading WFDB records needs
    the signals extra (wfdb is not installed): pip install 'rnnkit[signals]'``."""
    extra = _extra_of(module, extra)
    return (f"rnnkit: {for_what} needs the {extra} extra ({module.split('.', 1)[0]} is not installed): "
            f"pip install 'rnnkit[{extra}]'")


def require(module: str, *, for_what: str, extra: str | None = None) -> ModuleType:
    """Import and return ``module`` (``"wfdb"``, ``"pyarrow.parquet"``, ...), or raise
    :class:`MissingExtraError` naming the extra that installs it.

    Args:
        module: the dotted module name to import.
        for_what: what needs it, as the start of a sentence (``"reading EDF files"``).
        extra: the extra that installs it (default: looked up in :data:`EXTRAS` by the
            top-level package name).

    Example::

        wfdb = require("wfdb", for_what="reading WFDB records")
        # without wfdb: MissingExtraError("rnnkit: reading WFDB records needs the signals
        #   extra (wfdb is not installed): pip install 'rnnkit[signals]'")
    """
    extra = _extra_of(module, extra)
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".", 1)[0]
        # Only a missing optional package itself is reported as a missing extra; a broken
        # install (one of its own imports failing) keeps its own message.
        if err.name is not None and err.name.split(".", 1)[0] != top:
            raise
        raise MissingExtraError(missing_message(module, for_what=for_what, extra=extra),
                                name=top, extra=extra) from None


def available(module: str) -> bool:
    """Whether ``module``'s top-level package is installed, without importing it."""
    top = module.split(".", 1)[0]
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):      # sys.modules[top] is None, or a broken spec
        return False
