"""The compiled forward pass and backpropagation of the MLP, the gradient's
normalization, and prediction.

Only NumPy, Numba and skce's compiled helpers are imported here, so the
kernels compile and cache on their own and can be tested against a plain
NumPy oracle.

Conventions shared by every kernel:

- ``theta`` is the flat parameter vector (float32 or float64, C-contiguous).
  Where each layer's weights and biases sit in it is not computed here: the
  ``Net`` tuple carries the offsets that ``_network.Network`` lays out once.
- The options of a fit (its activation, cost and optimizer) are pieces
  (``_pieces``), which the kernels call at the addresses of a ``Calls``
  tuple; so these kernels are compiled once per dtype and input form,
  whichever options a fit picks.
- The input comes as two arguments, ``X, csr``: a dense C-contiguous matrix
  and ``csr=None``, or a ``CSR`` tuple ``(data, indices, indptr)`` with
  int64 indices (of which ``rows`` are the rows that make up the batch) and
  an empty ``(0, n_features)`` placeholder for ``X``. Numba drops the
  branches of the other form when it compiles for ``csr=None``, so a dense
  fit never compiles the sparse code, and the other way round; ``dropout``
  and ``timers`` are None or not in the same way.
- Targets come as a ``Targets`` tuple: ``Y`` (one row per sample) and the
  sample weights, an empty placeholder when ``has_weight`` is False.
- ``work`` is scratch space of ``workspace_size(layer_units, n_rows,
  keeps_inputs)`` elements: the outputs of every layer, then two error
  buffers, then (for an activation that keeps its inputs) the hidden
  layers' pre-activations, laid out as their outputs; ``costs``
  (float64, ``n_rows``) takes each row's cost and ``status`` (float64)
  what a user's cost piece reports (``_output``).
- ``team`` (a ``Team``) is the threads that run one call together: each
  thread calls with the same arguments and takes its share of the column
  blocks of every large product (``_product.column_blocks``); a team of one
  is the plain call.
- Array-to-slice assignments are written as loops: Numba compiles a
  shape-mismatch error message for each of them, seconds of compile time.

Nothing here checks shapes, dtypes or index ranges: Numba does no bounds
checks, so the Python callers validate everything before a kernel runs.
"""

from typing import NamedTuple

import numpy as np
from numba import types

from ._activations import derivative_piece, drop_errors, drop_units, forward_piece
from ._blas import cblas_dot
from ._compiled import helper, kernel
from ._output import cost_piece
from ._pieces import Deferred
from ._product import (
    block_columns,
    block_rows,
    column_blocks,
    csr_rows_dot,
    csr_rows_transpose_dot,
    gemm,
    row_blocks,
    row_unit,
)
from ._profile import (
    ACTIVATIONS,
    BACKWARD_PRODUCTS,
    BIAS_SUMS,
    COST,
    FORWARD_PRODUCTS,
    lap,
    now,
)
from ._team import meet


