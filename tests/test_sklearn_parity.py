"""With cost='log_loss', skce reproduces scikit-learn's MLPClassifier numbers."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skce import MLPCostClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SETTINGS = {
    "lbfgs": {"max_iter": 40},
    "sgd": {"max_iter": 4, "learning_rate_init": 0.05, "batch_size": 32},
    "sgd-invscaling": {
        "max_iter": 4,
        "learning_rate": "invscaling",
        "learning_rate_init": 0.2,
        "nesterovs_momentum": False,
        "batch_size": 50,
    },
    "sgd-adaptive": {
        "max_iter": 30,
        "learning_rate": "adaptive",
        "learning_rate_init": 0.5,
        "n_iter_no_change": 2,
        "tol": 1e-2,
    },
    "adam": {"max_iter": 4, "batch_size": 50},
}


def _targets(kind, digits, multilabel):
    if kind == "multilabel":
        return multilabel
    X, y = digits
    return (X, y) if kind == "multiclass" else (X, np.where(y > 4, "big", "small"))


def _pair(setting, activation="relu", hidden=(20, 10), **extra):
    params = dict(SETTINGS[setting], **extra)
    solver = setting.split("-")[0]
    common = dict(
        hidden_layer_sizes=hidden,
        activation=activation,
        solver=solver,
        random_state=3,
        **params,
    )
    return MLPClassifier(**common), MLPCostClassifier(**common)


def assert_same_model(theirs, ours, rtol):
    for name in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(theirs, name), getattr(ours, name), strict=True):
            assert a.shape == b.shape
            np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=rtol)
    assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel"])
def test_same_weights_and_loss_as_sklearn(setting, kind, digits, multilabel):
    X, y = _targets(kind, digits, multilabel)
    theirs, ours = _pair(setting)
    theirs.fit(X, y)
    ours.fit(X, y)
    # L-BFGS amplifies rounding over its iterations; the others stay at 1e-12.
    assert_same_model(theirs, ours, rtol=1e-6 if setting == "lbfgs" else 1e-10)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), atol=1e-7
    )
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    if setting != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
        assert ours.t_ == theirs.t_
        assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-10)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh"])
def test_same_numbers_for_every_activation(activation, digits):
    theirs, ours = _pair("adam", activation=activation)
    assert_same_model(theirs.fit(*digits), ours.fit(*digits), rtol=1e-10)


def test_same_initial_weights_for_every_layer(digits):
    theirs, ours = _pair("adam", hidden=(7, 5, 3), max_iter=1)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(*digits)
    assert_same_model(theirs, ours.fit(*digits), rtol=1e-10)


def test_same_numbers_in_float32(digits):
    X, y = digits
    theirs, ours = _pair("adam")
    theirs.fit(X.astype(np.float32), y)
    ours.fit(X.astype(np.float32), y)
    assert ours.theta_.dtype == np.float32
    for a, b in zip(theirs.coefs_, ours.coefs_, strict=True):
        np.testing.assert_allclose(b, a, atol=1e-4)


def test_same_numbers_with_sample_weight(digits):
    X, y = digits
    weights = np.random.RandomState(0).uniform(0.2, 3, len(y))
    for setting in ("lbfgs", "adam"):
        theirs, ours = _pair(setting)
        theirs.fit(X, y, sample_weight=weights)
        ours.fit(X, y, sample_weight=weights)
        assert_same_model(theirs, ours, rtol=1e-6)


def test_same_numbers_with_early_stopping_binary(digits):
    X, y = digits
    y = y > 4  # sklearn stratifies binary targets exactly as skce does
    theirs, ours = _pair("adam", early_stopping=True, max_iter=15, n_iter_no_change=3)
    theirs.fit(X, y)
    ours.fit(X, y)
    assert_same_model(theirs, ours, rtol=1e-10)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    assert ours.best_validation_score_ == theirs.best_validation_score_


def test_same_numbers_for_partial_fit(digits):
    X, y = digits
    theirs, ours = _pair("sgd")
    for _ in range(3):
        theirs.partial_fit(X, y, classes=np.unique(y))
        ours.partial_fit(X, y, classes=np.unique(y))
    assert_same_model(theirs, ours, rtol=1e-10)
    assert ours.loss_curve_ == pytest.approx(theirs.loss_curve_, rel=1e-10)
    # A warm-started fit differs on purpose: scikit-learn restarts the
    # optimizer there, skce keeps its state (tests/test_features.py).
