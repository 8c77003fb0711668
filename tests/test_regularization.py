"""L1 and elastic-net penalties, and dropout: kernels against NumPy, and fits."""

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import ACTIVATIONS, LEAKY_SLOPE, reference_cost, reference_delta
from _user_activation import activation as make_activation
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skce import InvalidParameterError, MLPCostClassifier
from skce._activations import Dropout, dropout_key, dropout_scales
from skce._backprop import Penalty
from skce._inputs import kernel_input, kernel_targets
from skce._network import Network
from skce._problem import Objective, Problem
from skce._shards import ShardedProblem
from skce.costs import COSTS

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PENALTIES = {
    "l1": Penalty(0.0, 0.3),
    "elasticnet": Penalty(0.2, 0.3),
    "l2": Penalty(0.2, 0.0),
    "none": Penalty(0.0, 0.0),
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _small_problem(cost, hidden=(6, 5), n_samples=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 4))
    n_outputs = 3
    if cost == "log_loss":
        Y = np.eye(n_outputs)[rng.randint(0, n_outputs, n_samples)]
    else:
        Y = rng.randint(0, 2, (n_samples, n_outputs)).astype(float)
    weights = rng.uniform(0.5, 2.0, n_samples)
    units = [4, *hidden, n_outputs]
    return X, Y, weights, units


def _theta_away_from_zero(network, seed=1):
    """Glorot weights moved at least 0.05 from 0, so that a step of 1e-6
    never crosses the kink of |w|."""
    theta = network.initial_theta(
        "glorot_uniform", np.float64, np.random.RandomState(seed)
    )
    mask = network.weight_mask()
    w = theta[mask]
    theta[mask] = np.sign(w) * np.maximum(np.abs(w), 0.05)
    return theta


def _objective(X, Y, weights, network, cost, penalty, rates=None):
    problem = Problem(
        kernel_input(X), kernel_targets(Y, weights), COSTS[cost], penalty, rates
    )
    return problem, Objective(problem, network)


def _numeric_gradient(objective, theta, dropout=None, step=1e-6):
    numeric = np.empty_like(theta)
    grad = np.empty_like(theta)
    for k in range(theta.shape[0]):
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        numeric[k] = (objective(up, grad, dropout) - objective(down, grad, dropout)) / (
            2 * step
        )
    return numeric


