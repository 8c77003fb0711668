"""Compiled optimizer steps and the epoch kernel of the first-order solvers.

All updates work in place on flat vectors shaped like ``theta``, so one step
is one loop with no allocation. The formulas follow scikit-learn's
``SGDOptimizer`` and ``AdamOptimizer`` operation for operation, which is what
lets skce reproduce scikit-learn's numbers.
"""

import numpy as np
from numba import njit

from ._codes import SOLVER_ADAM
from ._kernels import loss_and_grad, workspace_size


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
def run_epoch(
    X,
    data,
    indices,
    indptr,
    is_sparse,
    Y,
    sample_weight,
    has_weight,
    order,
    in_order,
    batch_size,
    theta,
    layer_units,
    act,
    cost,
    alpha,
    solver,
    learning_rate,
    momentum,
    nesterov,
    beta_1,
    beta_2,
    epsilon,
    velocity,
    m,
    v,
    step,
    fn=None,
    fn_delta=None,
):
    """One pass over the data in mini-batches of ``batch_size`` rows.

    ``order`` is the row permutation of this epoch (drawn in Python). With
    ``in_order`` it is ``arange(n)``, and batches are read as contiguous
    slices instead of being gathered. After each batch the solver (code
    ``solver``) updates ``theta`` and its state (``velocity``, or ``m`` and
    ``v`` with the step counter ``step``) in place.

    Returns ``(mean_batch_loss, step)``: the batch losses averaged with the
    batch sizes as weights, as scikit-learn reports ``loss_``. It stops early
    and returns a non-finite loss as soon as a batch loss is not finite.
    """
    n_samples = order.shape[0]
    n_features = layer_units[0]
    n_outputs = layer_units[layer_units.shape[0] - 1]
    rows_max = min(batch_size, n_samples)
    gather_x = rows_max if (not in_order and not is_sparse) else 0
    gather_y = rows_max if not in_order else 0
    X_batch = np.empty((gather_x, n_features), dtype=theta.dtype)
    Y_batch = np.empty((gather_y, n_outputs), dtype=theta.dtype)
    w_batch = np.empty(gather_y if has_weight else 0, dtype=theta.dtype)
    work = np.empty(workspace_size(layer_units, rows_max), dtype=theta.dtype)
    grad = np.empty_like(theta)

    total = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        n_rows = stop - start
        rows = order[start:stop]
        if in_order:
            batch_loss = loss_and_grad(
                X[start:stop],
                data,
                indices,
                indptr,
                rows,
                is_sparse,
                Y[start:stop],
                sample_weight[start:stop],
                has_weight,
                theta,
                layer_units,
                act,
                cost,
                alpha,
                grad,
                work,
                fn,
                fn_delta,
            )
        else:
            for i in range(n_rows):
                r = rows[i]
                if not is_sparse:
                    X_batch[i, :] = X[r, :]
                Y_batch[i, :] = Y[r, :]
                if has_weight:
                    w_batch[i] = sample_weight[r]
            x_rows = 0 if is_sparse else n_rows
            batch_loss = loss_and_grad(
                X_batch[:x_rows],
                data,
                indices,
                indptr,
                rows,
                is_sparse,
                Y_batch[:n_rows],
                w_batch[: n_rows if has_weight else 0],
                has_weight,
                theta,
                layer_units,
                act,
                cost,
                alpha,
                grad,
                work,
                fn,
                fn_delta,
            )
        if not np.isfinite(batch_loss):
            return batch_loss, step
        total += batch_loss * n_rows
        if solver == SOLVER_ADAM:
            step += 1
            adam_update(theta, grad, m, v, step, learning_rate, beta_1, beta_2, epsilon)
        else:
            sgd_update(theta, grad, velocity, learning_rate, momentum, nesterov)
    return total / n_samples, step
