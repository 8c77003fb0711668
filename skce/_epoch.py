"""The epoch kernel: a pass over the data in batches, which either steps the
optimizer after each batch (``sgd``, ``adam``) or adds up the batches'
gradient sums (the full batch of ``gd`` and ``lbfgs``, in chunks).

One compiled kernel serves every way of running it, so a fit compiles it
once per dtype and input form, whatever its options (``_pieces``) and its
threads:

- a team (``_team``) whose threads share the column blocks of each batch's
  products, a team of one being the plain call;
- ``n_jobs`` shards: each batch cut into shards of rows, one per thread,
  then reduced and stepped by ranges of parameters (``ShardSlots``);
- the sums of all batches (``Calls.step`` is 0), for the full-batch
  solvers: the rows in chunks that stay in the CPU's cache.
"""

import functools
from typing import NamedTuple

import numpy as np
from numba import types

from ._activations import identity
from ._ahead import Group, KernelUnit, PieceUnit, planned
from ._backprop import (
    BACKWARD,
    FORWARD,
    Calls,
    Targets,
    accumulate,
    from_first,
    normalize_range,
    penalized,
    penalty_sums,
    workspace_size,
)
from ._compiled import helper, kernel
from ._optimizer import Moments, step_piece
from ._pieces import Deferred, signature_of
from ._profile import GATHER, PENALTY, REDUCTION, UPDATE, lap, now
from ._team import Team, meet


class Batches(NamedTuple):
    """An epoch's batches: the rows in ``order``, ``size`` at a time.

    With ``in_order``, ``order`` is ``arange(n)`` and the batches are read
    as contiguous slices instead of being gathered.
    """

    order: np.ndarray
    in_order: bool
    size: int


class Epoch(NamedTuple):
    """What an epoch kernel trains, and how: the target rows, the batches,
    the parameters ``theta`` and the ``Net``, the ``Calls`` (the fit's
    pieces), the ``Penalty``, and the optimizer's hyper-parameters
    (``Optimizer.hyper``), ``Moments`` and step count (the kernel returns
    the new count). Whatever may be None (the sparse input, dropout, the
    timers) is passed apart, so that Numba drops its code where it is
    None."""

    targets: Targets
    batches: Batches
    theta: np.ndarray
    net: tuple
    calls: tuple
    penalty: tuple
    hyper: np.ndarray
    moments: tuple
    step: int


class EpochBuffers(NamedTuple):
    """An epoch's scratch space, shared by the threads of a team: buffers
    for the rows of a batch gathered in the epoch's order (``X_batch``,
    dense input only; ``Y_batch``; ``w_batch``, with sample weights), the
    kernels' ``work``, ``costs`` and ``status`` (``_output``), and the
    batch's gradient sums ``grad`` (dtype) and ``bias_sums`` (float64),
    shaped like ``theta``. When batches are added up, ``grad`` and
    ``bias_sums`` take the total and ``parts`` the sums of every batch but
    the first; ``parts`` are empty otherwise, and ``grad`` and
    ``bias_sums`` too where the caller keeps its sums elsewhere (shards)."""

    X_batch: np.ndarray
    Y_batch: np.ndarray
    w_batch: np.ndarray
    work: np.ndarray
    costs: np.ndarray
    status: np.ndarray
    grad: np.ndarray
    bias_sums: np.ndarray
    parts: tuple


def epoch_buffers(x, targets, in_order, n_rows, theta, net, sums=True, parts=False):
    """``EpochBuffers`` for batches of up to ``n_rows`` rows of the kernel
    input ``x`` (``X, csr``), allocated here so that the kernels allocate
    nothing; without ``sums``, no gradient sums; with ``parts``, room to add
    up batches."""
    csr = x[1]
    n_features = int(net.layer_units[0])
    n_outputs = int(net.layer_units[-1])
    gather_x = n_rows * n_features if (not in_order and csr is None) else 0
    gather_y = n_rows if not in_order else 0
    dtype = theta.dtype
    n_sums = theta.shape[0] if sums else 0
    n_parts = theta.shape[0] if parts else 0
    return EpochBuffers(
        np.empty(gather_x, dtype=dtype),
        np.empty((gather_y, n_outputs), dtype=dtype),
        np.empty(gather_y if targets.has_weight else 0, dtype=dtype),
        np.empty(
            workspace_size(net.layer_units, n_rows, net.keeps_inputs), dtype=dtype
        ),
        np.empty(n_rows),
        np.zeros(2 + 2 * n_outputs),
        np.empty(n_sums, dtype=dtype),
        np.empty(n_sums),
        (np.empty(n_parts, dtype=dtype), np.empty(n_parts)),
    )


