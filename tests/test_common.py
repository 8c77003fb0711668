"""scikit-learn's estimator checks, for every cost x solver combination."""

import re

import pytest
from _user_activation import Swish
from sklearn.utils.estimator_checks import parametrize_with_checks

from skce import MLPCostClassifier, MLPCostRegressor
from skce._estimator import FITTED_ATTRIBUTES
from skce._regressor import REGRESSOR_FITTED_ATTRIBUTES

# The checks fit tiny data sets (tens to a few hundred rows) for a few epochs,
# so the plain gradient solvers get a larger step than their defaults, as a
# user would give them; max_iter stays small as in scikit-learn's own run.
_STEP = {"gd": 0.1, "sgd": 0.05, "adam": 0.001, "lbfgs": 0.001}


def _documented_options(parameter, estimator=MLPCostClassifier):
    """The values the class docstring lists for a parameter: ``{'a', 'b'}``."""
    line = re.search(rf"^    {parameter} : \{{(.+?)\}}", estimator.__doc__, re.M | re.S)
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

# The regressor, for every cost x solver: the checks' targets are not scaled,
# so 'gd' takes a smaller step than the classifier's. Several checks give
# inputs around 100, where the exponential outputs of 'poisson' overflow
# unless a fixed step ('gd', 'sgd') is tiny; check_regressors_train, on
# scaled inputs, then learns too little in 100 epochs, and runs at a step
# for its data in test_poisson_with_a_fixed_step_trains (Adam adapts its
# step and passes every check at one).
_REGRESSOR_STEP = dict(_STEP, gd=0.01)
_POISSON_STEP = dict(_STEP, gd=0.00001, sgd=0.00001, adam=0.01)
_SCALED_POISSON_STEP = 0.01
LOSSES = _documented_options("loss", MLPCostRegressor)
REGRESSORS = [
    MLPCostRegressor(
        loss,
        solver=solver,
        learning_rate_init=(_POISSON_STEP if loss == "poisson" else _REGRESSOR_STEP)[
            solver
        ],
        max_iter=100,
        random_state=0,
    )
    for loss in LOSSES
    for solver in SOLVERS
]
INSTANCES.extend(REGRESSORS)

# The activations beyond scikit-learn's four, and a user's, on both
# estimators (adam; the leaky ReLU at a slope of its own).
ACTIVATIONS = _documented_options("activation")
NEW_ACTIVATIONS = [*ACTIVATIONS[4:], Swish()]
for _activation in NEW_ACTIVATIONS:
    INSTANCES.append(
        _instance("log_loss", "adam").set_params(
            activation=_activation, negative_slope=0.1
        )
    )
    INSTANCES.append(
        MLPCostRegressor(
            activation=_activation,
            negative_slope=0.1,
            learning_rate_init=_REGRESSOR_STEP["adam"],
            max_iter=100,
            random_state=0,
        )
    )


def _expected_failures(estimator):
    """Checks that dropout fails by its nature, and the one a tiny fixed
    step fails, with the reason (strict)."""
    if getattr(estimator, "loss", None) == "poisson" and estimator.solver in (
        "gd",
        "sgd",
    ):
        reason = (
            "the step that keeps exponential outputs finite on the other "
            "checks' inputs learns too slowly here; passed at a step for these "
            "data in test_poisson_with_a_fixed_step_trains"
        )
        return {"check_regressors_train": reason}
    if not getattr(estimator, "dropout", 0):
        return {}
    reason = (
        "a row of weight 2 has one dropout mask, its two copies two "
        "independent masks: the fits agree in expectation only"
    )
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


def _piecewise_linear_lbfgs(estimator):
    return (
        getattr(estimator, "loss", None) in ("absolute_error", "quantile")
        and estimator.solver == "lbfgs"
    )


def _piecewise_linear_failures(estimator):
    """L-BFGS on a piecewise-linear objective, checked apart and not
    strictly: a weight of 2 and a repeated row give the same objective and
    gradient to about 1e-15 (test_regression_costs.py::
    test_a_weight_of_two_is_a_repeated_row), but their sums round in
    another order, and a last-bit difference at a kink can send L-BFGS's
    line search another way. On one CPU the fits then differ (7 of 15
    predictions at rtol 1e-7, reported in issue 37), on another they agree."""
    reason = (
        "L-BFGS on a piecewise-linear objective: a weight of 2 and a repeated "
        "row give the same objective and gradient to 1e-15, but their sums "
        "round differently, which can change L-BFGS's path at a kink on some "
        "CPUs (see 'Differences')"
    )
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


