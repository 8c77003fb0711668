"""Users' own costs: Nielsen's fn/delta as Numba functions, trained on."""

import pickle

import numpy as np
import pytest
from _reference import numeric_delta
from numba import njit
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skce import MLPCostClassifier
from skce._output import COST_PIECES
from skce.costs import COSTS, Cost

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class MyQuadratic(Cost):
    """The quadratic cost, written by a user."""

    name = "my_quadratic"
    output_activation = "logistic"

    @staticmethod
    @njit
    def fn(a, y):
        return 0.5 * np.sum((a - y) ** 2)

    @staticmethod
    @njit
    def delta(z, a, y):
        return (a - y) * a * (1.0 - a)


class MyLogLikelihood(Cost):
    """Softmax log-likelihood, written by a user."""

    name = "my_log_likelihood"
    output_activation = "softmax"

    @staticmethod
    @njit
    def fn(a, y):
        return -np.sum(y * np.log(a))

    @staticmethod
    @njit
    def delta(z, a, y):
        return a - y


class FocalCost(Cost):
    """Binary focal cost with gamma = 2 (the worked example of skce.costs)."""

    name = "focal"
    output_activation = "logistic"

    @staticmethod
    @njit
    def fn(a, y):
        return -np.sum(y * (1 - a) ** 2 * np.log(a) + (1 - y) * a**2 * np.log(1 - a))

    @staticmethod
    @njit
    def delta(z, a, y):
        positive = 2 * a * (1 - a) ** 2 * np.log(a) - (1 - a) ** 3
        negative = -2 * a**2 * (1 - a) * np.log(1 - a) + a**3
        return y * positive + (1 - y) * negative


class WrongLength(MyQuadratic):
    @staticmethod
    @njit
    def delta(z, a, y):
        return (a - y)[:-1]


@pytest.mark.parametrize("solver", ["gd", "sgd", "adam", "lbfgs"])
@quiet
def test_custom_quadratic_trains_like_the_built_in(digits, solver):
    X, y = digits
    params = dict(
        hidden_layer_sizes=(16,),
        solver=solver,
        max_iter=8,
        random_state=0,
        learning_rate_init=0.05,
    )
    built_in = MLPCostClassifier(cost="quadratic", **params).fit(X, y)
    custom = MLPCostClassifier(cost=MyQuadratic(), **params).fit(X, y)
    np.testing.assert_allclose(custom.theta_, built_in.theta_, rtol=1e-12, atol=1e-14)
    assert custom.loss_curve_ == pytest.approx(built_in.loss_curve_, rel=1e-12)
    assert custom.out_activation_ == "logistic"


@quiet
def test_custom_softmax_log_likelihood_trains_like_log_loss(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    built_in = MLPCostClassifier(cost="log_loss", **params).fit(X, y)
    custom = MLPCostClassifier(cost=MyLogLikelihood(), **params).fit(X, y)
    np.testing.assert_allclose(custom.theta_, built_in.theta_, rtol=1e-9, atol=1e-12)
    assert custom.out_activation_ == "softmax"


def test_focal_delta_is_the_derivative_of_its_cost():
    rng = np.random.RandomState(0)
    z = rng.normal(size=(5, 3))
    y = rng.randint(0, 2, (5, 3)).astype(float)
    focal = FocalCost()
    numeric = numeric_delta(focal, z, y)
    a = 1 / (1 + np.exp(-z))
    analytic = np.array([focal.delta(z[i], a[i], y[i]) for i in range(5)])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        focal.from_logits(z, y), [focal.fn(a[i], y[i]) for i in range(5)]
    )


@quiet
def test_focal_cost_learns(digits):
    X, y = digits
    labels = np.where(y == 3, "three", "other")
    for dtype in (np.float64, np.float32):
        clf = MLPCostClassifier(
            (16,), cost=FocalCost(), solver="lbfgs", max_iter=100, random_state=0
        ).fit(X.astype(dtype), labels)
        assert clf.theta_.dtype == dtype
        assert clf.score(X.astype(dtype), labels) > 0.97


@quiet
def test_custom_costs_survive_clone_pickle_and_grid_search(digits):
    X, y = digits
    clf = MLPCostClassifier((8,), cost=MyQuadratic(), max_iter=5, random_state=0)
    assert isinstance(clone(clf).cost, MyQuadratic)
    fitted = clf.fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    grid = GridSearchCV(
        MLPCostClassifier((8,), max_iter=10, random_state=0),
        {"cost": [MyQuadratic(), "quadratic"]},
        cv=2,
        n_jobs=2,
    ).fit(X, y > 4)
    scores = grid.cv_results_["mean_test_score"]
    assert scores[0] == pytest.approx(scores[1], abs=1e-12)  # the same cost twice


class NotJitted(Cost):
    output_activation = "logistic"

    @staticmethod
    def fn(a, y):
        return 0.0

    @staticmethod
    def delta(z, a, y):
        return a - y


class NoActivation(MyQuadratic):
    output_activation = "tanh"


def test_custom_cost_protocol_errors(digits):
    X, y = digits
    with pytest.raises(TypeError, match="NotJitted.fn must be a Numba-jitted"):
        MLPCostClassifier(cost=NotJitted()).fit(X, y)
    with pytest.raises(TypeError, match="output_activation must be"):
        MLPCostClassifier(cost=NoActivation()).fit(X, y)
    with pytest.raises(ValueError, match="softmax outputs, which need a multiclass"):
        MLPCostClassifier(cost=MyLogLikelihood()).fit(X, y > 4)
    clf = MLPCostClassifier((4,), cost=WrongLength(), max_iter=2)
    with pytest.raises(ValueError, match="wrong length"):
        clf.fit(X, y)
    assert not hasattr(clf, "theta_")
    with pytest.raises(ValueError, match="'cost' parameter"):
        MLPCostClassifier(cost=len).fit(X, y)


def test_built_in_costs_follow_the_same_protocol():
    for cost in COSTS.values():
        assert isinstance(cost, Cost) and cost.check() is cost
        assert cost.piece() is COST_PIECES[cost.code]