class ShardSlots(NamedTuple):
    """What the threads of a sharded epoch share: one slot per shard.

    ``grads`` (dtype) and ``bias_sums`` (float64) hold each shard's sums
    from ``backprop``, shaped ``(n_shards, n_parameters)``; ``costs`` and
    ``weights`` its cost and weight sums; ``grad`` (dtype) and
    ``bias_total`` (float64) the batch's sums, then its gradient, in the
    types of one thread's (``EpochBuffers``); ``penalties``
    (``(n_shards, 2)``) each parameter range's share of the weights' sum of
    squares and of absolute values. With no shard (``NO_SHARDS``), the
    epoch runs on a team.
    """

    grads: np.ndarray
    bias_sums: np.ndarray
    costs: np.ndarray
    weights: np.ndarray
    grad: np.ndarray
    bias_total: np.ndarray
    penalties: np.ndarray


def shard_slots(n_shards, n_parameters, dtype):
    """Zeroed ``ShardSlots`` for ``n_shards`` shards (0: ``NO_SHARDS``)."""
    return ShardSlots(
        grads=np.zeros((n_shards, n_parameters), dtype=dtype),
        bias_sums=np.zeros((n_shards, n_parameters)),
        costs=np.zeros(n_shards),
        weights=np.zeros(n_shards),
        grad=np.zeros(n_parameters if n_shards else 0, dtype=dtype),
        bias_total=np.zeros(n_parameters if n_shards else 0),
        penalties=np.zeros((n_shards, 2)),
    )


#: The hyper-parameters of an epoch that takes no step.
NO_HYPER = np.zeros(6)


@functools.cache
def no_moments(dtype):
    """The ``Moments`` of an epoch that takes no step (empty, so shared)."""
    empty = np.empty(0, dtype=dtype)
    return Moments(empty, empty, empty)


@functools.cache
def no_shards(dtype):
    """The ``ShardSlots`` of an epoch that runs on a team, for ``dtype``
    (empty, so shared)."""
    return shard_slots(0, 0, np.dtype(dtype))


@helper
def gather(X, csr, n_features, targets, order, start, lo, hi, buffers):
    """Copy the rows ``order[lo:hi]`` of a batch that starts at
    ``order[start]`` into the ``EpochBuffers`` ``X_batch`` (dense input
    only, flat), ``Y_batch`` and ``w_batch``, at their places in the batch:
    the threads of a team each gather their share."""
    X_batch, Y_batch, w_batch = buffers.X_batch, buffers.Y_batch, buffers.w_batch
    n_outputs = targets.Y.shape[1]
    for i in range(lo - start, hi - start):
        r = order[start + i]
        if csr is None:
            source = X[r * n_features : (r + 1) * n_features]
            target = X_batch[i * n_features : (i + 1) * n_features]
            for j in range(n_features):
                target[j] = source[j]
        for j in range(n_outputs):
            Y_batch[i, j] = targets.Y[r, j]
        if targets.has_weight:
            w_batch[i] = targets.weights[r]


@helper
def step_range(theta, grad, calls, hyper, moments, step, lo, hi):
    """The optimizer's step (``calls.step``) on the parameters ``[lo, hi)``;
    returns the new step count, the same for any range, empty included."""
    return step_piece(
        calls.step,
        hi - lo,
        theta[lo:],
        grad[lo:],
        moments.velocity[lo:],
        moments.m[lo:],
        moments.v[lo:],
        hyper,
        step,
    )


