"""scikit-learn's estimator contract on rnnkit.Classifier: get_params / set_params,
clone, cross_val_score and GridSearchCV."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score

import rnnkit
from tests.estimators.conftest import TINY, texts


def test_params_are_stored_as_given_and_clone_keeps_them():
    size = np.int64(8)
    clf = rnnkit.Classifier(hidden_size=size, cell="gru", seed=3)
    assert clf.hidden_size is size                          # as given, not converted
    assert clf.get_params()["hidden_size"] == 8 and clf.get_params()["cell"] == "gru"
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()
    assert clf.set_params(hidden_size=16, lr=0.01) is clf and clf.hidden_size == 16 and clf.lr == 0.01
    with pytest.raises(ValueError, match="Invalid parameter 'hiden'"):
        clf.set_params(hiden=1)
    assert "hidden_size=16" in repr(clf) and "num_layers" not in repr(clf)   # only what differs


def test_fitted_attributes_end_in_underscore_and_pickle(no_plots):
    X, y = texts(32)
    clf = rnnkit.Classifier(**{**TINY, "max_steps": 4, "val_every_n_steps": 2}).fit(X, y)
    fitted = [k for k in vars(clf) if k not in clf.get_params() and not k.startswith("_")]
    assert fitted and all(k.endswith("_") for k in fitted)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_cross_val_score_and_grid_search(no_plots):
    X, y = texts(40)
    small = {**TINY, "max_steps": 6, "val_every_n_steps": 3}
    scores = cross_val_score(rnnkit.Classifier(**small), X, y, cv=2)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()
    search = GridSearchCV(rnnkit.Classifier(**small), {"hidden_size": [4, 8]}, cv=2).fit(X, y)
    assert search.best_params_["hidden_size"] in (4, 8)
    assert search.best_estimator_.hidden_size == search.best_params_["hidden_size"]
    assert search.predict(X[:3]).shape == (3,)
