"""The optimizers' steps, as pieces: momentum SGD (``"gd"``, ``"sgd"``) and
Adam.

A step piece (``STEP``) updates ``n`` parameters in place along ``-grad``
and returns the new step count. It takes the optimizer's vectors shaped
like its parameters (``velocity`` for momentum, ``m`` and ``v`` for Adam;
the others are empty and not read) and its hyper-parameters in one float64
vector (``Optimizer.hyper``). The formulas follow scikit-learn's
``SGDOptimizer`` and ``AdamOptimizer`` operation for operation, which is
what lets skce reproduce scikit-learn's numbers.
"""

from typing import NamedTuple

import numpy as np
from numba import carray

from ._codes import SOLVER_ADAM
from ._pieces import Signature, piece, pointer

#: ``step(n, theta, grad, velocity, m, v, hyper, step) -> new step``.
STEP = Signature("step", "i", "iTTTTTFi")
step_piece = STEP.caller

# Where each hyper-parameter sits in ``Optimizer.hyper()``.
LEARNING_RATE, MOMENTUM, NESTEROV, BETA_1, BETA_2, EPSILON = range(6)


class Optimizer(NamedTuple):
    """The step rule of ``"gd"``, ``"sgd"`` (momentum) or ``"adam"``."""

    solver: int
    learning_rate: float
    momentum: float
    nesterov: bool
    beta_1: float
    beta_2: float
    epsilon: float

    def hyper(self):
        """The hyper-parameters as a step piece reads them."""
        return np.array(
            [
                self.learning_rate,
                self.momentum,
                float(self.nesterov),
                self.beta_1,
                self.beta_2,
                self.epsilon,
            ]
        )

    def piece(self):
        """This optimizer's step piece."""
        return adam if self.solver == SOLVER_ADAM else momentum


class Moments(NamedTuple):
    """The optimizer's vectors, shaped like ``theta`` (unused ones empty)."""

    velocity: np.ndarray
    m: np.ndarray
    v: np.ndarray


@piece(STEP)
def momentum(n, theta_, grad_, velocity_, m_, v_, hyper_, step):
    """One (Nesterov) momentum step; ``theta`` and ``velocity`` change in place.

    .. math::

        v \\leftarrow \\mu v - \\eta g, \\qquad
        \\theta \\leftarrow \\theta + (\\mu v - \\eta g \\text{ if Nesterov else } v)

    With ``momentum = 0`` this is plain gradient descent.
    """
    theta, grad, velocity = carray(theta_, n), carray(grad_, n), carray(velocity_, n)
    hyper = carray(hyper_, 6)
    learning_rate, mu, nesterov = hyper[LEARNING_RATE], hyper[MOMENTUM], hyper[NESTEROV]
    for i in range(n):
        g = grad[i]
        update = mu * velocity[i] - learning_rate * g
        velocity[i] = update
        if nesterov != 0.0:
            update = mu * update - learning_rate * g
        theta[i] += update
    return step


@piece(STEP)
def adam(n, theta_, grad_, velocity_, m_, v_, hyper_, step):
    """One Adam step (Kingma & Ba, with bias correction); returns ``step + 1``.

    ``theta``, ``m`` and ``v`` change in place. The bias correction is folded
    into the step size, as in section 2 of the paper:

    .. math::

        \\eta_t = \\eta \\frac{\\sqrt{1 - \\beta_2^t}}{1 - \\beta_1^t}, \\qquad
        \\theta \\leftarrow \\theta - \\eta_t \\frac{m}{\\sqrt{v} + \\epsilon}
    """
    theta, grad, m, v = (
        carray(theta_, n),
        carray(grad_, n),
        carray(m_, n),
        carray(v_, n),
    )
    hyper = carray(hyper_, 6)
    learning_rate, epsilon = hyper[LEARNING_RATE], hyper[EPSILON]
    beta_1, beta_2 = hyper[BETA_1], hyper[BETA_2]
    step += 1
    step_size = learning_rate * np.sqrt(1.0 - beta_2**step) / (1.0 - beta_1**step)
    for i in range(n):
        g = grad[i]
        m[i] = beta_1 * m[i] + (1.0 - beta_1) * g
        v[i] = beta_2 * v[i] + (1.0 - beta_2) * (g * g)
        theta[i] += -step_size * m[i] / (np.sqrt(v[i]) + epsilon)
    return step


def optimizer_step(optimizer, theta, grad, moments, step):
    """One step of ``optimizer`` along ``-grad`` on all of ``theta``, from
    Python (the full-batch ``"gd"``); returns the new step count. The
    vectors must be C-contiguous, of ``theta``'s dtype and length (unused
    ones may be empty)."""
    n = theta.shape[0]
    for name, vector in zip(("grad", *Moments._fields), (grad, *moments), strict=True):
        if (
            vector.dtype != theta.dtype
            or not vector.flags.c_contiguous
            or vector.shape not in ((n,), (0,))
            or (name == "grad" and vector.shape != (n,))
        ):
            raise ValueError(f"optimizer_step: {name} does not fit theta.")
    hyper = optimizer.hyper()
    function = optimizer.piece().function(theta.dtype)
    return function(
        n, *(pointer(vector) for vector in (theta, grad, *moments, hyper)), step
    )
