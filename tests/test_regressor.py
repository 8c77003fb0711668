"""MLPCostRegressor: scikit-learn's numbers, its own costs, and what it shares
with the classifier."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from _regressor_golden import PATH, cases, data, fit, record
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.linear_model import PoissonRegressor, QuantileRegressor, Ridge
from sklearn.neural_network import MLPRegressor

from skce import InvalidParameterError, MLPCostClassifier, MLPCostRegressor
from skce.costs import Cost, QuadraticCost

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GOLDEN = np.load(PATH)
CASES = list(cases())


# -- scikit-learn's numbers ---------------------------------------------------


@pytest.mark.parametrize(
    "key, params, n_outputs, weighted", CASES, ids=[case[0] for case in CASES]
)
def test_scikit_learns_recorded_numbers(key, params, n_outputs, weighted):
    ours = record(*fit(MLPCostRegressor, params, n_outputs, weighted))
    for name, value in ours.items():
        np.testing.assert_allclose(
            value, GOLDEN[f"{key}/{name}"], rtol=1e-10, atol=1e-12, err_msg=name
        )


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_the_installed_scikit_learn_agrees(loss, solver):
    """The same comparison against the installed MLPRegressor, live."""
    params = dict(CASES[0][1], loss=loss, solver=solver, max_iter=6)
    theirs = record(*fit(MLPRegressor, params, 2, True))
    ours = record(*fit(MLPCostRegressor, params, 2, True))
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-10, atol=1e-12)


def test_fitted_attributes_are_scikit_learns():
    X, Y, _, _ = data()
    theirs = MLPRegressor(max_iter=3, random_state=0).fit(X, Y)
    ours = MLPCostRegressor(max_iter=3, random_state=0).fit(X, Y)
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_iter_", "t_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert not hasattr(ours, "classes_")
    assert ours.predict(X).shape == theirs.predict(X).shape == (80, 2)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        one = MLPCostRegressor(max_iter=3, random_state=0).fit(X, Y[:, :1])
    assert one.predict(X).shape == (80,)
    poisson = MLPCostRegressor("poisson", max_iter=3).fit(X, np.abs(Y))
    assert poisson.out_activation_ == "exp"


# -- the costs' promises, measured ---------------------------------------------


def _noisy(n, seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    scale = 0.3 + 0.5 * np.abs(X[:, 0])  # noise that grows with |x_0|
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] + scale * rng.normal(size=n)
    return X, y


def _fit(loss, X, y, **params):
    params = dict(
        dict(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=400, random_state=0),
        **params,
    )
    return MLPCostRegressor(loss, **params).fit(X, y)


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_a_quantile_fit_leaves_that_fraction_below(quantile):
    """Within 2 points on 20 000 held-out rows (over five training samples
    the largest miss measured was 1.8 points: a quantile is learned from
    5 000 noisy rows, whose own sampling error is about 1 point)."""
    X, y = _noisy(5000, 0)
    X_test, y_test = _noisy(20000, 99)
    model = _fit(
        "quantile", X, y, quantile=quantile, alpha=10.0, hidden_layer_sizes=(16,)
    )
    below = np.mean(y_test < model.predict(X_test))
    assert abs(below - quantile) < 0.02, below


@pytest.mark.parametrize("loss, params", [("huber", {}), ("absolute_error", {})])
def test_robust_costs_beat_squared_error_under_outliers(loss, params):
    X, y = _noisy(2000, 2)
    X_test, y_test = _noisy(2000, 3)
    rng = np.random.RandomState(4)
    outliers = rng.choice(len(y), size=len(y) // 20, replace=False)
    y_dirty = y.copy()
    y_dirty[outliers] += rng.choice([-1, 1], size=len(outliers)) * 30.0
    errors = {}
    for name in ("squared_error", loss):
        model = _fit(name, X, y_dirty, alpha=1.0, **params)
        errors[name] = np.mean(np.abs(model.predict(X_test) - y_test))
    assert errors[loss] < 0.8 * errors["squared_error"], errors


def test_a_diverged_poisson_lbfgs_fit_raises_and_keeps_the_model():
    """Unscaled inputs around 100, as in check_fit_idempotent: there
    MLPRegressor(loss="poisson", solver="lbfgs") returns a model with loss_
    NaN and predictions near 1e-34; skce raises scikit-learn's sentence
    and keeps the model it had ('Differences')."""
    rng = np.random.RandomState(14)
    X = rng.normal(loc=100, size=(100, 2))
    y = np.abs(rng.poisson(3, 100)).astype(float)
    model = MLPCostRegressor("poisson", solver="lbfgs", random_state=14)
    model.fit(X / 100.0, y)  # scaled: a model to keep
    before = (model.loss_, [c.copy() for c in model.coefs_])
    with pytest.raises(ValueError, match="^Solver produced non-finite parameter"):
        model.fit(X, y)
    assert model.loss_ == before[0]
    for coef, kept in zip(model.coefs_, before[1], strict=True):
        np.testing.assert_array_equal(coef, kept)


def test_poisson_predicts_positive_values_and_refuses_negative_targets():
    rng = np.random.RandomState(5)
    X = rng.normal(size=(200, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    model = MLPCostRegressor("poisson", max_iter=50, random_state=0).fit(X, y)
    assert (model.predict(rng.normal(scale=5, size=(500, 3))) > 0).all()
    with pytest.raises(ValueError, match="non-negative targets"):
        MLPCostRegressor("poisson").fit(X, y - 1.0)
    with pytest.raises(ValueError, match="non-negative targets"):
        MLPCostRegressor("poisson", max_iter=2).fit(X, y, X_val=X, y_val=y - 5.0)


def _linear(n=400, seed=6):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    return X, rng


def _no_hidden_layer(loss, alpha, X, y, **params):
    """A network without hidden layer fitted by L-BFGS to a tight tolerance."""
    return MLPCostRegressor(
        loss,
        hidden_layer_sizes=(),
        solver="lbfgs",
        alpha=alpha,
        tol=1e-12,
        random_state=0,
        **{"max_iter": 500, **params},
    ).fit(X, y)


def test_no_hidden_layer_squared_error_is_ridge():
    """The optimum is unique (strictly convex), so both reach it to their
    solvers' tolerance, 1e-6 here: ``alpha_ridge = alpha``, since the MLP's
    mean cost plus alpha/2n |W|^2 is Ridge's objective divided by 2n."""
    X, rng = _linear()
    y = X @ [1.0, -2.0, 0.5, 0.0] + 0.3 + 0.1 * rng.normal(size=len(X))
    alpha = 5.0
    mlp = _no_hidden_layer("squared_error", alpha, X, y)
    ridge = Ridge(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(mlp.coefs_[0].ravel(), ridge.coef_, atol=1e-6)
    np.testing.assert_allclose(mlp.intercepts_[0], ridge.intercept_, atol=1e-6)


def test_no_hidden_layer_poisson_is_poisson_regressor():
    """Unique optimum, reached to 1e-5 (both stop on a gradient tolerance):
    PoissonRegressor minimizes the mean half deviance plus alpha_glm/2
    |W|^2, the MLP the same plus alpha/2n |W|^2."""
    X, rng = _linear()
    y = rng.poisson(np.exp(X @ [0.5, -0.3, 0.2, 0.0] + 0.2))
    alpha = 20.0
    mlp = _no_hidden_layer("poisson", alpha, X, y)
    glm = PoissonRegressor(alpha=alpha / len(X), tol=1e-12, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(mlp.coefs_[0].ravel(), glm.coef_, atol=1e-5)
    np.testing.assert_allclose(mlp.intercepts_[0], glm.intercept_, atol=1e-5)


def test_no_hidden_layer_quantile_is_quantile_regressor():
    """QuantileRegressor minimizes the mean pinball loss plus alpha_q |W|_1 by
    linear programming; the MLP the same with penalty='l1' and alpha/n. The
    pinball loss is piecewise linear, so the optimum is a vertex that L-BFGS
    approaches but does not land on, and stops near (its line search fails
    at a kink): compared by the objective. Over the starts of random_state
    0 to 9 the objective came within 4e-5 of the optimum and the
    coefficients within 0.01; an unseeded start once missed by 0.03."""
    X, rng = _linear()
    y = X @ [1.0, -1.0, 0.5, 0.0] + rng.standard_t(3, size=len(X))
    alpha, q = 8.0, 0.7
    mlp = _no_hidden_layer(
        "quantile", alpha, X, y, quantile=q, penalty="l1", max_iter=2000
    )
    linear = QuantileRegressor(quantile=q, alpha=alpha / len(X), solver="highs").fit(
        X, y
    )

    def objective(coef, intercept):
        r = y - X @ coef - intercept
        return (
            np.mean(np.maximum(q * r, (q - 1) * r))
            + alpha / len(X) * np.abs(coef).sum()
        )

    ours = objective(mlp.coefs_[0].ravel(), mlp.intercepts_[0][0])
    theirs = objective(linear.coef_, linear.intercept_)
    assert theirs <= ours <= theirs * (1 + 1e-4)
    np.testing.assert_allclose(mlp.coefs_[0].ravel(), linear.coef_, atol=0.02)


# -- what it shares with the classifier -----------------------------------------


def _rows(n=120, n_outputs=2, seed=7):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5))
    Y = np.c_[X[:, 0] * X[:, 1], np.sin(X[:, 2])][:, :n_outputs]
    return X, Y if n_outputs > 1 else Y[:, 0]


