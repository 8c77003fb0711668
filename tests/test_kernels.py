"""The compiled loss-and-gradient kernel against finite differences."""

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import LEAKY_SLOPE
from _user_activation import HIDDEN_ACTIVATIONS
from _user_activation import activation as make_activation

from skce._backprop import Penalty
from skce._inputs import kernel_input, kernel_targets
from skce._network import Network
from skce._problem import Objective, Problem
from skce.costs import COSTS


def _problem(hidden, n_outputs, dtype, sparse=False, seed=0):
    rng = np.random.RandomState(seed)
    n_samples, n_features = 17, 6
    X = rng.normal(size=(n_samples, n_features))
    X[rng.uniform(size=X.shape) < 0.4] = 0.0
    if n_outputs > 1:
        Y = np.eye(n_outputs)[rng.randint(0, n_outputs, n_samples)]
    else:
        Y = rng.randint(0, 2, (n_samples, 1)).astype(float)
    weights = rng.uniform(0.1, 2.0, n_samples)
    units = np.array([n_features, *hidden, n_outputs], dtype=np.int64)
    X = sp.csr_matrix(X.astype(dtype)) if sparse else X.astype(dtype)
    return X, Y.astype(dtype), weights.astype(dtype), units


def _network(units, activation, cost):
    return Network(
        units, make_activation(activation, LEAKY_SLOPE), COSTS[cost].output_activation
    )


def _evaluate(X, Y, weights, network, theta, cost, alpha):
    """Loss and gradient through the full-batch seam the solvers use."""
    problem = Problem(
        kernel_input(X), kernel_targets(Y, weights), COSTS[cost], Penalty(alpha, 0.0)
    )
    grad = np.empty_like(theta)
    return Objective(problem, network)(theta, grad), grad


@pytest.mark.parametrize(("hidden", "activation"), HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("cost", list(COSTS))
def test_gradient_matches_finite_differences(hidden, activation, cost):
    """Every activation (the built-in ones, the leaky ReLU at a slope of
    0.1, and a user's), 0, 1 and 2 hidden layers, every classifier cost,
    float64 against central differences and float32 against float64."""
    n_outputs = 3
    X, Y, weights, units = _problem(hidden, n_outputs, np.float64)
    network = _network(units, activation, cost)
    rng = np.random.RandomState(1)
    theta = network.initial_theta("glorot_uniform", np.float64, rng)
    loss, grad = _evaluate(X, Y, weights, network, theta, cost, 0.3)

    step = 1e-6
    numeric = np.empty_like(theta)
    for k in range(theta.shape[0]):
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        numeric[k] = (
            _evaluate(X, Y, weights, network, up, cost, 0.3)[0]
            - _evaluate(X, Y, weights, network, down, cost, 0.3)[0]
        ) / (2 * step)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)

    # float32 computes the same loss and gradient to float32 precision.
    X32, Y32, w32 = (
        X.astype(np.float32),
        Y.astype(np.float32),
        weights.astype(np.float32),
    )
    loss32, grad32 = _evaluate(
        X32, Y32, w32, network, theta.astype(np.float32), cost, 0.3
    )
    assert grad32.dtype == np.float32
    assert loss32 == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(grad32, grad, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", [(), (4,)])
def test_sparse_input_gives_the_dense_result(dtype, hidden):
    X, Y, weights, units = _problem(hidden, 3, dtype, sparse=True, seed=4)
    network = _network(units, "tanh", "log_loss")
    theta = network.initial_theta("glorot_uniform", dtype, np.random.RandomState(0))
    args = (network, theta, "log_loss", 0.1)
    loss_sparse, grad_sparse = _evaluate(X, Y, weights, *args)
    loss_dense, grad_dense = _evaluate(X.toarray(), Y, weights, *args)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert loss_sparse == pytest.approx(loss_dense, rel=tol)
    np.testing.assert_allclose(grad_sparse, grad_dense, rtol=tol, atol=tol)


def test_weight_two_equals_a_duplicated_row():
    X, Y, _, units = _problem((4,), 3, np.float64, seed=5)
    network = _network(units, "relu", "log_loss")
    rng = np.random.RandomState(0)
    theta = network.initial_theta("glorot_uniform", np.float64, rng)
    args = (network, theta, "log_loss", 0.01)
    weights = np.ones(Y.shape[0])
    weights[0] = 2.0
    loss_w, grad_w = _evaluate(X, Y, weights, *args)
    X_dup, Y_dup = np.vstack([X, X[:1]]), np.vstack([Y, Y[:1]])
    loss_d, grad_d = _evaluate(X_dup, Y_dup, np.ones(len(Y_dup)), *args)
    assert loss_w == pytest.approx(loss_d, rel=1e-13)
    np.testing.assert_allclose(grad_w, grad_d, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_full_batch_cut_into_row_blocks_is_the_whole_batch(dtype, monkeypatch):
    """A full batch of 96 million multiply-adds: on a team of two its
    products are cut into row blocks (``_product.row_blocks``), whole
    multiples of the unit of the dtype; a team of one takes the products
    whole. Loss and gradient agree bit for bit (with a unit of 32 rows,
    float32 did not on Haswell's sgemm, which unrolls 24)."""
    import skce._problem

    rng = np.random.RandomState(3)
    X = rng.normal(size=(3000, 100)).astype(dtype)
    Y = np.eye(3)[rng.randint(0, 3, 3000)].astype(dtype)
    weights = rng.uniform(0.1, 2.0, 3000).astype(dtype)
    units = np.array([100, 64, 64, 3], dtype=np.int64)
    network = _network(units, "tanh", "log_loss")
    theta = network.initial_theta("glorot_uniform", dtype, np.random.RandomState(0))
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(
            skce._problem, "thread_share", lambda wanted, n=threads: min(wanted, n)
        )
        results.append(_evaluate(X, Y, weights, network, theta, "log_loss", 0.1))
    (loss_one, grad_one), (loss_two, grad_two) = results
    assert loss_one == loss_two
    assert grad_one.tobytes() == grad_two.tobytes()