@helper
def update(theta, net, penalty, weight_sum, grad, bias_sums, calls, hyper, moments,
           step, lo, hi):  # fmt: skip
    """Finish the gradient of the parameters ``[lo, hi)`` from a batch's
    sums (``normalize_range``) and step the optimizer on them (the step
    piece ``calls.step``); returns the new step count."""
    normalize_range(theta, net, penalty, weight_sum, grad, bias_sums, lo, hi)
    return step_range(theta, grad, calls, hyper, moments, step, lo, hi)


class Parts(NamedTuple):
    """The addresses of the epoch kernel's parts (``_pieces.Deferred``),
    each compiled only for a run that reaches it (0: not reached): the
    ``forward`` and ``backward`` passes, the rows' ``gather`` (shuffled
    batches), the ``penalty`` and the ``update`` of a team's step, the
    shards' step (``step_shards``) and the adding up of batches
    (``accumulate``). ``run`` fills them in."""

    forward: int
    backward: int
    gather: int
    penalty: int
    update: int
    step_shards: int
    accumulate: int


@kernel
def run_epoch(team, X, csr, epoch, buffers, slots, parts, dropout, timers):
    """One pass over the data ``X, csr`` (``X`` flat) in the batches of
    ``epoch``, in one of two modes chosen by ``epoch.calls``:

    - a step piece (``calls.step``): the optimizer updates ``epoch.theta``
      and ``epoch.moments`` in place after each batch, and the kernel
      returns ``(mean batch loss, 0, step)``: the batch losses averaged with
      the batch sizes as weights, as scikit-learn reports ``loss_``. It
      stops early and returns a non-finite loss as soon as a batch loss is
      not finite.
    - no step piece: it adds up every batch's sums into ``buffers.grad``
      and ``buffers.bias_sums`` and returns ``(cost sum, weight sum,
      step)``, as ``backward`` does for their union.

    ``epoch.batches.order`` is the rows' order in this epoch (drawn in
    Python). Every thread of ``team`` calls this with the same arguments (a
    team of one, ``ALONE``, is the plain call), and each batch is computed
    in one of two ways:

    - without shards (``slots`` of ``no_shards``), the threads gather a
      share of the batch's rows each, run ``forward`` and ``backward``
      together, then each finishes the gradient and steps the optimizer (or
      adds the sums) on its own range of parameters: every element is
      computed as one thread would, so the numbers do not depend on the
      team's size. Thread 0 adds up the penalty before the products, while
      the parameters are still.
    - with ``n_shards`` shards, each batch of ``m`` rows is cut into ``k =
      min(n_shards, m)`` shards of consecutive rows, shard ``s`` being rows
      ``[s m // k, (s + 1) m // k)``; thread ``t`` computes the sums of
      shards ``t, t + team.size, ...`` into their ``slots``, then the
      threads reduce and step (``step_shards``, at ``slots.step_shards``).
      The result depends on ``n_shards`` only, bit for bit. ``buffers`` are
      then this thread's, for a shard, without sums.

    A user's cost runs in a team of one only. ``timers``: None, or this
    thread's row of ``_profile`` counters.
    """
    targets, batches, theta, net, calls, penalty, hyper, moments, step = epoch
    n_samples = batches.order.shape[0]
    batch_size = batches.size
    n_params = theta.shape[0]
    n_features = net.layer_units[0]
    has_weight = targets.has_weight
    n_shards = slots.costs.shape[0]
    sharded = n_shards > 0
    summing = calls.step == 0
    thread, n_threads = team.thread, team.size
    lo = thread * n_params // n_threads
    hi = (thread + 1) * n_params // n_threads
    alone = Team(0, 1, team.sync, team.broadcast, False)  # never meets anyone
    part_grad, part_bias = buffers.parts
    total = 0.0
    total_weight = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        m = stop - start
        squares = 0.0
        absolutes = 0.0
        cost_sum = 0.0
        weight_sum = 0.0
        # The batch's parts: the whole batch on the team, or its shards.
        k = min(n_shards, m) if sharded else 1
        for s in range(thread if sharded else 0, k, n_threads if sharded else 1):
            clock = now(timers)
            if sharded:
                first_row, last_row = start + s * m // k, start + (s + 1) * m // k
                share_lo, share_hi = first_row, last_row
            else:
                first_row, last_row = start, stop
                share_lo = start + thread * m // n_threads
                share_hi = start + (thread + 1) * m // n_threads
            rows = batches.order[first_row:last_row]
            if batches.in_order:  # slices of the data
                X_rows = X[first_row * n_features : last_row * n_features]
                weights = targets.weights[first_row:last_row]
                batch = Targets(targets.Y[first_row:last_row], weights, has_weight)
            else:  # gathered into the buffers, by the threads of the team
                call_gather(
                    parts.gather, X, csr, n_features, targets, batches.order,
                    first_row, share_lo, share_hi, buffers,
                )  # fmt: skip
                n_rows = last_row - first_row
                X_rows = buffers.X_batch[: n_rows * n_features if csr is None else 0]
                weights = buffers.w_batch[: n_rows if has_weight else 0]
                batch = Targets(buffers.Y_batch[:n_rows], weights, has_weight)
            clock = lap(timers, GATHER, clock)
            grad, bias_sums = buffers.grad, buffers.bias_sums
            if sharded:
                grad, bias_sums = slots.grads[s], slots.bias_sums[s]
            else:
                if not summing and thread == 0:
                    squares, absolutes = call_penalty(
                        parts.penalty, theta, net, penalty
                    )
                lap(timers, PENALTY, clock)
                # Also the barrier after the team gathered its shares.
                squares, absolutes = from_first(team, squares, absolutes, 2, timers)
                if summing and start > 0:
                    grad, bias_sums = part_grad, part_bias  # then to the total
            on = alone if sharded else team
            logits = call_forward(
                parts.forward, X_rows, csr, rows, theta, net, calls, buffers.work,
                dropout, on, timers,
            )  # fmt: skip
            cost_sum, weight_sum = call_backward(
                parts.backward,
                X_rows,
                csr,
                rows,
                batch,
                theta,
                net,
                calls,
                grad,
                bias_sums,
                buffers.work,
                logits,
                buffers.costs,
                buffers.status,
                dropout,
                on,
                timers,
            )
            if sharded:
                slots.costs[s], slots.weights[s] = cost_sum, weight_sum

        if sharded:
            batch_loss, step = call_step_shards(
                parts.step_shards, team, epoch, slots, k, n_shards, step, timers
            )
            if not np.isfinite(batch_loss):
                return batch_loss, 0.0, step  # every thread stops at the same batch
            total += batch_loss * m
        elif summing:
            total += cost_sum
            total_weight += weight_sum
            if buffers.status[0] != 0:
                return total, total_weight, step  # a user's cost failed
            if start > 0:
                call_accumulate(
                    parts.accumulate, net, part_grad, part_bias, buffers.grad,
                    buffers.bias_sums, lo, hi, False,
                )  # fmt: skip
                meet(team, timers)
        else:
            batch_loss = penalized(cost_sum, penalty, squares, absolutes) / weight_sum
            if not np.isfinite(batch_loss):
                return batch_loss, 0.0, step  # every thread stops at the same batch
            total += batch_loss * m
            clock = now(timers)
            step = call_update(
                parts.update, theta, net, penalty, weight_sum, buffers.grad,
                buffers.bias_sums, calls, hyper, moments, step, lo, hi,
            )  # fmt: skip
            lap(timers, UPDATE, clock)
            meet(team, timers)
    if summing:
        return total, total_weight, step
    return total / n_samples, 0.0, step


