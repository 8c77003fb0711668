"""The costs an :class:`~skce.MLPCostClassifier` can minimize.

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
logarithm of ``a`` is yours to keep finite. Instances of a class defined at
module level survive ``clone``, ``pickle`` and ``GridSearchCV``.
"""

import numpy as np
from numba.extending import is_jitted

from ._codes import (
    COST_CROSS_ENTROPY,
    COST_CUSTOM,
    COST_LOG_LIKELIHOOD,
    COST_QUADRATIC,
    OUTPUT_CODES,
)
from ._kernels import Targets, output_cost_and_delta

__all__ = [
    "COSTS",
    "Cost",
    "CrossEntropyCost",
    "LogLikelihoodCost",
    "QuadraticCost",
]


class Cost:
    """Base class of the costs: Nielsen's ``fn`` and ``delta``, an activation.

    The built-in costs set ``code``, under which the compiled kernels compute
    them inline. A user's cost leaves ``code`` as None and defines ``fn(a,
    y)`` and ``delta(z, a, y)`` as Numba-jitted static methods for one
    sample; see the module documentation for an example.

    Attributes
    ----------
    name : str
        A short name (for built-in costs, the string users pass as
        ``cost=``).
    output_activation : {"softmax", "logistic"}
        Activation of the output layer that goes with this cost.
    code : int or None
        The integer that selects a built-in cost inside the kernels.
    """

    name = None
    output_activation = None
    code = None

    @property
    def kernel_code(self):
        """The kernels' code of this cost: ``code``, or ``COST_CUSTOM``."""
        return COST_CUSTOM if self.code is None else self.code

    def kernel_functions(self):
        """``(fn, delta)`` for the kernels: None for built-in costs."""
        if self.code is not None:
            return None, None
        return type(self).fn, type(self).delta

    def check(self):
        """Raise a ``TypeError`` unless this cost follows the protocol."""
        if self.output_activation not in ("softmax", "logistic"):
            raise TypeError(
                f"{type(self).__name__}.output_activation must be 'softmax' or "
                f"'logistic', got {self.output_activation!r}."
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
            if self.output_activation == "softmax":
                z = np.log(a)
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
        return self

    def _evaluate(self, z, y):
        n_samples = z.shape[0]
        delta = np.empty_like(z)
        cost = np.empty(n_samples)
        output_cost_and_delta(
            self.kernel_code,
            OUTPUT_CODES[self.output_activation],
            z,
            Targets(y, np.empty(0), False),
            delta,
            cost,
            *self.kernel_functions(),
        )
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
        """Cross-entropy on logistic units unless the target is multiclass."""
        if target_type == "multiclass":
            return self
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
