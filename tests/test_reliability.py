"""Numerical extremes, divergence, atomic fits, determinism and persistence."""

import contextlib
import hashlib
import io
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from skce import MLPCostClassifier, MLPCostRegressor
from skce._backprop import Penalty
from skce._inputs import kernel_input, kernel_targets
from skce._network import Network
from skce._problem import Objective, Problem
from skce.activations import ACTIVATIONS
from skce.costs import COSTS

SOLVERS = ["gd", "sgd", "adam", "lbfgs"]
quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _canonical(value):
    """A comparable form: arrays bit for bit (with dtype), containers by content."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_canonical(v) for v in value))
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value).__name__, _canonical(vars(value)))
    return ("value", repr(value))


def fitted_state(est):
    """Every fitted attribute in canonical form: equal means bit for bit equal."""
    params = est.get_params(deep=False)
    return {name: _canonical(v) for name, v in vars(est).items() if name not in params}


# -- numerical extremes ---------------------------------------------------------


@pytest.mark.parametrize("cost", list(COSTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_huge_inputs_give_finite_loss_and_gradient(digits, cost, dtype, activation):
    X, y = digits
    X = np.ascontiguousarray((X[:50] * 1e4).astype(dtype))  # logits in the thousands
    Y = np.eye(10, dtype=dtype)[y[:50]]
    network = Network([64, 16, 10], activation, COSTS[cost].output_activation)
    theta = network.initial_theta("glorot_uniform", dtype, np.random.RandomState(0))
    grad = np.empty_like(theta)
    problem = Problem(
        kernel_input(X), kernel_targets(Y, None), COSTS[cost], Penalty(1e-4, 0.0)
    )
    loss = Objective(problem, network)(theta, grad)
    assert np.isfinite(loss) and loss > 0
    assert np.isfinite(grad).all()


@pytest.mark.parametrize("cost", list(COSTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@quiet
def test_huge_inputs_give_probabilities(digits, cost, dtype):
    X, y = digits
    X = (X * 1e4).astype(dtype)
    clf = MLPCostClassifier((16,), cost=cost, max_iter=3, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.dtype == dtype and np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(clf.theta_).all() and np.isfinite(clf.loss_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_sigmoids_do_not_give_nan(dtype):
    """Outputs pinned at 0 or 1 (|z| ~ 1e4): finite costs and zero-ish errors."""
    for cost in ("quadratic", "cross_entropy"):
        z = np.array([[1e4, -1e4, 1e4]], dtype=dtype)
        y = np.array([[1.0, 0.0, 0.0]], dtype=dtype)
        value = COSTS[cost].from_logits(z, y)
        delta = COSTS[cost].delta(z, None, y)
        assert np.isfinite(value).all() and np.isfinite(delta).all()


# -- divergence and atomic fits ------------------------------------------------


def test_divergence_names_the_epoch_and_leaves_no_nan(digits):
    X, y = digits
    clf = MLPCostClassifier(
        (20,),
        solver="sgd",
        learning_rate_init=1e8,
        tol=0.0,
        n_iter_no_change=10**6,
        random_state=0,
    )
    with pytest.raises(ValueError, match=r"diverged in epoch \d+.*learning_rate_init"):
        clf.fit(X, y)
    assert not hasattr(clf, "theta_")  # nothing half-trained is left behind


@pytest.mark.parametrize("estimator", [MLPCostClassifier, MLPCostRegressor])
@pytest.mark.parametrize("solver", ["gd", "sgd", "adam", "lbfgs"])
def test_divergence_starts_with_scikit_learns_sentence(estimator, solver):
    """Code that matches scikit-learn's divergence message (its own
    test_nonfinite_params does) matches skce's, for every solver."""
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.randint(0, 2, 10) if estimator is MLPCostClassifier else rng.normal(size=10)
    model = estimator(solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in the inputs
        with pytest.raises(ValueError) as raised:
            model.fit(X, y)
    message = str(raised.value)
    assert message.startswith(
        "Solver produced non-finite parameter weights. The input data may contain "
        "large values and need to be preprocessed. "
    )
    assert "left as it was" in message
    assert not hasattr(model, "coefs_")


@quiet
def test_diverging_warm_start_keeps_the_fitted_model(digits):
    X, y = digits
    clf = MLPCostClassifier(
        (20,),
        solver="sgd",
        learning_rate_init=0.1,
        max_iter=5,
        random_state=0,
        warm_start=True,
    ).fit(X, y)
    before, proba = fitted_state(clf), clf.predict_proba(X)
    with pytest.raises(ValueError, match="diverged"):
        clf.set_params(
            learning_rate_init=1e8, max_iter=200, tol=0.0, n_iter_no_change=10**6
        ).fit(X, y)
    assert fitted_state(clf) == before
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


@quiet
def test_failed_partial_fit_keeps_the_fitted_model(digits):
    X, y = digits
    clf = MLPCostClassifier((20,), solver="adam", random_state=0)
    for _ in range(3):
        clf.partial_fit(X, y, classes=np.unique(y))
    before = fitted_state(clf)
    bad = X.copy()
    bad[5, 5] = np.nan
    for call in (
        lambda: clf.partial_fit(bad, y),
        lambda: clf.partial_fit(X[:, :10], y),
        lambda: clf.partial_fit(X, np.where(y == 3, 42, y)),
        lambda: clf.partial_fit(X, y, sample_weight=-np.ones(len(y))),
    ):
        with pytest.raises(ValueError):
            call()
        assert fitted_state(clf) == before


class _InterruptAtIteration(io.StringIO):
    """A stdout that raises KeyboardInterrupt when epoch ``n`` is reported."""

    def __init__(self, n):
        super().__init__()
        self.marker = f"Iteration {n},"

    def write(self, text):
        if self.marker in text:
            raise KeyboardInterrupt
        return super().write(text)


@pytest.mark.parametrize("solver", SOLVERS)
@quiet
def test_keyboard_interrupt_keeps_the_fitted_model(digits, solver):
    X, y = digits
    clf = MLPCostClassifier(
        (20,), solver=solver, max_iter=4, random_state=0, learning_rate_init=0.01
    ).fit(X, y)
    before, proba = fitted_state(clf), clf.predict_proba(X)
    clf.set_params(warm_start=True, verbose=True, max_iter=10)
    with contextlib.redirect_stdout(_InterruptAtIteration(3)):
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    assert fitted_state(clf) == before
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


# -- determinism ----------------------------------------------------------------

_FIT_ALL = """
import hashlib, sys, warnings
import numpy as np
from sklearn.datasets import load_digits
from skce import MLPCostClassifier, MLPCostRegressor
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X, y = X[:300] / 16.0, y[:300]
for solver in ("gd", "sgd", "adam", "lbfgs"):
    clf = MLPCostClassifier((20,), solver=solver, max_iter=5, random_state=7,
                            early_stopping=solver != "lbfgs").fit(X, y)
    print(solver, hashlib.sha256(clf.theta_.tobytes()).hexdigest())
"""


def _digest(solver, X, y):
    clf = MLPCostClassifier(
        (20,),
        solver=solver,
        max_iter=5,
        random_state=7,
        early_stopping=solver != "lbfgs",
    ).fit(X, y)
    return hashlib.sha256(clf.theta_.tobytes()).hexdigest()


@quiet
def test_same_random_state_same_bits_everywhere(digits):
    X, y = digits
    serial = {solver: _digest(solver, X, y) for solver in SOLVERS}
    assert serial == {solver: _digest(solver, X, y) for solver in SOLVERS}

    barrier = threading.Barrier(2)

    def in_thread(solver):
        barrier.wait(timeout=60) if solver in ("gd", "sgd") else None
        return solver, _digest(solver, X, y)

    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = dict(pool.map(in_thread, SOLVERS))
    assert threaded == serial

    output = subprocess.run(
        [sys.executable, "-c", _FIT_ALL], capture_output=True, text=True, check=True
    ).stdout
    other_process = dict(line.split() for line in output.splitlines())
    assert other_process == serial