# The sharded epoch reduces, finishes and steps the gradient in ranges of
# this many parameters (see shard_epoch).
UPDATE_RANGE = 512


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


@helper
def step_shards(team, epoch, slots, k, n_shards, step, timers):
    """A sharded batch's step, once its ``k`` shards' sums are in ``slots``.

    After a barrier the parameter vector, cut into ``n_shards`` equal
    ranges, is reduced (``accumulate``, in shard order), normalized
    (``normalize_range``) and updated range by range, the threads taking
    every ``team.size``-th range; then a second barrier. The shards are
    added in their order whatever the number of threads. Returns thread
    0's ``(batch loss, step)`` (others: 0 and the same step); a non-finite
    cost stops every thread before the step.
    """
    theta, net, calls, penalty = epoch.theta, epoch.net, epoch.calls, epoch.penalty
    n_params = theta.shape[0]
    thread, n_threads = team.thread, team.size
    meet(team, timers)
    cost_sum = 0.0
    weight_sum = 0.0
    for s in range(k):
        cost_sum += slots.costs[s]
        weight_sum += slots.weights[s]
    if not np.isfinite(cost_sum):
        return cost_sum, step
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
            normalize_range(theta, net, penalty, weight_sum, grad, bias_total, lo, hi)
            clock = lap(timers, REDUCTION, clock)
            step_range(theta, grad, calls, epoch.hyper, epoch.moments, step, lo, hi)
            lap(timers, UPDATE, clock)
    step = step_range(theta, slots.grad, calls, epoch.hyper, epoch.moments, step, 0, 0)
    meet(team, timers)
    batch_loss = 0.0
    if thread == 0:
        squares = 0.0
        absolutes = 0.0
        for r in range(n_shards):
            squares += slots.penalties[r, 0]
            absolutes += slots.penalties[r, 1]
        batch_loss = penalized(cost_sum, penalty, squares, absolutes) / weight_sum
    return batch_loss, step


