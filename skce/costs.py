"""The costs an :class:`~skce.MLPCostClassifier` or an
:class:`~skce.MLPCostRegressor` can minimize.

Each cost follows the interface of Nielsen's ``network2.py``: ``fn(a, y)``
is the cost of output activations ``a`` for targets ``y``, and
``delta(z, a, y)`` is the error of the output layer, the derivative of the
cost with respect to the output logits ``z``. Each also names its output
activation and the integer ``code`` under which the compiled kernels know it;
``fn`` and ``delta`` call those same kernels, so what you evaluate here is
exactly what the estimator trains on.

=================== ======== ================================ ================
``cost=``           output   cost of one sample               output error δ
=================== ======== ================================ ================
``"log_loss"``      softmax  −Σ y ln a                        a − y
``"cross_entropy"`` logistic −Σ [y ln a + (1 − y) ln(1 − a)]  a − y
``"quadratic"``     logistic ½ Σ (a − y)²                     (a − y) σ′(z)
=================== ======== ================================ ================

With one output unit (binary targets) or several independent ones
(multilabel targets) a softmax makes no sense, and ``"log_loss"`` becomes the
binary cross-entropy on logistic outputs, as in scikit-learn's
``MLPClassifier``; :meth:`Cost.for_target` makes that switch.

The regressor's costs (its ``loss=``), with ``r = z - y`` for ``n`` outputs:

==================== ======== ================================ =================
``loss=``            output   cost of one sample               output error δ
==================== ======== ================================ =================
``"squared_error"``  identity ½ Σ r² / n                       r
``"poisson"``        exp      Σ [y ln(y / a) − y + a]          a − y
``"absolute_error"`` identity Σ abs(r) / n                     sign(r) / n
``"huber"``          identity Σ h(r) / n                       clip(r, −t, t) / n
``"quantile"``       identity Σ max(−q r, (1 − q) r) / n       s(r) / n
==================== ======== ================================ =================

with ``h(r) = ½ r²`` where ``|r| ≤ t`` and ``t (|r| − ½ t)`` beyond, and
``s(r) = −q`` where the target is above the prediction, ``1 − q`` below.

The first two are scikit-learn's ``MLPRegressor`` losses, computed as it
computes them, including that the squared error's cost is a mean over the
outputs while its error δ is not: with several outputs its gradient is
``n`` times that of its cost, as in scikit-learn. The other three are
consistent means. ``t`` is :class:`HuberCost`'s ``threshold`` and ``q``
:class:`QuantileCost`'s ``quantile``.

Your own cost
-------------

Subclass :class:`Cost`, name its output activation, and give ``fn`` and
``delta`` as Numba-jitted static methods for *one sample* (float64 vectors
of the output activations ``a``, targets ``y`` and logits ``z``)::

    import numpy as np
    from numba import njit
    from skce.costs import Cost

    class FocalCost(Cost):
        \"\"\"Binary focal cost with gamma = 2 on logistic outputs.\"\"\"

        name = "focal"
        output_activation = "logistic"

        @staticmethod
        @njit
        def fn(a, y):
            return -np.sum(y * (1 - a) ** 2 * np.log(a)
                           + (1 - y) * a ** 2 * np.log(1 - a))

        @staticmethod
        @njit
        def delta(z, a, y):
            positive = 2 * a * (1 - a) ** 2 * np.log(a) - (1 - a) ** 3
            negative = -2 * a ** 2 * (1 - a) * np.log(1 - a) + a ** 3
            return y * positive + (1 - y) * negative

    MLPCostClassifier(cost=FocalCost()).fit(X, y)

The compiled training kernels call these two functions for every sample.
They are compiled once per process (a cost passed as a function cannot be
cached on disk), and they see the activations, not the logits, so a
logarithm of ``a`` is yours to keep finite. An exception they raise stops
the fit and reaches you as it was raised. Instances of a class defined at
module level survive ``clone``, ``pickle`` and ``GridSearchCV``.
"""

import functools

