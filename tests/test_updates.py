"""One optimizer step of each solver against the update written out in NumPy."""

import numpy as np
import pytest
import scipy.optimize
from _reference import glorot_draw, linear_loss_grad
from sklearn.exceptions import ConvergenceWarning

from skce import MLPCostClassifier
from skce._codes import SOLVER_ADAM, SOLVER_SGD
from skce._optimizer import Moments, Optimizer, optimizer_step


def _step(solver, theta, grad, velocity, m, v, step, lr, mu, nesterov, b1, b2, eps):
    optimizer = Optimizer(
        solver=solver,
        learning_rate=lr,
        momentum=mu,
        nesterov=nesterov,
        beta_1=b1,
        beta_2=b2,
        epsilon=eps,
    )
    return optimizer_step(optimizer, theta, grad, Moments(velocity, m, v), step)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_update_kernel(nesterov):
    rng = np.random.RandomState(0)
    theta, grad, velocity = rng.normal(size=(3, 7))
    lr, mu = 0.1, 0.9
    new_velocity = mu * velocity - lr * grad
    step = mu * new_velocity - lr * grad if nesterov else new_velocity
    expected = theta + step
    empty = np.empty(0)
    step = _step(
        SOLVER_SGD,
        theta,
        grad,
        velocity,
        empty,
        empty,
        0,
        lr,
        mu,
        nesterov,
        0.9,
        0.999,
        1e-8,
    )
    assert step == 0  # momentum steps do not count
    np.testing.assert_allclose(theta, expected, rtol=1e-15)
    np.testing.assert_allclose(velocity, new_velocity, rtol=1e-15)


def test_adam_update_kernel_has_bias_correction():
    rng = np.random.RandomState(1)
    theta, grad = rng.normal(size=(2, 7))
    m, v = rng.normal(size=7), rng.uniform(size=7)
    lr, b1, b2, t = 0.01, 0.9, 0.999, 3
    m_new = b1 * m + (1 - b1) * grad
    v_new = b2 * v + (1 - b2) * grad**2
    # Kingma & Ba, algorithm 1, with epsilon = 0: bias-corrected moments.
    m_hat, v_hat = m_new / (1 - b1**t), v_new / (1 - b2**t)
    expected = theta - lr * m_hat / np.sqrt(v_hat)
    step = _step(
        SOLVER_ADAM, theta, grad, np.empty(0), m, v, t - 1, lr, 0.9, True, b1, b2, 0.0
    )
    assert step == t
    np.testing.assert_allclose(theta, expected, rtol=1e-12)
    np.testing.assert_allclose(m, m_new, rtol=1e-15)
    np.testing.assert_allclose(v, v_new, rtol=1e-15)


@pytest.fixture(scope="module")
def linear_problem():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 4))
    y = rng.randint(0, 3, 30)
    return X, y, np.eye(3)[y]


def _one_epoch(solver, cost, X, y, **params):
    clf = MLPCostClassifier(
        hidden_layer_sizes=(),
        solver=solver,
        cost=cost,
        alpha=0.5,
        max_iter=1,
        shuffle=False,
        batch_size=X.shape[0],
        random_state=7,
        **params,
    )
    with pytest.warns(ConvergenceWarning):
        return clf.fit(X, y)


@pytest.mark.parametrize("cost", ["log_loss", "cross_entropy", "quadratic"])
@pytest.mark.parametrize(
    "solver, params",
    [
        ("gd", {"momentum": 0.0, "learning_rate_init": 0.3}),
        ("gd", {"momentum": 0.8, "learning_rate_init": 0.3}),
        ("sgd", {"momentum": 0.8, "nesterovs_momentum": False}),
        ("adam", {"learning_rate_init": 0.01}),
    ],
    ids=["gd", "gd-nesterov", "sgd-momentum", "adam"],
)
def test_first_step_of_each_solver(linear_problem, cost, solver, params):
    X, y, Y = linear_problem
    W, b = glorot_draw(4, 3, seed=7)
    loss, grad_W, grad_b = linear_loss_grad(X, Y, W, b, cost, alpha=0.5)
    grads = np.concatenate([grad_W.ravel(), grad_b])
    lr = params.get("learning_rate_init", 0.001)
    if solver == "adam":
        # t = 1: m = (1 - b1) g, v = (1 - b2) g^2, step size lr sqrt(1-b2)/(1-b1)
        m, v = 0.1 * grads, 0.001 * grads**2
        step = -lr * np.sqrt(0.001) / 0.1 * m / (np.sqrt(v) + 1e-8)
    else:
        mu = params["momentum"]
        velocity = -lr * grads
        nesterov = params.get("nesterovs_momentum", True)
        step = mu * velocity - lr * grads if nesterov else velocity
    clf = _one_epoch(solver, cost, X, y, **params)
    expected = np.concatenate([W.ravel(), b]) + step
    np.testing.assert_allclose(clf.theta_, expected, rtol=1e-12, atol=1e-14)
    assert clf.loss_ == pytest.approx(loss, rel=1e-12)


@pytest.mark.parametrize("cost", ["log_loss", "cross_entropy", "quadratic"])
def test_lbfgs_is_scipy_on_the_numpy_objective(linear_problem, cost):
    X, y, Y = linear_problem
    W, b = glorot_draw(4, 3, seed=7)

    def objective(theta):
        loss, gW, gb = linear_loss_grad(
            X, Y, theta[:12].reshape(4, 3), theta[12:], cost, 0.5
        )
        return loss, np.concatenate([gW.ravel(), gb])

    result = scipy.optimize.minimize(
        objective,
        np.concatenate([W.ravel(), b]),
        method="L-BFGS-B",
        jac=True,
        options={"maxiter": 5, "maxfun": 15000, "gtol": 1e-4},
    )
    clf = MLPCostClassifier(
        hidden_layer_sizes=(),
        solver="lbfgs",
        cost=cost,
        alpha=0.5,
        max_iter=5,
        random_state=7,
    )
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        clf.fit(X, y)
    np.testing.assert_allclose(clf.theta_, result.x, rtol=1e-9, atol=1e-12)
    assert clf.loss_ == pytest.approx(result.fun, rel=1e-12)
    assert clf.n_iter_ == result.nit == len(clf.loss_curve_)
