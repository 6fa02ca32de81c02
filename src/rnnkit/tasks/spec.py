"""The interface between a task and the shared machinery (trainer, run directory,
command line)."""

from __future__ import annotations

from pathlib import Path

#: The cells ``rnnkit tune`` searches by default (``model.cell`` in every task's
#: ``tuning_space``). The parallel-scan cells (mingru, minlstm, rglru) are left out of the
#: default search until a time-to-quality measurement shows them worth a trial's budget;
#: each is one flag away: ``rnnkit tune TASK --cell mingru ...`` fixes the cell and
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
