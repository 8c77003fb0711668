"""Compiled optimizer steps and the epoch kernel of the mini-batch solvers.

All updates work in place on flat vectors shaped like ``theta``, so one step
is one loop with no allocation. The formulas follow scikit-learn's
``SGDOptimizer`` and ``AdamOptimizer`` operation for operation, which is what
lets skce reproduce scikit-learn's numbers.
"""

from typing import NamedTuple

import numpy as np

from ._codes import SOLVER_ADAM
from ._kernels import (
    Targets,
    backprop,
    finish_gradient,
    helper,
    kernel,
    workspace_size,
)


class Optimizer(NamedTuple):
    """The step rule of ``"gd"``, ``"sgd"`` (momentum) or ``"adam"``."""

    solver: int
    learning_rate: float
    momentum: float
    nesterov: bool
    beta_1: float
    beta_2: float
    epsilon: float


class Moments(NamedTuple):
    """The optimizer's vectors, shaped like ``theta`` (unused ones empty)."""

    velocity: np.ndarray
    m: np.ndarray
    v: np.ndarray


@helper
def sgd_update(theta, grad, velocity, learning_rate, momentum, nesterov):
    """One (Nesterov) momentum step; ``theta`` and ``velocity`` change in place.

    .. math::

        v \\leftarrow \\mu v - \\eta g, \\qquad
        \\theta \\leftarrow \\theta + (\\mu v - \\eta g \\text{ if Nesterov else } v)

    With ``momentum = 0`` this is plain gradient descent.
    """
    for i in range(theta.shape[0]):
        g = grad[i]
        update = momentum * velocity[i] - learning_rate * g
        velocity[i] = update
        if nesterov:
            update = momentum * update - learning_rate * g
        theta[i] += update


@helper
def adam_update(theta, grad, m, v, step, learning_rate, beta_1, beta_2, epsilon):
    """One Adam step (Kingma & Ba, with bias correction); ``step`` counts from 1.

    ``theta``, ``m`` and ``v`` change in place. The bias correction is folded
    into the step size, as in section 2 of the paper:

    .. math::

        \\eta_t = \\eta \\frac{\\sqrt{1 - \\beta_2^t}}{1 - \\beta_1^t}, \\qquad
        \\theta \\leftarrow \\theta - \\eta_t \\frac{m}{\\sqrt{v} + \\epsilon}
    """
    step_size = learning_rate * np.sqrt(1.0 - beta_2**step) / (1.0 - beta_1**step)
    for i in range(theta.shape[0]):
        g = grad[i]
        m[i] = beta_1 * m[i] + (1.0 - beta_1) * g
        v[i] = beta_2 * v[i] + (1.0 - beta_2) * (g * g)
        theta[i] += -step_size * m[i] / (np.sqrt(v[i]) + epsilon)


@kernel
def optimizer_step(optimizer, theta, grad, moments, step):
    """One step of ``optimizer`` along ``-grad``; returns the new step count."""
    if optimizer.solver == SOLVER_ADAM:
        step += 1
        adam_update(
            theta,
            grad,
            moments.m,
            moments.v,
            step,
            optimizer.learning_rate,
            optimizer.beta_1,
            optimizer.beta_2,
            optimizer.epsilon,
        )
    else:
        sgd_update(
            theta,
            grad,
            moments.velocity,
            optimizer.learning_rate,
            optimizer.momentum,
            optimizer.nesterov,
        )
    return step


@kernel
def run_epoch(
    X,
    csr,
    targets,
    order,
    in_order,
    batch_size,
    theta,
    net,
    cost,
    alpha,
    optimizer,
    moments,
    step,
    fn=None,
    fn_delta=None,
):
    """One pass over the data ``X, csr`` in mini-batches of ``batch_size`` rows.

    ``order`` is the row permutation of this epoch (drawn in Python). With
    ``in_order`` it is ``arange(n)``, and batches are read as contiguous
    slices instead of being gathered. After each batch ``optimizer`` updates
    ``theta`` and ``moments`` in place.

    Returns ``(mean_batch_loss, step)``: the batch losses averaged with the
    batch sizes as weights, as scikit-learn reports ``loss_``. It stops early
    and returns a non-finite loss as soon as a batch loss is not finite.
    """
    n_samples = order.shape[0]
    n_features = net.layer_units[0]
    n_outputs = net.layer_units[net.layer_units.shape[0] - 1]
    rows_max = min(batch_size, n_samples)
    gather_x = rows_max if (not in_order and csr is None) else 0
    gather_y = rows_max if not in_order else 0
    X_batch = np.empty((gather_x, n_features), dtype=theta.dtype)
    Y_batch = np.empty((gather_y, n_outputs), dtype=theta.dtype)
    w_batch = np.empty(gather_y if targets.has_weight else 0, dtype=theta.dtype)
    work = np.empty(workspace_size(net.layer_units, rows_max), dtype=theta.dtype)
    grad = np.empty_like(theta)
    bias_sums = np.empty(theta.shape[0])

    total = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        n_rows = stop - start
        rows = order[start:stop]
        if in_order:
            X_rows = X[start:stop]
            weights = targets.weights[start:stop]
            batch = Targets(targets.Y[start:stop], weights, targets.has_weight)
        else:
            for i in range(n_rows):
                r = rows[i]
                if csr is None:
                    for j in range(n_features):
                        X_batch[i, j] = X[r, j]
                for j in range(n_outputs):
                    Y_batch[i, j] = targets.Y[r, j]
                if targets.has_weight:
                    w_batch[i] = targets.weights[r]
            X_rows = X_batch[: n_rows if csr is None else 0]
            weights = w_batch[: n_rows if targets.has_weight else 0]
            batch = Targets(Y_batch[:n_rows], weights, targets.has_weight)
        cost_sum, weight_sum = backprop(
            X_rows,
            csr,
            rows,
            batch,
            theta,
            net,
            cost,
            grad,
            bias_sums,
            work,
            fn,
            fn_delta,
        )
        batch_loss = finish_gradient(
            theta, net, alpha, cost_sum, weight_sum, grad, bias_sums
        )
        if not np.isfinite(batch_loss):
            return batch_loss, step
        total += batch_loss * n_rows
        step = optimizer_step(optimizer, theta, grad, moments, step)
    return total / n_samples, step
