"""Compiled optimizer steps and the epoch kernel of the mini-batch solvers.

All updates work in place on flat vectors shaped like ``theta``, so one step
is one loop with no allocation. The formulas follow scikit-learn's
``SGDOptimizer`` and ``AdamOptimizer`` operation for operation, which is what
lets skce reproduce scikit-learn's numbers.
"""

from typing import NamedTuple

import numpy as np

from ._codes import SOLVER_ADAM
from ._compiled import helper, kernel
from ._kernels import (
    Targets,
    accumulate,
    backprop,
    backprop_inlined,
    from_first,
    normalize_range,
    penalized,
    penalty_sums,
    workspace_size,
)
from ._profile import GATHER, PENALTY, REDUCTION, UPDATE, lap, now
from ._team import alone, meet


class Optimizer(NamedTuple):
    """The step rule of ``"gd"``, ``"sgd"`` (momentum) or ``"adam"``."""

    solver: int
    learning_rate: float
    momentum: float
    nesterov: bool
    beta_1: float
    beta_2: float
    epsilon: float


class Batches(NamedTuple):
    """An epoch's mini-batches: the rows in ``order``, ``size`` at a time.

    With ``in_order``, ``order`` is ``arange(n)`` and the batches are read
    as contiguous slices instead of being gathered.
    """

    order: np.ndarray
    in_order: bool
    size: int


class Moments(NamedTuple):
    """The optimizer's vectors, shaped like ``theta`` (unused ones empty)."""

    velocity: np.ndarray
    m: np.ndarray
    v: np.ndarray


class Epoch(NamedTuple):
    """What an epoch kernel trains, and how: the target rows, the batches,
    the parameters ``theta`` and the ``Net``, the cost's code, the
    ``Penalty``, and the optimizer's rule, vectors and step count (the
    kernels return the new count). Whatever may be None (the sparse input,
    dropout, a user's cost, the timers) is passed apart, so that Numba drops
    its code where it is None."""

    targets: Targets
    batches: Batches
    theta: np.ndarray
    net: tuple
    cost: tuple
    penalty: tuple
    optimizer: Optimizer
    moments: Moments
    step: int


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


# The shard epoch reduces, finishes and steps the gradient in ranges of this
# many parameters (see run_epoch_shard).
UPDATE_RANGE = 512


@helper
def finish_and_step(
    theta, net, penalty, weight_sum, grad, bias_sums, optimizer, moments, step, lo, hi
):
    """``normalize_range`` then ``optimizer_step`` on the parameters
    ``[lo, hi)`` (``moments`` are theirs); returns the new step count."""
    normalize_range(theta, net, penalty, weight_sum, grad, bias_sums, lo, hi)
    return optimizer_step(optimizer, theta[lo:hi], grad[lo:hi], moments, step)


@helper
def next_step(optimizer, step):
    """The step count after a step of ``optimizer`` (``optimizer_step``'s),
    whichever parameters it updated: Adam counts its steps."""
    return step + 1 if optimizer.solver == SOLVER_ADAM else step


@helper
def moments_range(moments, lo, hi):
    """``moments`` of the parameters ``[lo, hi)`` (views)."""
    return Moments(moments.velocity[lo:hi], moments.m[lo:hi], moments.v[lo:hi])


