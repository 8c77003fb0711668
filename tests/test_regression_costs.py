"""The regressor's costs: their formulas, and the network's gradient under
each against finite differences."""

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import numeric_delta
from _user_activation import HIDDEN_ACTIVATIONS
from _user_activation import activation as make_activation
from scipy.special import xlogy
from sklearn.neural_network._base import poisson_loss, squared_loss

from skce._backprop import Penalty
from skce._inputs import kernel_input, kernel_targets
from skce._network import Network
from skce._problem import Objective, Problem
from skce.costs import (
    REGRESSION_COSTS,
    AbsoluteErrorCost,
    HuberCost,
    PoissonCost,
    QuantileCost,
    SquaredErrorCost,
)

COSTS = {
    "squared_error": SquaredErrorCost(),
    "poisson": PoissonCost(),
    "absolute_error": AbsoluteErrorCost(),
    "huber": HuberCost(0.7),
    "quantile": QuantileCost(0.8),
}


def _reference(name, z, y):
    """Per-sample cost and dC/dz, written from the formulas in NumPy."""
    n = z.shape[1]
    r = z - y
    if name == "squared_error":
        return 0.5 * (r**2).sum(axis=1) / n, r
    if name == "poisson":
        p = np.exp(z)
        return (xlogy(y, y / p) - y + p).sum(axis=1), p - y
    if name == "absolute_error":
        return np.abs(r).sum(axis=1) / n, np.sign(r) / n
    if name == "huber":
        t = 0.7
        small = np.abs(r) <= t
        cost = np.where(small, 0.5 * r**2, t * (np.abs(r) - 0.5 * t))
        return cost.sum(axis=1) / n, np.clip(r, -t, t) / n
    q = 0.8
    cost = np.maximum(-q * r, (1 - q) * r)
    return cost.sum(axis=1) / n, np.where(r < 0, -q, 1 - q) / n


def _targets(name, rng, shape):
    if name == "poisson":
        return rng.poisson(2.0, shape).astype(float)
    return rng.normal(size=shape)


def test_every_loss_name_is_tested():
    assert set(COSTS) == set(REGRESSION_COSTS)


@pytest.mark.parametrize("name", list(COSTS))
def test_cost_and_delta_match_the_formulas(name):
    rng = np.random.RandomState(0)
    z = rng.normal(size=(40, 3))
    y = _targets(name, rng, z.shape)
    cost, delta = _reference(name, z, y)
    np.testing.assert_allclose(COSTS[name].from_logits(z, y), cost, rtol=1e-12)
    np.testing.assert_allclose(COSTS[name].delta(z, None, y), delta, rtol=1e-12)


@pytest.mark.parametrize("name", ["squared_error", "poisson"])
def test_the_mean_cost_is_scikit_learns_loss(name):
    rng = np.random.RandomState(1)
    z = rng.normal(size=(30, 2))
    y = _targets(name, rng, z.shape)
    weights = rng.uniform(0.1, 2.0, 30)
    cost = COSTS[name].from_logits(z, y)
    prediction = np.exp(z) if name == "poisson" else z
    theirs = (poisson_loss if name == "poisson" else squared_loss)(
        y, prediction, weights
    )
    assert np.average(cost, weights=weights) == pytest.approx(theirs, rel=1e-13)


@pytest.mark.parametrize("name", list(COSTS))
def test_delta_is_the_derivative_of_the_cost(name):
    rng = np.random.RandomState(2)
    z = rng.normal(size=(6, 3))
    y = _targets(name, rng, z.shape)
    delta = COSTS[name].delta(z, None, y)
    numeric = numeric_delta(COSTS[name], z, y)
    if name == "squared_error":
        # scikit-learn's: the cost is a mean over the outputs, its error is not.
        numeric = numeric * z.shape[1]
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", list(COSTS))
def test_fn_of_the_outputs_is_the_cost_of_the_logits(name):
    rng = np.random.RandomState(3)
    z = rng.normal(size=(8, 2))
    y = _targets(name, rng, z.shape)
    cost = COSTS[name]
    a = np.exp(z) if cost.output_activation == "exp" else z
    np.testing.assert_allclose(cost.fn(a, y), cost.from_logits(z, y), rtol=1e-12)


