"""Compile the kernels ahead of time: ``skce.warmup`` and ``skce warmup``.

Numba compiles each kernel, part and piece for each type signature it is
called with, the first time, and caches the machine code on disk. The first
fit in a fresh environment therefore compiles what it runs (see "The first
fit" in docs/performance.rst), and the first fit with another option, in
another precision (float32) or on sparse input compiles what that adds. A
deployment image or a CI cache runs this once at build time instead.
"""

import time

import numpy as np
import scipy.sparse as sp

from ._activations import PIECES, identity
from ._ahead import KernelUnit, PieceUnit, collecting, prepare
from ._backprop import Penalty, finish_gradient
from ._codes import SOLVER_ADAM
from ._cores import cores_given
from ._inputs import kernel_input, kernel_targets
from ._network import Network
from ._optimizer import Moments, Optimizer, adam, momentum
from ._output import (
    COST_PIECES,
    binary,
    logistic_outputs,
    normalized_logistic,
    softmax,
)
from ._pieces import signature_of
from ._problem import Problem
from ._shards import ShardedProblem
from .costs import COSTS

DTYPES = {"float64": np.float64, "float32": np.float32}


def warmup(dtypes=("float64",), sparse=False):
    """Compile and cache every kernel, part and piece a fit or a prediction
    can run.

    Lists what the runs of tiny problems reach for the given input types
    (mini-batch epochs and full-batch sums, on one thread and in
    ``n_jobs``' shards, and predictions in both precisions: a float32 model
    predicts float64 rows in float64), with the pieces of every built-in
    activation, cost, optimizer and output, and compiles them in as many
    processes as the cores given to skce (``_ahead``). A user's own
    :class:`skce.costs.Cost` is compiled on its first fit, in each process.

    Parameters
    ----------
    dtypes : sequence of {"float64", "float32"}, default=("float64",)
        Precisions to compile for: the dtype of ``X`` in the fits to come.

    sparse : bool, default=False
        Also compile for sparse ``X`` (in each of ``dtypes``).

    Returns
    -------
    seconds : float
        Time taken; near zero when the cache already holds everything.
    """
    if isinstance(dtypes, str) or any(dtype not in DTYPES for dtype in dtypes):
        raise ValueError(
            f"dtypes must be a sequence of {sorted(DTYPES)}, got {dtypes!r}."
        )
    start = time.perf_counter()
    units = []
    predicted = {np.dtype(np.float64)} | {np.dtype(DTYPES[name]) for name in dtypes}
    for dtype in predicted:
        trained = dtype in {np.dtype(DTYPES[name]) for name in dtypes}
        for form in (False, True) if sparse else (False,):
            units += _units(dtype, form, trained)
    prepare(units, processes=cores_given())
    return time.perf_counter() - start


def _units(dtype, sparse, trained):
    """The units of the runs of ``dtype`` on dense or ``sparse`` rows: of
    training and prediction if ``trained``, of prediction only else."""
    rng = np.random.RandomState(0)
    # 400 rows through 64 -> 256 -> 3 units: enough multiply-adds per batch
    # for n_jobs=2 to take its shards, and rows for chunks of full batches.
    X = rng.normal(size=(400, 64)).astype(dtype)
    x = kernel_input(sp.csr_matrix(X) if sparse else X)
    network = Network([64, 256, 3], "relu", "softmax")
    theta = network.initial_theta("glorot_uniform", dtype, rng)
    with collecting() as units:
        network.logits(theta, x)
        if trained:
            Y = np.eye(3, dtype=dtype)[rng.randint(0, 3, 400)]
            targets = kernel_targets(Y, rng.uniform(0.5, 1.5, 400).astype(dtype))
            penalty = Penalty(1e-4, 0.0)
            problems = (
                Problem(x, targets, COSTS["log_loss"], penalty),
                ShardedProblem(x, targets, COSTS["log_loss"], penalty, None, 2),
            )
            n = theta.shape[0]
            moments = Moments(*(np.zeros(size, dtype=dtype) for size in (0, n, n)))
            optimizer = Optimizer(SOLVER_ADAM, 1e-3, 0.9, True, 0.9, 0.999, 1e-8)
            for problem in problems:
                order = rng.permutation(400)
                problem.run_epoch(network, theta, optimizer, moments, 0, order, 200)
                grad, bias_sums = np.empty_like(theta), np.empty(n)
                problem.sums(network, theta, grad, bias_sums)
    units += [PieceUnit(piece, dtype) for piece in _pieces(trained)]
    if trained:
        vector = np.empty(0, dtype=dtype)
        units.append(
            KernelUnit(
                finish_gradient,
                signature_of(vector, network.net, penalty, 0.0, 0.0, vector, bias_sums),
            )
        )
    return units


def _pieces(trained):
    """Every built-in piece of a training run (``trained``) or a prediction."""
    pieces = [identity, binary, softmax, normalized_logistic, logistic_outputs]
    for activation in PIECES.values():
        pieces += (
            [activation.forward, activation.derivative]
            if trained
            else [activation.forward]
        )
    if trained:
        pieces += [*COST_PIECES.values(), momentum, adam]
    return pieces
