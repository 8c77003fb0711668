"""Compiled forward pass, output costs and backpropagation of the MLP.

Only NumPy, Numba and skce's compiled helpers (``_blas``: the matrix
products, on skce's own single-threaded BLAS; ``_team``: the barrier) are
imported here, so the kernels compile and cache on their own and can be
tested against a plain NumPy oracle.

Conventions shared by every kernel:

- ``theta`` is the flat parameter vector (float32 or float64, C-contiguous).
  Where each layer's weights and biases sit in it is not computed here: the
  ``Net`` tuple carries the offsets that ``_network.Network`` lays out once.
- The input comes as two arguments, ``X, csr``: a dense C-contiguous matrix
  and ``csr=None``, or a ``CSR`` tuple ``(data, indices, indptr)`` with
  int64 indices (of which ``rows`` are the rows that make up the batch) and
  an empty ``(0, n_features)`` placeholder for ``X``. Numba drops the
  branches of the other form when it compiles for ``csr=None``, so a dense
  fit never compiles the sparse code, and the other way round.
- Targets come as a ``Targets`` tuple: ``Y`` (one row per sample, in [0, 1])
  and the sample weights, an empty placeholder when ``has_weight`` is False.
- ``work`` is scratch space of ``workspace_size(layer_units, n_rows)``
  elements: the outputs of every layer, then two delta buffers.
- Activation, output, cost and solver arrive as the integer codes of
  ``_codes``.
- ``team`` (a ``Team``) is the threads that run one call together: each
  thread calls with the same arguments and takes its share of the column
  blocks of every large product (``column_blocks``); a team of one is the
  plain call.
- Array-to-slice assignments are written as loops: Numba compiles a
  shape-mismatch error message for each of them, seconds of compile time.

Nothing here checks shapes, dtypes or index ranges: Numba does no bounds
checks, so the Python callers validate everything before a kernel runs.

Functions decorated ``@kernel`` are called from Python; ``@helper`` ones
only from other kernels, and are compiled without the wrappers that let
Python call them, which saves compile time on a cold cache.
"""

from typing import NamedTuple

import numpy as np

from ._blas import cblas_dot, cblas_gemm, cblas_gemv
from ._codes import (
    ACT_IDENTITY,
    ACT_LOGISTIC,
    ACT_RELU,
    ACT_TANH,
    COST_ABSOLUTE_ERROR,
    COST_CROSS_ENTROPY,
    COST_HUBER,
    COST_LOG_LIKELIHOOD,
    COST_POISSON,
    COST_QUADRATIC,
    COST_SQUARED_ERROR,
    OUTPUT_EXP,
    OUTPUT_IDENTITY,
    OUTPUT_SOFTMAX,
)
from ._compiled import helper, inlined, kernel
from ._profile import (
    ACTIVATIONS,
    BACKWARD_PRODUCTS,
    BIAS_SUMS,
    COST,
    FORWARD_PRODUCTS,
    lap,
    now,
)
from ._team import alone, meet


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


class CostCode(NamedTuple):
    """A cost as the kernels see it: its ``code`` (``_codes``) and its one
    ``parameter`` (the Huber threshold, the quantile; 0 for the others)."""

    code: int
    parameter: float


class Net(NamedTuple):
    """A network as the kernels see it.

    ``offsets`` (int64, ``2 * n_weight_layers + 1``) holds where ``W_l``
    (``offsets[2 l]``, ``n_in x n_out`` row-major) and ``b_l``
    (``offsets[2 l + 1]``) start in ``theta``, and its length.
    """

    layer_units: np.ndarray
    offsets: np.ndarray
    activation: int
    output: int


class Penalty(NamedTuple):
    """Strengths of the penalty on the weights: ``l2`` of
    :math:`\\tfrac{1}{2}\\|W\\|^2` and ``l1`` of :math:`\\|W\\|_1`."""

    l2: float
    l1: float


# Products of at least this many multiply-adds are cut into column blocks of
# BLOCK_COLUMNS (the last block takes the remainder), at most MAX_BLOCKS,
# which a team's threads share; a smaller one is a single block. The blocks
# depend on the product's shape alone, so a fit's numbers never depend on
# how many threads computed them (BLAS rounds a narrower product its own
# way, so the cut itself must not move). The sizes were measured on W4:
# docs/performance.rst, "The constants and what they were measured on".
SPLIT_WORK = 4_000_000
BLOCK_COLUMNS = 256
MAX_BLOCKS = 16


