"""One model trained on rows that stay on the workers of a Dask cluster.

The rows of each partition are prepared once on the worker that holds them
(``prepare_partition``: a freshly allocated, aligned, C-contiguous copy of
X, the encoded targets and the weights) and stay there. ``ClusterProblem``
is a ``Problem`` whose two seams run on those partitions:

- ``sums`` (``gd``, ``lbfgs``): ``theta`` is sent once to every worker;
  each partition's unnormalised sums (``partition_sums``, the kernels of
  ``n_jobs``) come back and are added on the client in partition order,
  so the full-batch fit is the in-memory fit that adds the same partitions
  in the same order, bit for bit.
- ``run_epoch`` (``sgd``, ``adam``): local SGD. Each partition runs the
  epoch kernel on its own rows from its own copy of the parameters and
  optimizer vectors (``partition_epoch``), in rounds of whole mini-batches;
  after every round the client's parameters are the copies' average,
  weighted by row counts, and every ``sync_every`` epochs (a fraction: after
  every round) the copies are reset to it. A partition's batches are its
  share of ``batch_size`` and Adam's step size is scaled to match
  (``local_batch_sizes``, ``local_optimizer``): the in-memory number of
  steps per epoch, so the in-memory hyper-parameters carry over. With one
  partition this is the in-memory fit, bit for bit; with several it is an
  approximation.

Only this module and ``skce.dask`` import Dask.
"""

import math
from dataclasses import dataclass

import numpy as np
from distributed import wait
from distributed.client import FutureCancelledError
from distributed.comm.core import CommClosedError
from distributed.scheduler import KilledWorker

from ._activations import Dropout, dropout_key
from ._backprop import Targets
from ._codes import SOLVER_ADAM
from ._data import weighted_classes, weighted_samples
from ._inputs import (
    Inputs,
    all_finite,
    check_sample_weight,
    encode,
    kernel_targets,
    weight_sum,
)
from ._optimizer import Moments
from ._problem import Problem
from ._shards import Shard, add_shard_sums

# A lost worker shows as one of these; an evaluation is submitted again at
# most RETRIES times.
LOST = (FutureCancelledError, KilledWorker, CommClosedError, OSError)
RETRIES = 3

# BLAS kernels may round differently for data at different addresses modulo
# the vector width: every partition starts on a 64-byte boundary.
ALIGNMENT = 64


def aligned(array, dtype):
    """A C-contiguous copy of ``array`` as ``dtype``, starting on a 64-byte
    boundary, in memory of its own."""
    array = np.asarray(array)
    size = array.size * np.dtype(dtype).itemsize
    buffer = np.empty(size + ALIGNMENT, dtype=np.uint8)
    start = -buffer.ctypes.data % ALIGNMENT
    out = buffer[start : start + size].view(dtype).reshape(array.shape)
    out[...] = array
    return out


def is_aligned(array):
    return array.flags.c_contiguous and array.ctypes.data % ALIGNMENT == 0


class Partition:
    """One partition's training rows, prepared on its worker.

    ``first_row`` is the index of its first row in the whole training set:
    the rows' dropout masks are keyed by it. Its ``Shard`` (full-batch
    sums) and its ``Problem`` (local epochs) are made when first asked for,
    and keep their buffers for the fit.
    """

    def __init__(self, X, Y, weights, first_row):
        self.X, self.Y, self.weights = X, Y, weights
        self.first_row = first_row
        self.n_rows = X.shape[0]
        self._shard = self._problem = None

    def __getstate__(self):  # moved to another worker: the buffers stay behind
        return {**vars(self), "_shard": None, "_problem": None}

    def realign(self):
        """Aligned copies again if the partition was moved (unpickled)."""
        if not is_aligned(self.X):
            self.X = aligned(self.X, self.X.dtype)
            self.Y = aligned(self.Y, self.Y.dtype)
            if self.weights is not None:
                self.weights = aligned(self.weights, self.weights.dtype)

    def targets(self):
        return kernel_targets(self.Y, self.weights)

    def shard(self, network, dtype):
        """The partition as one ``Shard`` of ``n_jobs``'s full-batch sums."""
        self.realign()
        shard = self._shard
        if shard is None or shard.grad.shape[0] != network.n_parameters:
            x = Inputs(self.X, None)
            shard = Shard.of(
                x, self.targets(), 0, self.n_rows, network, dtype, self.first_row
            )
            self._shard = shard
        return shard

    def problem(self, spec):
        """The partition's rows as a ``Problem`` on the calling thread: the
        worker runs its partitions side by side."""
        self.realign()
        problem = self._problem
        if problem is None or (problem.cost, problem.penalty) != (
            spec.cost,
            spec.penalty,
        ):
            x = Inputs(self.X, None)
            problem = Problem(x, self.targets(), spec.cost, spec.penalty, alone=True)
            self._problem = problem
        return problem