import numpy as np
from numba.extending import is_jitted

from ._codes import (
    COST_ABSOLUTE_ERROR,
    COST_CROSS_ENTROPY,
    COST_HUBER,
    COST_LOG_LIKELIHOOD,
    COST_POISSON,
    COST_QUADRATIC,
    COST_QUANTILE,
    COST_SQUARED_ERROR,
    OUTPUT_CODES,
)
from ._output import COST_PIECES, cost_failure, custom_cost
from ._pieces import pointer

__all__ = [
    "COSTS",
    "REGRESSION_COSTS",
    "AbsoluteErrorCost",
    "Cost",
    "CrossEntropyCost",
    "HuberCost",
    "LogLikelihoodCost",
    "PoissonCost",
    "QuadraticCost",
    "QuantileCost",
    "SquaredErrorCost",
]

# The output activations of a classifier's costs; the others predict values.
CLASS_OUTPUTS = ("softmax", "logistic")
CLASS_TARGETS = ("binary", "multiclass", "multilabel-indicator")


class Cost:
    """Base class of the costs: Nielsen's ``fn`` and ``delta``, an activation.

    The built-in costs set ``code``, under which the compiled kernels compute
    them inline. A user's cost leaves ``code`` as None and defines ``fn(a,
    y)`` and ``delta(z, a, y)`` as Numba-jitted static methods for one
    sample; see the module documentation for an example.

    A cost with ``"identity"`` or ``"exp"`` outputs predicts values, and
    only an :class:`~skce.MLPCostRegressor` trains on it; a cost with
    logistic outputs can also be given to the regressor, for targets in
    [0, 1].

    Attributes
    ----------
    name : str
        A short name (for built-in costs, the string users pass as
        ``cost=`` or ``loss=``).
    output_activation : {"softmax", "logistic", "identity", "exp"}
        Activation of the output layer that goes with this cost.
    code : int or None
        The integer that selects a built-in cost inside the kernels.
    parameter : float
        The built-in cost's one parameter, passed to the kernels (0 if none).
    """

    name = None
    output_activation = None
    code = None
    parameter = 0.0

    def piece(self):
        """The compiled piece of this cost (``_output``): the built-in one of
        its ``code``, or one made of a user's ``fn`` and ``delta``."""
        if self.code is not None:
            return COST_PIECES[self.code]
        return _custom_piece(type(self), self.output_activation)

    def sums(self, Z, Y, weights, delta, row_cost):
        """:math:`\\sum_i w_i C_i` of the logits ``Z`` for the targets ``Y``
        (``weights`` None: all 1), by the kernels' own piece; writes the
        weighted errors into ``delta`` and each row's cost into
        ``row_cost``.

        ``Z``, ``Y``, ``delta`` (and ``weights``) are C-contiguous arrays of
        one float dtype, ``(n_samples, n_outputs)`` (``(n_samples,)``);
        ``row_cost`` float64. An exception a user's ``fn`` or ``delta``
        raises is raised here.
        """
        n_rows, n_out = Z.shape
        has_weight = weights is not None
        weights = np.empty(0, dtype=Z.dtype) if weights is None else weights
        for name, array, shape in (
            ("Y", Y, Z.shape),
            ("delta", delta, Z.shape),
            ("weights", weights, (n_rows,) if has_weight else (0,)),
        ):
            if array.dtype != Z.dtype or array.shape != shape:
                raise ValueError(f"{name} does not match the logits.")
        if (
            not all(
                array.flags.c_contiguous for array in (Z, Y, delta, weights, row_cost)
            )
            or row_cost.shape != (n_rows,)
            or row_cost.dtype != np.float64
        ):
            raise ValueError("The cost's arrays must be C-contiguous.")
        status = np.zeros(2 + 2 * n_out)
        total = self.piece().function(Z.dtype)(
            n_rows,
            n_out,
            pointer(Z),
            pointer(Y),
            pointer(weights),
            has_weight,
            pointer(delta),
            pointer(row_cost),
            float(self.parameter),
            pointer(status),
        )
        if status[0] != 0:
            raise cost_failure(self, status)
        return total

    def check(self):
        """Raise a ``TypeError`` unless this cost follows the protocol."""
        if self.output_activation not in OUTPUT_CODES:
            raise TypeError(
                f"{type(self).__name__}.output_activation must be one of "
                f"{sorted(OUTPUT_CODES)}, got {self.output_activation!r}."
            )
        if self.code is None:
            for method in ("fn", "delta"):
                if not is_jitted(getattr(type(self), method)):
                    raise TypeError(
                        f"{type(self).__name__}.{method} must be a Numba-jitted "
                        f"static method (@staticmethod over @numba.njit), got "
                        f"{getattr(type(self), method)!r}."
                    )
        return self

    def fn(self, a, y):
        """Cost of output activations ``a`` for targets ``y``.

        Parameters
        ----------
        a : array-like of shape (n_outputs,) or (n_samples, n_outputs)
            Output activations, in [0, 1].
        y : array-like of the same shape as ``a``
            Targets, in [0, 1] (one-hot rows for a softmax cost).

        Returns
        -------
        cost : float or ndarray of shape (n_samples,)
            The cost of each sample: a float for 1-D input. An activation of
            exactly 0 or 1 against the opposite target gives ``inf``, the
            true value; the estimator itself never gets there, because it
            works from the logits (see :meth:`from_logits`).
        """
        a, y, one_sample = _as_rows(a, y)
        with np.errstate(divide="ignore"):
            if self.output_activation in ("softmax", "exp"):
                z = np.log(a)
            elif self.output_activation == "identity":
                z = a
            else:
                z = np.log(a) - np.log1p(-a)
        cost = self._evaluate(z, y)[0]
        return cost[0] if one_sample else cost

    def from_logits(self, z, y):
        """Cost of the output logits ``z`` for targets ``y``, computed stably.

        Parameters
        ----------
        z : array-like of shape (n_outputs,) or (n_samples, n_outputs)
            Output logits (weighted inputs of the output layer).
        y : array-like of the same shape as ``z``
            Targets, in [0, 1].

        Returns
        -------
        cost : float or ndarray of shape (n_samples,)
            The cost of each sample, finite for any finite ``z``.
        """
        z, y, one_sample = _as_rows(z, y)
        cost = self._evaluate(z, y)[0]
        return cost[0] if one_sample else cost

    def delta(self, z, a, y):
        """Error of the output layer, the derivative of the cost by ``z``.

        Parameters
        ----------
        z : array-like of shape (n_outputs,) or (n_samples, n_outputs)
            Output logits.
        a : array-like of the same shape as ``z``
            Output activations. Kept for Nielsen's interface (his
            cross-entropy ``delta`` ignores ``z`` in the same way); the
            kernels recompute them from ``z``, which is exact.
        y : array-like of the same shape as ``z``
            Targets, in [0, 1].

        Returns
        -------
        delta : ndarray of the shape of ``z``
        """
        z, y, one_sample = _as_rows(z, y)
        delta = self._evaluate(z, y)[1]
        return delta[0] if one_sample else delta

    def for_target(self, target_type):
        """The cost to train on for a target type of ``type_of_target``."""
        if self.output_activation == "softmax" and target_type != "multiclass":
            raise ValueError(
                f"The cost {type(self).__name__} has softmax outputs, which need a "
                f"multiclass target; the target is {target_type}."
            )
        if self.output_activation not in CLASS_OUTPUTS and target_type in (
            CLASS_TARGETS
        ):
            raise ValueError(
                f"The cost {type(self).__name__} has {self.output_activation} "
                "outputs, which predict values, not classes: use it with "
                "MLPCostRegressor."
            )
        return self

    def check_targets(self, Y):
        """Raise a ``ValueError`` for target values this cost cannot take
        (``Y`` the encoded targets); every value is fine by default."""

    def _evaluate(self, z, y):
        delta = np.empty_like(z)
        cost = np.empty(z.shape[0])
        self.sums(z, y, None, delta, cost)
        return cost, delta

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


