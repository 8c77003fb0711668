"""scikit-learn's own MLP tests, run against skce's estimators.

The test module of the installed scikit-learn
(``sklearn/neural_network/tests/test_mlp.py``) is read at collection time,
its imports of ``MLPClassifier`` and ``MLPRegressor`` are rebound to
``skce.MLPCostClassifier`` and ``skce.MLPCostRegressor``, and its tests are
collected here. A test is skipped only for a reason written below: it
reaches into scikit-learn's private state, or it checks a deliberate
difference listed in the docs ("Differences from MLPClassifier").
"""

import importlib.util
import types
from pathlib import Path

import pytest
import sklearn.neural_network

SOURCE = (
    Path(sklearn.neural_network.__file__).parent / "tests" / "test_mlp.py"
).resolve()
IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor\n"
REBOUND = (
    "from skce import MLPCostClassifier as MLPClassifier\n"
    "from skce import MLPCostRegressor as MLPRegressor\n"
)

PRIVATE = "reads or sets scikit-learn's private state"
SKIPPED = {
    "test_fit": f"{PRIVATE}: builds a fitted model by hand from _coef_velocity, "
    "_no_improvement_count and other private attributes; its worked example "
    "runs through public weight surgery in test_estimator.py::"
    "test_scikit_learns_worked_example_through_weight_surgery",
    "test_gradient": f"{PRIVATE}: calls _loss_grad_lbfgs (skce's gradients are "
    "checked by finite differences in test_kernels.py)",
    "test_learning_rate_warmstart": f"{PRIVATE}: reads _optimizer.learning_rate",
    "test_adaptive_learning_rate": f"{PRIVATE}: reads _optimizer.learning_rate "
    "(skce's adaptive rate is tested in test_estimator.py)",
    "test_n_iter_no_change": f"{PRIVATE}: reads _no_improvement_count",
    "test_n_iter_no_change_inf": f"{PRIVATE}: reads _no_improvement_count",
}
DELIBERATE = {
    # (test, parameter value) -> reason
    ("test_preserve_feature_names", "MLPClassifier"): "fits a target with one "
    "class, which skce refuses on purpose (see 'Differences from "
    "MLPClassifier' in the docs)",
}


def _load():
    text = SOURCE.read_text()
    if IMPORT not in text:
        raise RuntimeError(
            f"{SOURCE} no longer imports {IMPORT.strip()!r}; update the rebinding."
        )
    module = types.ModuleType("sklearn_test_mlp")
    module.__file__ = str(SOURCE)
    exec(compile(text.replace(IMPORT, REBOUND), str(SOURCE), "exec"), vars(module))
    return module


_suite = _load()
TESTS = sorted(name for name in vars(_suite) if name.startswith("test_"))
for _name in TESTS:
    _test = getattr(_suite, _name)
    if _name in SKIPPED:
        _test = pytest.mark.skip(reason=SKIPPED[_name])(_test)
    globals()[_name] = _test


@pytest.fixture
def global_random_seed():
    """scikit-learn's conftest fixture, at its default seed."""
    return 42


@pytest.fixture(autouse=True)
def _skip_deliberate_parametrizations(request):
    callspec = getattr(request.node, "callspec", None)
    if callspec is None:
        return
    for value in callspec.params.values():
        name = "MLPClassifier" if value is _suite.MLPClassifier else None
        reason = DELIBERATE.get((request.node.originalname, name))
        if reason:
            pytest.skip(reason)


def test_the_rebinding_took_effect():
    from skce import MLPCostClassifier, MLPCostRegressor

    assert _suite.MLPClassifier is MLPCostClassifier
    assert _suite.MLPRegressor is MLPCostRegressor
    assert importlib.util.find_spec("sklearn.neural_network.tests") is not None
    # Every test of scikit-learn's module is collected here, skipped or not.
    assert set(TESTS) <= set(globals())
    assert len(TESTS) >= 30
