"""``n_jobs``: one fit's rows split into shards, each on its own core.

``ShardedProblem`` is a ``Problem`` whose two seams run on several threads:

- ``sums`` (``gd``, ``lbfgs``): the rows are cut into ``n_shards`` shards
  of consecutive rows; each shard's sums are computed by the ``nogil``
  epoch kernel in its own thread, in chunks of rows small enough for the
  CPU's cache (``Shard``), and the shards are added in their order.
- ``run_epoch`` (``sgd``, ``adam``): every mini-batch is cut the same way.
  The threads run the epoch kernel together (``_epoch.shard_epoch``), meet
  at a spinning barrier after the shards' sums and after the update, and
  split the reduction and the optimizer step by parameter ranges.

Both run the one compiled epoch kernel of ``n_jobs=None``: a first fit with
``n_jobs`` compiles nothing more.

The result depends on the number of shards only: the shards are always
added in the same order and every product runs on its own thread
(``_blas``), whatever the number of threads. That number is the fit's share
of the cores it is given (``_cores.thread_share``), asked again before every
epoch or evaluation, so fits running side by side, or nested in an outer
layer of parallelism, do not oversubscribe the machine; with a single
thread the shards are computed one after the other, to the same bits.

Splitting pays only when each shard has enough work: a batch whose shards
would have fewer than ``SHARD_WORK`` multiply-adds in their matrix
products is not split, and then the fit is exactly the ``n_jobs=1`` fit.
Nor is a mini-batch whose products are cut into at least ``n_shards``
column blocks (``_product.most_blocks``), for the built-in costs: the
fit's threads share those blocks, which is faster than shards and their
reduction, and again the fit is the ``n_jobs=1`` fit. Both rules go by
shapes alone. A user's cost may raise, so its shards run on one thread, as
its team does (``Problem.team_size``).
"""

from typing import NamedTuple

import numpy as np

from ._backprop import Targets, workspace_size
from ._cores import thread_share
from ._epoch import (
    Batches,
    EpochBuffers,
    epoch_buffers,
    no_shards,
    run,
    shard_slots,
)
from ._problem import Problem, check_status, sums_epoch
from ._product import most_blocks
from ._team import ALONE

# Multiply-adds per shard and batch (forward and backward products) below
# which a batch is not split: the work must outweigh the two barriers and the
# reduction (docs/performance.rst, "The constants and what they were
# measured on").
SHARD_WORK = 500_000

# Rows of a full batch go through the kernels in chunks whose layer outputs
# take about this many bytes: they stay in the CPU's cache.
CHUNK_BYTES = 1 << 20


def _multiply_adds(layer_units):
    units = [int(u) for u in layer_units]
    # forward, weight gradient and (but for the first layer) input delta
    return sum(a * b for a, b in zip(units[:-1], units[1:], strict=True)) * 3


