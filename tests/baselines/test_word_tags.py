"""MostFrequentTag against per-word counts taken by hand, and through its file."""

import numpy as np
import pytest

from rnnkit.baselines import MostFrequentTag
from rnnkit.errors import UsageError

TAGS = ["B-LOC", "B-PER", "O"]
TRAIN = [["Paris", "is", "big"], ["paris", "Hilton", "is", "here"], ["Paris", "sings"], ["Jordan", "is"],
         ["jordan", "runs"]]
TAGGED = [["B-LOC", "O", "O"], ["B-PER", "B-PER", "O", "O"], ["B-PER", "O"], ["B-LOC", "O"], ["B-PER", "O"]]


def test_each_word_takes_its_most_frequent_tag():
    cased = MostFrequentTag(TAGS).fit(TRAIN, TAGGED)
    low = MostFrequentTag(TAGS, lowercase=True).fit(TRAIN, TAGGED)
    test = [["Paris", "paris", "Jordan", "jordan", "is", "Rome"]]
    # as written: Paris 1 LOC 1 PER (a tie: PER is the more frequent tag overall, 4 against 2);
    # paris PER; Jordan LOC; jordan PER; unseen Rome: O, the most frequent tag of all
    assert cased.predict(test) == [["B-PER", "B-PER", "B-LOC", "B-PER", "O", "O"]]
    # lowercased: paris 1 LOC 2 PER, jordan 1 LOC 1 PER (tie: PER)
    assert low.predict(test) == [["B-PER", "B-PER", "B-PER", "B-PER", "O", "O"]]
    p = low.predict_proba(test)[0]
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_allclose(p[0], [2 / 6, 3 / 6, 1 / 6], atol=1e-6)          # paris: add-one of (1, 2, 0)
    np.testing.assert_allclose(p[5], [2 / 13, 4 / 13, 7 / 13])                 # unseen: the tags' shares


def test_the_file_gives_the_same_model(tmp_path):
    b = MostFrequentTag(TAGS, lowercase=True).fit(TRAIN, TAGGED)
    b.save(tmp_path / "b.npz")
    again = MostFrequentTag.load(tmp_path / "b.npz")
    assert again.tags == TAGS and again.lowercase and again.words == b.words
    test = [["PARIS", "x", "is"]]
    np.testing.assert_array_equal(again.predict_proba(test)[0], b.predict_proba(test)[0])
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(UsageError, match="expected a MostFrequentTag .npz saved by rnnkit"):
        MostFrequentTag.load(tmp_path / "other.npz")


def test_bad_input_is_one_line():
    with pytest.raises(UsageError, match="at least 2 distinct tags"):
        MostFrequentTag(["O"])
    with pytest.raises(UsageError, match="one tag per token, got 2 tokens and 1 tags"):
        MostFrequentTag(TAGS).fit([["a", "b"]], [["O"]])
    with pytest.raises(UsageError, match="tag 'I-X' is not one of"):
        MostFrequentTag(TAGS).fit([["a"]], [["I-X"]])
    with pytest.raises(UsageError, match="expected a fitted MostFrequentTag"):
        MostFrequentTag(TAGS).predict([["a"]])