@dataclass(frozen=True)
class Spec:
    """What every task of one fit needs besides the rows: sent once."""

    network: object
    cost: object
    penalty: object


def prepare_partition(X, y, sample_weight, binarizer, dtype, per_class, first_row, i):
    """The ``Partition`` of one partition's rows (runs on a worker).

    ``per_class`` are the class weights (None: none). Raises a
    ``ValueError`` naming the partition for non-finite features or bad
    weights.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"Partition {i} of X has {X.ndim} dimension(s), not 2.")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"Partition {i} of X is not numeric: dtype {X.dtype}.")
    X = aligned(X, dtype)
    if not all_finite(X):
        raise ValueError(f"Input X contains NaN or infinity (partition {i}).")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"Partition {i} has {X.shape[0]} rows of X but {y.shape[0]} of y."
        )
    Y = aligned(encode(binarizer, y, dtype), dtype)
    weights = check_sample_weight(sample_weight, X.shape[0], dtype, all_rows=False)
    if per_class is not None:
        weights = weighted_samples(per_class, Y, weights)
    if weights is not None:
        weights = aligned(weights, dtype)
    return Partition(X, Y, weights, first_row)


def partition_summary(partition):
    """``(n_rows, weight_sum, classes with a positive weight)`` of a partition."""
    total = weight_sum(partition.targets())
    return partition.n_rows, total, weighted_classes(partition.Y, partition.weights)


def partition_sums(partition, theta, spec, dropout):
    """Unnormalised cost, weight and gradient sums of one partition."""
    shard = partition.shard(spec.network, theta.dtype)
    sums = shard.sums(spec.network, theta, spec.cost, spec.penalty, dropout)
    return sums, shard.grad.copy(), shard.bias_sums.copy()


@dataclass
class LocalState:
    """A partition's copy of the parameters and optimizer in local SGD."""

    theta: np.ndarray
    moments: Moments
    step: int
    loss: float = math.nan


def partition_epoch(partition, state, spec, task, dropout):
    """Mini-batch steps on one partition's rows, from ``state`` (copied: a
    synchronised state is shared by the worker's partitions). ``task`` is
    ``(optimizer, rows, batch_size)``; ``rows`` None means all of them in
    order."""
    optimizer, rows, batch_size = task
    if rows is not None and rows.shape[0] == 0:
        return LocalState(state.theta, state.moments, state.step, 0.0)
    theta = state.theta.copy()
    moments = Moments(*(vector.copy() for vector in state.moments))
    loss, step = partition.problem(spec).run_epoch(
        spec.network, theta, optimizer, moments, state.step, rows, batch_size, dropout
    )
    return LocalState(theta, moments, step, loss)


def worker_sums(partitions, theta, spec, dropout):
    """``partition_sums`` of several partitions on one worker, in order."""
    return [partition_sums(p, theta, spec, dropout) for p in partitions]


def worker_epochs(partitions, states, spec, tasks, dropouts):
    """``partition_epoch`` of several partitions on one worker, in order;
    ``states`` is one ``LocalState`` for all (after a synchronisation) or a
    list with one per partition."""
    if isinstance(states, LocalState):
        states = [states] * len(partitions)
    return [
        partition_epoch(p, state, spec, task, dropout)
        for p, state, task, dropout in zip(
            partitions, states, tasks, dropouts, strict=True
        )
    ]


