"""The interface between a task and the shared machinery (trainer, run directory,
command line)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:                   # annotations only: the registry costs no torch import
    import numpy as np
    from torch import Tensor

#: The cells ``rnnkit tune`` searches by default (``model.cell`` in every task's
#: ``tuning_space``). The parallel-scan cells (mingru, minlstm, rglru, qrnn) are left out
#: of the default search: in the 5-minute character-LM study (benchmarks/_quality_lm.py,
#: README "Time to quality of a character LM") the GRU beat each of them on both corpora.
#: Each is one flag away: ``rnnkit tune TASK --cell mingru ...`` fixes the cell and
#: searches the rest of the space.
SEARCHED_CELLS = ("lstm", "gru")


class TaskSpec:
    """A task: how to read its data, build its module, and use a trained one.

    Subclasses set ``name`` (the declared task's) and implement the methods below;
    the model class, curves and tuning space come from the declaration. Every method that reads user data raises
    :class:`~rnnkit.errors.UsageError` on bad input, before anything is written.
    """

    name: str

    @property
    def declaration(self):
        """The task's :class:`~rnnkit.tasks.declare.Task` (its options, model, metrics,
        capabilities, tuning space)."""
        from .registry import declaration

        return declaration(self.name)

    @property
    def module(self) -> type:
        """The :class:`~rnnkit.tasks.base.TaskModule` subclass the declaration names."""
        return self.declaration.module

    @property
    def curves(self) -> list:
        """Training curves plotted into RUN/plots: (file stem, [logged keys])."""
        return [(stem, list(keys)) for stem, keys in self.declaration.curves]

    @property
    def tuning_space(self) -> dict:
        """What ``rnnkit tune`` searches (declared in the task's declaration)."""
        return dict(self.declaration.tuning_space)

    def search_space(self, cfg) -> dict:
        """The part of :attr:`tuning_space` that applies to ``cfg`` (its data, its fixed
        options); the default is all of it."""
        return dict(self.tuning_space)

    def data(self, cfg, preprocessing: dict | None = None, memory=None):
        """A LightningDataModule for ``cfg``; ``preprocessing`` (from a checkpoint) is
        reused instead of being fitted again. ``memory`` (an
        :class:`~rnnkit.data.memory.InMemory`) gives the splits' records instead of the
        files of ``cfg.data``."""
        raise NotImplementedError

    def final_metrics(self, module, data) -> dict:
        """Figures for metrics.json, computed with the best weights:
        ``{"train": {...}, "validation": {...}, "test": {...}}`` (test when there is
        test data)."""
        raise NotImplementedError

    def reports(self, module, data, metrics: dict, run: Path) -> None:
        """After training, with the best weights: write task-specific files into the run
        directory (plots, tables) and add figures to ``metrics`` before it is saved."""

    def evaluate(self, module, paths: list[str]) -> dict:
        raise NotImplementedError

    def predict(self, module, paths: list[str], out: Path) -> int:
        """Write predictions to ``out``; returns the number of rows written."""
        raise NotImplementedError

    def generate(self, module, prime: str, length: int, temperature: float = 1.0, top_k=None, top_p=None,
                 seed=None) -> str:
        """Sample from the model (tasks declaring the capability ``generate``)."""
        raise NotImplementedError

    def describe(self, module) -> list[str]:
        """Lines for ``rnnkit info`` about what the model reads and predicts."""
        return []

    # ---- capabilities: a task that lacks one is refused by name --------------------
    def require(self, capability: str, what: str, error: type = UsageError) -> None:
        """Raise ``error`` naming this task and the tasks that can, unless the
        declaration lists ``capability`` (``what`` starts the message: ``"export"``)."""
        if self.declaration.can(capability):
            return
        from .registry import declaration, task_names

        able = [t for t in task_names() if declaration(t).can(capability)]
        names = ", ".join(able[:-1]) + " and " + able[-1] if len(able) > 1 else (able or ["none"])[0]
        raise error(f"{what}: expected a run of a task that {_VERBS.get(capability, 'can ' + capability)} "
                    f"({names}), got task {self.name!r}")

    # ---- streaming (capability "streaming"; see rnnkit.streaming) ------------------
    def stream_refusal(self, module) -> str | None:
        """Why this trained model cannot be fed chunk by chunk, beyond what every task
        shares (no recurrent state, bidirectional), or None."""
        self.require("streaming", "Stream", ValueError)
        return None

    def stream_width(self, module) -> int:
        """The number of values per step a chunk of values has."""
        return module.net.encoder.input_size

    def stream_values(self, module, x: np.ndarray) -> np.ndarray:
        """A chunk of values (n, width) as the graph reads them (scaled as in training)."""
        return x

    def stream_output(self, module, y: Tensor, n: int):
        """What a chunk of ``n`` steps returns, from the graph's output ``y`` for one
        stream (its padded length first)."""
        self.require("streaming", "Stream", ValueError)
        raise NotImplementedError(f"task {self.name} declares streaming but has no stream_output")

    def stream_empty(self, module):
        """What an empty chunk returns."""
        return None

    # ---- export (capability "export"; see rnnkit.export) ---------------------------
    def graph(self, module):
        """The :class:`~rnnkit.export.graphs.GraphSpec` that exports this trained model."""
        self.require("export", "export")
        raise NotImplementedError(f"task {self.name} declares export but has no graph")

    def export_json(self, module, cfg, tokenizer_file: str | None) -> dict:
        """The ``preprocessing`` part of the JSON beside an export: how raw data
        becomes the graph's inputs and its outputs answers."""
        self.require("export", "export")
        raise NotImplementedError(f"task {self.name} declares export but has no export_json")

    # ---- baseline verdict (capability "baseline"; see rnnkit.training.verdict) -----
    #: the validation metrics the verdict compares, the first one the run has
    verdict_metrics: tuple = ()
    #: whether a higher value of those metrics is better
    higher_is_better: bool = True

    def baseline_figures(self, metrics: dict) -> dict:
        """The baselines' validation figures in ``metrics`` (metrics.json): name -> figures."""
        b = metrics.get("baseline") or {}
        if isinstance(b.get("validation"), dict):
            return {b.get("model", "baseline"): b["validation"]}
        return {}

    def baseline_suggestions(self, cfg, kind: str | None) -> dict:
        """Settings that may help where a baseline wins (config key -> value); the
        verdict leaves out those the run has already."""
        return {}


_VERBS = {"streaming": "streams", "export": "exports", "generate": "generates", "baseline": "fits a baseline"}
