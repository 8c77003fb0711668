"""scikit-learn's estimator checks, for every cost x solver combination."""

import re

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skce import MLPCostClassifier
from skce._estimator import FITTED_ATTRIBUTES

# The checks fit tiny data sets (tens to a few hundred rows) for a few epochs,
# so the plain gradient solvers get a larger step than their defaults, as a
# user would give them; max_iter stays small as in scikit-learn's own run.
_STEP = {"gd": 0.1, "sgd": 0.05, "adam": 0.001, "lbfgs": 0.001}


def _documented_options(parameter):
    """The values the class docstring lists for a parameter: ``{'a', 'b'}``."""
    line = re.search(
        rf"^    {parameter} : \{{(.+?)\}}", MLPCostClassifier.__doc__, re.M
    )
    return re.findall(r"'(\w+)'", line.group(1))


def _instance(cost, solver):
    return MLPCostClassifier(
        cost=cost,
        solver=solver,
        learning_rate_init=_STEP[solver],
        max_iter=100,
        random_state=0,
    )


COSTS = _documented_options("cost")
SOLVERS = _documented_options("solver")
INSTANCES = [_instance(cost, solver) for cost in COSTS for solver in SOLVERS]
# Nielsen's initialization with his cost, as a reader of the book would fit.
INSTANCES.append(
    _instance("cross_entropy", "sgd").set_params(weight_init="normal_fan_in")
)
# The chapter's regularizers: dropout with an elastic net, and L1 on L-BFGS.
INSTANCES.append(
    _instance("log_loss", "adam").set_params(
        dropout=0.2, penalty="elasticnet", alpha=1e-3
    )
)
INSTANCES.append(_instance("log_loss", "lbfgs").set_params(penalty="l1", alpha=1e-3))


def _expected_failures(estimator):
    """Checks that dropout fails by its nature, with the reason (strict)."""
    if not estimator.dropout:
        return {}
    reason = (
        "a row of weight 2 has one dropout mask, its two copies two "
        "independent masks: the fits agree in expectation only"
    )
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


# The checks fit each instance for at most max_iter=100 epochs on tiny data:
# stopping there with a ConvergenceWarning is expected, not a failure.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    INSTANCES, expected_failed_checks=_expected_failures, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_every_documented_cost_and_solver_is_checked():
    """The documented options are the ones the estimator accepts."""
    from skce._codes import SOLVERS as accepted_solvers
    from skce.costs import COSTS as accepted_costs

    pairs = {(clf.cost, clf.solver) for clf in INSTANCES}
    assert pairs == {(c, s) for c in COSTS for s in SOLVERS} and len(pairs) == 12
    assert sorted(COSTS) == sorted(accepted_costs)
    assert sorted(SOLVERS) == sorted(accepted_solvers)


def _documented_attributes():
    section = MLPCostClassifier.__doc__.split("Attributes\n    ----------\n")[1]
    section = section.split("\n    See Also")[0]
    return set(re.findall(r"^    (\w+) :", section, re.M))


def test_the_docstring_lists_every_fitted_attribute():
    public = {name for name in FITTED_ATTRIBUTES if not name.startswith("_")}
    assert _documented_attributes() == public | {"coefs_", "intercepts_"}
