"""The public cost objects against plain NumPy/SciPy formulas."""

import numpy as np
import pytest
from _reference import numeric_delta, reference_cost, reference_delta
from scipy.special import expit, logsumexp

from skce.costs import (
    COSTS,
    CrossEntropyCost,
    LogLikelihoodCost,
    QuadraticCost,
)


def _targets(name, rng, shape):
    if name == "log_loss":
        return np.eye(shape[1])[rng.randint(0, shape[1], shape[0])]
    return rng.randint(0, 2, shape).astype(float)


@pytest.mark.parametrize("name", list(COSTS))
def test_cost_and_delta_match_the_formulas(name):
    rng = np.random.RandomState(0)
    z = rng.normal(scale=3, size=(50, 4))
    y = _targets(name, rng, z.shape)
    cost = COSTS[name]
    np.testing.assert_allclose(cost.from_logits(z, y), reference_cost(name, z, y))
    np.testing.assert_allclose(cost.delta(z, None, y), reference_delta(name, z, y))


@pytest.mark.parametrize("name", list(COSTS))
def test_delta_is_the_derivative_of_the_cost(name):
    rng = np.random.RandomState(1)
    z = rng.normal(size=(6, 3))
    y = _targets(name, rng, z.shape)
    cost = COSTS[name]
    numeric = numeric_delta(cost, z, y)
    np.testing.assert_allclose(cost.delta(z, None, y), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", list(COSTS))
def test_fn_of_activations_equals_cost_of_logits(name):
    rng = np.random.RandomState(2)
    z = rng.normal(size=(10, 3))
    y = _targets(name, rng, z.shape)
    cost = COSTS[name]
    if cost.output_activation == "softmax":
        a = np.exp(z - logsumexp(z, axis=1, keepdims=True))
    else:
        a = expit(z)
    np.testing.assert_allclose(cost.fn(a, y), cost.from_logits(z, y), rtol=1e-10)
    assert np.isclose(cost.fn(a[0], y[0]), cost.from_logits(z[0], y[0]))


@pytest.mark.parametrize("name", list(COSTS))
@pytest.mark.parametrize("scale", [1e2, 1e3, 1e4])
def test_costs_are_finite_for_huge_logits(name, scale):
    rng = np.random.RandomState(3)
    z = rng.choice([-scale, scale], size=(20, 3)) * rng.uniform(0.5, 1, (20, 3))
    y = _targets(name, rng, z.shape)
    cost = COSTS[name]
    values = cost.from_logits(z, y)
    delta = cost.delta(z, None, y)
    assert np.isfinite(values).all() and np.isfinite(delta).all()
    # A wrong, saturated output costs about |z| under the logarithmic costs.
    if name != "quadratic":
        np.testing.assert_allclose(values, reference_cost(name, z, y), rtol=1e-12)


def test_saturated_fn_is_infinite_not_nan():
    # a == 1 exactly against a target of 0: the true cross-entropy is infinite.
    assert COSTS["cross_entropy"].fn([1.0], [0.0]) == np.inf
    assert COSTS["cross_entropy"].fn([1.0], [1.0]) == 0.0
    assert COSTS["log_loss"].fn([0.0, 1.0], [1.0, 0.0]) == np.inf


def test_quadratic_cost_learns_slowly_when_saturated():
    """Nielsen's point: sigma'(z) shrinks the quadratic cost's output error."""
    z, y = np.array([[6.0]]), np.array([[0.0]])  # badly wrong, saturated
    quadratic = QuadraticCost().delta(z, None, y)[0, 0]
    cross_entropy = CrossEntropyCost().delta(z, None, y)[0, 0]
    assert cross_entropy == pytest.approx(expit(6.0))
    assert quadratic == pytest.approx(expit(6.0) * expit(6.0) * (1 - expit(6.0)))
    assert cross_entropy / quadratic > 400


def test_registry():
    assert set(COSTS) == {"log_loss", "cross_entropy", "quadratic"}
    assert len({cost.code for cost in COSTS.values()}) == 3
    for name, cost in COSTS.items():
        assert cost.name == name
    log_loss = LogLikelihoodCost()
    assert log_loss.output_activation == "softmax"
    assert log_loss.for_target("multiclass") == COSTS["log_loss"]
    assert log_loss.for_target("binary") is COSTS["cross_entropy"]
    assert log_loss.for_target("multilabel-indicator") is COSTS["cross_entropy"]
    assert QuadraticCost().for_target("binary") == QuadraticCost()


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        COSTS["quadratic"].fn(np.ones((2, 3)), np.ones((3, 2)))