# The checks fit each instance for at most max_iter=100 epochs on tiny data:
# stopping there with a ConvergenceWarning is expected, not a failure.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [est for est in INSTANCES if not _piecewise_linear_lbfgs(est)],
    expected_failed_checks=_expected_failures,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [est for est in INSTANCES if _piecewise_linear_lbfgs(est)],
    expected_failed_checks=_piecewise_linear_failures,
    xfail_strict=False,
)
def test_sklearn_compatible_piecewise_linear_lbfgs(estimator, check):
    check(estimator)


def test_every_documented_cost_and_solver_is_checked():
    """The documented options are the ones the estimator accepts."""
    from skce._codes import SOLVERS as accepted_solvers
    from skce.costs import COSTS as accepted_costs

    pairs = {(clf.cost, clf.solver) for clf in INSTANCES if hasattr(clf, "cost")}
    assert pairs == {(c, s) for c in COSTS for s in SOLVERS} and len(pairs) == 12
    assert sorted(COSTS) == sorted(accepted_costs)
    assert sorted(SOLVERS) == sorted(accepted_solvers)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["gd", "sgd"])
@pytest.mark.parametrize(
    "options", [{}, {"readonly_memmap": True, "X_dtype": "float32"}]
)
def test_poisson_with_a_fixed_step_trains(solver, options):
    from sklearn.utils.estimator_checks import check_regressors_train

    regressor = MLPCostRegressor(
        "poisson",
        solver=solver,
        learning_rate_init=_SCALED_POISSON_STEP,
        max_iter=100,
        random_state=0,
    )
    check_regressors_train("MLPCostRegressor", regressor, **options)


def test_every_documented_activation_is_checked():
    from skce.activations import ACTIVATIONS as accepted

    assert sorted(ACTIVATIONS) == sorted(accepted)
    assert ACTIVATIONS[:4] == ["identity", "logistic", "tanh", "relu"]
    checked = [est.activation for est in INSTANCES]
    for activation in NEW_ACTIVATIONS:
        assert checked.count(activation) == 2  # the classifier and the regressor


def test_every_documented_loss_and_solver_of_the_regressor_is_checked():
    from skce.costs import REGRESSION_COSTS

    pairs = {(reg.loss, reg.solver) for reg in REGRESSORS}
    assert pairs == {(c, s) for c in LOSSES for s in SOLVERS} and len(pairs) == 20
    assert sorted(LOSSES) == sorted(REGRESSION_COSTS)


def _documented_attributes(estimator):
    section = estimator.__doc__.split("Attributes\n    ----------\n")[1]
    section = section.split("\n    See Also")[0]
    return set(re.findall(r"^    (\w+) :", section, re.M))


@pytest.mark.parametrize(
    "estimator, fitted",
    [
        (MLPCostClassifier, FITTED_ATTRIBUTES),
        (MLPCostRegressor, REGRESSOR_FITTED_ATTRIBUTES),
    ],
)
def test_the_docstring_lists_every_fitted_attribute(estimator, fitted):
    public = {name for name in fitted if not name.startswith("_")}
    assert _documented_attributes(estimator) == public | {"coefs_", "intercepts_"}


def test_the_regressor_has_scikit_learns_signature_and_defaults():
    """Every MLPRegressor parameter, in its position or keyword-only as
    there, with its default."""
    import inspect

    from sklearn.neural_network import MLPRegressor

    theirs = inspect.signature(MLPRegressor).parameters
    ours = inspect.signature(MLPCostRegressor).parameters
    assert (
        list(ours)[:3]
        == list(theirs)[:3]
        == [
            "loss",
            "hidden_layer_sizes",
            "activation",
        ]
    )
    for name, parameter in theirs.items():
        assert ours[name].kind == parameter.kind, name
        assert ours[name].default == parameter.default, name
