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
from ._kernels import backprop, finish_gradient, workspace_size
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
    alpha : float
        Strength of the L2 penalty.
    """

    def __init__(self, x, targets, cost, alpha):
        self.x = x
        self.targets = targets
        self.cost = cost
        self.cost_code = cost.kernel_code
        self.cost_functions = cost.kernel_functions()
        self.alpha = float(alpha)
        self.n_samples = targets.Y.shape[0]
        self._rows = None  # arange(n_samples), made on first use
        self._work = None

    def blas_threads(self, network, n_rows):
        """The BLAS threads for a fit in batches of ``n_rows`` rows (a
        context manager; see ``_blas``)."""
        return blas_threads(network.layer_units, n_rows)

    def sums(self, network, theta, grad, bias_sums):
        """Sums of the cost, gradient and weights over all rows.

        Overwrites the weight segments of ``grad`` and the bias segments of
        ``bias_sums`` (see ``_kernels.backprop``); returns ``(cost_sum,
        weight_sum)``.
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
            *self.cost_functions,
        )

    def run_epoch(self, network, theta, optimizer, moments, step, order, batch_size):
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
            self.alpha,
            optimizer,
            moments,
            step,
            *self.cost_functions,
        )


class Objective:
    """The full-batch objective of ``gd`` and ``lbfgs``: loss and gradient.

    ``objective(theta, grad)`` returns the mean cost plus the L2 term, and
    overwrites ``grad`` with its gradient, from the problem's sums.
    """

    def __init__(self, problem, network):
        self.problem = problem
        self.network = network
        self.bias_sums = np.empty(network.n_parameters)

    def __call__(self, theta, grad):
        cost_sum, weight_sum = self.problem.sums(
            self.network, theta, grad, self.bias_sums
        )
        return finish_gradient(
            theta,
            self.network.kernel,
            self.problem.alpha,
            cost_sum,
            weight_sum,
            grad,
            self.bias_sums,
        )
