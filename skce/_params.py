"""The estimator's hyper-parameters: checked and resolved once, into a ``FitSpec``.

The checks are a small declarative table in the spirit of scikit-learn's
``_parameter_constraints``, written here because scikit-learn keeps its own
machinery private. Every rule that turns a parameter into what a fit does
(the layer sizes, dropout rates, penalty, number of shards, the solver's
config, and how the fit starts) is resolved here and nowhere else.
"""

import functools
import math
from dataclasses import dataclass, fields
from numbers import Integral, Real

import joblib
import numpy as np

# Private in scikit-learn, but the exception its estimators raise: code
# written for MLPClassifier catches it by this class.
from sklearn.utils._param_validation import (
    InvalidParameterError as SklearnInvalidParameterError,
)

from ._backprop import Penalty
from ._codes import SOLVERS
from ._network import WEIGHT_INITS
from .activations import ACTIVATIONS, Activation, activation_of
from .costs import COSTS, REGRESSION_COSTS, Cost, regression_cost

LEARNING_RATES = ("constant", "invscaling", "adaptive")
PENALTIES = ("l2", "l1", "elasticnet")


class InvalidParameterError(SklearnInvalidParameterError):
    """A hyper-parameter has a value or type it cannot take.

    A subclass of scikit-learn's error of the same name (raised by
    ``MLPClassifier``), itself a ``ValueError`` and a ``TypeError``: every
    ``except`` clause written for scikit-learn's estimators catches it.
    """


def _is_int(value):
    if type(value) is int:  # the common case, without the ABC checks
        return True
    return isinstance(value, Integral) and not isinstance(value, bool | np.bool_)


def _is_real(value):
    if type(value) in (float, int):
        return True
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def _number(kind, low, high, low_closed=True, high_closed=True, allow_inf=False):
    """A check for an int or float in an interval (``None`` bound: unbounded)."""
    is_kind = _is_int if kind == "int" else _is_real
    left = "[" if low_closed else "("
    right = "]" if high_closed and high is not None else ")"
    text = f"{'an int' if kind == 'int' else 'a float'} in the range {left}"
    text += f"{low if low is not None else '-inf'}, "
    text += f"{high if high is not None else 'inf'}{right}"
    if allow_inf:
        text += " or numpy.inf"

    def check(value):
        if allow_inf and _is_real(value) and value == math.inf:
            return True
        if not is_kind(value) or math.isnan(value):
            return False
        if low is not None and (value < low or (value == low and not low_closed)):
            return False
        if high is not None and (value > high or (value == high and not high_closed)):
            return False
        return not math.isinf(value)

    return check, text


def _options(*options):
    return (lambda value: isinstance(value, str) and value in options), (
        "a str among " + repr(sorted(options))
    )


def _boolean():
    return (lambda value: isinstance(value, bool | np.bool_)), "a bool"


def _verbose():
    return (
        lambda value: (
            isinstance(value, bool | np.bool_) or (_is_int(value) and value >= 0)
        )
    ), ("a bool or an int >= 0")


def _random_state():
    def check(value):
        if value is None or isinstance(value, np.random.RandomState):
            return True
        return _is_int(value) and 0 <= value <= 2**32 - 1

    return check, "None, an int in [0, 2**32 - 1] or a numpy.random.RandomState"


_dropout_rate, _DROPOUT_RATE = _number("float", 0, 1, high_closed=False)


def _dropout():
    def check(value):
        if isinstance(value, str):
            return False
        if _dropout_rate(value):
            return True
        try:
            return all(_dropout_rate(rate) for rate in value)
        except TypeError:
            return False

    return check, f"{_DROPOUT_RATE} or a sequence of them, one per hidden layer"


def _batch_size():
    positive_int, _ = _number("int", 1, None)
    return (
        lambda value: value == "auto" or positive_int(value)
    ), "'auto' or an int >= 1"