@helper
def gather_batch(X, csr, targets, batches, start, stop, buffers, lo, hi):
    """The rows ``batches.order[start:stop]`` as kernel inputs ``(X_rows,
    rows, batch)``.

    In order they are slices of the data; otherwise the rows
    ``order[lo:hi]`` (``start <= lo <= hi <= stop``: the threads of a team
    each gather their share) are copied into the ``EpochBuffers``
    ``X_batch`` (dense input only), ``Y_batch`` and ``w_batch``, whose first
    ``stop - start`` rows are the batch.
    """
    n_rows = stop - start
    rows = batches.order[start:stop]
    if batches.in_order:
        weights = targets.weights[start:stop]
        batch = Targets(targets.Y[start:stop], weights, targets.has_weight)
        return X[start:stop], rows, batch
    X_batch, Y_batch, w_batch = buffers.X_batch, buffers.Y_batch, buffers.w_batch
    n_features = X_batch.shape[1]
    n_outputs = Y_batch.shape[1]
    for i in range(lo - start, hi - start):
        r = rows[i]
        if csr is None:
            for j in range(n_features):
                X_batch[i, j] = X[r, j]
        for j in range(n_outputs):
            Y_batch[i, j] = targets.Y[r, j]
        if targets.has_weight:
            w_batch[i] = targets.weights[r]
    weights = w_batch[: n_rows if targets.has_weight else 0]
    batch = Targets(Y_batch[:n_rows], weights, targets.has_weight)
    return X_batch[: n_rows if csr is None else 0], rows, batch


class EpochBuffers(NamedTuple):
    """An epoch's scratch space, shared by the threads of a team: buffers
    for the rows of a batch gathered in the epoch's order (``X_batch``,
    dense input only; ``Y_batch``; ``w_batch``, with sample weights), the
    kernels' ``work``, and the batch's gradient sums ``grad`` (dtype) and
    ``bias_sums`` (float64), shaped like ``theta`` (empty where the caller
    keeps its sums elsewhere, as the shards do)."""

    X_batch: np.ndarray
    Y_batch: np.ndarray
    w_batch: np.ndarray
    work: np.ndarray
    grad: np.ndarray
    bias_sums: np.ndarray


def epoch_buffers(x, targets, in_order, n_rows, theta, net, sums=True):
    """``EpochBuffers`` for batches of up to ``n_rows`` rows of the kernel
    input ``x`` (``X, csr``), allocated here so that the kernels allocate
    nothing; without ``sums``, no gradient sums."""
    csr = x[1]
    n_features = int(net.layer_units[0])
    n_outputs = int(net.layer_units[-1])
    gather_x = n_rows if (not in_order and csr is None) else 0
    gather_y = n_rows if not in_order else 0
    dtype = theta.dtype
    n_sums = theta.shape[0] if sums else 0
    return EpochBuffers(
        np.empty((gather_x, n_features), dtype=dtype),
        np.empty((gather_y, n_outputs), dtype=dtype),
        np.empty(gather_y if targets.has_weight else 0, dtype=dtype),
        np.empty(workspace_size(net.layer_units, n_rows), dtype=dtype),
        np.empty(n_sums, dtype=dtype),
        np.empty(n_sums),
    )