# Compiled when a fit first runs shards, or adds up the sums of several
# chunks; called by address (``_pieces.Deferred``).
GATHER_ROWS = Deferred(gather, types.none)
PENALTY_SUMS = Deferred(penalty_sums, types.UniTuple(types.float64, 2))
UPDATE_RANGE_PART = Deferred(update, types.int64)
STEP_SHARDS = Deferred(step_shards, types.Tuple((types.float64, types.int64)))
ACCUMULATE = Deferred(accumulate, types.none)
call_forward = FORWARD.caller
call_backward = BACKWARD.caller
call_gather = GATHER_ROWS.caller
call_penalty = PENALTY_SUMS.caller
call_update = UPDATE_RANGE_PART.caller
call_step_shards = STEP_SHARDS.caller
call_accumulate = ACCUMULATE.caller


class Options(NamedTuple):
    """A run's options as pieces, chosen in Python: the hidden
    ``activation`` (its derivative only to train), the ``cost`` (None: the
    run predicts, ``_backprop.predict_logits``), the optimizer's ``step``
    piece (None: the run adds up sums), for arrays of ``dtype``; ``later()``
    gives the units (``_ahead``) the caller runs after the run, compiled
    along with it. An ``Epoch`` holds them as its ``calls`` until ``run``
    resolves them to ``Calls``."""

    activation: object
    cost: object
    step: object
    dtype: np.dtype
    later: object = tuple

    def key(self):
        """What sets the run's code: all but ``later``."""
        return self.activation, self.cost, self.step, self.dtype

    def pieces(self):
        """The pieces the run calls."""
        activation = self.activation.pieces()
        pieces = [activation.forward, identity]
        if self.cost is not None:
            pieces += [activation.derivative, self.cost.piece()]
        if self.step is not None:
            pieces.append(self.step)
        return pieces

    def calls(self):
        """The ``Calls``: the pieces' addresses."""
        activation, dtype = self.activation.pieces(), self.dtype
        training = self.cost is not None
        return Calls(
            activation.forward.address(dtype),
            activation.derivative.address(dtype) if training else 0,
            identity.address(dtype),
            self.cost.piece().address(dtype) if training else 0,
            float(self.cost.parameter) if training else 0.0,
            0 if self.step is None else self.step.address(dtype),
            float(self.activation.parameter),
        )


#: ``Calls`` and ``Parts`` of no address, of the types the kernel takes.
NO_CALLS = Calls(0, 0, 0, 0, 0.0, 0, 0.0)
NO_PARTS = Parts(0, 0, 0, 0, 0, 0, 0)


class Branches(NamedTuple):
    """What decides which parts a run reaches, besides the arguments'
    types: the run adds up sums (else it steps), on shards, in chunks of
    the batch size, with the rows in order. ``run`` keys its plan by these,
    and ``_reached`` reads them from here only, so the two cannot differ."""

    summing: bool
    sharded: bool
    chunked: bool
    in_order: bool

    @classmethod
    def of(cls, epoch, slots):
        summing = epoch.calls.step is None
        batches = epoch.batches
        chunked = summing and batches.order.shape[0] > batches.size
        return cls(summing, slots.costs.shape[0] > 0, chunked, batches.in_order)