def local_batch_sizes(batch_size, sizes):
    """Each partition's mini-batch size: its share of ``batch_size``,
    rounded up, so that every partition takes as many steps per epoch as
    the in-memory fit (one partition: ``batch_size`` itself)."""
    n_samples = sum(sizes)
    return [max(-(-batch_size * n_rows // n_samples), 1) for n_rows in sizes]


def local_optimizer(optimizer, batch_size, local_batch):
    """The optimizer of a partition whose batches are ``batch_size /
    local_batch = k`` times smaller than the fit's.

    SGD's step is linear in the gradient: the average of k copies that each
    stepped on k times fewer rows moves as the in-memory fit, and only its
    noise is averaged away. Adam's is not: its second moment estimates the
    squared gradient of the smaller batch, which is mostly noise, so each
    copy's steps shrink by up to sqrt(k). Adam's step size is multiplied by
    sqrt(k), which restores the in-memory fit's drift and, once k copies
    are averaged, its noise (the square-root scaling rule of adaptive
    methods, Malladi et al. 2022).
    """
    if optimizer.solver != SOLVER_ADAM or local_batch == batch_size:
        return optimizer
    scale = math.sqrt(batch_size / local_batch)
    return optimizer._replace(learning_rate=optimizer.learning_rate * scale)


def sync_schedule(sync_every, n_partitions):
    """``(rounds per epoch, rounds between two averages)`` for a
    ``sync_every`` in epochs: a fraction 1/R splits each epoch into R
    rounds of whole mini-batches, averaged after each; one partition has
    nothing to average, and takes its epoch in one round."""
    if sync_every >= 1:
        return 1, int(sync_every)
    return (1 if n_partitions == 1 else max(round(1 / sync_every), 1)), 1


def round_rows(n_rows, batch_size, r, rounds):
    """The rows ``[lo, hi)`` of round ``r`` of ``rounds`` in one partition's
    epoch: whole mini-batches, shared out evenly."""
    n_batches = -(-n_rows // batch_size)
    lo = r * n_batches // rounds * batch_size
    hi = min((r + 1) * n_batches // rounds * batch_size, n_rows)
    return lo, hi


def _rows_of(order, lo, hi, n_rows):
    """Positions ``lo:hi`` of a partition's epoch order (None: in order)."""
    if lo == 0 and hi == n_rows:
        return order
    return (np.arange(n_rows) if order is None else order)[lo:hi]


def weighted_average(values, shares):
    """``sum_p shares[p] * values[p]``, in partition order; the first term
    starts the sum, so that one partition (share 1.0) keeps its bits."""
    total = shares[0] * values[0]
    for share, value in zip(shares[1:], values[1:], strict=True):
        total += share * value
    return total


class ClusterProblem(Problem):
    """A ``Problem`` whose rows are the persisted partitions of a cluster.

    Each evaluation is one task per worker, for the partitions it holds,
    with ``theta`` in the task: it travels once to each worker. The
    results are put back in partition order before they are added.

    Parameters
    ----------
    client : distributed.Client
        The client of the cluster that holds the partitions.
    partitions : list of Future
        The ``Partition`` of each partition, in row order.
    summaries : list of tuple
        Their ``partition_summary``.
    cost, penalty, dropout_rates
        As for ``Problem``.
    sync_every : int or float
        Epochs of local SGD between two averages of the copies (see
        ``sync_schedule``).
    """

    def __init__(
        self, client, partitions, summaries, cost, penalty, dropout_rates, sync_every
    ):
        empty = Targets(np.empty((0, 0)), np.empty(0), False)
        # The rows stay on the workers: dense partitions, none here.
        super().__init__(Inputs(None, None), empty, cost, penalty, dropout_rates)
        self.client = client
        self.partitions = partitions
        self.sizes = [n_rows for n_rows, _, _ in summaries]
        self.n_samples = sum(self.sizes)
        self._weight_sum = math.fsum(total for _, total, _ in summaries)
        self.sync_every = sync_every
        self._spec = None
        self._groups = None  # {worker: indices of the partitions it holds}
        self._states = None  # {worker: future of its partitions' LocalStates}
        self._shares = [n_rows / self.n_samples for n_rows in self.sizes]
        self._rounds = 0

    def weight_sum(self):
        return self._weight_sum

    def _setup(self, network):
        """The spec future and the partitions' grouping by worker (again
        after a lost worker)."""
        if self._spec is None:
            spec = Spec(network, self.cost, self.penalty)
            self._spec = self.client.scatter(spec, hash=False)
        if self._groups is None:
            holders = self.client.who_has(self.partitions)
            groups = {}
            for index, future in enumerate(self.partitions):
                worker = min(holders.get(future.key) or [None], key=str)
                groups.setdefault(worker, []).append(index)
            self._groups = groups
        return self._spec, self._groups

    def _submit(self, function, worker, *args):
        # Pinned where the partitions are, but free to run elsewhere if that
        # worker is gone (its partitions are then recomputed there).
        workers = None if worker is None else [worker]
        return self.client.submit(
            function, *args, workers=workers, allow_other_workers=True, pure=False
        )

    def _gather(self, submit):
        """The results of ``submit()``'s futures, ``{worker: future}``,
        as one list in partition order. If a worker was lost on the way,
        everything is submitted again from the client's state (lost
        partitions are recomputed on a worker that lives), at most
        ``RETRIES`` times."""
        for attempt in range(RETRIES + 1):
            try:
                futures = submit()
                results = self.client.gather(futures)
                ordered = [None] * len(self.partitions)
                for worker, values in results.items():
                    for index, value in zip(self._groups[worker], values, strict=True):
                        ordered[index] = value
                return ordered
            except LOST as error:
                if attempt == RETRIES:
                    raise RuntimeError(
                        f"The cluster lost workers during {RETRIES + 1} attempts "
                        "at one evaluation; the fit stopped, and the estimator "
                        "is left as it was before it."
                    ) from error
                self._spec = self._groups = self._states = None
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def sums(self, network, theta, grad, bias_sums, dropout=None):
        def submit():
            spec, groups = self._setup(network)
            return {
                worker: self._submit(
                    worker_sums,
                    worker,
                    [self.partitions[i] for i in indices],
                    theta,
                    spec,
                    dropout,
                )
                for worker, indices in groups.items()
            }

        results = self._gather(submit)
        sums = [result[0] for result in results]
        parts = [(part_grad, part_bias) for _, part_grad, part_bias in results]
        return add_shard_sums(network.net, sums, parts, grad, bias_sums)

    def run_epoch(
        self, network, theta, optimizer, moments, step, order, batch_size, dropout=None
    ):
        orders = self._orders(order)
        dropouts = [_partition_dropout(dropout, p) for p in range(len(orders))]
        batches = local_batch_sizes(batch_size, self.sizes)
        optimizers = [local_optimizer(optimizer, batch_size, b) for b in batches]
        rounds, every = sync_schedule(self.sync_every, len(self.sizes))
        loss = 0.0
        for r in range(rounds):
            spans = [
                round_rows(n_rows, b, r, rounds)
                for n_rows, b in zip(self.sizes, batches, strict=True)
            ]
            tasks = [
                (optimizers[p], _rows_of(orders[p], lo, hi, self.sizes[p]), batches[p])
                for p, (lo, hi) in enumerate(spans)
            ]
            sync = self._rounds % every == 0
            self._rounds += 1
            states = self._local_round(
                network, theta, moments, step, sync, tasks, dropouts
            )
            theta[...] = weighted_average([s.theta for s in states], self._shares)
            for k, vector in enumerate(moments):
                if vector.shape[0]:
                    vector[...] = weighted_average(
                        [s.moments[k] for s in states], self._shares
                    )
            step = max(s.step for s in states)
            weights = [(hi - lo) / self.n_samples for lo, hi in spans]
            loss += weighted_average([s.loss for s in states], weights)
        return loss, step

    def _local_round(self, network, theta, moments, step, sync, tasks, dropouts):
        """Each partition's ``LocalState`` after its ``tasks`` ``(optimizer,
        rows, batch size)``, from the average (``sync``) or its own copy."""

        def submit():
            spec, groups = self._setup(network)
            if sync or self._states is None:
                # After a lost worker the copies restart from the average.
                start = LocalState(theta, moments, step)
                self._states = dict.fromkeys(groups, start)
            self._states = {
                worker: self._submit(
                    worker_epochs,
                    worker,
                    [self.partitions[i] for i in indices],
                    self._states[worker],
                    spec,
                    [tasks[i] for i in indices],
                    [dropouts[i] for i in indices],
                )
                for worker, indices in groups.items()
            }
            return self._states

        return self._gather(submit)

    def _orders(self, order):
        """Each partition's rows in the order they come in ``order``."""
        if order is None:
            return [None] * len(self.partitions)
        starts = np.cumsum([0, *self.sizes])
        owner = np.searchsorted(starts, order, side="right") - 1
        return [order[owner == p] - starts[p] for p in range(len(self.partitions))]

    def close(self):
        """Forget the futures of this fit (the partitions stay persisted)."""
        super().close()
        self._spec = self._groups = self._states = None


def _partition_dropout(dropout, p):
    """Partition ``p``'s masks: local SGD keys rows by their index in the
    partition, so each partition after the first gets a key of its own."""
    if dropout is None or p == 0:
        return dropout
    return Dropout(dropout.rates, np.uint64(dropout_key(int(dropout.key) >> 1, p)))


def persist_partitions(client, parts, binarizer, dtype, per_class):
    """Prepare and persist a ``Partition`` per ``(X, y, weight, first_row)``
    of dask delayed parts, one per partition; returns their futures and
    summaries."""
    from dask import delayed

    tasks = [
        delayed(prepare_partition, pure=True)(
            X, y, w, binarizer, dtype, per_class, first_row, i
        )
        for i, (X, y, w, first_row) in enumerate(parts)
    ]
    futures = client.compute(tasks)
    wait(futures)
    summaries = client.gather(client.map(partition_summary, futures, pure=False))
    return futures, summaries