CONSTRAINTS = {
    "activation": (
        lambda value: (
            isinstance(value, Activation)
            or (isinstance(value, str) and value in ACTIVATIONS)
        ),
        f"a str among {sorted(ACTIVATIONS)!r} or an instance of "
        "skce.activations.Activation",
    ),
    "negative_slope": _number("float", 0, None),
    "cost": (
        lambda value: (
            isinstance(value, Cost) or (isinstance(value, str) and value in COSTS)
        ),
        f"a str among {sorted(COSTS)!r} or an instance of skce.costs.Cost",
    ),
    "loss": (
        lambda value: (
            isinstance(value, Cost)
            or (isinstance(value, str) and value in REGRESSION_COSTS)
        ),
        f"a str among {sorted(REGRESSION_COSTS)!r} or an instance of skce.costs.Cost",
    ),
    "quantile": _number("float", 0, 1, low_closed=False, high_closed=False),
    "huber_threshold": _number("float", 0, None, low_closed=False),
    "solver": _options(*SOLVERS),
    "alpha": _number("float", 0, None),
    "penalty": (
        lambda value: value is None or (isinstance(value, str) and value in PENALTIES),
        f"a str among {sorted(PENALTIES)!r} or None",
    ),
    "l1_ratio": _number("float", 0, 1),
    "dropout": _dropout(),
    "batch_size": _batch_size(),
    "learning_rate": _options(*LEARNING_RATES),
    "learning_rate_init": _number("float", 0, None, low_closed=False),
    "power_t": _number("float", 0, None),
    "max_iter": _number("int", 1, None),
    "shuffle": _boolean(),
    "random_state": _random_state(),
    "tol": _number("float", 0, None),
    "verbose": _verbose(),
    "warm_start": _boolean(),
    "momentum": _number("float", 0, 1),
    "nesterovs_momentum": _boolean(),
    "early_stopping": _boolean(),
    "validation_fraction": _number("float", 0, 1, low_closed=False, high_closed=False),
    "beta_1": _number("float", 0, 1, high_closed=False),
    "beta_2": _number("float", 0, 1, high_closed=False),
    "epsilon": _number("float", 0, None, low_closed=False),
    "n_iter_no_change": _number("int", 1, None, allow_inf=True),
    "max_fun": _number("int", 1, None),
    "early_stopping_metric": _options("score", "loss"),
    "weight_init": (
        lambda value: (
            callable(value) or (isinstance(value, str) and value in WEIGHT_INITS)
        ),
        f"a str among {sorted(WEIGHT_INITS)!r} or a callable "
        "(n_in, n_out, rng) -> (W, b)",
    ),
    "n_jobs": (
        lambda value: value is None or (_is_int(value) and value != 0),
        "None or an int other than 0",
    ),
    "class_weight": (
        lambda value: value is None or value == "balanced" or isinstance(value, dict),
        "None, 'balanced' or a dict of class weights",
    ),
}


def check_params(params, name):
    """Raise :class:`InvalidParameterError` naming the first invalid parameter.

    ``params`` are an estimator's ``get_params(deep=False)``, ``name`` its
    class name. Returns the hidden layer sizes as a tuple of ints and the
    dropout rate of each hidden layer (float64).
    """
    for key, (check, text) in CONSTRAINTS.items():
        if key not in params:  # a parameter of the other estimator
            continue
        value = params[key]
        if not check(value):
            raise InvalidParameterError(
                f"The {key!r} parameter of {name} must be {text}. "
                f"Got {value!r} instead."
            )
    for key in ("cost", "loss"):
        if isinstance(params.get(key), Cost):
            params[key].check()
    if isinstance(params["activation"], Activation):
        params["activation"].check()
    sizes = hidden_layer_sizes(params["hidden_layer_sizes"], name)
    rates = dropout_rates(params["dropout"], len(sizes), name)
    if params["solver"] == "lbfgs" and rates.any():
        raise InvalidParameterError(
            f"dropout={params['dropout']!r} cannot be used with solver='lbfgs': "
            "dropout makes the objective random, and L-BFGS's line search needs "
            "a deterministic one. Use solver='gd', 'sgd' or 'adam', or dropout=0."
        )
    return sizes, rates


def dropout_rates(value, n_hidden, name="MLPCostClassifier"):
    """The ``dropout`` parameter as one rate per hidden layer (float64)."""
    if _dropout_rate(value):
        return np.full(n_hidden, float(value))
    rates = np.array([float(rate) for rate in value], dtype=np.float64)
    if rates.shape[0] != n_hidden:
        raise InvalidParameterError(
            f"The 'dropout' parameter of {name} has {rates.shape[0]} rate(s) but "
            f"the network has {n_hidden} hidden layer(s): give one rate per "
            "hidden layer, or a float for all of them."
        )
    return rates


