"""weight_init: scikit-learn's Glorot start, Nielsen's two, or the user's."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skce import InvalidParameterError, MLPCostClassifier
from skce._network import Network

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _reference(weight_init, units, seed):
    """The layers drawn by hand, weights then biases, layer by layer."""
    rng = np.random.RandomState(seed)
    layers = []
    for n_in, n_out in zip(units[:-1], units[1:], strict=True):
        if weight_init == "normal_fan_in":
            W = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out))
            b = rng.normal(0.0, 1.0, n_out)
        else:
            W = rng.normal(0.0, 1.0, (n_in, n_out))
            b = rng.normal(0.0, 1.0, n_out)
        layers.append((W, b))
    return layers


def _start(weight_init, X, y, dtype=np.float64, **params):
    """A fit that barely moves from its start: the start, to about 1e-10."""
    clf = MLPCostClassifier(
        (7, 5),
        weight_init=weight_init,
        solver="sgd",
        learning_rate_init=1e-12,
        momentum=0.0,
        max_iter=1,
        random_state=3,
        **params,
    )
    return clf.fit(X.astype(dtype), y)


@quiet
@pytest.mark.parametrize("weight_init", ["normal_fan_in", "standard_normal"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nielsens_initializations_are_drawn_as_described(digits, weight_init, dtype):
    X, y = digits
    clf = _start(weight_init, X, y, dtype)
    expected = _reference(weight_init, [64, 7, 5, 10], seed=3)
    tol = 1e-9 if dtype == np.float64 else 1e-6
    for (W, b), coef, intercept in zip(
        expected, clf.coefs_, clf.intercepts_, strict=True
    ):
        np.testing.assert_allclose(coef, W.astype(dtype), rtol=tol, atol=tol)
        np.testing.assert_allclose(intercept, b.astype(dtype), rtol=tol, atol=tol)


def test_the_spread_of_each_initialization():
    """Over a 784 x 500 layer, the standard deviations the docs give."""
    network = Network([784, 500, 10], "relu", "softmax", False)
    rng = np.random.RandomState(0)
    for weight_init, weight_std, bias_std in [
        ("normal_fan_in", 1 / 28, 1.0),
        ("standard_normal", 1.0, 1.0),
        ("glorot_uniform", np.sqrt(6 / 1284) / np.sqrt(3), np.sqrt(6 / 1284) / 3**0.5),
    ]:
        theta = network.initial_theta(weight_init, np.float64, rng)
        coefs, intercepts = network.views(theta)
        assert coefs[0].std() == pytest.approx(weight_std, rel=0.01)
        assert intercepts[0].std() == pytest.approx(bias_std, rel=0.1)


@quiet
def test_the_default_is_scikit_learns_glorot_start(digits):
    X, y = digits
    default = MLPCostClassifier((7,), max_iter=3, random_state=0).fit(X, y)
    named = MLPCostClassifier(
        (7,), max_iter=3, random_state=0, weight_init="glorot_uniform"
    ).fit(X, y)
    assert default.theta_.tobytes() == named.theta_.tobytes()


@quiet
def test_a_callable_draws_each_layer_and_given_weights_win(digits):
    X, y = digits
    calls = []

    def constant(n_in, n_out, rng):
        calls.append((n_in, n_out, isinstance(rng, np.random.RandomState)))
        return np.full((n_in, n_out), 0.01), np.zeros(n_out)

    clf = _start(constant, X, y)
    assert calls == [(64, 7, True), (7, 5, True), (5, 10, True)]
    for coef, intercept in zip(clf.coefs_, clf.intercepts_, strict=True):
        np.testing.assert_allclose(coef, 0.01, atol=1e-9)
        np.testing.assert_allclose(intercept, 0.0, atol=1e-9)
    given = [np.full(c.shape, 0.5) for c in clf.coefs_]
    clf = _start(constant, X, y, warm_start=False)
    clf.fit(X, y, coefs_init=given)
    np.testing.assert_allclose(clf.coefs_[0], 0.5, atol=1e-9)


@quiet
@pytest.mark.parametrize("solver", ["gd", "sgd", "adam", "lbfgs"])
def test_every_solver_sparse_and_partial_fit(digits, solver):
    X, y = digits
    params = dict(
        hidden_layer_sizes=(7,),
        solver=solver,
        max_iter=2,
        random_state=0,
        weight_init="normal_fan_in",
    )
    dense = MLPCostClassifier(**params).fit(X, y)
    sparse = MLPCostClassifier(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(dense.theta_, sparse.theta_, rtol=1e-10, atol=1e-12)
    if solver != "lbfgs":
        partial = MLPCostClassifier(**params).partial_fit(X, y, classes=np.arange(10))
        assert np.isfinite(partial.theta_).all()


@pytest.mark.parametrize(
    "weight_init, match",
    [
        ("he_normal", "'weight_init' parameter"),
        (3, "'weight_init' parameter"),
        (lambda n_in, n_out, rng: np.zeros((n_in, n_out)), "must return a pair"),
        (
            lambda n_in, n_out, rng: (np.zeros((n_out, n_in)), np.zeros(n_out)),
            r"returned W of shape \(7, 64\)",
        ),
        (
            lambda n_in, n_out, rng: (np.zeros((n_in, n_out)), np.zeros(n_in)),
            "returned b of shape",
        ),
        (
            lambda n_in, n_out, rng: (np.full((n_in, n_out), np.nan), np.zeros(n_out)),
            "NaN or infinite",
        ),
        (
            lambda n_in, n_out, rng: (np.full((n_in, n_out), "a"), np.zeros(n_out)),
            "dtype",
        ),
    ],
)
def test_bad_weight_init_names_the_parameter(digits, weight_init, match):
    X, y = digits
    fitted = MLPCostClassifier((7,), max_iter=1, random_state=0)
    with pytest.warns(ConvergenceWarning):
        fitted.fit(X, y)
    before = fitted.theta_.copy()
    fitted.set_params(weight_init=weight_init)
    error = InvalidParameterError if isinstance(weight_init, str | int) else ValueError
    with pytest.raises(error, match=match):
        fitted.fit(X, y)
    assert fitted.theta_.tobytes() == before.tobytes()  # a failed fit changes nothing