# -- the penalty terms ------------------------------------------------------


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("cost", list(COSTS))
def test_penalty_gradient_matches_finite_differences(cost, penalty):
    X, Y, weights, units = _small_problem(cost)
    network = Network(units, "tanh", COSTS[cost].output_activation)
    theta = _theta_away_from_zero(network)
    _, objective = _objective(X, Y, weights, network, cost, PENALTIES[penalty])
    grad = np.empty_like(theta)
    objective(theta, grad)
    numeric = _numeric_gradient(objective, theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("penalty", list(PENALTIES))
def test_penalty_loss_and_gradient_are_the_formula(penalty):
    X, Y, weights, units = _small_problem("log_loss")
    network = Network(units, "relu", "softmax")
    theta = network.initial_theta(
        "glorot_uniform", np.float64, np.random.RandomState(3)
    )
    theta[network.offsets[0]] = 0.0  # sgn(0) = 0: the subgradient Nielsen uses
    strengths = PENALTIES[penalty]
    _, objective = _objective(X, Y, weights, network, "log_loss", strengths)
    _, plain = _objective(X, Y, weights, network, "log_loss", Penalty(0.0, 0.0))
    grad, grad_plain = np.empty_like(theta), np.empty_like(theta)
    loss, loss_plain = objective(theta, grad), plain(theta, grad_plain)

    mask = network.weight_mask()
    w, n = theta[mask], weights.sum()
    added = (0.5 * strengths.l2 * (w**2).sum() + strengths.l1 * np.abs(w).sum()) / n
    assert loss == pytest.approx(loss_plain + added, rel=1e-13)
    expected = grad_plain.copy()
    expected[mask] += (strengths.l2 * w + strengths.l1 * np.sign(w)) / n
    np.testing.assert_allclose(grad, expected, rtol=1e-13, atol=1e-16)


@quiet
@pytest.mark.parametrize("solver", ["gd", "sgd", "adam", "lbfgs"])
def test_elasticnet_ends_are_l2_and_l1_and_none_is_alpha_zero(digits, solver):
    X, y = digits
    X, y = X[:300], y[:300]

    def fit(**params):
        clf = MLPCostClassifier((16,), solver=solver, max_iter=5, random_state=0)
        return clf.set_params(**params).fit(X, y).theta_

    l2 = fit(penalty="l2", alpha=0.01)
    l1 = fit(penalty="l1", alpha=0.01)
    assert not np.array_equal(l1, l2)
    np.testing.assert_array_equal(
        fit(penalty="elasticnet", l1_ratio=0.0, alpha=0.01), l2
    )
    if solver != "lbfgs":  # lbfgs minimizes an L1 term over other variables
        np.testing.assert_array_equal(
            fit(penalty="elasticnet", l1_ratio=1.0, alpha=0.01), l1
        )
    np.testing.assert_array_equal(fit(penalty=None, alpha=0.5), fit(alpha=0.0))


def test_one_gd_step_follows_the_subgradient():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 4)), rng.randint(0, 3, 30)
    clf = MLPCostClassifier(
        (),
        solver="gd",
        penalty="elasticnet",
        alpha=0.5,
        l1_ratio=0.4,
        momentum=0.0,
        learning_rate_init=0.3,
        max_iter=1,
        random_state=7,
    )
    W = rng.uniform(-0.5, 0.5, (4, 3))
    W[0, 0] = 0.0
    b = rng.uniform(-0.5, 0.5, 3)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y, coefs_init=[W], intercepts_init=[b])
    Y = np.eye(3)[y]
    z = X @ W + b
    delta = reference_delta("log_loss", z, Y)
    sub = 0.5 * (0.6 * W + 0.4 * np.sign(W))
    np.testing.assert_allclose(
        clf.coefs_[0], W - 0.3 * (X.T @ delta + sub) / 30, rtol=1e-12
    )
    np.testing.assert_allclose(
        clf.intercepts_[0], b - 0.3 * delta.sum(axis=0) / 30, rtol=1e-12
    )
    loss = (
        reference_cost("log_loss", z, Y).mean()
        + 0.5 * (0.3 * (W**2).sum() + 0.4 * np.abs(W).sum()) / 30
    )
    assert clf.loss_ == pytest.approx(loss, rel=1e-12)


def test_lbfgs_l1_is_the_l1_logistic_regression_with_exact_zeros():
    """No hidden layer and a binary target: skce minimizes
    (sum_i CE_i + alpha ||w||_1) / n, which is scikit-learn's L1 logistic
    regression with C = 1 / alpha; both set the same weights exactly to 0."""
    X, y = make_classification(200, 20, n_informative=4, n_redundant=0, random_state=0)
    alpha = 5.0
    clf = MLPCostClassifier(
        (),
        solver="lbfgs",
        penalty="l1",
        alpha=alpha,
        tol=1e-10,
        max_iter=2000,
        random_state=0,
    ).fit(X, y)
    reference = LogisticRegression(
        l1_ratio=1.0, C=1 / alpha, solver="saga", tol=1e-12, max_iter=100_000
    ).fit(X, y)
    w = clf.coefs_[0].ravel()
    zeros = w == 0.0
    assert 5 <= zeros.sum() < w.size  # exactly 0, not merely small
    np.testing.assert_array_equal(zeros, reference.coef_.ravel() == 0.0)
    np.testing.assert_allclose(w, reference.coef_.ravel(), atol=1e-4)
    assert clf.intercepts_[0][0] == pytest.approx(reference.intercept_[0], abs=1e-4)

    # Optimality of the non-smooth problem (its subdifferential holds 0),
    # and loss_ is its value.
    network = clf._network()
    Y = y[:, None].astype(float)
    _, smooth = _objective(X, Y, None, network, "cross_entropy", Penalty(0.0, 0.0))
    grad = np.empty_like(clf.theta_)
    loss = smooth(clf.theta_.copy(), grad)
    g = grad[network.weight_mask()]
    slope = alpha / X.shape[0]
    assert np.all(np.abs(g[zeros]) <= slope + 1e-6)
    # L-BFGS-B stops on its relative reduction of the loss first: to 1e-4.
    np.testing.assert_allclose(g[~zeros], -slope * np.sign(w[~zeros]), rtol=1e-3)
    assert clf.loss_ == pytest.approx(loss + slope * np.abs(w).sum(), rel=1e-9)


