"""The one split module: how a training set gives up its validation part when no
validation files are given.

- Items (texts, sentences, sequences): a random :func:`validation_size` of them, by a
  seeded :func:`split_items`, stratified by label when every class can be split.
- A stream, a text or a series: its tail (:func:`split_tail`: the last ``fraction``;
  text can move the cut on to the next line break).
- Sequences too few to split by item (one whole recording): the tail of each
  (:func:`split_sequences`, with :func:`tail_size` steps held out of each).

:func:`take` picks items out of a dataclass of parallel lists, :func:`split_records`
reads a split from files or takes it from data in memory.

Example::

    tr, va = split_items(1000, None, seed=0, strata=labels)   # 50 + stratified
    train_text, valid_text = split_tail(text, 0.05, at_line=True)
    keep = tail_size(480, 0.05, at_least=24)                   # 24
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import DEFAULT_VALID_FRACTION
from ..errors import UsageError

# without valid_fraction: 5% of the examples, but at least VALID_FLOOR of them (200
# examples put a standard error of at most 3.5 points on an accuracy, enough to rank
# checkpoints) as long as that is at most VALID_CAP of the data
VALID_FLOOR = 200
VALID_CAP = 0.2


def check_fraction(fraction: float | None, what: str = "--valid-fraction") -> None:
    """A validation fraction is None (the default) or strictly between 0 and 1."""
    if fraction is not None and not 0.0 < fraction < 1.0:
        raise UsageError(f"{what}: expected a fraction strictly between 0 and 1, got {fraction}")


def validation_size(n: int, fraction: float | None) -> int:
    """How many of ``n`` labelled examples are held out for validation: ``fraction``
    of them when given, else ``max(5% of n, min(VALID_FLOOR, VALID_CAP x n))``."""
    if fraction is not None:
        return int(round(n * fraction))
    return max(int(round(n * DEFAULT_VALID_FRACTION)), min(VALID_FLOOR, int(round(n * VALID_CAP))))


def split_items(n: int, fraction: float | None, seed: int, strata=None) -> tuple[np.ndarray, np.ndarray]:
    """Indices (sorted) of a random split of ``n`` items into training and validation
    (:func:`validation_size` of them), by scikit-learn's ``train_test_split`` with
    ``random_state=seed``; stratified by ``strata`` (the labels) when every class has
    at least two items and each part has room for every class."""
    check_fraction(fraction)
    n_valid = validation_size(n, fraction)
    fraction = n_valid / max(n, 1) if fraction is None else fraction
    if n_valid < 1 or n - n_valid < 1:
        raise UsageError(f"--valid-fraction {fraction} of {n} examples leaves an empty split; "
                         f"pass --valid or more data")
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    stratify = None
    if strata is not None:
        _, counts = np.unique(np.asarray(strata), return_counts=True)
        if counts.min() >= 2 and n_valid >= len(counts) and n - n_valid >= len(counts):
            stratify = strata
    train, valid = train_test_split(idx, test_size=n_valid, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(valid)


def split_tail(seq, fraction: float, *, at_line: bool = False, what: str = "--valid-fraction"):
    """``seq`` (a tensor, an array, a list or a str) in two: the first ``1 - fraction``
    of it and the rest. ``at_line`` (text): the cut moves on to just after the next
    line break, when there is one before the last character."""
    if not 0.0 < fraction < 1.0:
        raise UsageError(f"{what}: expected a fraction strictly between 0 and 1, got {fraction}")
    cut = int(round(len(seq) * (1.0 - fraction)))
    if at_line:
        nl = seq.find("\n", cut)
        if 0 <= nl < len(seq) - 1:
            cut = nl + 1
    return seq[:cut], seq[cut:]


def tail_size(n: int, fraction: float | None, at_least: int = 1) -> int:
    """How many of a sequence's ``n`` steps its tail holds out: ``fraction`` of them
    (the default fraction when None), at least ``at_least``."""
    f = DEFAULT_VALID_FRACTION if fraction is None else fraction
    return max(at_least, int(round(n * f)))


def split_sequences(data, fraction: float | None, seed: int, *, steps: tuple[str, ...], names: str):
    """Training and validation parts of ``data``, a dataclass whose fields ``steps``
    (lists, one entry per sequence, each indexed by step; None allowed) and ``names``
    (one name per sequence) run in parallel: a random ``fraction`` of the sequences
    (:func:`split_items`) when that leaves both parts at least one; otherwise the last
    :func:`tail_size` steps of every sequence, named ``"NAME[CUT:]"`` in validation."""
    seqs = getattr(data, steps[0])
    n = len(seqs)
    check_fraction(fraction)
    n_valid = validation_size(n, fraction)
    if 1 <= n_valid < n:
        tr, va = split_items(n, fraction, seed)
        return take(data, tr, (*steps, names)), take(data, va, (*steps, names))
    fraction = DEFAULT_VALID_FRACTION if fraction is None else fraction
    cuts = []
    for x, name in zip(seqs, getattr(data, names)):
        k = tail_size(len(x), fraction)
        if len(x) - k < 1:
            raise UsageError(f"--valid-fraction {fraction} of the {len(x)} steps of {name} leaves no training "
                             f"steps; pass --valid or longer sequences")
        cuts.append(len(x) - k)
    head = {f: None if getattr(data, f) is None else [s[:c] for s, c in zip(getattr(data, f), cuts)] for f in steps}
    tail = {f: None if getattr(data, f) is None else [s[c:] for s, c in zip(getattr(data, f), cuts)] for f in steps}
    return (dataclasses.replace(data, **head),
            dataclasses.replace(data, **tail, **{names: [f"{s}[{c}:]" for s, c in zip(getattr(data, names), cuts)]}))


def take(data, idx, fields: tuple[str, ...]):
    """The items ``idx`` of ``data``, a dataclass whose ``fields`` are parallel lists
    (one entry per item); fields it lacks, or that are None, are left as they are."""
    present = [f for f in fields if hasattr(data, f) and getattr(data, f) is not None]
    return dataclasses.replace(data, **{f: [getattr(data, f)[i] for i in idx] for f in present})


def named_splits(train, valid, test=None) -> dict:
    """``{"train": train, "validation": valid}`` and ``"test"`` when there is one."""
    return {"train": train, "validation": valid, **({"test": test} if test is not None else {})}


def split_records(memory, name: str, specs, read):
    """The records of split ``name`` (train / valid / test): ``memory.get(name)`` when
    data in memory is given, else ``read(specs)``; None without either."""
    if memory is not None:
        return memory.get(name)
    return read(specs) if specs else None