def _evaluate(X, Y, weights, network, theta, cost, alpha):
    problem = Problem(
        kernel_input(X), kernel_targets(Y, weights), cost, Penalty(alpha, 0.0)
    )
    grad = np.empty_like(theta)
    return Objective(problem, network)(theta, grad), grad


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", list(COSTS))
def test_a_weight_of_two_is_a_repeated_row(name, sparse):
    """scikit-learn's sample-weight checks, at the objective: integer weights
    and the rows repeated as often give the same cost and gradient at the
    same parameters (up to the order of the sums' roundings)."""
    rng = np.random.RandomState(42)
    X = rng.uniform(0.0, 3.0, size=(15, 10))
    X[X < 1.0] = 0.0
    Y = _targets(name, rng, (15, 1))
    weights = rng.randint(0, 4, 15).astype(float)
    repeats = weights.astype(int)
    X_repeated, Y_repeated = np.repeat(X, repeats, axis=0), np.repeat(Y, repeats, 0)
    if sparse:
        X, X_repeated = sp.csr_matrix(X), sp.csr_matrix(X_repeated)
    cost = COSTS[name]
    network = Network([10, 100, 1], "relu", cost.output_activation)
    for seed in range(5):
        theta = network.initial_theta(
            "glorot_uniform", np.float64, np.random.RandomState(seed)
        )
        loss, grad = _evaluate(X, Y, weights, network, theta, cost, 1e-4)
        repeated = _evaluate(X_repeated, Y_repeated, None, network, theta, cost, 1e-4)
        assert loss == pytest.approx(repeated[0], rel=1e-12)
        np.testing.assert_allclose(
            grad, repeated[1], rtol=0, atol=1e-12 * np.abs(repeated[1]).max()
        )


@pytest.mark.parametrize(("hidden", "activation"), HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("name", list(COSTS))
def test_gradient_matches_finite_differences(name, n_outputs, activation, hidden):
    """Every regression cost under every hidden activation (as in
    ``test_kernels``), float64 against central differences and float32
    against float64."""
    rng = np.random.RandomState(4)
    n_samples, n_features = 17, 6
    X = rng.normal(size=(n_samples, n_features))
    Y = _targets(name, rng, (n_samples, n_outputs))
    weights = rng.uniform(0.1, 2.0, n_samples)
    cost = COSTS[name]
    units = [n_features, *hidden, n_outputs]
    network = Network(units, make_activation(activation), cost.output_activation)
    theta = network.initial_theta("glorot_uniform", np.float64, rng)
    # With several outputs the squared error's gradient is n_outputs times
    # that of its cost (scikit-learn's), so it is compared without penalty.
    several = name == "squared_error" and n_outputs > 1
    alpha = 0.0 if several else 0.3
    _, grad = _evaluate(X, Y, weights, network, theta, cost, alpha)
    step = 1e-6
    numeric = np.empty_like(theta)
    for k in range(theta.shape[0]):
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        numeric[k] = (
            _evaluate(X, Y, weights, network, up, cost, alpha)[0]
            - _evaluate(X, Y, weights, network, down, cost, alpha)[0]
        ) / (2 * step)
    if several:
        numeric *= n_outputs
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)

    # float32 computes the same gradient to float32 precision.
    grad32 = _evaluate(
        X.astype(np.float32), Y.astype(np.float32), weights.astype(np.float32),
        network, theta.astype(np.float32), cost, alpha,
    )[1]  # fmt: skip
    assert grad32.dtype == np.float32
    np.testing.assert_allclose(grad32, grad, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "cost, message",
    [
        (HuberCost(0.0), "Huber threshold must be a positive"),
        (HuberCost(-1.0), "Huber threshold must be a positive"),
        (HuberCost(float("nan")), "Huber threshold must be a positive"),
        (QuantileCost(0.0), r"quantile must be a number in \(0, 1\)"),
        (QuantileCost(1.0), r"quantile must be a number in \(0, 1\)"),
        (QuantileCost("0.5"), r"quantile must be a number in \(0, 1\)"),
    ],
)
def test_bad_cost_parameters_are_refused(cost, message):
    with pytest.raises(ValueError, match=message):
        cost.check()


def test_costs_with_a_parameter_are_equal_by_it():
    assert HuberCost(2.0) == HuberCost(2.0) != HuberCost(1.0)
    assert QuantileCost(0.1) != QuantileCost(0.9)
    assert hash(QuantileCost(0.1)) == hash(QuantileCost(0.1))
    assert repr(QuantileCost(0.1)) == "QuantileCost(0.1)"
    assert PoissonCost() == PoissonCost()


def test_regression_costs_are_refused_for_classes():
    with pytest.raises(ValueError, match="predict values, not classes"):
        SquaredErrorCost().for_target("binary")
    assert SquaredErrorCost().for_target("continuous-multioutput") == (
        SquaredErrorCost()
    )