class LogLikelihoodCost(Cost):
    """Softmax outputs with the log-likelihood cost: ``cost="log_loss"``.

    :math:`C = -\\sum_j y_j \\ln a_j = \\mathrm{logsumexp}(z) - \\sum_j y_j z_j`,
    :math:`\\delta = a - y`. For binary and multilabel targets it becomes
    :class:`CrossEntropyCost` (see :meth:`for_target`).
    """

    name = "log_loss"
    output_activation = "softmax"
    code = COST_LOG_LIKELIHOOD

    def for_target(self, target_type):
        """Cross-entropy on logistic units unless the target is multiclass;
        values, which are no classes, are refused."""
        if target_type == "multiclass" or target_type.startswith("continuous"):
            return super().for_target(target_type)
        return COSTS["cross_entropy"]


class CrossEntropyCost(Cost):
    """Logistic outputs with the cross-entropy cost: ``cost="cross_entropy"``.

    :math:`C = -\\sum_j [y_j \\ln a_j + (1 - y_j) \\ln(1 - a_j)]`,
    :math:`\\delta = a - y`: the :math:`\\sigma'(z)` factor cancels, so a
    saturated, wrong output neuron still learns fast.
    """

    name = "cross_entropy"
    output_activation = "logistic"
    code = COST_CROSS_ENTROPY


