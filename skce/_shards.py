"""``n_jobs``: one fit's rows split into shards, each on its own core.

``ShardedProblem`` is a ``Problem`` whose two seams run on several threads:

- ``sums`` (``gd``, ``lbfgs``): the rows are cut into ``n_shards`` shards
  of consecutive rows; each shard's sums are computed by the ``nogil``
  kernel in its own thread, in chunks of rows small enough for the CPU's
  cache, and the shards are added in their order.
- ``run_epoch`` (``sgd``, ``adam``): every mini-batch is cut the same way.
  The threads run one compiled epoch together (``run_epoch_shard``), meet
  at a spinning barrier after the shards' sums and after the update, and
  split the reduction and the optimizer step by parameter ranges.

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
column blocks (``_kernels.most_blocks``), for the built-in costs: the
fit's threads share those blocks, which is faster than shards and their
reduction, and again the fit is the ``n_jobs=1`` fit. Both rules go by
shapes alone. A user's cost may raise, so its shards run on one thread, as
its team does (``Problem.team_size``).
"""

from ._cores import thread_share
from ._epoch import epoch_buffers, run_epoch_shard, shard_slots
from ._kernels import Shard, accumulate, most_blocks
from ._problem import Problem

# Multiply-adds per shard and batch (forward and backward products) below
# which a batch is not split: the work must outweigh the two barriers and the
# reduction (docs/performance.rst, "The constants and what they were
# measured on").
SHARD_WORK = 500_000


def _multiply_adds(layer_units):
    units = [int(u) for u in layer_units]
    # forward, weight gradient and (but for the first layer) input delta
    return sum(a * b for a, b in zip(units[:-1], units[1:], strict=True)) * 3


def add_shard_sums(net, sums, parts, grad, bias_sums):
    """Add the shards' sums in their order (the same bits every run) into
    ``grad`` and ``bias_sums`` (``_kernels.accumulate``): ``sums`` are their
    ``(cost, weight)`` and ``parts`` their ``(grad, bias_sums)`` pairs.
    Returns the total ``(cost_sum, weight_sum)``."""
    n_params = grad.shape[0]
    for s, (part_grad, part_bias) in enumerate(parts):
        accumulate(net, part_grad, part_bias, grad, bias_sums, 0, n_params, s == 0)
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
        net, code, functions = network.net, self.cost_code, self.cost_functions

        def thread(t, n_threads):
            return [
                shard.sums(theta, net, code, *functions, dropout)
                for shard in self._shards[t::n_threads]
            ]

        n_threads = thread_share(self.n_shards)
        by_thread = self._threads.run(
            [lambda t=t: thread(t, n_threads) for t in range(n_threads)]
        )
        # Back in shard order: thread t computed shards t, t + n_threads, ...
        sums = [by_thread[s % n_threads][s // n_threads] for s in range(self.n_shards)]
        parts = [(shard.grad, shard.bias_sums) for shard in self._shards]
        return add_shard_sums(net, sums, parts, grad, bias_sums)

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
        in_column_blocks = self.cost_functions[0] is None and (
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
        # A user's cost may raise, which a thread waiting at a barrier could
        # never learn: its shards run one after the other, on one thread.
        if self.cost_functions[0] is not None:
            n_threads = 1
        else:
            n_threads = thread_share(self.n_shards)
        return self.run_on_team(
            n_threads,
            run_epoch_shard,
            lambda team: (epoch, slots, buffers[team.thread]),
            dropout,
        )
