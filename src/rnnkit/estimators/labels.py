"""Labels of any hashable type for the estimators: the run directory stores them as
strings (its class and tag lists), the estimator gives the user's objects back."""

from __future__ import annotations

import numpy as np


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


class Labels:
    """The distinct labels of ``y`` (sorted when they can be, else in order of first
    appearance), each with the string the run directory stores.

    Raises ValueError for an unhashable label, or two labels that read the same as
    text (``1`` and ``"1"``)."""

    def __init__(self, values, what: str = "y"):
        seen: dict = {}
        for v in values:
            try:
                seen.setdefault(_plain(v), None)
            except TypeError:
                raise ValueError(f"{what}: expected hashable labels (strings, numbers, tuples, ...), got "
                                 f"{type(v).__name__} {v!r}") from None
        try:
            classes = sorted(seen)
        except TypeError:
            classes = list(seen)
        self.classes = classes
        self.names = [str(c) for c in classes]
        self.name_of = dict(zip(classes, self.names))
        if len(set(self.names)) < len(self.names):
            first = next(n for n in self.names if self.names.count(n) > 1)
            a, b = [c for c, n in zip(classes, self.names) if n == first][:2]
            raise ValueError(f"{what}: expected labels that differ as text, got {a!r} and {b!r} (both {first!r})")

    @classmethod
    def from_names(cls, names: list[str], stored=None) -> "Labels":
        """The labels of a loaded run: ``stored`` (the estimator file's JSON values)
        when they match the run's strings, else the strings themselves."""
        same = stored is not None and sorted(str(v) for v in stored) == sorted(names)
        values = list(stored) if same else list(names)
        out = cls.__new__(cls)
        out.classes, out.names = values, [str(v) for v in values]
        out.name_of = dict(zip(out.classes, out.names))
        return out

    def encode(self, values, what: str = "y") -> list[str]:
        """The stored strings of ``values``; a label not seen in fitting is an error."""
        out = []
        for i, v in enumerate(values):
            try:
                out.append(self.name_of[_plain(v)])
            except (KeyError, TypeError):
                raise ValueError(f"{what}[{i}]: expected one of the labels seen in fitting "
                                 f"({', '.join(map(repr, self.classes[:10]))}), got {v!r}") from None
        return out

    def array(self) -> np.ndarray:
        """The labels as a 1-D array (object dtype when NumPy would read them otherwise,
        e.g. tuples)."""
        if all(isinstance(c, (str, int, float, bool)) for c in self.classes) and \
                len({type(c) for c in self.classes}) == 1:
            return np.asarray(self.classes)
        out = np.empty(len(self.classes), dtype=object)
        for i, c in enumerate(self.classes):
            out[i] = c
        return out

    def json_values(self):
        """The labels as JSON values when they come back as themselves (strings,
        integers, floats, booleans), else None (they come back as strings)."""
        if all(type(c) in (str, int, float, bool) for c in self.classes):
            return list(self.classes)
        return None