class QuadraticCost(Cost):
    """Logistic outputs with the quadratic cost: ``cost="quadratic"``.

    :math:`C = \\tfrac12 \\|a - y\\|^2`, :math:`\\delta = (a - y)\\,\\sigma'(z)`
    with :math:`\\sigma'(z) = a(1 - a)`: a saturated output neuron has a tiny
    gradient and learns slowly, the slowdown the cross-entropy removes.
    """

    name = "quadratic"
    output_activation = "logistic"
    code = COST_QUADRATIC


COSTS = {
    cost.name: cost
    for cost in (LogLikelihoodCost(), CrossEntropyCost(), QuadraticCost())
}


class SquaredErrorCost(Cost):
    """Identity outputs with half the squared error: ``loss="squared_error"``.

    :math:`C = \\tfrac{1}{2n} \\sum_j (z_j - y_j)^2`,
    :math:`\\delta = z - y`: scikit-learn's ``MLPRegressor`` loss, whose
    cost is a mean over the ``n`` outputs but whose error is not divided by
    ``n``.
    """

    name = "squared_error"
    output_activation = "identity"
    code = COST_SQUARED_ERROR


class PoissonCost(Cost):
    """Exponential outputs with half the Poisson deviance: ``loss="poisson"``.

    :math:`C = \\sum_j [y_j \\ln(y_j / a_j) - y_j + a_j]` with
    :math:`a = e^z`, :math:`\\delta = a - y`, as in scikit-learn's
    ``MLPRegressor``. The predictions are positive; the targets must not be
    negative.
    """

    name = "poisson"
    output_activation = "exp"
    code = COST_POISSON

    def check_targets(self, Y):
        """Refuse negative targets: a Poisson cost has no value there."""
        if np.any(Y < 0):
            raise ValueError(
                "loss='poisson' needs non-negative targets; y has negative values."
            )


class AbsoluteErrorCost(Cost):
    """Identity outputs with the absolute error: ``loss="absolute_error"``.

    :math:`C = \\tfrac1n \\sum_j |z_j - y_j|`,
    :math:`\\delta = \\operatorname{sign}(z - y) / n`: the median
    regression, robust to outliers in ``y``.
    """

    name = "absolute_error"
    output_activation = "identity"
    code = COST_ABSOLUTE_ERROR


class _ParameterCost(Cost):
    """A built-in cost with one parameter, which it is equal and hashed by."""

    def __repr__(self):
        return f"{type(self).__name__}({self.parameter!r})"

    def __eq__(self, other):
        return type(self) is type(other) and self.parameter == other.parameter

    def __hash__(self):
        return hash((type(self), self.parameter))


