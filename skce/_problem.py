"""The training problem and the two seams through which solvers reach it.

A solver asks a ``Problem`` for two things only:

- ``sums(network, theta, grad, bias_sums)``: the *unnormalised* sums over
  every training row of the cost, its gradient and the sample weights
  (``_backprop.backprop``). ``Objective`` turns them into the full-batch
  loss and gradient that ``gd`` and ``lbfgs`` minimize, adding the penalty
  and dividing once.
- ``run_epoch(...)``: one pass of mini-batch updates for ``sgd`` and
  ``adam``.

``Problem`` computes both in this process with the one epoch kernel
(``_epoch.run_epoch``), on its share of the cores (``_cores``): where a
batch's products are large enough to be cut into column blocks
(``_product.column_blocks``), a team of threads shares them, to the same
numbers as one thread. Another implementation (rows split into shards on
threads, or over the workers of a cluster) overrides these two methods and
leaves the solvers as they are: sums of row shards add up to the sums of
all rows.
"""

import numpy as np

from ._activations import Dropout, dropout_key
from ._ahead import KernelUnit
from ._backprop import finish_gradient
from ._cores import Threads, running_fit, thread_share
from ._epoch import (
    NO_HYPER,
    Batches,
    Epoch,
    epoch_buffers,
    no_moments,
    no_shards,
    run,
)
from ._inputs import weight_sum
from ._output import cost_failure
from ._pieces import signature_of
from ._product import most_blocks
from ._profile import epoch_timers
from ._team import ALONE, team_of


class Problem:
    """Training rows, their targets and weights, and what is minimized.

    Parameters
    ----------
    x : Inputs
        The feature matrix in kernel form (``_inputs.kernel_input``).
    targets : Targets
        One-hot target rows and the sample weights (``kernel_targets``).
    cost : skce.costs.Cost
        The cost, whose piece (``Cost.piece``) the kernels compute.
    penalty : Penalty
        Strengths of the L2 and L1 penalties on the weights.
    dropout_rates : ndarray of float64, default=None
        Dropout rate of each hidden layer; None (or all zero): no dropout.
    alone : bool, default=False
        Whether the problem runs on the calling thread only (a Dask
        partition's, whose worker runs several at once), rather than on the
        fit's share of the cores.
    """

    def __init__(self, x, targets, cost, penalty, dropout_rates=None, alone=False):
        self.x = x
        self.targets = targets
        self.cost = cost
        self.penalty = penalty
        self.dropout_rates = (
            None
            if dropout_rates is None or not np.any(dropout_rates)
            else np.ascontiguousarray(dropout_rates, dtype=np.float64)
        )
        self.n_samples = targets.Y.shape[0]
        # What the solver runs after the first run, compiled with it
        # (``_ahead``): a function giving the units, set by the solver.
        self.later = tuple
        self._buffers = {}  # scratch space of the epochs, by kind and shape
        self._threads = Threads()
        self.alone = alone

    def weight_sum(self):
        """The sum of the training rows' sample weights (their number if
        unweighted), as a float."""
        return weight_sum(self.targets)

    def close(self):
        """Stop the problem's threads and drop its scratch space."""
        self._threads.close()
        self._buffers = {}

    def user_cost(self):
        """Whether the cost is a user's, which runs on one thread: its
        piece reports a failure that threads waiting at a barrier would
        never learn of."""
        return self.cost.code is None

    def team_size(self, network, n_rows, rows=False, itemsize=8):
        """How many threads share batches of ``n_rows`` rows now: the blocks
        of their largest product (column blocks, and with ``rows`` row
        blocks of elements of ``itemsize`` bytes), within the fit's share of
        the cores (one for a user's cost)."""
        if self.alone or self.user_cost():
            return 1
        blocks = most_blocks(network.layer_units, n_rows, rows, itemsize)
        return thread_share(blocks)

    def on_team(self, size, call, rows=False):
        """``call(team)`` on each thread of a team of ``size`` threads at
        once (cutting rows too, with ``rows``: ``Team.rows``); returns
        thread 0's result. A team of one takes its products whole: a row
        block is the rows of the whole product, bit for bit
        (``_product.row_unit``), and one thread gains nothing by cutting."""
        team = team_of(size, rows) if size > 1 else [ALONE]
        return self._threads.run([lambda t=t: call(t) for t in team])[0]

    def batches(self, order, batch_size):
        """An epoch's ``Batches``: the rows in ``order`` (None: in order),
        ``batch_size`` at a time."""
        in_order = order is None
        order = np.arange(self.n_samples) if in_order else order
        return Batches(order, in_order, min(batch_size, self.n_samples))

    def buffers(self, key, make):
        """Scratch space, made by ``make()`` once per ``key`` and kept for
        the fit, so that no epoch allocates."""
        if key not in self._buffers:
            self._buffers[key] = make()
        return self._buffers[key]

    def epoch(self, network, theta, optimizer, moments, step, batches):
        """The ``Epoch`` the epoch kernel trains on these rows: with an
        ``optimizer``, one step a batch; None, sums of the batches."""
        if optimizer is None:
            return sums_epoch(
                network,
                theta,
                self.cost,
                self.penalty,
                self.targets,
                batches,
                self.later,
            )
        return Epoch(
            self.targets,
            batches,
            theta,
            network.net,
            network.options(theta.dtype, self.cost, optimizer.piece(), self.later),
            self.penalty,
            optimizer.hyper(),
            moments,
            step,
        )

    def run_on_team(self, size, arguments, dropout, buffers, rows=False):
        """The epoch kernel ``run_epoch(team, X, csr, *arguments(team,
        timers), dropout, timers)`` on each thread of a team of ``size``,
        timed by the current profile (``timers`` is this thread's counters,
        or None); returns thread 0's result. ``buffers`` are the
        ``EpochBuffers`` of the threads, whose status is checked after;
        ``rows``: see ``on_team``."""

        def call(team, timers):
            return run(team, *self.x.flat(), *arguments(team, timers), dropout, timers)

        with epoch_timers(size) as timers:  # [None] unless profiled
            result = self.on_team(
                size, lambda team: call(team, timers[team.thread]), rows
            )
        check_status(self.cost, buffers)
        return result

    def running(self):
        """A context for the whole of a fit: it counts the fit among those
        sharing the process's cores (``_cores``)."""
        return running_fit()

    def dropout(self, seed, epoch):
        """The ``Dropout`` of epoch ``epoch`` of a fit seeded by ``seed``, or
        None without dropout."""
        if self.dropout_rates is None:
            return None
        return Dropout(self.dropout_rates, np.uint64(dropout_key(seed, epoch)))

    def sums(self, network, theta, grad, bias_sums, dropout=None):
        """Sums of the cost, gradient and weights over all rows.

        Overwrites the weight segments of ``grad`` and the bias segments of
        ``bias_sums`` (see ``_backprop.backprop``); returns ``(cost_sum,
        weight_sum)``. ``dropout`` is a ``Dropout`` of ``self.dropout`` or
        None. The rows are one batch, on a team as an epoch's are.
        """
        batches = self.batches(None, self.n_samples)
        buffers = self.buffers(
            ("sums", theta.dtype),
            lambda: epoch_buffers(
                self.x, self.targets, True, self.n_samples, theta, network.net, False
            ),
        )._replace(grad=grad, bias_sums=bias_sums)
        epoch = self.epoch(network, theta, None, None, 0, batches)
        slots = no_shards(theta.dtype)
        # A full batch has rows to spare: its team cuts them as well.
        size = self.team_size(network, self.n_samples, True, theta.itemsize)
        cost_sum, weight_sum, _ = self.run_on_team(
            size,
            lambda team, timers: (epoch, buffers, slots),
            dropout,
            [buffers],
            rows=True,
        )
        return cost_sum, weight_sum

    def run_epoch(
        self, network, theta, optimizer, moments, step, order, batch_size, dropout=None
    ):
        """One epoch of mini-batch steps on ``theta`` and ``moments`` in place.

        ``order`` is the epoch's row permutation, or None to take the rows
        in order. Returns ``(mean batch loss, step)``.
        """
        batches = self.batches(order, batch_size)
        buffers = self.buffers(
            ("team", batches.size, theta.dtype, batches.in_order),
            lambda: epoch_buffers(
                self.x, self.targets, batches.in_order, batches.size, theta, network.net
            ),
        )
        epoch = self.epoch(network, theta, optimizer, moments, step, batches)
        slots = no_shards(theta.dtype)
        size = self.team_size(network, batches.size)
        loss, _, step = self.run_on_team(
            size, lambda team, timers: (epoch, buffers, slots), dropout, [buffers]
        )
        return loss, step