def penalty_strengths(penalty, alpha, l1_ratio):
    """The ``Penalty`` of the kernels for the ``penalty``, ``alpha`` and
    ``l1_ratio`` parameters, with ``SGDClassifier``'s meaning:
    ``alpha * ((1 - l1_ratio) / 2 * ||W||^2 + l1_ratio * ||W||_1)`` for
    'elasticnet'; 'l2' and 'l1' are the ratios 0 and 1; None is no penalty."""
    alpha = float(alpha)
    if penalty is None:
        return Penalty(0.0, 0.0)
    if penalty == "l2":
        return Penalty(alpha, 0.0)
    if penalty == "l1":
        return Penalty(0.0, alpha)
    return Penalty(alpha * (1.0 - l1_ratio), alpha * l1_ratio)


def resolve_cost(params):
    """The cost object of the classifier's ``cost`` parameter or of the
    regressor's ``loss`` (a name, with its parameter, or a Cost)."""
    if "loss" in params:
        loss = params["loss"]
        if isinstance(loss, Cost):
            return loss
        return regression_cost(loss, params["quantile"], params["huber_threshold"])
    cost = params["cost"]
    return cost if isinstance(cost, Cost) else COSTS[cost]


def hidden_layer_sizes(value, name="MLPCostClassifier"):
    """``hidden_layer_sizes`` as a tuple of positive ints (``()``: no hidden layer)."""
    sizes = [value] if _is_int(value) else value
    try:
        sizes = list(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(_is_int(size) and size >= 1 for size in sizes):
        raise InvalidParameterError(
            f"The 'hidden_layer_sizes' parameter of {name} must be an int >= 1 or "
            f"a sequence of ints >= 1 (empty for no hidden layer). Got {value!r} "
            "instead."
        )
    return tuple(int(size) for size in sizes)


def n_shards(n_jobs):
    """The number of shards for ``n_jobs``, by joblib's rule.

    None is 1; a negative value counts back from the cores this process may
    use (-1: all of them, -2: all but one), at least 1.
    """
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(joblib.cpu_count() + 1 + n_jobs, 1)
    return int(n_jobs)


@dataclass(frozen=True)
class SolverConfig:
    """The hyper-parameters a solver reads; their meaning is the estimator's."""

    solver: str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    batch_size: object
    shuffle: bool
    tol: float
    momentum: float
    nesterovs_momentum: bool
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: object
    max_fun: int
    early_stopping: bool
    early_stopping_metric: str
    verbose: object


@dataclass(frozen=True)
class FitSpec:
    """One fit's hyper-parameters, checked and resolved (``resolve``).

    ``continuing``: the fit continues the fitted network (a warm start or
    ``partial_fit``, without given initial weights); ``incremental``: it is
    a ``partial_fit``.
    """

    config: SolverConfig
    hidden_layer_sizes: tuple
    dropout_rates: np.ndarray
    activation: Activation
    cost: Cost
    penalty: Penalty
    n_shards: int
    weight_init: object
    class_weight: object
    random_state: object
    validation_fraction: float
    incremental: bool
    continuing: bool
    keeps_stream: bool

    @property
    def holds_out(self):
        """Whether early stopping holds out part of the training rows when
        no validation rows are given."""
        return self.config.early_stopping and self.config.solver != "lbfgs"


def resolve(estimator, incremental, given_weights):
    """The ``FitSpec`` of a fit of ``estimator`` (an ``InvalidParameterError``
    naming the first invalid parameter)."""
    params = {
        name: getattr(estimator, name) for name in _parameter_names(type(estimator))
    }
    sizes, rates = check_params(params, type(estimator).__name__)
    if incremental and params["early_stopping"]:
        raise ValueError("partial_fit does not support early_stopping=True")
    continuing = (
        hasattr(estimator, "theta_")
        and (params["warm_start"] or incremental)
        and not given_weights
    )
    return FitSpec(
        config=SolverConfig(**{f.name: params[f.name] for f in fields(SolverConfig)}),
        hidden_layer_sizes=sizes,
        dropout_rates=rates,
        activation=activation_of(params["activation"], params["negative_slope"]),
        cost=resolve_cost(params),
        penalty=penalty_strengths(
            params["penalty"], params["alpha"], params["l1_ratio"]
        ),
        n_shards=n_shards(params["n_jobs"]),
        weight_init=params["weight_init"],
        class_weight=params.get("class_weight"),
        random_state=params["random_state"],
        validation_fraction=params["validation_fraction"],
        incremental=incremental,
        continuing=continuing,
        # Only a warm start continues the random stream of the shuffling.
        keeps_stream=params["warm_start"] and not incremental,
    )


@functools.cache
def _parameter_names(cls):
    """``cls._get_param_names()``, which inspects the signature every call."""
    return tuple(cls._get_param_names())