@kernel
def run_epoch(team, X, csr, epoch, buffers, dropout, fn, fn_delta, timers):
    """One pass over the data ``X, csr`` in the mini-batches of ``epoch``.

    ``epoch.batches.order`` is the row permutation of this epoch (drawn in
    Python). After each batch the optimizer updates ``epoch.theta`` and
    ``epoch.moments`` in place. ``penalty`` and ``dropout`` are as
    for ``finish_gradient`` and ``backprop``; ``buffers`` are the
    ``EpochBuffers`` of ``epoch_buffers``.

    Every thread of ``team`` calls this with the same arguments (a team of
    one, ``ALONE``, is the plain call). The threads gather a share of each
    batch's rows each, run ``backprop`` together, then each finishes the
    gradient and steps the optimizer on its own range of parameters: every
    element is computed as one thread would, so the numbers do not depend
    on the team's size. Thread 0 adds up the penalty before the products,
    while the parameters are still. A user's cost (``fn``) may raise, so it
    runs in a team of one only.

    Returns ``(mean_batch_loss, step)``: the batch losses averaged with the
    batch sizes as weights, as scikit-learn reports ``loss_``. It stops early
    and returns a non-finite loss as soon as a batch loss is not finite.
    ``timers``: None, or this thread's row of ``_profile`` counters.
    """
    targets, batches, theta, net, cost, penalty, optimizer, moments, step = epoch
    n_samples = batches.order.shape[0]
    batch_size = batches.size
    n_params = theta.shape[0]
    lo = team.thread * n_params // team.size
    hi = (team.thread + 1) * n_params // team.size
    part = moments_range(moments, lo, hi)
    total = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        m = stop - start
        clock = now(timers)
        X_rows, rows, batch = gather_batch(
            X,
            csr,
            targets,
            batches,
            start,
            stop,
            buffers,
            start + team.thread * m // team.size,
            start + (team.thread + 1) * m // team.size,
        )
        clock = lap(timers, GATHER, clock)
        squares = 0.0
        absolutes = 0.0
        if team.thread == 0:
            squares, absolutes = penalty_sums(theta, net, penalty)
        lap(timers, PENALTY, clock)
        squares, absolutes = from_first(team, squares, absolutes, 2, timers)
        cost_sum, weight_sum = backprop_inlined(
            X_rows,
            csr,
            rows,
            batch,
            theta,
            net,
            cost,
            buffers.grad,
            buffers.bias_sums,
            buffers.work,
            dropout,
            fn,
            fn_delta,
            team,
            timers,
        )
        batch_loss = penalized(cost_sum, penalty, squares, absolutes) / weight_sum
        if not np.isfinite(batch_loss):
            return batch_loss, step  # every thread stops at the same batch
        total += batch_loss * m
        clock = now(timers)
        step = finish_and_step(
            theta,
            net,
            penalty,
            weight_sum,
            buffers.grad,
            buffers.bias_sums,
            optimizer,
            part,
            step,
            lo,
            hi,
        )
        lap(timers, UPDATE, clock)
        meet(team, timers)
    return total / n_samples, step


class ShardSlots(NamedTuple):
    """What the threads of a sharded epoch share: one slot per shard.

    ``grads`` (dtype) and ``bias_sums`` (float64) hold each shard's sums
    from ``backprop``, shaped ``(n_shards, n_parameters)``; ``costs`` and
    ``weights`` its cost and weight sums; ``grad`` (dtype) and
    ``bias_total`` (float64) the batch's sums, then its gradient, in the
    types of one thread's (``EpochBuffers``); ``penalties``
    (``(n_shards, 2)``) each parameter range's share of the weights' sum of
    squares and of absolute values.
    """

    grads: np.ndarray
    bias_sums: np.ndarray
    costs: np.ndarray
    weights: np.ndarray
    grad: np.ndarray
    bias_total: np.ndarray
    penalties: np.ndarray


def shard_slots(n_shards, n_parameters, dtype):
    """Zeroed ``ShardSlots`` for ``n_shards`` shards."""
    return ShardSlots(
        grads=np.zeros((n_shards, n_parameters), dtype=dtype),
        bias_sums=np.zeros((n_shards, n_parameters)),
        costs=np.zeros(n_shards),
        weights=np.zeros(n_shards),
        grad=np.zeros(n_parameters, dtype=dtype),
        bias_total=np.zeros(n_parameters),
        penalties=np.zeros((n_shards, 2)),
    )


@helper
def range_penalty(theta, net, penalty, lo, hi, sums):
    """Add the squares of the weights among the parameters ``[lo, hi)`` to
    ``sums[0]`` and, with an L1 term, their absolute values to ``sums[1]``,
    in parameter order: consecutive ranges continue one running sum, to the
    bit."""
    squares = sums[0]
    absolutes = sums[1]
    for layer in range(net.layer_units.shape[0] - 1):
        w_lo = max(net.offsets[2 * layer], lo)
        w_hi = max(min(net.offsets[2 * layer + 1], hi), w_lo)
        w = theta[w_lo:w_hi]
        for k in range(w.shape[0]):  # one running sum: not vectorized
            squares += w[k] * w[k]
        if penalty.l1 != 0.0:
            for k in range(w.shape[0]):
                absolutes += abs(w[k])
    sums[0] = squares
    sums[1] = absolutes