def sums_epoch(network, theta, cost, penalty, targets, batches, later=tuple):
    """The ``Epoch`` whose kernel adds up the sums of ``cost`` over the
    ``targets`` in ``batches``: no step piece, no optimizer (``later``: see
    ``_epoch.Options``)."""
    return Epoch(
        targets,
        batches,
        theta,
        network.net,
        network.options(theta.dtype, cost, None, later),
        penalty,
        NO_HYPER,
        no_moments(theta.dtype),
        0,
    )


def check_status(cost, buffers):
    """Raise what a user's cost piece reported in any of the epoch
    ``buffers`` (and clear it)."""
    for buffer in buffers:
        if buffer.status[0] != 0:
            status = buffer.status.copy()
            buffer.status[:] = 0.0
            raise cost_failure(cost, status)


class Objective:
    """The full-batch objective of ``gd`` and ``lbfgs``: loss and gradient.

    ``objective(theta, grad)`` returns the mean cost plus the penalty, and
    overwrites ``grad`` with its gradient, from the problem's sums (with
    ``dropout``, those of one random thinning of the network). ``penalty``
    replaces the problem's (L-BFGS adds the L1 term itself).
    """

    def __init__(self, problem, network, penalty=None):
        self.problem = problem
        self.network = network
        self.penalty = problem.penalty if penalty is None else penalty
        self.bias_sums = np.empty(network.n_parameters)

    def finish_unit(self, dtype):
        """The ``_ahead`` unit of ``finish_gradient`` for ``dtype``."""
        vector = np.empty(0, dtype=dtype)
        return KernelUnit(
            finish_gradient,
            signature_of(
                vector, self.network.net, self.penalty, 0.0, 0.0, vector, self.bias_sums
            ),
        )

    def __call__(self, theta, grad, dropout=None):
        cost_sum, weight_sum = self.problem.sums(
            self.network, theta, grad, self.bias_sums, dropout
        )
        return finish_gradient(
            theta,
            self.network.net,
            self.penalty,
            cost_sum,
            weight_sum,
            grad,
            self.bias_sums,
        )
