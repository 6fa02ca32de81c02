"""Data handed to a task in memory instead of read from files: :class:`InMemory`.

Every task's data module turns files into records (its readers' return values), then
fits its preprocessing (tokenizer, scalers, class list) and encodes. ``InMemory``
carries those records directly, so that the same module does the rest exactly as for
files. It is the one way in for the Python estimators (:mod:`rnnkit.estimators`); the
trainer passes it on (``train(cfg, out, memory=InMemory(...))``), and the config's
``data.data`` / ``valid`` / ``test`` file lists are then not read (they may be empty).

What each task expects in ``train``, ``valid`` and ``test``:

=========  ===============================================================
task       records
=========  ===============================================================
classify   :class:`~rnnkit.data.tables.LabelledTexts` (texts) or
           :class:`~rnnkit.data.signals.LabelledArrays` (real values)
tag        :class:`~rnnkit.data.conll.TaggedSentences` (tokens) or
           :class:`~rnnkit.data.tagged_series.TaggedSeries` (real values)
lm         a ``str`` (the corpus)
forecast   a list of :class:`~rnnkit.data.series.Series`
=========  ===============================================================

``valid`` None holds out part of ``train`` as for files (``data.valid_fraction``);
``test`` None means no test split.

Example::

    from rnnkit.data.tables import LabelledTexts
    texts = LabelledTexts(["a fine film", "dull"], ["pos", "neg"], ["X[0]", "X[1]"], files=[])
    metrics = train(cfg, "runs/x", memory=InMemory(train=texts))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InMemory:
    """The records of each split (see the module docstring); ``valid`` / ``test`` None
    when not given."""

    train: Any
    valid: Any = None
    test: Any = None

    def get(self, split: str):
        """The records of ``split`` ("train", "valid" or "test"), or None."""
        return getattr(self, split)