class Shard(NamedTuple):
    """A shard of the rows for full-batch sums: its kernel inputs and buffers.

    ``rows`` are the rows' indices: into ``csr`` for sparse input, and the
    keys of their dropout masks (the rows' indices in the whole training
    set) for both. The shard's sums go to ``buffers.grad`` and
    ``buffers.bias_sums``, a chunk of ``chunk`` rows at a time
    (``EpochBuffers`` with parts).
    """

    X: np.ndarray
    csr: object
    rows: np.ndarray
    targets: Targets
    buffers: EpochBuffers
    chunk: int

    @classmethod
    def of(cls, x, targets, lo, hi, network, dtype, first_row=None):
        """Rows ``[lo, hi)`` of the kernel inputs ``x`` and ``targets``
        for ``network`` (a ``_network.Network``); their dropout keys start
        at ``first_row`` (default ``lo``)."""
        X, csr = x
        first_row = lo if first_row is None else first_row
        weights = targets.weights[lo:hi] if targets.has_weight else targets.weights
        per_row = workspace_size(network.layer_units, 1, network.net.keeps_inputs)
        per_row *= np.dtype(dtype).itemsize
        chunk = min(max(64, CHUNK_BYTES // per_row), max(hi - lo, 1))
        shard_targets = Targets(targets.Y[lo:hi], weights, targets.has_weight)
        shard_x = (X if csr is not None else X[lo:hi], csr)
        theta = np.empty(network.n_parameters, dtype=dtype)
        buffers = epoch_buffers(
            shard_x, shard_targets, True, chunk, theta, network.net, True, True
        )
        rows = np.arange(first_row, first_row + hi - lo)
        return cls(*shard_x, rows, shard_targets, buffers, chunk)

    @property
    def grad(self):
        """The shard's weight sums (``backprop``'s ``grad``)."""
        return self.buffers.grad

    @property
    def bias_sums(self):
        """The shard's bias sums (``backprop``'s ``bias_sums``)."""
        return self.buffers.bias_sums

    def sums(self, network, theta, cost, penalty, dropout, later=tuple):
        """Cost and weight sums of the shard's rows for ``cost`` (the epoch
        kernel adding up its chunks, on this thread; ``later``: see
        ``_epoch.Options``)."""
        batches = Batches(self.rows, True, self.chunk)
        epoch = sums_epoch(network, theta, cost, penalty, self.targets, batches, later)
        buffers = self.buffers
        cost_sum, weight_sum, _ = run(
            ALONE,
            self.X.reshape(-1),
            self.csr,
            epoch,
            buffers,
            no_shards(theta.dtype),
            dropout,
            None,
        )
        check_status(cost, [self.buffers])
        return cost_sum, weight_sum


def add_shard_sums(net, sums, parts, grad, bias_sums):
    """Add the shards' sums in their order (the same bits every run) into
    ``grad`` and ``bias_sums``: ``sums`` are their ``(cost, weight)`` and
    ``parts`` their ``(grad, bias_sums)`` pairs, whose weight segments
    (``grad``) and bias segments (``bias_sums``) are added, elementwise as
    the kernels add. Returns the total ``(cost_sum, weight_sum)``."""
    offsets = net.offsets
    for s, (part_grad, part_bias) in enumerate(parts):
        for layer in range(net.layer_units.shape[0] - 1):
            weights = slice(offsets[2 * layer], offsets[2 * layer + 1])
            biases = slice(offsets[2 * layer + 1], offsets[2 * layer + 2])
            if s == 0:
                grad[weights] = part_grad[weights]
                bias_sums[biases] = part_bias[biases]
            else:
                grad[weights] += part_grad[weights]
                bias_sums[biases] += part_bias[biases]
    return sum(cost for cost, _ in sums), sum(weight for _, weight in sums)


class ShardedProblem(Problem):
    """A ``Problem`` whose rows are split into ``n_shards`` shards on threads.

    Parameters
    ----------
    x, targets, cost, penalty, dropout_rates
        As for ``Problem``.
    n_shards : int
        Number of shards, >= 2; the result depends on it alone. They run
        on the fit's share of the cores (``_cores.thread_share``), at most
        ``n_shards`` threads.
    """

    def __init__(self, x, targets, cost, penalty, dropout_rates, n_shards):
        super().__init__(x, targets, cost, penalty, dropout_rates)
        self.n_shards = n_shards
        self._shards = None

    def splits(self, network, n_rows):
        """Whether batches of ``n_rows`` rows are worth splitting."""
        per_shard = n_rows // self.n_shards
        return per_shard >= 1 and per_shard * _multiply_adds(network.layer_units) >= (
            SHARD_WORK
        )

    # -- full batch -------------------------------------------------------

    def sums(self, network, theta, grad, bias_sums, dropout=None):
        if not self.splits(network, self.n_samples):
            return super().sums(network, theta, grad, bias_sums, dropout)
        if self._shards is None:
            k, n = self.n_shards, self.n_samples
            self._shards = [
                Shard.of(
                    self.x,
                    self.targets,
                    s * n // k,
                    (s + 1) * n // k,
                    network,
                    theta.dtype,
                )
                for s in range(k)
            ]

        def thread(t, n_threads):
            return [
                shard.sums(network, theta, self.cost, self.penalty, dropout, self.later)
                for shard in self._shards[t::n_threads]
            ]

        n_threads = thread_share(self.n_shards)
        by_thread = self._threads.run(
            [lambda t=t: thread(t, n_threads) for t in range(n_threads)]
        )
        # Back in shard order: thread t computed shards t, t + n_threads, ...
        sums = [by_thread[s % n_threads][s // n_threads] for s in range(self.n_shards)]
        parts = [(shard.grad, shard.bias_sums) for shard in self._shards]
        return add_shard_sums(network.net, sums, parts, grad, bias_sums)

    # -- mini-batches -----------------------------------------------------

    def run_epoch(
        self, network, theta, optimizer, moments, step, order, batch_size, dropout=None
    ):
        n_rows = min(batch_size, self.n_samples)
        # A batch whose products are cut into n_shards column blocks or more
        # is not split either: its threads share those blocks (Problem), to
        # the bits of n_jobs=1, faster than shards and their reduction (see
        # docs/performance.rst, "The constants and what they were measured
        # on"). A user's cost keeps its shards.
        in_column_blocks = not self.user_cost() and (
            most_blocks(network.layer_units, n_rows) >= self.n_shards
        )
        if not self.splits(network, n_rows) or in_column_blocks:
            return super().run_epoch(
                network, theta, optimizer, moments, step, order, batch_size, dropout
            )
        batches = self.batches(order, batch_size)
        slots = self.buffers(
            ("slots", theta.dtype),
            lambda: shard_slots(self.n_shards, network.n_parameters, theta.dtype),
        )
        shard_rows = -(-n_rows // self.n_shards)
        buffers = self.buffers(
            ("shard", shard_rows, theta.dtype, batches.in_order),
            lambda: [
                epoch_buffers(
                    self.x,
                    self.targets,
                    batches.in_order,
                    shard_rows,
                    theta,
                    network.net,
                    sums=False,
                )
                for _ in range(self.n_shards)
            ],
        )
        epoch = self.epoch(network, theta, optimizer, moments, step, batches)
        # A user's cost piece reports a failure, which a thread waiting at a
        # barrier would never learn of: its shards run on one thread.
        n_threads = 1 if self.user_cost() else thread_share(self.n_shards)
        loss, _, step = self.run_on_team(
            n_threads,
            lambda team, timers: (epoch, buffers[team.thread], slots),
            dropout,
            buffers,
        )
        return loss, step
