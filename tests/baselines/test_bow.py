"""The bag-of-words baseline: learns what words say, cannot see word order beyond its
n-grams, and saves to a file that loads back to the same probabilities."""

import random
import zipfile

import numpy as np
import pytest

from rnnkit.baselines import BagOfWords
from rnnkit.errors import UsageError

POSITIVE = ["good", "great", "fine", "lovely", "superb"]
NEGATIVE = ["bad", "awful", "poor", "dreadful", "grim"]
NEUTRAL = ["the", "film", "was", "a", "plot", "and", "acting", "quite", "."]


def _sentiment(n, seed):
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = rng.sample(NEUTRAL, 4) + [rng.choice(POSITIVE if label else NEGATIVE)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def _order_task(n, seed, gap=3):
    """Every text is a permutation of one multiset: the words "a" and "b" and eighteen
    distinct fillers. Label 1 when "a" comes before "b". The two words sit at least
    ``gap`` positions apart and never first or last, so every unigram count, and every
    bigram around "a" and "b" (a random filler on each side), is the same in
    distribution for both labels: no bag of 1-grams or 2-grams can tell them apart."""
    rng = random.Random(seed)
    fillers = [f"w{i}" for i in range(18)]
    length = len(fillers) + 2
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        while True:
            i_a, i_b = rng.sample(range(1, length - 1), 2)
            if abs(i_a - i_b) >= gap and (i_a < i_b) == bool(label):
                break
        words = rng.sample(fillers, len(fillers))
        for pos, w in sorted([(i_a, "a"), (i_b, "b")]):
            words.insert(pos, w)
        assert words.index("a") == i_a and words.index("b") == i_b
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def _accuracy(bow, texts, labels):
    return float(np.mean(bow.predict(texts) == np.asarray(labels)))


def test_learns_words_that_indicate_the_class():
    train, y_train = _sentiment(300, seed=0)
    test, y_test = _sentiment(200, seed=1)
    assert len(set(test) - set(train)) > 150  # mostly texts it has not seen
    for ngrams in (1, 2):
        bow = BagOfWords(ngrams=ngrams).fit(train, y_train, ["neg", "pos"])
        assert _accuracy(bow, test, y_test) == 1.0
    proba = bow.predict_proba(test)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


def test_word_order_is_invisible_to_unigrams_and_far_apart_bigrams():
    train, y_train = _order_task(400, seed=0)
    test, y_test = _order_task(400, seed=1)
    assert np.mean(y_test) == 0.5
    uni = BagOfWords(ngrams=1).fit(train, y_train, ["b<a", "a<b"])
    # every text has the same unigram counts: the features of all texts are identical
    proba = uni.predict_proba(test)
    np.testing.assert_allclose(proba, np.broadcast_to(proba[0], proba.shape), atol=1e-12)
    assert _accuracy(uni, test, y_test) == 0.5
    bi = BagOfWords(ngrams=2).fit(train, y_train, ["b<a", "a<b"])
    assert _accuracy(bi, train, y_train) > 0.9  # it fits the training noise...
    assert 0.4 <= _accuracy(bi, test, y_test) <= 0.6  # ...and generalises at chance


def _adjacent(texts, labels, seed):
    """The order task's texts with "a" and "b" moved next to each other, in label order."""
    rng = random.Random(seed)
    out = []
    for t, y in zip(texts, labels):
        words = [w for w in t.split() if w not in ("a", "b")]
        pos = rng.randrange(1, len(words))
        words[pos:pos] = ["a", "b"] if y else ["b", "a"]
        out.append(" ".join(words))
    return out


def test_bigrams_see_adjacent_order():
    """The control: with "a" and "b" adjacent, the bigram "a b" or "b a" is the label."""
    train, y_train = _order_task(200, seed=0)
    test, y_test = _order_task(200, seed=1)
    train, test = _adjacent(train, y_train, 0), _adjacent(test, y_test, 1)
    bi = BagOfWords(ngrams=2).fit(train, y_train, ["b<a", "a<b"])
    assert _accuracy(bi, test, y_test) >= 0.95
    uni = BagOfWords(ngrams=1).fit(train, y_train, ["b<a", "a<b"])
    assert _accuracy(uni, test, y_test) == 0.5


def test_class_absent_from_training_gets_a_zero_column():
    texts, labels = _sentiment(40, seed=0)
    labels = [2 * y for y in labels]  # classes 0 and 2; class 1 never seen
    bow = BagOfWords(ngrams=1).fit(texts, labels, ["neg", "unseen", "pos"])
    proba = bow.predict_proba(["good film", "bad film"])
    assert proba.shape == (2, 3)
    assert np.all(proba[:, 1] == 0.0)
    assert bow.predict(["good film", "bad film"]).tolist() == [2, 0]


def test_options_shape_the_vocabulary():
    texts = ["Good film", "good film", "BAD film", "bad plot"]
    labels = [1, 1, 0, 0]
    assert BagOfWords(ngrams=1).fit(texts, labels, ["n", "p"]).n_features == 6
    assert BagOfWords(ngrams=1, lowercase=True).fit(texts, labels, ["n", "p"]).n_features == 4
    # in at least two texts: good/film/bad when lowercased
    assert BagOfWords(ngrams=1, lowercase=True, min_freq=2).fit(texts, labels, ["n", "p"]).n_features == 3
    assert BagOfWords(ngrams=2, max_vocab=3).fit(texts, labels, ["n", "p"]).n_features == 3
    # the word tokenizer's rule: punctuation alone, apostrophes inside words
    bow = BagOfWords(ngrams=1).fit(["don't stop!", "go on."], [0, 1], ["n", "p"])
    assert set(bow._vectorizer.vocabulary_) == {"don't", "stop", "!", "go", "on", "."}


@pytest.mark.parametrize("ngrams", [1, 2, 3])
def test_save_load_round_trip(tmp_path, ngrams):
    texts, labels = _sentiment(60, seed=0)
    labels = [y if i % 5 else 2 for i, y in enumerate(labels)]  # three classes, multinomial
    texts = texts + ["odd \0 nul", "x \0"]  # a term ending in NUL survives numpy's strings
    labels = labels + [0, 1]
    bow = BagOfWords(ngrams=ngrams, lowercase=True, C=3.0).fit(texts, labels, ["neg", "pos", "mix", "none"])
    path = tmp_path / "run" / "bow.npz"
    bow.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["bow.npz"]
    loaded = BagOfWords.load(path)
    probe, _ = _sentiment(50, seed=3)
    probe += ["GOOD \0", "never seen words", ""]
    np.testing.assert_allclose(loaded.predict_proba(probe), bow.predict_proba(probe), rtol=0, atol=1e-12)
    assert loaded.classes == bow.classes and loaded.n_features == bow.n_features
    assert loaded._vectorizer.vocabulary_ == bow._vectorizer.vocabulary_
    assert (loaded.ngrams, loaded.lowercase, loaded.C) == (ngrams, True, 3.0)
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert all(z[k].dtype != object for k in z.files)


def test_save_load_binary(tmp_path):
    texts, labels = _sentiment(40, seed=0)
    bow = BagOfWords().fit(texts, labels, ["neg", "pos"])
    bow.save(tmp_path / "bow.npz")
    loaded = BagOfWords.load(tmp_path / "bow.npz")
    probe, _ = _sentiment(30, seed=5)
    np.testing.assert_allclose(loaded.predict_proba(probe), bow.predict_proba(probe), rtol=0, atol=1e-12)


def test_load_rejects_foreign_and_truncated_files(tmp_path):
    texts, labels = _sentiment(40, seed=0)
    good = tmp_path / "bow.npz"
    BagOfWords().fit(texts, labels, ["neg", "pos"]).save(good)
    data = good.read_bytes()

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a model\n" * 10)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    pickled = tmp_path / "pickled.npz"
    with np.load(good) as z:
        arrays = dict(z)
    arrays["options"] = np.array([{"ngrams": 1}], dtype=object)  # needs pickle to read
    np.savez(pickled, **arrays)
    empty_zip = tmp_path / "empty.npz"
    with zipfile.ZipFile(empty_zip, "w"):
        pass

    for path in (garbage, truncated, other, pickled, empty_zip, tmp_path / "missing.npz"):
        with pytest.raises(UsageError) as info:
            BagOfWords.load(path)
        message = str(info.value)
        assert path.name in message and "\n" not in message


def test_usage_errors():
    with pytest.raises(UsageError, match="ngrams"):
        BagOfWords(ngrams=0)
    with pytest.raises(UsageError, match="2 distinct labels"):
        BagOfWords().fit(["a", "b"], [1, 1], ["x", "y"])
    with pytest.raises(UsageError, match="empty vocabulary"):
        BagOfWords(min_freq=3).fit(["a b", "c d", "e f"], [0, 1, 0], ["x", "y"])
    with pytest.raises(UsageError, match="empty vocabulary"):
        BagOfWords(min_freq=5).fit(["a b", "a d"], [0, 1], ["x", "y"])  # more than the texts
    with pytest.raises(UsageError, match="empty vocabulary"):
        BagOfWords().fit(["   ", ""], [0, 1], ["x", "y"])
    with pytest.raises(UsageError, match="0..1"):
        BagOfWords().fit(["a", "b"], [0, 2], ["x", "y"])
    with pytest.raises(UsageError, match="one label per text"):
        BagOfWords().fit(["a", "b"], [0], ["x", "y"])
    with pytest.raises(UsageError, match="unfitted"):
        BagOfWords().predict(["a"])
    with pytest.raises(UsageError, match="single string"):
        BagOfWords().fit("a b", [0, 1], ["x", "y"])