def _reached(team, X, csr, epoch, buffers, slots, dropout, timers, branches):
    """The deferred parts ``run_epoch`` reaches with these arguments and
    ``branches``, with the signature of each (None: not reached), in
    ``Parts`` order."""
    net, calls, order = epoch.net, epoch.calls, epoch.batches.order
    common = (epoch.theta, net, calls)
    forward = signature_of(X, csr, order, *common, buffers.work, dropout, team, timers)
    gather = penalty = update = step_shards = accumulate = None
    backward = signature_of(
        X, csr, order, epoch.targets, *common, buffers.grad, buffers.bias_sums,
        buffers.work, 0, buffers.costs, buffers.status, dropout, team, timers,
    )  # fmt: skip
    if not branches.in_order:
        gather = signature_of(X, csr, 0, epoch.targets, order, 0, 0, 0, buffers)
    if not (branches.summing or branches.sharded):
        penalty = signature_of(epoch.theta, net, epoch.penalty)
        update = signature_of(
            epoch.theta, net, epoch.penalty, 0.0, buffers.grad, buffers.bias_sums,
            calls, epoch.hyper, epoch.moments, 0, 0, 0,
        )  # fmt: skip
    if branches.sharded:
        step_shards = signature_of(team, epoch, slots, 0, 0, 0, timers)
    if branches.chunked:
        part_grad, part_bias = buffers.parts
        accumulate = signature_of(
            net, part_grad, part_bias, buffers.grad, buffers.bias_sums, 0, 0, False
        )
    return Parts(forward, backward, gather, penalty, update, step_shards, accumulate)


_DEFERRED = Parts(
    FORWARD, BACKWARD, GATHER_ROWS, PENALTY_SUMS, UPDATE_RANGE_PART, STEP_SHARDS,
    ACCUMULATE,
)  # fmt: skip


def run(team, X, csr, epoch, buffers, slots, dropout, timers):
    """``run_epoch`` on ``X`` (flat) for ``epoch``, whose ``calls`` are its
    ``Options``: every caller in Python runs the epoch kernel through this.

    The first run of a configuration lists the units it reaches (its
    pieces, the kernel and its parts, and ``Options.later``) and has
    ``_ahead`` compile them, in two processes when the cache is cold; later
    runs find their ``Calls`` and ``Parts`` kept there. While units are
    collected (``_ahead.collecting``) nothing runs, and the result is NaN.
    """
    options = epoch.calls
    branches = Branches.of(epoch, slots)
    key = (run_epoch, *options.key(), csr is None, dropout is None, timers is None)
    key += (X.flags.aligned, *branches)
    typed = epoch._replace(calls=NO_CALLS)

    def reached():
        return _reached(team, X, csr, typed, buffers, slots, dropout, timers, branches)

    def units():
        parts = [
            KernelUnit(deferred.dispatcher, signature)
            for deferred, signature in zip(_DEFERRED, reached(), strict=True)
            if signature is not None
        ]
        kernel = signature_of(
            team, X, csr, typed, buffers, slots, NO_PARTS, dropout, timers
        )
        # Units that share helpers go to one process together: the passes
        # (the products'), and the parts of the team's step; the shards' step
        # and the sums' accumulation apart.
        passes, rest = parts[:2], parts[2:]
        apart = [part for part in rest if part.dispatcher in (step_shards, accumulate)]
        together = [part for part in rest if part not in apart]
        return [
            *(PieceUnit(piece, options.dtype) for piece in options.pieces()),
            KernelUnit(run_epoch, kernel),
            Group(passes),
            *([Group(together)] if together else []),
            *apart,
            *options.later(),
        ]

    def resolve():
        addresses = (
            0 if signature is None else deferred.address(signature)
            for deferred, signature in zip(_DEFERRED, reached(), strict=True)
        )
        return options.calls(), Parts(*addresses)

    found = planned(key, units, resolve)
    if found is None:
        return np.nan, 0.0, epoch.step  # collected: nothing runs
    calls, parts = found
    epoch = epoch._replace(calls=calls)
    return run_epoch(team, X, csr, epoch, buffers, slots, parts, dropout, timers)