@quiet
def test_lbfgs_l1_with_hidden_layers_zeroes_weights_and_keeps_validation(digits):
    X, y = digits
    clf = MLPCostClassifier(
        (32,), solver="lbfgs", penalty="l1", alpha=1.0, max_iter=60, random_state=0
    )
    clf.fit(X[:1000], y[:1000], X_val=X[1000:], y_val=y[1000:])
    zeros = (clf.coefs_[0] == 0).mean()
    assert zeros > 0.3
    assert clf.score(X[1000:], y[1000:]) > 0.85
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.validation_scores_[-1] == pytest.approx(clf.score(X[1000:], y[1000:]))


# -- dropout ----------------------------------------------------------------


def _reference_dropout(X, Y, weights, network, theta, activation, cost, scales, pen):
    """Loss and gradient of a network whose hidden outputs are multiplied by
    ``scales`` (the masks), from the formulas."""
    f, f_prime = ACTIVATIONS[activation]
    coefs, intercepts = network.views(theta)
    inputs, hidden = [X], []
    for layer, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        z = inputs[-1] @ W + b
        if layer < len(coefs) - 1:
            hidden.append(z)
            inputs.append(f(z) * scales[layer])
    n = weights.sum()
    loss = weights @ reference_cost(cost, z, Y)
    loss += sum(0.5 * pen.l2 * (W**2).sum() + pen.l1 * np.abs(W).sum() for W in coefs)
    delta = reference_delta(cost, z, Y) * weights[:, None]
    grads = []
    for layer in range(len(coefs) - 1, -1, -1):
        W = coefs[layer]
        grad_W = inputs[layer].T @ delta + pen.l2 * W + pen.l1 * np.sign(W)
        grads[:0] = [grad_W.ravel(), delta.sum(axis=0)]
        if layer:
            delta = (delta @ W.T) * scales[layer - 1] * f_prime(hidden[layer - 1])
    return loss / n, np.concatenate(grads) / n


def _dropout(network, rates, seed=5, epoch=3):
    return Dropout(np.asarray(rates, float), np.uint64(dropout_key(seed, epoch)))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("cost", list(COSTS))
def test_dropout_pass_matches_numpy_with_the_same_masks(cost, activation, sparse):
    X, Y, weights, units = _small_problem(cost, hidden=(7, 6), n_samples=50)
    network = Network(
        units, make_activation(activation, LEAKY_SLOPE), COSTS[cost].output_activation
    )
    theta = _theta_away_from_zero(network)
    rates = [0.5, 0.25]
    pen = PENALTIES["elasticnet"]
    data = sp.csr_matrix(X) if sparse else X
    _, objective = _objective(data, Y, weights, network, cost, pen, rates)
    dropout = _dropout(network, rates)
    rows = np.arange(X.shape[0])
    scales = [dropout_scales(dropout, rows, network.layer_units, h) for h in range(2)]
    for layer, rate in enumerate(rates):
        assert set(np.unique(scales[layer])) == {0.0, 1 / (1 - rate)}

    grad = np.empty_like(theta)
    loss = objective(theta, grad, dropout)
    expected_loss, expected_grad = _reference_dropout(
        X, Y, weights, network, theta, activation, cost, scales, pen
    )
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-13)
    # The same masks give a differentiable function of theta.
    if activation != "relu":
        numeric = _numeric_gradient(objective, theta, dropout)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_dropout_drops_the_rate_of_units_over_a_large_fit():
    """The masks of 20 epochs of 2 000 rows and 150 hidden units: 6 million
    draws per rate; the dropped fraction is within 1 % of the rate, for the
    whole and for each unit, and units are dropped independently."""
    network = Network([10, 100, 50, 3], "relu", "softmax")
    rows = np.arange(2000)
    for rate in (0.1, 0.5):
        dropped = []
        for epoch in range(20):
            dropout = _dropout(network, [rate, rate], seed=11, epoch=epoch)
            layers = [
                dropout_scales(dropout, rows, network.layer_units, h) for h in (0, 1)
            ]
            dropped.append(np.hstack(layers) == 0.0)
        dropped = np.vstack(dropped)  # (epochs * rows, units)
        assert abs(dropped.mean() - rate) <= 0.01 * rate
        per_unit = dropped.mean(axis=0)  # 40 000 draws each: sd <= 0.0025
        assert np.abs(per_unit - rate).max() < 0.015
        both = (dropped[:, 0] & dropped[:, 1]).mean()  # independence of units
        assert both == pytest.approx(rate * rate, abs=0.01)
        # Each epoch and each row has its own masks.
        assert not np.array_equal(dropped[:2000], dropped[2000:4000])
        assert not np.array_equal(dropped[0], dropped[1])


