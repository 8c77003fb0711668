"""The hidden activations as users meet them: the parameter, the objects of
``skce.activations``, a user's own, and what a fitted model computes."""

import numpy as np
import pytest
from _reference import ACTIVATIONS as REFERENCE
from _user_activation import Swish
from numba import njit

from skce import InvalidParameterError, MLPCostClassifier, MLPCostRegressor
from skce.activations import ACTIVATIONS, Activation, LeakyReLU, activation_of

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
Z = np.r_[np.linspace(-6.0, 6.0, 241) + 0.01, -700.0, -40.0, 40.0, 700.0]


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_the_pieces_compute_the_formulas(name):
    """Each activation's compiled pieces against the formulas, also far out
    where exponentials over- or underflow."""
    activation = LeakyReLU(0.1) if name == "leaky_relu" else ACTIVATIONS[name]()
    f, f_prime = REFERENCE[name]
    with np.errstate(over="ignore"):
        expected, slope = f(Z), f_prime(Z)
    np.testing.assert_allclose(activation(Z), expected, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(activation.slope(Z), slope, rtol=1e-12, atol=1e-15)
    assert activation.gradient_error() < 1e-7


def test_gelu_is_the_tanh_form():
    """GELU computed as z sigmoid(2u) is 0.5 z (1 + tanh u), the formula of
    Hendrycks and Gimpel, to a rounding of the output's size."""
    z = np.linspace(-6.0, 6.0, 241)
    u = np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)
    np.testing.assert_allclose(
        ACTIVATIONS["gelu"]()(z), 0.5 * z * (1 + np.tanh(u)), rtol=0, atol=1e-15
    )


def test_a_users_pieces_compute_its_functions():
    f, f_prime = REFERENCE["swish"]
    z = np.linspace(-6, 6, 101)
    np.testing.assert_allclose(Swish()(z), f(z), rtol=1e-13)
    np.testing.assert_allclose(Swish().slope(z), f_prime(z), rtol=1e-12, atol=1e-15)
    assert Swish().gradient_error() < 1e-7


class WrongDerivative(Activation):
    """tanh with the logistic's derivative: trains, but on a wrong gradient."""

    name = "wrong"

    @staticmethod
    @njit
    def fn(z):
        return np.tanh(z)

    @staticmethod
    @njit
    def derivative(z, a):
        return a * (1.0 - a)


def test_gradient_error_finds_a_wrong_derivative():
    assert WrongDerivative().gradient_error() > 0.5


class PlainPython(Activation):
    name = "plain"

    @staticmethod
    def fn(z):
        return z

    @staticmethod
    def derivative(z, a):
        return 1.0


class NoDerivative(Activation):
    name = "no derivative"

    @staticmethod
    @njit
    def fn(z):
        return z


class NotFinite(Activation):
    name = "log"

    @staticmethod
    @njit
    def fn(z):
        return np.log(z)

    @staticmethod
    @njit
    def derivative(z, a):
        return 1.0 / z


class RaisesAboveTwo(Activation):
    name = "raises"

    @staticmethod
    @njit
    def fn(z):
        if z > 2.0:
            raise ValueError("z above two")
        return z

    @staticmethod
    @njit
    def derivative(z, a):
        return 1.0


class RaisesFarOut(RaisesAboveTwo):
    """Fine at the points the fit tries, raising on large inputs."""

    name = "raises far out"

    @staticmethod
    @njit
    def fn(z):
        if z > 5.0:
            raise ValueError("z above five")
        return z


@pytest.mark.parametrize(
    "activation, error, message",
    [
        ("swish", InvalidParameterError, "'activation' parameter.*'gelu'"),
        (np.tanh, InvalidParameterError, "instance of skce.activations.Activation"),
        (PlainPython(), TypeError, r"PlainPython.fn must be a Numba-jitted.*njit"),
        (NoDerivative(), TypeError, r"NoDerivative.derivative must be .*\(z, a\)"),
        (NotFinite(), TypeError, "NotFinite.fn must return a finite number.*z=-3.0"),
        (RaisesAboveTwo(), ValueError, "z above two"),
        (LeakyReLU(-0.5), ValueError, "negative_slope must be a finite number >= 0"),
    ],
    ids=[
        "unknown-name",
        "function",
        "plain-python",
        "no-derivative",
        "not-finite",
        "raises",
        "slope",
    ],
)
def test_a_bad_activation_is_refused_before_fitting(digits, activation, error, message):
    X, y = digits
    clf = MLPCostClassifier((5,), activation=activation, max_iter=2)
    with pytest.raises(error, match=message):
        clf.fit(X[:50], y[:50])
    assert not hasattr(clf, "theta_")