@helper
def column_blocks(m, k, n):
    """How many column blocks ``(m x k) @ (k x n)`` is computed in."""
    if m < 2 or n < 2 or m * k * n < SPLIT_WORK:
        return 1
    return max(1, min(n // BLOCK_COLUMNS, MAX_BLOCKS))


@helper
def block_columns(block, n_blocks, n):
    """The columns ``(lo, hi)`` of block ``block`` of ``n_blocks`` of ``n``."""
    lo = block * BLOCK_COLUMNS
    return lo, n if block == n_blocks - 1 else lo + BLOCK_COLUMNS


def most_blocks(layer_units, n_rows):
    """The most column blocks of any product of a batch of ``n_rows`` rows:
    how many threads a team of ``backprop`` can keep busy. Python, by the
    kernels' own rule (``column_blocks``, run as Python)."""
    blocks = column_blocks.py_func
    units = [int(u) for u in layer_units]
    most = 1
    for layer, (n_in, n_out) in enumerate(zip(units[:-1], units[1:], strict=True)):
        most = max(most, blocks(n_rows, n_in, n_out), blocks(n_in, n_rows, n_out))
        if layer > 0:
            most = max(most, blocks(n_rows, n_out, n_in))
    return most


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


class Dropout(NamedTuple):
    """Inverted dropout of the hidden units during training.

    ``rates`` (float64) holds one rate per hidden layer; ``key`` (uint64,
    from ``dropout_key``) fixes the masks of one epoch. Whether unit ``j``
    of row ``r`` is dropped depends on ``(key, r, j)`` only, with ``r`` the
    row's index in the training data and ``j`` counted across the hidden
    layers: not on the batches, shards or threads the row goes through.
    """

    rates: np.ndarray
    key: np.uint64


@helper
def gemm(trans_a, trans_b, A, B, C, beta, lo, hi):
    """Columns ``[lo, hi)`` of ``C = op(A) @ op(B) + beta * C``, by skce's
    single-threaded BLAS (``_blas``); ``op`` transposes where ``trans_a`` or
    ``trans_b`` is True.

    ``A``, ``B`` and ``C`` are 2-D arrays as stored (a transposed operand is
    passed untransposed), C-contiguous. A column block is the same sums as
    the whole product, but BLAS may round them otherwise (it picks its
    kernels by shape): callers cut products by shape alone
    (``column_blocks``), never by thread. The shapes are checked here, since
    BLAS reads whatever memory it is told to.
    """
    m, n = C.shape
    a_rows, a_cols = A.shape
    b_rows, b_cols = B.shape
    k = a_rows if trans_a else a_cols
    if (
        (a_cols if trans_a else a_rows) != m
        or (b_cols if trans_b else b_rows) != k
        or (b_rows if trans_b else b_cols) != n
        or not (0 <= lo <= hi <= n)
    ):
        raise ValueError("gemm: operands of mismatched shapes")
    if not (_c_contiguous(A) and _c_contiguous(B) and _c_contiguous(C)):
        raise ValueError("gemm: operands must be C-contiguous")
    if m == 0 or hi == lo:
        return
    if k == 0:  # BLAS never reads C when beta is 0: it may hold garbage
        for i in range(m):
            for j in range(lo, hi):
                C[i, j] = beta * C[i, j] if beta != 0.0 else 0.0
        return
    # A product with one row or one column is a matrix-vector product (one
    # number: a dot product), which BLAS computes with other kernels and
    # other rounding: as np.dot does in Numba, so the numbers stay those of
    # the kernels that called np.dot.
    if m == 1 and n == 1:
        product = cblas_dot(A.reshape(k), B.reshape(k))
        C[0, 0] = product + beta * C[0, 0] if beta != 0.0 else product
    elif n == 1:
        if trans_a:  # op(A) = A.T, A stored k x m
            cblas_gemv(True, k, m, A, 0, max(m, 1), B, 0, beta, C, 0)
        else:
            cblas_gemv(False, m, k, A, 0, max(k, 1), B, 0, beta, C, 0)
    elif m == 1:
        # C = a @ op(B) with a the one row of op(A), stored contiguously
        # either way; columns lo:hi of op(B).
        if trans_b:  # op(B) = B.T, B stored n x k: rows lo:hi of B
            cblas_gemv(False, hi - lo, k, B, lo * k, max(k, 1), A, 0, beta, C, lo)
        else:  # B stored k x n: its columns lo:hi
            cblas_gemv(True, k, hi - lo, B, lo, max(n, 1), A, 0, beta, C, lo)
    else:
        _gemm(trans_a, trans_b, m, n, k, A, B, C, beta, lo, hi)


@helper
def _gemm(trans_a, trans_b, m, n, k, A, B, C, beta, lo, hi):
    a_cols = A.shape[1]
    b_cols = B.shape[1]
    cblas_gemm(
        trans_a,
        trans_b,
        m,
        hi - lo,
        k,
        A,
        0,
        max(a_cols, 1),
        B,
        lo * k if trans_b else lo,
        max(b_cols, 1),
        beta,
        C,
        lo,
        max(n, 1),
    )


@helper
def _c_contiguous(A):
    rows, cols = A.shape
    size = A.itemsize
    return (cols <= 1 or A.strides[1] == size) and (
        rows <= 1 or A.strides[0] == cols * size
    )


@helper
def sigmoid(z):
    """Logistic function of a scalar, without overflow for any finite ``z``."""
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@helper
def softplus(z):
    """``log(1 + exp(z))`` of a scalar, without overflow for any finite ``z``.

    .. math:: \\mathrm{softplus}(z) = \\max(z, 0) + \\log(1 + e^{-|z|})
    """
    return max(z, 0.0) + np.log1p(np.exp(-abs(z)))


@helper
def logsumexp(values, exps):
    """``log(sum(exp(values)))`` of a vector, shifted by its maximum ``m``.

    .. math:: \\mathrm{lse}(z) = m + \\log \\sum_j e^{z_j - m}, \\quad m = \\max_j z_j

    ``exps`` (same length) receives the terms :math:`e^{z_j - m}`. Returns
    ``(lse, sum_j exps_j)``; the softmax is ``exps / sum``.
    """
    shift = values[0]
    for j in range(1, values.shape[0]):
        shift = max(shift, values[j])
    total = 0.0
    for j in range(values.shape[0]):
        term = np.exp(values[j] - shift)
        exps[j] = term
        total += term
    return shift + np.log(total), total


# SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): its output for the
# counter c under the key k is mix64(k + (c + 1) * GOLDEN_GAMMA), a hash of
# the counter that passes BigCrush; chained for (seed, epoch), row and unit.
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


@helper
def keyed(key, counter):
    """SplitMix64's 64-bit output for ``counter`` (an int >= 0) under ``key``."""
    z = key + np.uint64(counter + 1) * _GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


@kernel
def dropout_key(seed, epoch):
    """The ``Dropout.key`` of epoch ``epoch`` (an int >= 0) of a fit whose
    masks are seeded by ``seed`` (an int in [0, 2**63))."""
    return keyed(np.uint64(seed), epoch)


@helper
def kept(row_key, unit, rate):
    """Whether ``unit`` is kept: a uniform draw in [0, 1) from its 53 top
    bits is at least ``rate``."""
    return (keyed(row_key, unit) >> np.uint64(11)) * (1.0 / 9007199254740992.0) >= rate


@helper
def first_unit(net, layer):
    """The index of hidden layer ``layer``'s first unit across hidden layers."""
    total = 0
    for hidden in range(1, layer + 1):
        total += net.layer_units[hidden]
    return total


@kernel
def dropout_scales(dropout, rows, net, layer):
    """The factors dropout multiplies hidden layer ``layer``'s outputs of the
    rows ``rows`` by: 0 where a unit is dropped, ``1 / (1 - rate)`` where it
    is kept; ``(n_rows, n_units)`` float64. What the training kernels apply,
    as a matrix (for tests and for readers)."""
    n_units = net.layer_units[layer + 1]
    scales = np.empty((rows.shape[0], n_units))
    rate = dropout.rates[layer]
    unit = first_unit(net, layer)
    for i in range(rows.shape[0]):
        row_key = keyed(dropout.key, rows[i])
        for j in range(n_units):
            scales[i, j] = 1.0 / (1.0 - rate) if kept(row_key, unit + j, rate) else 0.0
    return scales


@helper
def drop_units(A, rows, dropout, net, layer, lo, hi):
    """Dropout of hidden layer ``layer`` on its outputs ``A[:, lo:hi]`` in
    place: each unit zeroed with probability ``rate``, else scaled by
    ``1 / (1 - rate)``."""
    rate = dropout.rates[layer]
    if rate == 0.0:
        return
    scale = 1.0 / (1.0 - rate)
    unit = first_unit(net, layer)
    for i in range(A.shape[0]):
        row_key = keyed(dropout.key, rows[i])
        for j in range(lo, hi):
            A[i, j] = A[i, j] * scale if kept(row_key, unit + j, rate) else 0.0


@helper
def derivative(code, a):
    """The activation's derivative at the output ``a`` (see below)."""
    if code == ACT_LOGISTIC:
        return a * (1.0 - a)
    if code == ACT_TANH:
        return 1.0 - a * a
    if code == ACT_RELU:
        return 1.0 if a != 0.0 else 0.0
    return 1.0


@helper
def multiply_by_dropped_derivative(code, A, D, rows, dropout, net, layer, lo, hi):
    """``multiply_by_derivative`` for a hidden layer with dropout: ``A`` holds
    the dropped and scaled outputs, ``D`` the error with respect to them;
    columns ``lo:hi`` only.

    A dropped unit passes no error back. A kept one multiplies it by the
    scale and by the derivative at its output before scaling, recovered as
    ``A * (1 - rate)`` (to rounding); the mask is drawn again, as it costs
    less than storing it.
    """
    rate = dropout.rates[layer]
    if rate == 0.0:
        for i in range(A.shape[0]):
            for j in range(lo, hi):
                D[i, j] *= derivative(code, A[i, j])
        return
    keep = 1.0 - rate
    scale = 1.0 / keep
    unit = first_unit(net, layer)
    for i in range(A.shape[0]):
        row_key = keyed(dropout.key, rows[i])
        for j in range(lo, hi):
            if kept(row_key, unit + j, rate):
                D[i, j] *= scale * derivative(code, A[i, j] * keep)
            else:
                D[i, j] = 0.0


def workspace_size(layer_units, n_rows):
    """Number of scratch elements the kernels need for ``n_rows`` rows: the
    outputs of every layer, then two delta buffers as wide as the widest."""
    units = [int(u) for u in layer_units[1:]]
    return int(n_rows) * (sum(units) + 2 * max(units))


@helper
def layer_weights(params, net, layer):
    """``W_l`` of a vector laid out like ``theta``, as an ``n_in x n_out`` view."""
    start = net.offsets[2 * layer]
    shape = (net.layer_units[layer], net.layer_units[layer + 1])
    return params[start : net.offsets[2 * layer + 1]].reshape(shape)


@helper
def layer_biases(params, net, layer):
    """``b_l`` of a vector laid out like ``theta``."""
    return params[net.offsets[2 * layer + 1] : net.offsets[2 * layer + 2]]


@helper
def add_bias_and_activate(code, Z, b, lo, hi):
    """``Z = f(Z + b)`` in place on the columns ``lo:hi``, for a hidden layer
    with activation ``code``.

    One pass over ``Z`` (bias and activation fused); ``code`` is tested
    outside the loops so that each loop vectorizes.
    """
    bias = b[lo:hi]
    for i in range(Z.shape[0]):
        row = Z[i, lo:hi]
        if code == ACT_RELU:
            for j in range(row.shape[0]):
                row[j] = max(row[j] + bias[j], 0.0)
        elif code == ACT_TANH:
            for j in range(row.shape[0]):
                row[j] = np.tanh(row[j] + bias[j])
        elif code == ACT_LOGISTIC:
            for j in range(row.shape[0]):
                row[j] = sigmoid(row[j] + bias[j])
        else:
            for j in range(row.shape[0]):
                row[j] += bias[j]


@helper
def multiply_by_derivative(code, outputs, delta, lo, hi):
    """Multiply ``delta[:, lo:hi]`` in place by the activation's derivative.

    The derivative is written in terms of the layer's *outputs* (as in
    scikit-learn), so the pre-activations never need to be kept:
    logistic ``a(1 - a)``, tanh ``1 - a^2``, relu ``[a > 0]``.
    """
    for i in range(delta.shape[0]):
        a = outputs[i, lo:hi]
        d = delta[i, lo:hi]
        if code == ACT_LOGISTIC:
            for j in range(d.shape[0]):
                d[j] = d[j] * a[j] * (1.0 - a[j])
        elif code == ACT_TANH:
            for j in range(d.shape[0]):
                d[j] = d[j] * (1.0 - a[j] * a[j])
        elif code == ACT_RELU:
            for j in range(d.shape[0]):
                d[j] = d[j] if a[j] != 0.0 else 0.0


@helper
def csr_rows_dot(csr, rows, weights, out):
    """``out = X[rows] @ weights`` for the CSR matrix ``csr``; overwrites ``out``."""
    n_cols = weights.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(n_cols):
            out[i, j] = 0.0
        for p in range(csr.indptr[r], csr.indptr[r + 1]):
            value = csr.data[p]
            w_row = weights[csr.indices[p]]
            for j in range(n_cols):
                out[i, j] += value * w_row[j]


@helper
def csr_rows_transpose_dot(csr, rows, delta, out):
    """``out = X[rows].T @ delta`` for the CSR matrix ``csr``; overwrites ``out``."""
    out[:, :] = 0.0
    n_cols = delta.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for p in range(csr.indptr[r], csr.indptr[r + 1]):
            value = csr.data[p]
            out_row = out[csr.indices[p]]
            for j in range(n_cols):
                out_row[j] += value * delta[i, j]


@helper
def forward(X, csr, rows, theta, net, work, dropout, team, timers):
    """Forward pass of ``n_rows = rows.shape[0]`` rows.

    Writes every layer's output into ``work``: hidden layers activated (and,
    with a ``Dropout``, dropped; None in prediction), the last layer left as
    logits ``z``. Returns the offset of the logits in ``work``; they form an
    ``(n_rows, layer_units[-1])`` block. The threads of ``team`` share each
    layer's column blocks and meet after each layer. ``timers`` (``_profile``)
    receives the time of the products and of the activations.
    """
    n_rows = rows.shape[0]
    n_weight_layers = net.layer_units.shape[0] - 1
    out = 0
    prev = 0
    for layer in range(n_weight_layers):
        n_in = net.layer_units[layer]
        n_out = net.layer_units[layer + 1]
        W = layer_weights(theta, net, layer)
        Z = work[out : out + n_rows * n_out].reshape((n_rows, n_out))
        b = layer_biases(theta, net, layer)
        hidden = layer < n_weight_layers - 1
        code = net.activation if hidden else ACT_IDENTITY
        sparse = layer == 0 and csr is not None
        n_blocks = 1 if sparse else column_blocks(n_rows, n_in, n_out)
        for block in range(team.thread, n_blocks, team.size):
            lo, hi = block_columns(block, n_blocks, n_out)
            clock = now(timers)
            if layer > 0:
                A = work[prev : prev + n_rows * n_in].reshape((n_rows, n_in))
                gemm(False, False, A, W, Z, 0.0, lo, hi)
            elif csr is None:
                gemm(False, False, X, W, Z, 0.0, lo, hi)
            else:
                csr_rows_dot(csr, rows, W, Z)
            clock = lap(timers, FORWARD_PRODUCTS, clock)
            add_bias_and_activate(code, Z, b, lo, hi)
            if dropout is not None and hidden:
                drop_units(Z, rows, dropout, net, layer, lo, hi)
            lap(timers, ACTIVATIONS, clock)
        meet(team, timers)
        prev = out
        out += n_rows * n_out
    return prev


@helper
def custom_cost_and_delta(output, Z, targets, delta, row_cost, fn, fn_delta):
    """``output_cost_and_delta`` for a user's cost: jitted ``fn`` and ``fn_delta``.

    Per sample, the output activations ``a`` (softmax, sigmoid, identity or
    exponential of ``z``, by ``output``) are formed here, then ``fn(a, y)``
    gives the cost and ``fn_delta(z, a, y)`` the error, Nielsen's interface;
    all three vectors are float64. The length of the returned error is
    checked, since a wrong one would be read out of bounds.
    """
    n_rows, n_out = Z.shape
    z = np.empty(n_out)
    a = np.empty(n_out)
    y = np.empty(n_out)
    total = 0.0
    for i in range(n_rows):
        w = targets.weights[i] if targets.has_weight else 1.0
        for j in range(n_out):
            z[j] = Z[i, j]
            y[j] = targets.Y[i, j]
        if output == OUTPUT_SOFTMAX:
            _, total_exp = logsumexp(z, a)
            for j in range(n_out):
                a[j] /= total_exp
        elif output == OUTPUT_IDENTITY:
            for j in range(n_out):
                a[j] = z[j]
        elif output == OUTPUT_EXP:
            for j in range(n_out):
                a[j] = np.exp(z[j])
        else:
            for j in range(n_out):
                a[j] = sigmoid(z[j])
        cost_i = fn(a, y)
        error = fn_delta(z, a, y)
        if error.shape[0] != n_out:
            raise ValueError("a custom cost's delta returned the wrong length")
        for j in range(n_out):
            delta[i, j] = error[j] * w
        row_cost[i] = cost_i
        total += w * cost_i
    return total


@kernel
def output_cost_and_delta(
    cost, output, Z, targets, delta, row_cost, fn=None, fn_delta=None
):
    """Weighted sum of the per-sample costs, and the output-layer error.

    ``Z`` are the output logits and ``targets.Y`` the targets (in [0, 1] for
    a classifier's cost), both ``(n_rows, n_outputs)``. ``delta`` receives
    ``w_i * dC_i/dz`` and ``row_cost`` (``n_rows``) the unweighted
    :math:`C_i`. Every value comes from the logits, so nothing overflows,
    and a target of 0 or 1 drops its term (``0 * log 0 = 0``), so infinite
    logits give an infinite cost, not NaN:

    - log-likelihood (softmax): ``C = lse(z) - sum_j y_j z_j``, ``delta = a - y``
    - cross-entropy (sigmoid): ``C = sum_j (1 - y_j) sp(z_j) + y_j sp(-z_j)``,
      ``delta = a - y``
    - quadratic (sigmoid): ``C = 1/2 sum_j (a_j - y_j)^2``,
      ``delta = (a - y) a (1 - a)``

    with ``lse`` the log-sum-exp and ``sp`` the softplus; the regression
    costs are tabulated in ``skce.costs``. ``cost`` is a ``CostCode``.
    A user's cost (``fn`` not None) is computed on the outputs that
    ``output`` selects.
    """
    if fn is not None:
        return custom_cost_and_delta(output, Z, targets, delta, row_cost, fn, fn_delta)
    Y = targets.Y
    n_rows, n_out = Z.shape
    total = 0.0
    for i in range(n_rows):
        w = targets.weights[i] if targets.has_weight else 1.0
        cost_i = 0.0
        code = cost.code
        if code == COST_LOG_LIKELIHOOD:
            lse, total_exp = logsumexp(Z[i], delta[i])
            for j in range(n_out):
                if Y[i, j] != 0.0:
                    cost_i += Y[i, j] * (lse - Z[i, j])
                delta[i, j] = (delta[i, j] / total_exp - Y[i, j]) * w
        elif code == COST_CROSS_ENTROPY:
            for j in range(n_out):
                z = Z[i, j]
                y = Y[i, j]
                # One exponential gives both the sigmoid and the softplus tail.
                e = np.exp(-abs(z))
                tail = np.log1p(e)
                a = 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)
                if y != 1.0:
                    cost_i += (1.0 - y) * (max(z, 0.0) + tail)
                if y != 0.0:
                    cost_i += y * (max(-z, 0.0) + tail)
                delta[i, j] = (a - y) * w
        elif code == COST_QUADRATIC:
            for j in range(n_out):
                a = sigmoid(Z[i, j])
                r = a - Y[i, j]
                cost_i += 0.5 * r * r
                delta[i, j] = r * a * (1.0 - a) * w
        else:
            # A regression cost, of r = z - y (of p - y for Poisson, p = e^z).
            # Squared error and Poisson are scikit-learn's MLPRegressor
            # losses as it computes them: the squared error's cost is a mean
            # over the outputs, its error is not; Poisson sums both. The
            # other costs are means over the outputs, error included.
            t = cost.parameter
            mean = 1.0 / n_out
            error_scale = w if code == COST_SQUARED_ERROR else w * mean
            if code == COST_POISSON:
                mean, error_scale = 1.0, w
            for j in range(n_out):
                y = Y[i, j]
                if code == COST_POISSON:
                    p = np.exp(Z[i, j])
                    r = p - y
                    c = r + (y * np.log(y / p) if y != 0.0 else 0.0)
                    e = r
                else:
                    r = Z[i, j] - y
                    size = abs(r)
                    sign = 1.0 if r > 0.0 else (-1.0 if r < 0.0 else 0.0)
                    if code == COST_SQUARED_ERROR or (code == COST_HUBER and size <= t):
                        c, e = 0.5 * r * r, r
                    elif code == COST_HUBER:
                        c, e = t * (size - 0.5 * t), t * sign
                    elif code == COST_ABSOLUTE_ERROR:
                        c, e = size, sign
                    else:  # the pinball loss of the quantile t
                        e = 1.0 - t if r > 0.0 else (-t if r < 0.0 else 0.0)
                        c = e * r
                cost_i += c
                delta[i, j] = e * error_scale
            cost_i *= mean
        row_cost[i] = cost_i
        total += w * cost_i
    return total


@kernel
def backprop(
    X,
    csr,
    rows,
    targets,
    theta,
    net,
    cost,
    grad,
    bias_sums,
    work,
    dropout,
    fn,
    fn_delta,
    team,
    timers,
):
    """Unnormalised sums of a batch: cost, gradient and weight.

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
    A user's cost (``fn``) may raise, so it is only run by a team of one.
    ``timers`` (``_profile``) receives the time of each phase.
    """
    n_rows = rows.shape[0]
    units = net.layer_units
    n_weight_layers = units.shape[0] - 1
    n_out = units[n_weight_layers]

    logits = forward(X, csr, rows, theta, net, work, dropout, team, timers)
    widest = 0
    for layer in range(1, units.shape[0]):
        widest = max(widest, units[layer])
    current = logits + n_rows * n_out  # first delta buffer, after the outputs
    spare = current + n_rows * widest

    cost_sum = 0.0
    weight_sum = 0.0
    clock = now(timers)
    if team.thread == 0:
        Z = work[logits : logits + n_rows * n_out].reshape((n_rows, n_out))
        D = work[current : current + n_rows * n_out].reshape((n_rows, n_out))
        row_cost = np.empty(n_rows)
        cost_sum = output_cost_and_delta(
            cost, net.output, Z, targets, D, row_cost, fn, fn_delta
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
        grad_W = layer_weights(grad, net, layer)
        column_sum = layer_biases(bias_sums, net, layer)
        D = work[current : current + n_rows * n_out].reshape((n_rows, n_out))
        a_in = output_end - n_rows * n_in  # output of layer - 1 (unused for 0)
        # grad_W = A_in.T @ D, where A_in is the input X for the first layer.
        sparse = layer == 0 and csr is not None
        n_blocks = 1 if sparse else column_blocks(n_in, n_rows, n_out)
        for block in range(team.thread, n_blocks, team.size):
            lo, hi = block_columns(block, n_blocks, n_out)
            weight_gradient(
                X, csr, rows, work, a_in, layer, D, grad_W, column_sum, lo, hi, timers
            )

        if layer > 0:
            # delta of the layer below: (D @ W.T) * f'(A_in)
            D_in = work[spare : spare + n_rows * n_in].reshape((n_rows, n_in))
            A_in = work[a_in:output_end].reshape((n_rows, n_in))
            W = layer_weights(theta, net, layer)
            n_blocks = column_blocks(n_rows, n_out, n_in)
            for block in range(team.thread, n_blocks, team.size):
                lo, hi = block_columns(block, n_blocks, n_in)
                input_error(D, W, A_in, D_in, rows, dropout, net, layer, lo, hi, timers)
            current, spare = spare, current
            output_end = a_in
        # The next layer reads all of D_in and overwrites D; after the last,
        # every sum is written.
        meet(team, timers)
    return cost_sum, weight_sum


# ``backprop`` as the epoch kernel calls it: inlined into the caller, where
# a function of its own would be optimized once alone and once more in the
# caller (docs/performance.rst, "The first fit"). Only the caller is
# compiled and cached; Python calls the ``backprop`` kernel.
backprop_inlined = inlined(backprop.py_func)


@helper
def weight_gradient(
    X, csr, rows, work, a_in, layer, D, grad_W, column_sum, lo, hi, timers
):
    """Columns ``lo:hi`` of a layer's weight gradient ``A.T @ D`` and of
    the column sums of ``D``. The layer's input ``A`` is the previous
    layer's output, which starts at ``work[a_in]``, or for the first layer the
    rows of ``X`` (``csr`` for sparse input)."""
    clock = now(timers)
    n_rows, n_in = D.shape[0], grad_W.shape[0]
    # The same dispatch as the forward pass's: one helper for both compiles
    # longer (docs/performance.rst, "The first fit").
    if layer > 0:
        A_in = work[a_in : a_in + n_rows * n_in].reshape((n_rows, n_in))
        gemm(True, False, A_in, D, grad_W, 0.0, lo, hi)
    elif csr is None:
        gemm(True, False, X, D, grad_W, 0.0, lo, hi)
    else:
        csr_rows_transpose_dot(csr, rows, D, grad_W)
    clock = lap(timers, BACKWARD_PRODUCTS, clock)
    sums = column_sum[lo:hi]
    for j in range(sums.shape[0]):
        sums[j] = 0.0
    for i in range(n_rows):
        row = D[i, lo:hi]
        for j in range(sums.shape[0]):
            sums[j] += row[j]
    lap(timers, BIAS_SUMS, clock)


@helper
def input_error(D, W, A_in, D_in, rows, dropout, net, layer, lo, hi, timers):
    """Columns ``lo:hi`` of the error of layer ``layer``'s input,
    ``(D @ W.T) * f'(A_in)`` (with that input's dropout, if any)."""
    clock = now(timers)
    gemm(False, True, D, W, D_in, 0.0, lo, hi)
    clock = lap(timers, BACKWARD_PRODUCTS, clock)
    if dropout is None:
        multiply_by_derivative(net.activation, A_in, D_in, lo, hi)
    else:
        multiply_by_dropped_derivative(
            net.activation, A_in, D_in, rows, dropout, net, layer - 1, lo, hi
        )
    lap(timers, ACTIVATIONS, clock)


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


@helper
def penalized(cost_sum, penalty, squares, absolutes):
    """The cost sum plus the penalty, given the weights' sum of squares and
    of absolute values (the L2 case adds exactly what scikit-learn adds)."""
    total = cost_sum + 0.5 * penalty.l2 * squares
    if penalty.l1 != 0.0:
        total += penalty.l1 * absolutes
    return total


@kernel
def predict_logits(X, csr, rows, theta, net, chunk, work, Z):
    """Output logits of the rows ``rows`` into ``Z``
    (``(n_rows, layer_units[-1])``, ``theta``'s dtype).

    ``rows`` (int64) are consecutive row indices, ``X`` those rows (dense
    input) or the CSR placeholder. They go through ``chunk`` rows at a time,
    so that ``work`` (``workspace_size(layer_units, chunk)``) stays small
    and in cache whatever the number of rows. Rows do not depend on each
    other: callers split the rows between threads at multiples of ``chunk``.
    """
    n_rows = rows.shape[0]
    n_out = Z.shape[1]
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        logits = forward(
            X[start:stop], csr, rows[start:stop], theta, net, work, None, alone(), None
        )
        for i in range(stop - start):
            for j in range(n_out):
                Z[start + i, j] = work[logits + i * n_out + j]


@kernel
def probabilities(output, normalize, Z, P, lowest, highest):
    """Class probabilities from output logits, into ``P``.

    - ``P`` with 2 columns and ``Z`` with 1: binary, ``[1 - a, a]``.
    - softmax outputs: softmax of ``z``.
    - logistic outputs with ``normalize``: the sigmoids scaled to sum to one,
      computed as a softmax of :math:`\\log\\sigma(z) = -\\mathrm{sp}(-z)` so
      that rows of saturated (all zero) sigmoids still give a distribution.
    - otherwise (multilabel): the sigmoids themselves.

    A sigmoid is never 0 or 1, but rounds to them once ``|z|`` passes about
    37 (float64) or 17 (float32); such values are kept in
    ``[lowest, highest]``, the floats closest to 0 and 1 inside the interval.
    """
    n_rows, n_out = Z.shape
    binary = n_out == 1 and P.shape[1] == 2
    softmax = output == OUTPUT_SOFTMAX
    exps = np.empty(n_out, dtype=P.dtype)
    for i in range(n_rows):
        if binary:
            a = min(max(sigmoid(Z[i, 0]), lowest), highest)
            P[i, 0] = 1.0 - a
            P[i, 1] = a
        elif softmax or normalize:
            for j in range(n_out):
                P[i, j] = Z[i, j] if softmax else -softplus(-Z[i, j])
            lse, _ = logsumexp(P[i], exps)
            for j in range(n_out):
                P[i, j] = np.exp(P[i, j] - lse)
        else:
            for j in range(n_out):
                P[i, j] = min(max(sigmoid(Z[i, j]), lowest), highest)


@kernel
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


# Rows of a full batch go through the kernels in chunks whose layer outputs
# take about this many bytes: they stay in the CPU's cache.
CHUNK_BYTES = 1 << 20


class Shard(NamedTuple):
    """A shard of the rows for full-batch sums: its kernel inputs and buffers.

    ``rows`` are the rows' indices: into ``csr`` for sparse input, and the
    keys of their dropout masks (the rows' indices in the whole training
    set) for both. ``grad`` and ``bias_sums`` receive the shard's sums,
    ``parts`` those of one chunk of ``chunk`` rows, computed in ``work``.
    """

    X: np.ndarray
    csr: CSR | None
    rows: np.ndarray
    targets: Targets
    grad: np.ndarray
    bias_sums: np.ndarray
    parts: tuple
    work: np.ndarray
    chunk: int

    @classmethod
    def of(cls, x, targets, lo, hi, network, dtype, first_row=None):
        """Rows ``[lo, hi)`` of the kernel inputs ``x`` and ``targets``
        for ``network`` (a ``_network.Network``); their dropout keys start
        at ``first_row`` (default ``lo``)."""
        X, csr = x
        first_row = lo if first_row is None else first_row
        weights = targets.weights[lo:hi] if targets.has_weight else targets.weights
        layer_units = network.layer_units
        per_row = workspace_size(layer_units, 1) * np.dtype(dtype).itemsize
        chunk = max(64, CHUNK_BYTES // per_row)
        size = network.n_parameters
        return cls(
            X=X if csr is not None else X[lo:hi],
            csr=csr,
            rows=np.arange(first_row, first_row + hi - lo),
            targets=Targets(targets.Y[lo:hi], weights, targets.has_weight),
            grad=np.zeros(size, dtype=dtype),
            bias_sums=np.zeros(size),
            parts=(np.zeros(size, dtype=dtype), np.zeros(size)),
            work=np.empty(workspace_size(layer_units, chunk), dtype=dtype),
            chunk=chunk,
        )

    def sums(self, theta, net, cost, fn, fn_delta, dropout):
        """Cost and weight sums of the shard (``chunked_backprop``)."""
        return chunked_backprop(
            self.X, self.csr, self, theta, net, cost, dropout, fn, fn_delta
        )


@kernel
def chunked_backprop(X, csr, shard, theta, net, cost, dropout, fn, fn_delta):
    """``backprop`` of a ``Shard``'s rows, ``chunk`` at a time, added in order.

    ``X, csr`` are the shard's (``shard.X, shard.csr``), passed apart so
    that Numba drops the code of the other input form. Each chunk's layer
    outputs fit in the CPU's cache, where those of a full batch of many
    thousand rows would stream through memory several times. Overwrites
    ``shard.grad`` and ``shard.bias_sums`` as ``backprop`` does; returns
    ``(cost_sum, weight_sum)``.
    """
    rows, targets, chunk, work = shard.rows, shard.targets, shard.chunk, shard.work
    grad, bias_sums = shard.grad, shard.bias_sums
    part_grad, part_bias = shard.parts
    n_rows = rows.shape[0]
    n_params = theta.shape[0]
    cost_sum = 0.0
    weight_sum = 0.0
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        weights = targets.weights[start:stop] if targets.has_weight else targets.weights
        batch = Targets(targets.Y[start:stop], weights, targets.has_weight)
        X_rows = X[start:stop] if csr is None else X
        costs, weights_sum = backprop(
            X_rows,
            csr,
            rows[start:stop],
            batch,
            theta,
            net,
            cost,
            part_grad,
            part_bias,
            work,
            dropout,
            fn,
            fn_delta,
            alone(),
            None,
        )
        cost_sum += costs
        weight_sum += weights_sum
        accumulate(net, part_grad, part_bias, grad, bias_sums, 0, n_params, start == 0)
    return cost_sum, weight_sum
