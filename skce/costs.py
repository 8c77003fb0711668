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
"""

import numpy as np

from ._codes import COST_CROSS_ENTROPY, COST_LOG_LIKELIHOOD, COST_QUADRATIC
from ._kernels import output_cost_and_delta

__all__ = [
    "COSTS",
    "Cost",
    "CrossEntropyCost",
    "LogLikelihoodCost",
    "QuadraticCost",
]


class Cost:
    """Base class of the costs: a name, an output activation and a kernel code.

    Attributes
    ----------
    name : str
        The string users pass as ``cost=``.
    output_activation : {"softmax", "logistic"}
        Activation of the output layer that goes with this cost.
    code : int
        The integer that selects this cost inside the compiled kernels.
    """

    name = None
    output_activation = None
    code = None

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
        return self

    def _evaluate(self, z, y):
        n_samples = z.shape[0]
        delta = np.empty_like(z)
        cost = np.empty(n_samples)
        no_weight = np.empty(0)
        output_cost_and_delta(self.code, z, y, no_weight, False, delta, cost)
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