@kernel
def run_epoch_shard(team, X, csr, epoch, slots, buffers, dropout, fn, fn_delta, timers):
    """``run_epoch``, its batches cut into shards, by the threads of ``team``.

    Each batch of ``m`` rows is cut into ``k = min(n_shards, m)`` shards of
    consecutive rows, shard ``s`` being rows ``[s m // k, (s + 1) m // k)``;
    thread ``t`` computes the sums of shards ``t, t + team.size, ...`` into
    their ``slots``. After a barrier the parameter vector, cut into
    ``n_shards`` equal ranges, is reduced (``accumulate``, in shard order),
    normalized (``normalize_range``) and updated range by range, the threads
    again taking every ``team.size``-th range; then a second barrier. The
    shards are added in their order whatever the number of threads, so the
    result depends on ``n_shards`` only, bit for bit. Thread 0 returns the
    epoch's ``(mean batch loss, step)``; every thread returns the same step.
    ``buffers`` are this thread's ``EpochBuffers`` (without sums) for a
    shard. ``timers`` is None or this thread's row of ``_profile`` counters.
    A user's cost (``fn``) may raise, so it runs in a team of one only, as
    in ``run_epoch``.
    """
    targets, batches, theta, net, cost, penalty, optimizer, moments, step = epoch
    n_shards = slots.costs.shape[0]
    order, batch_size = batches.order, batches.size
    n_samples = order.shape[0]
    n_params = theta.shape[0]
    thread, n_threads = team.thread, team.size
    total = 0.0
    for start in range(0, n_samples, batch_size):
        m = min(start + batch_size, n_samples) - start
        k = min(n_shards, m)
        for s in range(thread, k, n_threads):
            lo = start + s * m // k
            hi = start + (s + 1) * m // k
            clock = now(timers)
            X_rows, rows, batch = gather_batch(
                X, csr, targets, batches, lo, hi, buffers, lo, hi
            )
            lap(timers, GATHER, clock)
            slots.costs[s], slots.weights[s] = backprop(
                X_rows,
                csr,
                rows,
                batch,
                theta,
                net,
                cost,
                slots.grads[s],
                slots.bias_sums[s],
                buffers.work,
                dropout,
                fn,
                fn_delta,
                alone(),
                timers,
            )
        meet(team, timers)

        cost_sum = 0.0
        weight_sum = 0.0
        for s in range(k):
            cost_sum += slots.costs[s]
            weight_sum += slots.weights[s]
        if not np.isfinite(cost_sum):
            return cost_sum, step  # every thread stops at the same batch
        for r in range(thread, n_shards, n_threads):
            sums = slots.penalties[r]
            sums[0] = 0.0
            sums[1] = 0.0
            end = (r + 1) * n_params // n_shards
            # Range by range: each range's sums, parameters and moments are
            # still in the first-level cache when the optimizer reads them.
            for lo in range(r * n_params // n_shards, end, UPDATE_RANGE):
                hi = min(lo + UPDATE_RANGE, end)
                clock = now(timers)
                grad, bias_total = slots.grad, slots.bias_total
                for s in range(k):
                    grads, bias_sums = slots.grads[s], slots.bias_sums[s]
                    accumulate(net, grads, bias_sums, grad, bias_total, lo, hi, s == 0)
                range_penalty(theta, net, penalty, lo, hi, sums)
                normalize_range(
                    theta, net, penalty, weight_sum, grad, bias_total, lo, hi
                )
                clock = lap(timers, REDUCTION, clock)
                part = moments_range(moments, lo, hi)
                optimizer_step(optimizer, theta[lo:hi], slots.grad[lo:hi], part, step)
                lap(timers, UPDATE, clock)
        step = next_step(optimizer, step)
        meet(team, timers)

        if thread == 0:
            squares = 0.0
            absolutes = 0.0
            for r in range(n_shards):
                squares += slots.penalties[r, 0]
                absolutes += slots.penalties[r, 1]
            batch_loss = penalized(cost_sum, penalty, squares, absolutes)
            total += batch_loss / weight_sum * m
    return total / n_samples, step
