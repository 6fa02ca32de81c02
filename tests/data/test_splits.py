"""The one split module: item splits (sizes, stratification, seed), tails of streams,
texts and series, and picking items out of parallel lists."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from rnnkit.data.splits import (named_splits, split_items, split_records, split_sequences, split_tail, tail_size,
                                take, validation_size)
from rnnkit.errors import UsageError


def test_item_split_sizes_and_seed():
    for n, fraction, want in [(270, None, 54), (1700, None, 200), (10_000, None, 500), (270, 0.05, 14), (7, 0.3, 2)]:
        assert validation_size(n, fraction) == want
        tr, va = split_items(n, fraction, seed=3)
        assert len(va) == want and len(tr) == n - want
        assert sorted(np.concatenate([tr, va]).tolist()) == list(range(n))       # a partition
        assert list(tr) == sorted(tr) and list(va) == sorted(va)
    a, b = split_items(100, 0.2, seed=1), split_items(100, 0.2, seed=1)
    assert np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], split_items(100, 0.2, seed=2)[1])


def test_item_split_is_stratified_when_every_class_can_be_split():
    labels = np.array(["a"] * 80 + ["b"] * 20)
    _, va = split_items(100, 0.1, seed=0, strata=labels)
    assert sorted(labels[va].tolist()) == ["a"] * 8 + ["b"] * 2               # the classes' shares, exactly
    # a class with one example: no stratification, but still a split of the right size
    odd = np.array(["a"] * 99 + ["b"])
    tr, va = split_items(100, 0.1, seed=0, strata=odd)
    assert len(va) == 10 and len(tr) == 90


def test_item_split_refusals():
    with pytest.raises(UsageError, match="^--valid-fraction: expected a fraction strictly between 0 and 1, got 1.0$"):
        split_items(10, 1.0, 0)
    with pytest.raises(UsageError, match="^--valid-fraction 0.01 of 10 examples leaves an empty split"):
        split_items(10, 0.01, 0)


def test_tails_of_streams_and_texts():
    a, b = split_tail(torch.arange(100), 0.1)
    assert len(a) == 90 and b[0] == 90
    text = "one two\nthree four\nfive six\n"                  # 28 characters; 10% -> cut at 25
    assert split_tail(text, 0.1) == (text[:25], text[25:])
    assert split_tail(text, 0.5, at_line=True) == ("one two\nthree four\n", "five six\n")   # cut 14 -> after line 2
    assert split_tail("no line break here", 0.5, at_line=True) == ("no line b", "reak here")
    with pytest.raises(UsageError, match="^--valid-fraction: expected a fraction strictly between 0 and 1, got 1.5$"):
        split_tail(torch.arange(10), 1.5)
    assert tail_size(480, 0.05, at_least=24) == 24 and tail_size(1000, None, at_least=24) == 50
    assert tail_size(10, 0.01) == 1


@dataclass
class Seqs:
    x: list
    labels: list | None
    times: list | None
    sources: list
    files: list


def _seqs(lengths):
    return Seqs(x=[np.arange(n) for n in lengths], labels=[np.arange(n) * 10 for n in lengths], times=None,
                sources=[f"s{i}" for i in range(len(lengths))], files=["f.csv"])


def test_sequences_split_by_item_or_by_tail():
    many = _seqs([5] * 40)
    tr, va = split_sequences(many, 0.25, 0, steps=("x", "labels", "times"), names="sources")
    assert (len(tr.x), len(va.x)) == (30, 10) and va.times is None and va.files == ["f.csv"]
    assert sorted(tr.sources + va.sources) == sorted(many.sources)
    one = _seqs([100, 41])                                    # two sequences: 5% of them is none, so tails
    tr, va = split_sequences(one, None, 0, steps=("x", "labels", "times"), names="sources")
    assert [len(x) for x in tr.x] == [95, 39] and [len(x) for x in va.x] == [5, 2]
    assert va.sources == ["s0[95:]", "s1[39:]"] and tr.sources == ["s0", "s1"]
    assert va.labels[0].tolist() == [950, 960, 970, 980, 990]
    with pytest.raises(UsageError, match="of the 1 steps of s0 leaves no training steps"):
        split_sequences(_seqs([1]), None, 0, steps=("x", "labels", "times"), names="sources")


def test_take_named_splits_and_records():
    s = _seqs([3, 4, 5])
    picked = take(s, [2, 0], ("x", "labels", "times", "sources", "absent"))
    assert picked.sources == ["s2", "s0"] and picked.times is None and len(picked.x[0]) == 5
    assert list(named_splits(1, 2)) == ["train", "validation"]
    assert named_splits(1, 2, 3) == {"train": 1, "validation": 2, "test": 3}
    assert split_records({"valid": "mem"}, "valid", ["f"], lambda specs: "read") == "mem"
    assert split_records(None, "valid", ["f"], lambda specs: f"read {specs[0]}") == "read f"
    assert split_records(None, "valid", None, lambda specs: "read") is None