class HuberCost(_ParameterCost):
    """Identity outputs with the Huber cost: ``loss="huber"``.

    Per output, :math:`\\tfrac12 r^2` where :math:`|r| \\le t` and
    :math:`t(|r| - \\tfrac12 t)` beyond, averaged over the outputs;
    :math:`\\delta = \\operatorname{clip}(r, -t, t) / n`. Squared error
    for small residuals, absolute error for large ones.

    Parameters
    ----------
    threshold : float, default=1.0
        Where the cost turns from quadratic to linear, in the units of ``y``
        (the regressor's ``huber_threshold``). Must be positive.
    """

    name = "huber"
    output_activation = "identity"
    code = COST_HUBER

    def __init__(self, threshold=1.0):
        self.parameter = threshold

    @property
    def threshold(self):
        return self.parameter

    def check(self):
        """Also refuse a threshold that is not a positive number."""
        if not _positive_finite(self.parameter):
            raise ValueError(
                f"The Huber threshold must be a positive number, got "
                f"{self.parameter!r}."
            )
        return super().check()


class QuantileCost(_ParameterCost):
    """Identity outputs with the pinball cost of a quantile: ``loss="quantile"``.

    Per output, :math:`q (y - z)` where :math:`y > z` and :math:`(1 - q)(z -
    y)` where :math:`y < z`, averaged over the outputs; its minimum is the
    conditional ``q``-quantile of ``y``. Two fits at ``q`` and ``1 - q``
    give a prediction interval.

    Parameters
    ----------
    quantile : float, default=0.5
        The quantile ``q`` in (0, 1) (the regressor's ``quantile``); 0.5 is
        the median, half the absolute error.
    """

    name = "quantile"
    output_activation = "identity"
    code = COST_QUANTILE

    def __init__(self, quantile=0.5):
        self.parameter = quantile

    @property
    def quantile(self):
        return self.parameter

    def check(self):
        """Also refuse a quantile outside (0, 1)."""
        if not (_positive_finite(self.parameter) and self.parameter < 1):
            raise ValueError(
                f"The quantile must be a number in (0, 1), got {self.parameter!r}."
            )
        return super().check()


def _positive_finite(value):
    return (
        isinstance(value, int | float | np.floating | np.integer)
        and not isinstance(value, bool | np.bool_)
        and np.isfinite(value)
        and value > 0
    )


#: The names the regressor's ``loss`` takes; the two with a parameter are
#: made by ``regression_cost``.
REGRESSION_COSTS = {
    "squared_error": SquaredErrorCost,
    "poisson": PoissonCost,
    "absolute_error": AbsoluteErrorCost,
    "huber": HuberCost,
    "quantile": QuantileCost,
}


def regression_cost(name, quantile, huber_threshold):
    """The cost of the regressor's ``loss`` name and parameters (checked by
    the estimator's parameter checks)."""
    if name == "huber":
        return HuberCost(huber_threshold)
    if name == "quantile":
        return QuantileCost(quantile)
    return REGRESSION_COSTS[name]()


@functools.cache
def _custom_piece(cost_class, output_activation):
    """The piece of a user's cost class, made once per process."""
    return custom_cost(cost_class.fn, cost_class.delta, OUTPUT_CODES[output_activation])


def _as_rows(values, y):
    values = np.asarray(values, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if values.shape != y.shape:
        raise ValueError(
            f"The outputs and the targets must have the same shape, got "
            f"{values.shape} and {y.shape}."
        )
    if values.ndim not in (1, 2) or values.size == 0:
        raise ValueError(
            "Expected outputs of shape (n_outputs,) or (n_samples, n_outputs), "
            f"got shape {values.shape}."
        )
    one_sample = values.ndim == 1
    values = np.ascontiguousarray(np.atleast_2d(values))
    y = np.ascontiguousarray(np.atleast_2d(y))
    return values, y, one_sample