@pytest.mark.parametrize("activation", ["relu", "gelu", "swish"])
def test_dropout_masks_do_not_depend_on_the_shards(digits, activation):
    """Two shards give the whole batch's loss and gradient, also for the
    activations that keep their inputs (GELU, a user's) in each shard's
    work space."""
    X, y = digits
    network = Network([64, 256, 10], make_activation(activation), "softmax")
    theta = network.initial_theta(
        "glorot_uniform", np.float64, np.random.RandomState(0)
    )
    args = (kernel_input(X), kernel_targets(np.eye(10)[y], None), COSTS["log_loss"])
    pen, rates = Penalty(1e-3, 1e-3), np.array([0.4])
    whole = Problem(*args, pen, rates)
    dropout = whole.dropout(123, 4)
    results = []
    for problem in (whole, ShardedProblem(*args, pen, rates, 2)):
        assert (problem is whole) or problem.splits(network, len(y))
        grad = np.empty_like(theta)
        results.append((Objective(problem, network)(theta, grad, dropout), grad))
        if problem is not whole:
            problem.close()
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-10, atol=1e-15)


@quiet
@pytest.mark.parametrize("solver", ["gd", "sgd", "adam"])
def test_n_jobs_2_fits_with_the_masks_of_n_jobs_1(digits, solver):
    """Batches of 200 rows are split in two shards; with the same masks the
    fits agree to rounding, with the L1 term reduced by parameter ranges."""
    X, y = digits

    def fit(n_jobs):
        return MLPCostClassifier(
            (64,),
            solver=solver,
            dropout=0.3,
            penalty="elasticnet",
            alpha=1e-3,
            n_jobs=n_jobs,
            max_iter=3,
            learning_rate_init=0.05 if solver != "adam" else 0.001,
            random_state=0,
        ).fit(X, y)

    one, two = fit(1), fit(2)
    np.testing.assert_allclose(two.theta_, one.theta_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(two.loss_curve_, one.loss_curve_, rtol=1e-10)


@quiet
@pytest.mark.parametrize("solver", ["gd", "sgd", "adam"])
def test_dropout_fits_are_deterministic_and_differ_from_no_dropout(digits, solver):
    X, y = digits

    def fit(dropout, random_state=0):
        return MLPCostClassifier(
            (32,), solver=solver, dropout=dropout, max_iter=4, random_state=random_state
        ).fit(X[:500], y[:500])

    first = fit(0.3)
    np.testing.assert_array_equal(fit(0.3).theta_, first.theta_)
    assert not np.array_equal(fit(0.0).theta_, first.theta_)
    state = np.random.RandomState(0)
    again = fit(0.3, state)
    np.testing.assert_array_equal(again.theta_, first.theta_)


@quiet
def test_dropout_warm_start_continues_the_masks(digits):
    X, y = digits
    params = dict(dropout=[0.2, 0.4], solver="sgd", random_state=0)
    whole = MLPCostClassifier((32, 16), max_iter=8, **params).fit(X, y)
    halves = MLPCostClassifier((32, 16), max_iter=4, warm_start=True, **params)
    halves.fit(X, y).fit(X, y)
    np.testing.assert_array_equal(halves.theta_, whole.theta_)
    assert halves.loss_curve_ == whole.loss_curve_


def test_dropout_partial_fit_draws_new_masks_each_call(digits):
    X, y = digits

    def calls(n, dropout):
        clf = MLPCostClassifier((32,), dropout=dropout, random_state=0)
        for _ in range(n):
            clf.partial_fit(X[:300], y[:300], classes=np.arange(10))
        return clf

    a, b = calls(3, 0.5), calls(3, 0.5)
    np.testing.assert_array_equal(a.theta_, b.theta_)
    assert a._training_state["dropout_epoch"] == 3
    # The same epoch of masks twice would not be dropout; a third call
    # from the same start differs from the second.
    assert not np.array_equal(calls(2, 0.5).theta_, a.theta_)


@quiet
def test_prediction_never_drops_and_validation_sees_the_whole_network(digits):
    X, y = digits
    clf = MLPCostClassifier(
        (64,), dropout=0.5, early_stopping=True, max_iter=30, random_state=0
    )
    clf.fit(X[:1200], y[:1200], X_val=X[1200:], y_val=y[1200:])
    # The best epoch's weights are restored: their accuracy, measured by
    # predict, is the best validation score recorded during the fit.
    assert clf.score(X[1200:], y[1200:]) == pytest.approx(clf.best_validation_score_)
    proba = clf.predict_proba(X[1200:])
    np.testing.assert_array_equal(clf.predict_proba(X[1200:]), proba)
    hidden = np.maximum(X[1200:] @ clf.coefs_[0] + clf.intercepts_[0], 0)
    z = hidden @ clf.coefs_[1] + clf.intercepts_[1]
    np.testing.assert_allclose(proba, np.exp(z) / np.exp(z).sum(1, keepdims=True))


@quiet
@pytest.mark.parametrize("solver", ["gd", "sgd", "adam"])
def test_sparse_input_keeps_the_masks_and_float32_works(digits, solver):
    X, y = digits
    X, y = X[:400], y[:400]
    params = dict(dropout=0.3, penalty="l1", alpha=1e-3, max_iter=3, random_state=0)
    dense = MLPCostClassifier((32,), solver=solver, **params).fit(X, y)
    sparse = MLPCostClassifier((32,), solver=solver, **params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.theta_, dense.theta_, rtol=1e-9, atol=1e-12)
    single = MLPCostClassifier((32,), solver=solver, **params).fit(
        X.astype(np.float32), y
    )
    assert single.theta_.dtype == np.float32
    np.testing.assert_allclose(single.theta_, dense.theta_, rtol=1e-3, atol=2e-4)


@quiet
@pytest.mark.parametrize("cost", list(COSTS))
@pytest.mark.parametrize("solver", ["gd", "sgd", "adam", "lbfgs"])
def test_every_cost_and_solver_learns_with_regularization(digits, cost, solver):
    X, y = digits
    dropout = 0.0 if solver == "lbfgs" else 0.2
    clf = MLPCostClassifier(
        (32,),
        cost=cost,
        solver=solver,
        penalty="elasticnet",
        l1_ratio=0.5,
        alpha=1e-3,
        dropout=dropout,
        learning_rate_init={"gd": 0.5, "sgd": 0.1}.get(solver, 0.01),
        max_iter=40,
        random_state=0,
    ).fit(X[:1200], y[:1200])
    assert np.isfinite(clf.theta_).all()
    if solver == "gd" and cost == "quadratic":
        # 40 full-batch steps leave the quadratic cost on the plateau where
        # every output is near 0 (the chapter's learning slowdown): the
        # loss falls, the accuracy has not risen yet.
        assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    else:
        assert clf.score(X[1200:], y[1200:]) > 0.8


# -- bad parameters ---------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"dropout": 1.0}, "'dropout' parameter"),
        ({"dropout": -0.1}, "'dropout' parameter"),
        ({"dropout": "0.5"}, "'dropout' parameter"),
        ({"dropout": [0.2, 1.5]}, "'dropout' parameter"),
        ({"dropout": [0.2, 0.3]}, "2 rate.*1 hidden layer"),
        ({"dropout": np.nan}, "'dropout' parameter"),
        ({"l1_ratio": 1.5}, "'l1_ratio' parameter"),
        ({"l1_ratio": -0.01}, "'l1_ratio' parameter"),
        ({"penalty": "l3"}, "'penalty' parameter"),
        ({"penalty": "L1"}, "'penalty' parameter"),
        ({"dropout": 0.2, "solver": "lbfgs"}, "dropout=0.2 cannot be used with"),
    ],
)
def test_bad_regularization_parameters_are_refused(digits, params, match):
    X, y = digits
    clf = MLPCostClassifier((8,), max_iter=1, **params)
    with pytest.raises(InvalidParameterError, match=match):
        clf.fit(X[:50], y[:50])
    assert not hasattr(clf, "theta_")


@quiet
def test_dropout_may_be_zero_with_lbfgs_and_a_float_without_hidden_layers(digits):
    X, y = digits
    MLPCostClassifier((8,), solver="lbfgs", dropout=[0.0], max_iter=2).fit(X, y)
    clf = MLPCostClassifier((), dropout=0.5, max_iter=2, random_state=0).fit(X, y)
    reference = MLPCostClassifier((), max_iter=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.theta_, reference.theta_)
