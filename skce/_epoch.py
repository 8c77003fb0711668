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
    alone,
    backprop,
    backprop_inlined,
    from_first,
    helper,
    kernel,
    meet,
    normalize_range,
    penalized,
    penalty_sums,
    workspace_size,
)
from ._profile import BARRIERS, GATHER, PENALTY, REDUCTION, UPDATE, lap, now
from ._team import barrier


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


# The shard epoch reduces, finishes and steps the gradient in blocks of this
# many parameters: each block's sums, parameters and moments are still in
# the first-level cache when the optimizer reads them.
UPDATE_BLOCK = 512


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
def gather_batch(
    X, csr, targets, order, in_order, start, stop, X_batch, Y_batch, w_batch, lo, hi
):
    """The rows ``order[start:stop]`` as kernel inputs ``(X_rows, rows, batch)``.

    With ``in_order`` (``order`` is ``arange``) they are slices of the data;
    otherwise the rows ``order[lo:hi]`` (``start <= lo <= hi <= stop``: the
    threads of a team each gather their share) are copied into the buffers
    ``X_batch`` (dense input only), ``Y_batch`` and ``w_batch``, whose first
    ``stop - start`` rows are the batch.
    """
    n_rows = stop - start
    rows = order[start:stop]
    if in_order:
        weights = targets.weights[start:stop]
        batch = Targets(targets.Y[start:stop], weights, targets.has_weight)
        return X[start:stop], rows, batch
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
def run_epoch(
    team,
    X,
    csr,
    targets,
    order,
    in_order,
    batch_size,
    theta,
    net,
    cost,
    penalty,
    optimizer,
    moments,
    step,
    buffers,
    dropout,
    fn,
    fn_delta,
    timers,
):
    """One pass over the data ``X, csr`` in mini-batches of ``batch_size`` rows.

    ``order`` is the row permutation of this epoch (drawn in Python). With
    ``in_order`` it is ``arange(n)``, and batches are read as contiguous
    slices instead of being gathered. After each batch ``optimizer`` updates
    ``theta`` and ``moments`` in place. ``penalty`` and ``dropout`` are as
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
    n_samples = order.shape[0]
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
            order,
            in_order,
            start,
            stop,
            buffers.X_batch,
            buffers.Y_batch,
            buffers.w_batch,
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


class ShardBuffers(NamedTuple):
    """What the threads of a sharded epoch share: one slot per shard.

    ``grads`` (dtype) and ``bias_sums`` (float64) hold each shard's sums
    from ``backprop``, shaped ``(n_shards, n_parameters)``; ``costs`` and
    ``weights`` its cost and weight sums; ``grad`` the batch's gradient;
    ``penalties`` (``(n_shards, 2)``) each parameter range's share of the
    weights' sum of squares and of absolute values; ``sync``
    (int64, zeros) the barrier's counters; ``failed`` (int64) is set when a
    user's cost raised in some thread.
    """

    grads: np.ndarray
    bias_sums: np.ndarray
    costs: np.ndarray
    weights: np.ndarray
    grad: np.ndarray
    penalties: np.ndarray
    sync: np.ndarray
    failed: np.ndarray


@helper
def shard_sums(
    X_rows,
    csr,
    rows,
    batch,
    theta,
    net,
    cost,
    shared,
    s,
    work,
    dropout,
    fn,
    fn_delta,
    timers,
):
    """``backprop`` of one shard into its slot ``s`` of ``shared``.

    A user's cost may raise; its exception must not leave the other threads
    waiting at the barrier, so it is caught and flagged (NaN sums and
    ``failed``), and the Python caller reports it.
    """
    grads, bias_sums = shared.grads[s], shared.bias_sums[s]
    args = (
        X_rows,
        csr,
        rows,
        batch,
        theta,
        net,
        cost,
        grads,
        bias_sums,
        work,
        dropout,
        fn,
        fn_delta,
        alone(),
        timers,
    )
    if fn is None:  # built-in costs cannot raise: no exception handling
        shared.costs[s], shared.weights[s] = backprop(*args)
        return
    try:
        shared.costs[s], shared.weights[s] = backprop(*args)
    except Exception:  # noqa: BLE001 - reported by the caller
        shared.costs[s] = np.nan
        shared.failed[0] = 1


@helper
def finish_range(theta, net, penalty, shared, n_shards, weight_sum, lo, hi, out, acc):
    """Add the shards' sums for the parameters ``[lo, hi)`` in shard order,
    normalize them as ``finish_gradient`` does into ``shared.grad``, and
    add the weights' squares and absolute values among them (before any
    update) to the running sums ``out[0]`` and ``out[1]``: consecutive
    ranges continue one sum, to the bit.

    ``acc`` (float64, at least ``hi - lo``) holds the float64 sums of the
    range: shard by shard, each loop runs along the parameters and
    vectorizes; the order of the additions of every element is that of one
    running sum over the shards.
    """
    for i in range(hi - lo):
        acc[i] = 0.0
    n_layers = net.layer_units.shape[0] - 1
    for s in range(n_shards):
        for layer in range(n_layers):
            w_start = max(net.offsets[2 * layer], lo)
            w_stop = min(net.offsets[2 * layer + 1], hi)
            for i in range(w_start, w_stop):
                acc[i - lo] += shared.grads[s, i]
            b_start = max(net.offsets[2 * layer + 1], lo)
            b_stop = min(net.offsets[2 * layer + 2], hi)
            for i in range(b_start, b_stop):
                acc[i - lo] += shared.bias_sums[s, i]
    squares = out[0]
    absolutes = out[1]
    for layer in range(n_layers):
        w_start = max(net.offsets[2 * layer], lo)
        w_stop = min(net.offsets[2 * layer + 1], hi)
        # The L1 test outside the loops, so that each loop vectorizes.
        if penalty.l1 == 0.0:
            for i in range(w_start, w_stop):
                shared.grad[i] = (acc[i - lo] + penalty.l2 * theta[i]) / weight_sum
        else:
            for i in range(w_start, w_stop):
                w = theta[i]
                total = acc[i - lo] + penalty.l2 * w
                total += penalty.l1 * ((w > 0.0) - (w < 0.0))
                shared.grad[i] = total / weight_sum
                absolutes += abs(w)
        for i in range(w_start, w_stop):  # one running sum: not vectorized
            squares += theta[i] * theta[i]
        b_start = max(net.offsets[2 * layer + 1], lo)
        b_stop = min(net.offsets[2 * layer + 2], hi)
        for i in range(b_start, b_stop):
            shared.grad[i] = acc[i - lo] / weight_sum
    out[0] = squares
    out[1] = absolutes


@kernel
def run_epoch_shard(
    thread,
    n_threads,
    X,
    csr,
    targets,
    order,
    in_order,
    batch_size,
    theta,
    net,
    cost,
    penalty,
    optimizer,
    moments,
    step,
    shared,
    buffers,
    dropout,
    fn,
    fn_delta,
    timers,
):
    """``run_epoch`` as thread ``thread`` of ``n_threads`` running it together.

    Each batch of ``m`` rows is cut into ``k = min(n_shards, m)`` shards of
    consecutive rows, shard ``s`` being rows ``[s m // k, (s + 1) m // k)``;
    thread ``t`` computes the sums of shards ``t, t + n_threads, ...``.
    After a barrier the parameter vector, cut into ``n_shards`` equal
    ranges, is reduced, normalized and updated range by range, the threads
    again taking every ``n_threads``-th range; then a second barrier. The
    shards are added in their order whatever the number of threads, so the
    result depends on ``n_shards`` only, bit for bit. Thread 0 returns the
    epoch's ``(mean batch loss, step)``; every thread returns the same step.
    ``buffers`` are this thread's ``EpochBuffers`` (without sums) for a
    shard. ``timers`` is None or this thread's row of ``_profile`` counters.
    """
    n_shards = shared.costs.shape[0]
    n_samples = order.shape[0]
    n_params = theta.shape[0]
    X_batch, Y_batch, w_batch = buffers.X_batch, buffers.Y_batch, buffers.w_batch
    work = buffers.work
    acc = np.empty(UPDATE_BLOCK)
    total = 0.0
    for start in range(0, n_samples, batch_size):
        m = min(start + batch_size, n_samples) - start
        k = min(n_shards, m)
        for s in range(thread, k, n_threads):
            clock = now(timers)
            X_rows, rows, batch = gather_batch(
                X,
                csr,
                targets,
                order,
                in_order,
                start + s * m // k,
                start + (s + 1) * m // k,
                X_batch,
                Y_batch,
                w_batch,
                start + s * m // k,
                start + (s + 1) * m // k,
            )
            lap(timers, GATHER, clock)
            shard_sums(
                X_rows,
                csr,
                rows,
                batch,
                theta,
                net,
                cost,
                shared,
                s,
                work,
                dropout,
                fn,
                fn_delta,
                timers,
            )
        clock = now(timers)
        barrier(shared.sync, n_threads)
        lap(timers, BARRIERS, clock)

        cost_sum = 0.0
        weight_sum = 0.0
        for s in range(k):
            cost_sum += shared.costs[s]
            weight_sum += shared.weights[s]
        if not np.isfinite(cost_sum):
            return cost_sum, step  # every thread stops at the same batch
        for r in range(thread, n_shards, n_threads):
            sums = shared.penalties[r]
            sums[0] = 0.0
            sums[1] = 0.0
            end = (r + 1) * n_params // n_shards
            # Block by block, as finish_and_step does.
            for lo in range(r * n_params // n_shards, end, UPDATE_BLOCK):
                hi = min(lo + UPDATE_BLOCK, end)
                clock = now(timers)
                finish_range(
                    theta, net, penalty, shared, k, weight_sum, lo, hi, sums, acc
                )
                clock = lap(timers, REDUCTION, clock)
                part = moments_range(moments, lo, hi)
                optimizer_step(optimizer, theta[lo:hi], shared.grad[lo:hi], part, step)
                lap(timers, UPDATE, clock)
        step = next_step(optimizer, step)
        clock = now(timers)
        barrier(shared.sync, n_threads)
        lap(timers, BARRIERS, clock)

        if thread == 0:
            squares = 0.0
            absolutes = 0.0
            for r in range(n_shards):
                squares += shared.penalties[r, 0]
                absolutes += shared.penalties[r, 1]
            batch_loss = penalized(cost_sum, penalty, squares, absolutes)
            total += batch_loss / weight_sum * m
    return total / n_samples, step
