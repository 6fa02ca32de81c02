"""Shared settings of the estimator tests: models and budgets small enough to train in
a second or two on one thread."""

import pytest

# a tiny model, a budget of a few dozen steps, no progress bar
TINY = dict(hidden_size=8, num_layers=1, embedding_size=8, batch_size=8, max_steps=20, val_every_n_steps=10,
            lr=0.02, progress_bar=False, accelerator="cpu")


@pytest.fixture
def no_plots(monkeypatch):
    """Training without drawing its PNG figures (a second or more per run on a shared
    CPU), for the tests that fit many times and look at no figure."""
    import rnnkit.tasks.classify.behaviour as classify_spec
    import rnnkit.training.trainer as trainer

    monkeypatch.setattr(trainer, "plot_curves", lambda *a, **k: None)
    monkeypatch.setattr(classify_spec, "plot_confusion_matrix", lambda *a, **k: None)


def texts(n: int = 48, seed: int = 0):
    """Short reviews, labels 1 (positive) and 0 (negative), told apart by their words."""
    import random

    rng = random.Random(seed)
    good = ["a fine film", "great cast", "loved it", "wonderful acting", "a real delight", "fine and great"]
    bad = ["dull and long", "bad plot", "hated it", "boring acting", "a real mess", "dull and bad"]
    xs, ys = [], []
    for i in range(n):
        xs.append(rng.choice(good if i % 2 == 0 else bad))
        ys.append(1 if i % 2 == 0 else 0)
    return xs, ys
