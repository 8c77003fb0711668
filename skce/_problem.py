"""The training problem and the two seams through which solvers reach it.

A solver asks a ``Problem`` for two things only:

- ``sums(network, theta, grad, bias_sums)``: the *unnormalised* sums over
  every training row of the cost, its gradient and the sample weights
  (``_kernels.backprop``). ``Objective`` turns them into the full-batch
  loss and gradient that ``gd`` and ``lbfgs`` minimize, adding the penalty
  and dividing once.
- ``run_epoch(...)``: one pass of mini-batch updates for ``sgd`` and
  ``adam``.

``Problem`` computes both in this process on one thread. Another
implementation (rows split over threads, or over the workers of a cluster)
overrides these two methods and leaves the solvers as they are: sums of
row shards add up to the sums of all rows.
"""

import numpy as np

from ._blas import blas_threads
from ._kernels import Dropout, backprop, dropout_key, finish_gradient, workspace_size
from ._updates import run_epoch


class Problem:
    """Training rows, their targets and weights, and what is minimized.

    Parameters
    ----------
    x : Inputs
        The feature matrix in kernel form (``_boundary.kernel_input``).
    targets : Targets
        One-hot target rows and the sample weights (``kernel_targets``).
    cost : skce.costs.Cost
        The cost, whose ``code`` (or, for a user's cost, whose jitted
        functions) the kernels compute.
    penalty : Penalty
        Strengths of the L2 and L1 penalties on the weights.
    dropout_rates : ndarray of float64, default=None
        Dropout rate of each hidden layer; None (or all zero): no dropout.
    """

    def __init__(self, x, targets, cost, penalty, dropout_rates=None):
        self.x = x
        self.targets = targets
        self.cost = cost
        self.cost_code = cost.kernel_code
        self.cost_functions = cost.kernel_functions()
        self.penalty = penalty
        self.dropout_rates = (
            None
            if dropout_rates is None or not np.any(dropout_rates)
            else np.ascontiguousarray(dropout_rates, dtype=np.float64)
        )
        self.n_samples = targets.Y.shape[0]
        self._rows = None  # arange(n_samples), made on first use
        self._work = None

    def weight_sum(self):
        """The sum of the training rows' sample weights (their number if
        unweighted), as a float."""
        if self.targets.has_weight:
            return float(self.targets.weights.sum(dtype=np.float64))
        return float(self.n_samples)

    def close(self):
        """Release what the problem holds beyond its rows (nothing here)."""

    def blas_threads(self, network, n_rows):
        """The BLAS threads for a fit in batches of ``n_rows`` rows (a
        context manager; see ``_blas``)."""
        return blas_threads(network.layer_units, n_rows)

    def dropout(self, seed, epoch):
        """The ``Dropout`` of epoch ``epoch`` of a fit seeded by ``seed``, or
        None without dropout."""
        if self.dropout_rates is None:
            return None
        return Dropout(self.dropout_rates, np.uint64(dropout_key(seed, epoch)))

    def sums(self, network, theta, grad, bias_sums, dropout=None):
        """Sums of the cost, gradient and weights over all rows.

        Overwrites the weight segments of ``grad`` and the bias segments of
        ``bias_sums`` (see ``_kernels.backprop``); returns ``(cost_sum,
        weight_sum)``. ``dropout`` is a ``Dropout`` of ``self.dropout`` or
        None.
        """
        if self._work is None:
            self._rows = np.arange(self.n_samples)
            size = workspace_size(network.layer_units, self.n_samples)
            self._work = np.empty(size, dtype=theta.dtype)
        return backprop(
            *self.x,
            self._rows,
            self.targets,
            theta,
            network.kernel,
            self.cost_code,
            grad,
            bias_sums,
            self._work,
            dropout,
            *self.cost_functions,
        )

    def run_epoch(
        self, network, theta, optimizer, moments, step, order, batch_size, dropout=None
    ):
        """One epoch of mini-batch steps on ``theta`` and ``moments`` in place.

        ``order`` is the epoch's row permutation, or None to take the rows
        in order. Returns ``(mean batch loss, step)``.
        """
        in_order = order is None
        return run_epoch(
            *self.x,
            self.targets,
            np.arange(self.n_samples) if in_order else order,
            in_order,
            batch_size,
            theta,
            network.kernel,
            self.cost_code,
            self.penalty,
            optimizer,
            moments,
            step,
            dropout,
            *self.cost_functions,
        )


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

    def __call__(self, theta, grad, dropout=None):
        cost_sum, weight_sum = self.problem.sums(
            self.network, theta, grad, self.bias_sums, dropout
        )
        return finish_gradient(
            theta,
            self.network.kernel,
            self.penalty,
            cost_sum,
            weight_sum,
            grad,
            self.bias_sums,
        )