class CSR(NamedTuple):
    """A CSR matrix's arrays, with int64 indices."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray


class Targets(NamedTuple):
    """Target rows and sample weights (``weights`` empty if not ``has_weight``)."""

    Y: np.ndarray
    weights: np.ndarray
    has_weight: bool


class Net(NamedTuple):
    """A network's layout as the kernels see it.

    ``offsets`` (int64, ``2 * n_weight_layers + 1``) holds where ``W_l``
    (``offsets[2 l]``, ``n_in x n_out`` row-major) and ``b_l``
    (``offsets[2 l + 1]``) start in ``theta``, and its length.
    ``keeps_inputs``: the hidden activation's derivative reads the
    pre-activations, which the forward pass keeps in ``work``
    (``_activations``).
    """

    layer_units: np.ndarray
    offsets: np.ndarray
    keeps_inputs: bool


class Calls(NamedTuple):
    """The pieces a fit's kernels call, by address (``_pieces``): the hidden
    layers' activation (``forward``) and its ``derivative`` (0 in
    prediction), the output layer's ``logits`` (the identity), the
    ``cost`` with its one ``parameter``, the optimizer's ``step`` (0 where
    the kernel adds up gradients instead of stepping), and the
    activation's one parameter (``slope``: the leaky ReLU's; 0 for the others)."""

    forward: int
    derivative: int
    logits: int
    cost: int
    parameter: float
    step: int
    slope: float


class Penalty(NamedTuple):
    """Strengths of the penalty on the weights: ``l2`` of
    :math:`\\tfrac{1}{2}\\|W\\|^2` and ``l1`` of :math:`\\|W\\|_1`."""

    l2: float
    l1: float


def workspace_size(layer_units, n_rows, keeps_inputs=False):
    """Number of scratch elements the kernels need for ``n_rows`` rows: the
    outputs of every layer, then two error buffers as wide as the widest,
    then, if the activation ``keeps_inputs``, the hidden layers'
    pre-activations."""
    units = [int(u) for u in layer_units[1:]]
    kept = sum(units[:-1]) if keeps_inputs else 0
    return int(n_rows) * (sum(units) + 2 * max(units) + kept)


@helper
def kept_inputs(net, n_rows):
    """How far the pre-activations of a hidden layer's ``n_rows`` rows sit
    in ``work`` after its outputs, where the activation keeps them: past
    every output and both error buffers (0 where it does not keep them)."""
    if not net.keeps_inputs:
        return 0
    units = net.layer_units
    total = 0
    widest = 0
    for layer in range(1, units.shape[0]):
        total += units[layer]
        widest = max(widest, units[layer])
    return n_rows * (total + 2 * widest)


@helper
def from_first(team, first, second, slot, timers=None):
    """Thread 0's ``(first, second)`` for every thread of ``team``: thread 0
    writes them to ``team.broadcast[slot:slot + 2]``, the threads meet, the
    others read them there (the arguments of the others are ignored)."""
    if team.size > 1 and team.thread == 0:
        team.broadcast[slot] = first
        team.broadcast[slot + 1] = second
    meet(team, timers)
    if team.thread != 0:
        return team.broadcast[slot], team.broadcast[slot + 1]
    return first, second


@helper
def tiles(sparse, team, m, k, n, unit):
    """How ``team`` cuts ``(m x k) @ (k x n)``: ``(column blocks, tiles)``,
    tile ``t`` being column block ``t % column blocks`` of row block ``t //
    column blocks`` (``_product``; rows in multiples of ``unit``). A CSR
    product stays whole."""
    if sparse:
        return 1, 1
    n_blocks = column_blocks(m, k, n)
    return n_blocks, n_blocks * (row_blocks(m, k, n, unit) if team.rows else 1)


@helper
def forward(X, csr, rows, theta, net, calls, work, dropout, team, timers):
    """Forward pass of ``n_rows = rows.shape[0]`` rows (``X``, flat: their
    features, row after row).

    Writes every layer's output into ``work``: hidden layers activated (and,
    with a ``Dropout``, dropped; None in prediction), the last layer left as
    logits ``z``. Returns the offset of the logits in ``work``; they form an
    ``(n_rows, layer_units[-1])`` block. The threads of ``team`` share each
    layer's column blocks and meet after each layer. ``timers`` (``_profile``)
    receives the time of the products and of the activations.
    """
    n_rows = rows.shape[0]
    units = net.layer_units
    n_weight_layers = units.shape[0] - 1
    unit = row_unit(work.itemsize)
    kept = kept_inputs(net, n_rows)
    out = 0
    prev = 0
    for layer in range(n_weight_layers):
        n_in = units[layer]
        n_out = units[layer + 1]
        weights = net.offsets[2 * layer]
        biases = net.offsets[2 * layer + 1]
        hidden = layer < n_weight_layers - 1
        activation = calls.forward if hidden else calls.logits
        sparse = layer == 0 and csr is not None
        # The layer's input: the previous layer's output, or X.
        inputs, start = (work, prev) if layer > 0 else (X, 0)
        n_blocks, n_tiles = tiles(sparse, team, n_rows, n_in, n_out, unit)
        for tile in range(team.thread, n_tiles, team.size):
            lo, hi = block_columns(tile % n_blocks, n_blocks, n_out)
            r_lo, r_hi = block_rows(tile // n_blocks, n_tiles // n_blocks, n_rows, unit)
            clock = now(timers)
            if csr is not None and layer == 0:  # Numba drops this for dense X
                csr_rows_dot(csr, rows, theta, weights, n_out, work, out)
            else:
                gemm(
                    False, False, n_rows, n_out, n_in, inputs, start, theta,
                    weights, work, out, 0.0, r_lo, r_hi, lo, hi,
                )  # fmt: skip
            clock = lap(timers, FORWARD_PRODUCTS, clock)
            tile_start = out + r_lo * n_out
            forward_piece(
                activation,
                r_hi - r_lo,
                hi - lo,
                n_out,
                work[tile_start + lo :],
                theta[biases + lo :],
                work[tile_start + (kept if hidden else 0) + lo :],
                calls.slope,
            )
            if dropout is not None and hidden:
                drop_units(
                    work, tile_start, n_out, rows[r_lo:r_hi], dropout, units, layer,
                    lo, hi,
                )  # fmt: skip
            lap(timers, ACTIVATIONS, clock)
        meet(team, timers)
        prev = out
        out += n_rows * n_out
    return prev


@helper
def backward(
    X,
    csr,
    rows,
    targets,
    theta,
    net,
    calls,
    grad,
    bias_sums,
    work,
    logits,
    costs,
    status,
    dropout,
    team,
    timers,
):
    """Unnormalised sums of a batch whose ``forward`` pass is in ``work``
    (its logits from ``work[logits]``): cost, gradient and weight.

    For every weight layer, the ``W_l`` segment of ``grad`` (shaped like
    ``theta``) is overwritten with :math:`\\sum_i w_i\\, a_{i,l}\\,
    \\delta_{i,l+1}^T` and the ``b_l`` segment of ``bias_sums`` (float64,
    shaped like ``theta``) with :math:`\\sum_i w_i\\, \\delta_{i,l+1}`: the
    column sums stay in float64, since a float32 running sum over a full
    batch would lose digits. Returns ``(sum_i w_i C_i, sum_i w_i)``. Sums of
    several batches add up to the sums of their union; ``finish_gradient``
    turns them into the loss and its gradient.

    Every thread of ``team`` calls this with the same arguments; they share
    the products' column blocks (and the elementwise work on those columns),
    thread 0 computes the cost, and all return once every sum is written.
    A user's cost piece reports in ``status`` (then the cost is NaN); it is
    only run by a team of one. ``timers`` (``_profile``) receives the time
    of each phase.
    """
    n_rows = rows.shape[0]
    units = net.layer_units
    n_weight_layers = units.shape[0] - 1
    unit = row_unit(work.itemsize)
    n_out = units[n_weight_layers]
    widest = 0
    for layer in range(1, units.shape[0]):
        widest = max(widest, units[layer])
    current = logits + n_rows * n_out  # first error buffer, after the outputs
    spare = current + n_rows * widest
    kept = kept_inputs(net, n_rows)

    cost_sum = 0.0
    weight_sum = 0.0
    clock = now(timers)
    if team.thread == 0:
        cost_sum = cost_piece(
            calls.cost,
            n_rows,
            n_out,
            work[logits:],
            targets.Y,
            targets.weights,
            targets.has_weight,
            work[current:],
            costs,
            calls.parameter,
            status,
        )
        if targets.has_weight:
            for i in range(n_rows):
                weight_sum += targets.weights[i]
        else:
            weight_sum = float(n_rows)
    lap(timers, COST, clock)
    cost_sum, weight_sum = from_first(team, cost_sum, weight_sum, 0, timers)

    output_end = logits  # where the output of the layer below ends in work
    for layer in range(n_weight_layers - 1, -1, -1):
        n_in = units[layer]
        n_out = units[layer + 1]
        weights = net.offsets[2 * layer]
        biases = net.offsets[2 * layer + 1]
        a_in = output_end - n_rows * n_in  # output of layer - 1 (unused for 0)
        # grad_W = A_in.T @ D, where A_in is the input X for the first layer.
        sparse = layer == 0 and csr is not None
        inputs, start = (work, a_in) if layer > 0 else (X, 0)
        n_blocks, n_tiles = tiles(sparse, team, n_in, n_rows, n_out, unit)
        for tile in range(team.thread, n_tiles, team.size):
            lo, hi = block_columns(tile % n_blocks, n_blocks, n_out)
            r_lo, r_hi = block_rows(tile // n_blocks, n_tiles // n_blocks, n_in, unit)
            clock = now(timers)
            if csr is not None and layer == 0:  # Numba drops this for dense X
                csr_rows_transpose_dot(
                    csr, rows, work, current, n_out, grad, weights, n_in
                )
            else:
                gemm(
                    True, False, n_in, n_out, n_rows, inputs, start, work, current,
                    grad, weights, 0.0, r_lo, r_hi, lo, hi,
                )  # fmt: skip
            clock = lap(timers, BACKWARD_PRODUCTS, clock)
            if r_lo == 0:  # the columns' bias sums, once
                sums = bias_sums[biases + lo : biases + hi]
                for j in range(sums.shape[0]):
                    sums[j] = 0.0
                for i in range(n_rows):
                    row = work[current + i * n_out + lo : current + i * n_out + hi]
                    for j in range(sums.shape[0]):
                        sums[j] += row[j]
            lap(timers, BIAS_SUMS, clock)

        if layer > 0:
            # The error of the layer below: (D @ W.T) * f'(A_in).
            n_blocks, n_tiles = tiles(False, team, n_rows, n_out, n_in, unit)
            for tile in range(team.thread, n_tiles, team.size):
                lo, hi = block_columns(tile % n_blocks, n_blocks, n_in)
                r_lo, r_hi = block_rows(
                    tile // n_blocks, n_tiles // n_blocks, n_rows, unit
                )
                clock = now(timers)
                gemm(
                    False, True, n_rows, n_in, n_out, work, current, theta, weights,
                    work, spare, 0.0, r_lo, r_hi, lo, hi,
                )  # fmt: skip
                clock = lap(timers, BACKWARD_PRODUCTS, clock)
                keep = 0.0
                if dropout is not None:
                    keep = drop_errors(
                        work, spare + r_lo * n_in, n_in, rows[r_lo:r_hi], dropout,
                        units, layer - 1, lo, hi,
                    )  # fmt: skip
                tile_start = a_in + r_lo * n_in + lo
                derivative_piece(
                    calls.derivative, r_hi - r_lo, hi - lo, n_in, work[tile_start:],
                    work[tile_start + kept :], work[spare + r_lo * n_in + lo :],
                    keep, calls.slope,
                )  # fmt: skip
                lap(timers, ACTIVATIONS, clock)
            current, spare = spare, current
            output_end = a_in
        # The next layer reads all of the new error and overwrites the old;
        # after the last, every sum is written.
        meet(team, timers)
    return cost_sum, weight_sum


#: The forward and backward passes, each compiled once per dtype and input
#: form, apart from the epoch kernel that calls them (``_pieces.Deferred``).
FORWARD = Deferred(forward, types.int64)
BACKWARD = Deferred(backward, types.UniTuple(types.float64, 2))
call_forward = FORWARD.caller


@helper
def penalty_sums(theta, net, penalty):
    """The weights' sum of squares and (with an L1 term) of absolute values,
    in the order ``finish_gradient`` has always added them."""
    squares = 0.0
    absolutes = 0.0
    for layer in range(net.layer_units.shape[0] - 2, -1, -1):
        w_flat = theta[net.offsets[2 * layer] : net.offsets[2 * layer + 1]]
        squares += cblas_dot(w_flat, w_flat)  # a plain loop would not vectorize
        if penalty.l1 != 0.0:
            for k in range(w_flat.shape[0]):
                absolutes += abs(w_flat[k])
    return squares, absolutes


@helper
def normalize_range(theta, net, penalty, weight_sum, grad, bias_sums, lo, hi):
    """``finish_gradient``'s gradient for the parameters ``[lo, hi)`` only:
    each element is computed alone, so ranges can be shared by threads."""
    for layer in range(net.layer_units.shape[0] - 1):
        w_lo = max(net.offsets[2 * layer], lo)
        w_hi = max(min(net.offsets[2 * layer + 1], hi), w_lo)
        # Loops from 0 over slices: LLVM then knows that no index is
        # negative, and vectorizes. The L1 test outside the loops, likewise.
        g = grad[w_lo:w_hi]
        w = theta[w_lo:w_hi]
        if penalty.l1 == 0.0:
            for k in range(g.shape[0]):
                g[k] = (g[k] + penalty.l2 * w[k]) / weight_sum
        else:
            for k in range(g.shape[0]):
                step = penalty.l2 * w[k] + penalty.l1 * ((w[k] > 0.0) - (w[k] < 0.0))
                g[k] = (g[k] + step) / weight_sum
        b_lo = max(net.offsets[2 * layer + 1], lo)
        b_hi = max(min(net.offsets[2 * layer + 2], hi), b_lo)
        g = grad[b_lo:b_hi]
        sums = bias_sums[b_lo:b_hi]
        for k in range(g.shape[0]):
            g[k] = sums[k] / weight_sum


@helper
def penalized(cost_sum, penalty, squares, absolutes):
    """The cost sum plus the penalty, given the weights' sum of squares and
    of absolute values (the L2 case adds exactly what scikit-learn adds)."""
    total = cost_sum + 0.5 * penalty.l2 * squares
    if penalty.l1 != 0.0:
        total += penalty.l1 * absolutes
    return total


@kernel
def finish_gradient(theta, net, penalty, cost_sum, weight_sum, grad, bias_sums):
    """The regularized mean cost and its gradient, from a batch's sums.

    .. math::

        L = \\frac{\\sum_i w_i C_i + \\lambda_2 \\tfrac{1}{2} \\sum_l \\|W_l\\|^2
                   + \\lambda_1 \\sum_l \\|W_l\\|_1}{\\sum_i w_i}

    with ``penalty = (l2, l1)`` the strengths :math:`(\\lambda_2, \\lambda_1)`;
    ``(alpha, 0)`` is the objective of scikit-learn's MLP (``w_i = 1``
    without sample weights). ``grad`` holds the sums of ``backprop`` and is
    overwritten with :math:`\\nabla L`: weights :math:`(\\text{sum} +
    \\lambda_2 W + \\lambda_1 \\operatorname{sgn} W) / \\sum_i w_i` (the
    subgradient with :math:`\\operatorname{sgn} 0 = 0`), biases
    ``bias_sums / sum_i w_i``. Returns :math:`L` as a float64.
    """
    squares, absolutes = penalty_sums(theta, net, penalty)
    normalize_range(theta, net, penalty, weight_sum, grad, bias_sums, 0, theta.shape[0])
    return penalized(cost_sum, penalty, squares, absolutes) / weight_sum


@kernel
def predict_logits(X, csr, rows, theta, net, calls, forward, chunk, work, Z, team):
    """Output logits of the rows ``rows`` into ``Z``
    (``(n_rows, layer_units[-1])``, ``theta``'s dtype), on this thread
    (``team`` is ``ALONE``), by the ``forward`` pass at the address
    ``forward`` (``FORWARD``: the training kernel's own).

    ``rows`` (int64) are consecutive row indices, ``X`` those rows (dense
    input, flat) or the CSR placeholder. They go through ``chunk`` rows at
    a time, so that ``work`` (``workspace_size(layer_units, chunk)``) stays
    small and in cache whatever the number of rows. Rows do not depend on
    each other: callers split the rows between threads at multiples of
    ``chunk``.
    """
    n_rows = rows.shape[0]
    n_features = net.layer_units[0]
    n_out = Z.shape[1]
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        X_rows = X if csr is not None else X[start * n_features : stop * n_features]
        logits = call_forward(
            forward, X_rows, csr, rows[start:stop], theta, net, calls, work, None,
            team, None,
        )  # fmt: skip
        for i in range(stop - start):
            for j in range(n_out):
                Z[start + i, j] = work[logits + i * n_out + j]


@helper
def accumulate(net, grad, bias_sums, total, bias_total, lo, hi, first):
    """Add one part's sums to running totals, for the parameters ``[lo, hi)``:
    the ``W_l`` segments of ``grad`` to ``total`` and the ``b_l`` segments
    of ``bias_sums`` to ``bias_total`` (``backprop``'s two outputs), or copy
    them there if ``first``. Parts added in one order give the same bits
    whoever adds them: this is how every sum of parts in skce is added up
    (chunks of a full batch, shards, Dask partitions)."""
    for layer in range(net.layer_units.shape[0] - 1):
        w_lo = max(net.offsets[2 * layer], lo)
        w_hi = max(min(net.offsets[2 * layer + 1], hi), w_lo)
        add_to(total[w_lo:w_hi], grad[w_lo:w_hi], first)
        b_lo = max(net.offsets[2 * layer + 1], lo)
        b_hi = max(min(net.offsets[2 * layer + 2], hi), b_lo)
        add_to(bias_total[b_lo:b_hi], bias_sums[b_lo:b_hi], first)


@helper
def add_to(target, source, first):
    """``target[:] = source`` if ``first``, else ``target += source``; loops
    from 0 over slices, so that they vectorize."""
    if first:
        for k in range(source.shape[0]):
            target[k] = source[k]
    else:
        for k in range(source.shape[0]):
            target[k] += source[k]