@pytest.mark.parametrize("slope", [-0.1, np.nan, "0.1", True])
def test_a_bad_negative_slope_is_refused(digits, slope):
    X, y = digits
    clf = MLPCostClassifier((5,), activation="leaky_relu", negative_slope=slope)
    with pytest.raises(InvalidParameterError, match="'negative_slope' parameter"):
        clf.fit(X[:50], y[:50])


@quiet
def test_an_exception_during_the_fit_keeps_the_previous_model(digits):
    """A user's function that raises on some rows makes the outputs NaN: the
    fit stops as a diverged one and the model stays as it was."""
    X, y = digits
    clf = MLPCostClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    before = clf.theta_.copy()
    clf.set_params(activation=RaisesFarOut())
    with pytest.raises(ValueError, match="non-finite"):
        clf.fit(X * 100, y)
    np.testing.assert_array_equal(clf.theta_, before)
    assert clf._activation == "relu"


def _numpy_predict(model, X):
    """The network's outputs in NumPy, with the reference formulas."""
    f = REFERENCE[model.activation if isinstance(model.activation, str) else "swish"][0]
    if model.activation == "leaky_relu":
        slope = model.negative_slope
        f = lambda z: np.where(z > 0, z, slope * z)  # noqa: E731
    a = X
    for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1], strict=True):
        a = f(a @ W + b)
    return a @ model.coefs_[-1] + model.intercepts_[-1]


@pytest.mark.parametrize("activation", [*list(ACTIVATIONS)[4:], "swish"])
@quiet
def test_a_fitted_model_predicts_what_the_formulas_give(activation):
    """Prediction runs the forward pieces alone (GELU and a user's write
    their inputs where the outputs go, then the outputs over them)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 6))
    y = X[:, 0] - 2 * X[:, 1] ** 2 + rng.normal(scale=0.1, size=300)
    reg = MLPCostRegressor(
        hidden_layer_sizes=(16, 16, 8),
        activation=Swish() if activation == "swish" else activation,
        negative_slope=0.2,
        learning_rate_init=0.01,
        max_iter=100,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(
        reg.predict(X), _numpy_predict(reg, X)[:, 0], rtol=1e-12, atol=1e-12
    )
    assert reg.score(X, y) > 0.9


@quiet
def test_the_slope_is_part_of_the_model(digits):
    """Two slopes train two models; a warm start with another slope is
    refused by name, with the same one it continues."""
    X, y = digits
    fits = {
        slope: MLPCostClassifier(
            (16,), activation="leaky_relu", negative_slope=slope, max_iter=5,
            random_state=0,
        ).fit(X, y)
        for slope in (0.01, 0.3)
    }  # fmt: skip
    assert not np.array_equal(fits[0.01].theta_, fits[0.3].theta_)
    assert fits[0.3]._activation == ("leaky_relu", 0.3)
    clf = fits[0.3].set_params(warm_start=True, negative_slope=0.01)
    with pytest.raises(ValueError, match=r"LeakyReLU\(0.01\) differs .*\(0.3\)"):
        clf.fit(X, y)
    t = clf.t_
    clf.set_params(negative_slope=0.3).fit(X, y)
    assert clf.t_ == 2 * t  # continued
    # The slope is read for the leaky ReLU only: any value leaves relu as is.
    relu = [
        MLPCostClassifier((16,), negative_slope=slope, max_iter=3, random_state=0)
        .fit(X, y)
        .theta_
        for slope in (0.01, 0.5)
    ]
    np.testing.assert_array_equal(*relu)


def test_names_and_objects_are_the_same_activation(digits):
    X, y = digits
    by_name = MLPCostClassifier((8,), activation="elu", max_iter=3, random_state=0)
    by_object = MLPCostClassifier(
        (8,), activation=activation_of("elu"), max_iter=3, random_state=0
    )
    with pytest.warns(Warning, match="Maximum iterations"):
        by_name.fit(X, y)
    with pytest.warns(Warning, match="Maximum iterations"):
        by_object.fit(X, y)
    assert by_name.theta_.tobytes() == by_object.theta_.tobytes()
    assert by_name._activation == "elu" == by_object._activation


@quiet
def test_a_slope_of_zero_is_a_relu(digits):
    X, y = digits
    fits = [
        MLPCostClassifier((8,), max_iter=3, random_state=0, **params).fit(X, y)
        for params in ({}, {"activation": "leaky_relu", "negative_slope": 0.0})
    ]
    np.testing.assert_array_equal(fits[0].theta_, fits[1].theta_)
