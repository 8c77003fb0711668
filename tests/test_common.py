"""scikit-learn's estimator checks, for every cost x solver combination."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skce import MLPCostClassifier
from skce.costs import COSTS

SOLVERS = ("gd", "sgd", "adam", "lbfgs")

# The checks fit tiny data sets (tens to a few hundred rows) for a few epochs,
# so the plain gradient solvers get a larger step than their defaults, as a
# user would give them; max_iter stays small as in scikit-learn's own run.
_STEP = {"gd": 0.1, "sgd": 0.05, "adam": 0.001, "lbfgs": 0.001}


def _instance(cost, solver):
    return MLPCostClassifier(
        cost=cost,
        solver=solver,
        learning_rate_init=_STEP[solver],
        max_iter=100,
        random_state=0,
    )


INSTANCES = [_instance(cost, solver) for cost in COSTS for solver in SOLVERS]


@parametrize_with_checks(INSTANCES)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_every_cost_and_solver_is_checked():
    pairs = {(est.cost, est.solver) for est in INSTANCES}
    assert len(pairs) == 12
    assert pytest.importorskip("skce").costs.COSTS.keys() == COSTS.keys()