@pytest.mark.parametrize("solver", ["gd", "sgd", "adam"])
@pytest.mark.parametrize("loss", ["squared_error", "huber", "quantile"])
def test_warm_start_continues_exactly(solver, loss):
    X, Y = _rows()
    params = dict(loss=loss, solver=solver, learning_rate_init=0.01, random_state=0)
    whole = MLPCostRegressor(max_iter=10, **params).fit(X, Y)
    halves = MLPCostRegressor(max_iter=5, warm_start=True, **params)
    halves.fit(X, Y).fit(X, Y)
    np.testing.assert_array_equal(halves.theta_, whole.theta_)
    assert halves.loss_curve_ == whole.loss_curve_


def test_partial_fit_learns_and_keeps_its_outputs():
    X, Y = _rows()
    model = MLPCostRegressor("absolute_error", random_state=0, learning_rate_init=0.01)
    for _ in range(20):
        model.partial_fit(X, Y)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    with pytest.raises(ValueError, match="has 2"):
        model.partial_fit(X, Y[:, 0])
    assert not hasattr(MLPCostRegressor(solver="lbfgs"), "partial_fit")


@pytest.mark.parametrize("solver", ["gd", "sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("loss", ["squared_error", "poisson", "quantile"])
def test_n_jobs_changes_nothing_but_the_rounding(loss, solver):
    X, Y = _rows(400)
    if loss == "poisson":
        Y = np.abs(Y)
    params = dict(loss=loss, solver=solver, max_iter=5, random_state=0)
    one = MLPCostRegressor(**params).fit(X, Y)
    two = MLPCostRegressor(n_jobs=2, **params).fit(X, Y)
    np.testing.assert_allclose(two.theta_, one.theta_, rtol=1e-9, atol=1e-12)
    again = MLPCostRegressor(n_jobs=2, **params).fit(X, Y)
    np.testing.assert_array_equal(again.theta_, two.theta_)


def test_float32_sparse_weights_and_penalties():
    X, Y = _rows()
    weights = np.linspace(0.5, 2.0, len(X))
    dense = MLPCostRegressor("huber", max_iter=5, random_state=0, penalty="elasticnet")
    dense.fit(X, Y, sample_weight=weights)
    sparse = MLPCostRegressor("huber", max_iter=5, random_state=0, penalty="elasticnet")
    sparse.fit(sp.csr_matrix(X), Y, sample_weight=weights)
    np.testing.assert_allclose(sparse.theta_, dense.theta_, rtol=1e-10, atol=1e-12)
    single = MLPCostRegressor("huber", max_iter=5, random_state=0).fit(
        X.astype(np.float32), Y
    )
    assert single.theta_.dtype == np.float32
    assert single.predict(X.astype(np.float32)).dtype == np.float32
    assert single.predict(X).dtype == np.float64


def test_dropout_early_stopping_and_a_validation_set():
    X, Y = _rows(300)
    model = MLPCostRegressor(
        dropout=0.2, early_stopping=True, random_state=0, learning_rate_init=0.01
    ).fit(X, Y)
    assert model.validation_scores_ and model.best_validation_score_ == max(
        model.validation_scores_
    )
    given = MLPCostRegressor(max_iter=5, random_state=0).fit(
        X[:200], Y[:200], X_val=X[200:], y_val=Y[200:]
    )
    assert given.validation_scores_[-1] == pytest.approx(
        given.score(X[200:], Y[200:]), rel=1e-12
    )
    by_loss = MLPCostRegressor(
        "quantile",
        early_stopping=True,
        early_stopping_metric="loss",
        random_state=0,
        learning_rate_init=0.01,
    ).fit(X, Y)
    assert by_loss.best_validation_loss_ == min(by_loss.validation_loss_curve_)


def test_a_diverging_fit_with_early_stopping_keeps_its_best_epoch():
    X, Y = _rows(300)
    model = MLPCostRegressor(
        solver="sgd",
        learning_rate_init=3.0,
        early_stopping=True,
        max_iter=50,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="Training diverged"):
        model.fit(X * 100, Y)
    assert np.isfinite(model.theta_).all()


class _LogisticQuadratic(QuadraticCost):
    """The quadratic cost on a logistic output, for targets in [0, 1]."""


def test_a_users_cost_and_a_logistic_output():
    X, Y = _rows()
    target = 1 / (1 + np.exp(-Y[:, 0]))
    model = MLPCostRegressor(_LogisticQuadratic(), max_iter=30, random_state=0)
    model.fit(X, target)
    predicted = model.predict(X)
    assert predicted.shape == (len(X),) and ((predicted > 0) & (predicted < 1)).all()
    assert model.out_activation_ == "logistic"


def test_pickle_round_trip():
    X, Y = _rows()
    model = MLPCostRegressor("quantile", quantile=0.3, max_iter=3).fit(X, Y)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_failed_fit_keeps_the_model():
    X, Y = _rows()
    model = MLPCostRegressor(max_iter=3, random_state=0).fit(X, Y)
    theta = model.theta_.copy()
    with pytest.raises(ValueError):
        model.set_params(warm_start=True).fit(X, np.full_like(Y, np.nan))
    np.testing.assert_array_equal(model.theta_, theta)


# -- bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "quantile", "quantile": 1.0}, "'quantile' parameter"),
        ({"loss": "quantile", "quantile": 0}, "'quantile' parameter"),
        ({"loss": "huber", "huber_threshold": 0.0}, "'huber_threshold' parameter"),
        ({"loss": "huber", "huber_threshold": -2.0}, "'huber_threshold' parameter"),
        ({"loss": "log_loss"}, "'loss' parameter"),
        ({"loss": "pinball"}, "'loss' parameter"),
    ],
)
def test_bad_parameters_name_themselves(params, match):
    X, Y = _rows()
    with pytest.raises(InvalidParameterError, match=match):
        MLPCostRegressor(**params).fit(X, Y)


def test_class_labels_are_refused():
    X, _ = _rows()
    labels = np.where(X[:, 0] > 0, "up", "down")
    with pytest.raises(ValueError, match="predicts numbers.*MLPCostClassifier"):
        MLPCostRegressor().fit(X, labels)
    with pytest.raises(ValueError, match="predicts numbers"):
        MLPCostRegressor().fit(X, labels.astype(object))


def test_a_regression_cost_is_refused_by_the_classifier():
    X, _ = _rows()
    from skce.costs import SquaredErrorCost

    with pytest.raises(ValueError, match="MLPCostRegressor"):
        MLPCostClassifier(cost=SquaredErrorCost()).fit(X, X[:, 0] > 0)


def test_a_softmax_cost_is_refused_by_the_regressor():
    X, Y = _rows()
    from skce.costs import LogLikelihoodCost

    with pytest.raises(ValueError, match="softmax outputs"):
        MLPCostRegressor(LogLikelihoodCost()).fit(X, Y)


def test_a_cost_that_is_not_a_cost_is_refused():
    X, Y = _rows()

    class NotJitted(Cost):
        output_activation = "identity"

        @staticmethod
        def fn(a, y):
            return 0.0

        @staticmethod
        def delta(z, a, y):
            return a

    with pytest.raises(TypeError, match="Numba-jitted"):
        MLPCostRegressor(NotJitted()).fit(X, Y)
