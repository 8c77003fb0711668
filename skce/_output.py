"""The output layer, as pieces: each cost's value and error, and the
probabilities of each kind of output.

A cost piece (``COST``) takes a batch's output logits ``Z`` and targets
``Y`` (``(n_rows, n_outputs)``, C-contiguous), the sample weights (read
only if ``has_weight``), and writes ``D = w_i dC_i/dz`` and ``row_cost``
(float64, the unweighted :math:`C_i`); it returns :math:`\\sum_i w_i C_i`.
Every value comes from the logits, so nothing overflows, and a target of
0 or 1 drops its term (``0 * log 0 = 0``), so infinite logits give an
infinite cost, not NaN:

- log-likelihood (softmax): ``C = lse(z) - sum_j y_j z_j``, ``delta = a - y``
- cross-entropy (sigmoid): ``C = sum_j (1 - y_j) sp(z_j) + y_j sp(-z_j)``,
  ``delta = a - y``
- quadratic (sigmoid): ``C = 1/2 sum_j (a_j - y_j)^2``,
  ``delta = (a - y) a (1 - a)``

with ``lse`` the log-sum-exp and ``sp`` the softplus; the regression costs
are tabulated in ``skce.costs``. ``parameter`` is the Huber threshold or
the quantile. ``status`` (float64, ``2 + 2 n_outputs``, zeros) is for a
user's cost (``custom_cost``): a piece cannot raise, so it writes there
what went wrong and the failing row's logits and targets, returns NaN, and
Python raises (``cost_failure``).
"""

import numpy as np
from numba import carray

from ._activations import sigmoid, softplus
from ._codes import (
    COST_ABSOLUTE_ERROR,
    COST_CROSS_ENTROPY,
    COST_HUBER,
    COST_LOG_LIKELIHOOD,
    COST_POISSON,
    COST_QUADRATIC,
    COST_QUANTILE,
    COST_SQUARED_ERROR,
    OUTPUT_EXP,
    OUTPUT_IDENTITY,
    OUTPUT_SOFTMAX,
)
from ._compiled import helper, kernel
from ._pieces import Piece, Signature, piece

#: ``cost(n_rows, n_outputs, Z, Y, weights, has_weight, D, row_cost,
#: parameter, status) -> sum_i w_i C_i``.
COST = Signature("cost", "f", "iiTTTiTFfF")
cost_piece = COST.caller
#: ``probabilities(n_rows, n_outputs, n_columns, Z, P, lowest, highest)``.
PROBABILITIES = Signature("probabilities", "void", "iiiTTff")
probabilities_piece = PROBABILITIES.caller

# What a user's cost piece writes to ``status[0]``.
RAISED = 1
WRONG_LENGTH = 2


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


# -- the classifier's costs ----------------------------------------------------


@piece(COST)
def log_likelihood(n_rows, n_out, z, y, w, has_weight, d, row_cost, parameter, status):
    """Softmax outputs with the log-likelihood."""
    shape = (n_rows, n_out)
    Z, Y, D = carray(z, shape), carray(y, shape), carray(d, shape)
    weights, costs = carray(w, n_rows if has_weight else 0), carray(row_cost, n_rows)
    total = 0.0
    for i in range(n_rows):
        weight = weights[i] if has_weight else 1.0
        cost_i = 0.0
        lse, total_exp = logsumexp(Z[i], D[i])
        for j in range(n_out):
            if Y[i, j] != 0.0:
                cost_i += Y[i, j] * (lse - Z[i, j])
            D[i, j] = (D[i, j] / total_exp - Y[i, j]) * weight
        costs[i] = cost_i
        total += weight * cost_i
    return total


@piece(COST)
def cross_entropy(n_rows, n_out, z, y, w, has_weight, d, row_cost, parameter, status):
    """Logistic outputs with the cross-entropy."""
    shape = (n_rows, n_out)
    Z, Y, D = carray(z, shape), carray(y, shape), carray(d, shape)
    weights, costs = carray(w, n_rows if has_weight else 0), carray(row_cost, n_rows)
    total = 0.0
    for i in range(n_rows):
        weight = weights[i] if has_weight else 1.0
        cost_i = 0.0
        for j in range(n_out):
            logit = Z[i, j]
            target = Y[i, j]
            # One exponential gives both the sigmoid and the softplus tail.
            e = np.exp(-abs(logit))
            tail = np.log1p(e)
            a = 1.0 / (1.0 + e) if logit >= 0.0 else e / (1.0 + e)
            if target != 1.0:
                cost_i += (1.0 - target) * (max(logit, 0.0) + tail)
            if target != 0.0:
                cost_i += target * (max(-logit, 0.0) + tail)
            D[i, j] = (a - target) * weight
        costs[i] = cost_i
        total += weight * cost_i
    return total


@piece(COST)
def quadratic(n_rows, n_out, z, y, w, has_weight, d, row_cost, parameter, status):
    """Logistic outputs with the quadratic cost."""
    shape = (n_rows, n_out)
    Z, Y, D = carray(z, shape), carray(y, shape), carray(d, shape)
    weights, costs = carray(w, n_rows if has_weight else 0), carray(row_cost, n_rows)
    total = 0.0
    for i in range(n_rows):
        weight = weights[i] if has_weight else 1.0
        cost_i = 0.0
        for j in range(n_out):
            a = sigmoid(Z[i, j])
            r = a - Y[i, j]
            cost_i += 0.5 * r * r
            D[i, j] = r * a * (1.0 - a) * weight
        costs[i] = cost_i
        total += weight * cost_i
    return total


# -- the regressor's costs -----------------------------------------------------
# Squared error and Poisson are scikit-learn's MLPRegressor losses as it
# computes them: the squared error's cost is a mean over the outputs, its
# error is not; Poisson sums both. The other costs are means over the
# outputs, error included. Each is of r = z - y (of p - y for Poisson,
# p = e^z), and its cost and error are float64 whatever the dtype.


@piece(COST)
def squared_error(n_rows, n_out, z, y, w, has_weight, d, row_cost, parameter, status):
    """Identity outputs with half the squared error."""
    shape = (n_rows, n_out)
    Z, Y, D = carray(z, shape), carray(y, shape), carray(d, shape)
    weights, costs = carray(w, n_rows if has_weight else 0), carray(row_cost, n_rows)
    total = 0.0
    mean = 1.0 / n_out
    for i in range(n_rows):
        weight = weights[i] if has_weight else 1.0
        cost_i = 0.0
        for j in range(n_out):
            r = Z[i, j] - Y[i, j]
            cost_i += 0.5 * r * r
            D[i, j] = r * weight
        cost_i *= mean
        costs[i] = cost_i
        total += weight * cost_i
    return total


@piece(COST)
def poisson(n_rows, n_out, z, y, w, has_weight, d, row_cost, parameter, status):
    """Exponential outputs with half the Poisson deviance."""
    shape = (n_rows, n_out)
    Z, Y, D = carray(z, shape), carray(y, shape), carray(d, shape)
    weights, costs = carray(w, n_rows if has_weight else 0), carray(row_cost, n_rows)
    total = 0.0
    for i in range(n_rows):
        weight = weights[i] if has_weight else 1.0
        cost_i = 0.0
        for j in range(n_out):
            target = Y[i, j]
            p = np.exp(Z[i, j])
            r = p - target
            cost_i += r + (target * np.log(target / p) if target != 0.0 else 0.0)
            D[i, j] = r * weight
        costs[i] = cost_i
        total += weight * cost_i
    return total


@piece(COST)
def absolute_error(n_rows, n_out, z, y, w, has_weight, d, row_cost, parameter, status):
    """Identity outputs with the absolute error."""
    shape = (n_rows, n_out)
    Z, Y, D = carray(z, shape), carray(y, shape), carray(d, shape)
    weights, costs = carray(w, n_rows if has_weight else 0), carray(row_cost, n_rows)
    total = 0.0
    mean = 1.0 / n_out
    for i in range(n_rows):
        weight = weights[i] if has_weight else 1.0
        scale = weight * mean
        cost_i = 0.0
        for j in range(n_out):
            r = Z[i, j] - Y[i, j]
            cost_i += abs(r)
            D[i, j] = (1.0 if r > 0.0 else (-1.0 if r < 0.0 else 0.0)) * scale
        cost_i *= mean
        costs[i] = cost_i
        total += weight * cost_i
    return total


@piece(COST)
def huber(n_rows, n_out, z, y, w, has_weight, d, row_cost, parameter, status):
    """Identity outputs with the Huber cost of threshold ``parameter``."""
    shape = (n_rows, n_out)
    Z, Y, D = carray(z, shape), carray(y, shape), carray(d, shape)
    weights, costs = carray(w, n_rows if has_weight else 0), carray(row_cost, n_rows)
    total = 0.0
    mean = 1.0 / n_out
    t = parameter
    for i in range(n_rows):
        weight = weights[i] if has_weight else 1.0
        scale = weight * mean
        cost_i = 0.0
        for j in range(n_out):
            r = Z[i, j] - Y[i, j]
            size = abs(r)
            if size <= t:
                cost_i += 0.5 * r * r
                D[i, j] = r * scale
            else:
                cost_i += t * (size - 0.5 * t)
                D[i, j] = t * (1.0 if r > 0.0 else -1.0) * scale
        cost_i *= mean
        costs[i] = cost_i
        total += weight * cost_i
    return total


@piece(COST)
def quantile(n_rows, n_out, z, y, w, has_weight, d, row_cost, parameter, status):
    """Identity outputs with the pinball cost of the quantile ``parameter``."""
    shape = (n_rows, n_out)
    Z, Y, D = carray(z, shape), carray(y, shape), carray(d, shape)
    weights, costs = carray(w, n_rows if has_weight else 0), carray(row_cost, n_rows)
    total = 0.0
    mean = 1.0 / n_out
    t = parameter
    for i in range(n_rows):
        weight = weights[i] if has_weight else 1.0
        scale = weight * mean
        cost_i = 0.0
        for j in range(n_out):
            r = Z[i, j] - Y[i, j]
            e = 1.0 - t if r > 0.0 else (-t if r < 0.0 else 0.0)
            cost_i += e * r
            D[i, j] = e * scale
        cost_i *= mean
        costs[i] = cost_i
        total += weight * cost_i
    return total


#: The built-in costs' pieces, by their codes (``_codes``).
COST_PIECES = {
    COST_LOG_LIKELIHOOD: log_likelihood,
    COST_CROSS_ENTROPY: cross_entropy,
    COST_QUADRATIC: quadratic,
    COST_SQUARED_ERROR: squared_error,
    COST_POISSON: poisson,
    COST_ABSOLUTE_ERROR: absolute_error,
    COST_HUBER: huber,
    COST_QUANTILE: quantile,
}


# -- a user's cost -------------------------------------------------------------


def custom_cost(fn, fn_delta, output):
    """The cost piece of a user's jitted ``fn(a, y)`` and ``fn_delta(z, a,
    y)`` (Nielsen's interface) on outputs of code ``output``.

    Per sample, the output activations ``a`` (softmax, sigmoid, identity or
    exponential of ``z``) are formed here, then ``fn`` gives the cost and
    ``fn_delta`` the error, all three vectors float64. Numba cannot cache a
    piece that calls functions given at run time, so it is compiled in each
    process that trains on the cost. A piece cannot raise: an exception in
    ``fn`` or ``fn_delta`` (``RAISED``) or an error of the wrong length
    (``WRONG_LENGTH``, which would be read out of bounds) stops it with the
    row's ``z`` and ``y`` in ``status``, for ``cost_failure``.
    """

    def custom(n_rows, n_out, z_, y_, w_, has_weight, d_, row_cost, parameter, status):
        Z = carray(z_, (n_rows, n_out))
        Y = carray(y_, (n_rows, n_out))
        D = carray(d_, (n_rows, n_out))
        weights = carray(w_, n_rows if has_weight else 0)
        costs, failure = carray(row_cost, n_rows), carray(status, 2 + 2 * n_out)
        z = np.empty(n_out)
        a = np.empty(n_out)
        y = np.empty(n_out)
        total = 0.0
        for i in range(n_rows):
            weight = weights[i] if has_weight else 1.0
            for j in range(n_out):
                z[j] = Z[i, j]
                y[j] = Y[i, j]
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
            failed = 0
            try:
                cost_i = fn(a, y)
                error = fn_delta(z, a, y)
                if error.shape[0] != n_out:
                    failed = WRONG_LENGTH
            except Exception:
                failed = RAISED
            if failed:
                failure[0] = failed
                for j in range(n_out):
                    failure[2 + j] = z[j]
                    failure[2 + n_out + j] = y[j]
                return np.nan
            for j in range(n_out):
                D[i, j] = error[j] * weight
            costs[i] = cost_i
            total += weight * cost_i
        return total

    return Piece(custom, COST, cache=False)


def cost_failure(cost, status):
    """The exception to raise for the ``status`` a user's cost piece left:
    the error that ``fn`` or ``delta`` raises when called again from Python
    on the failing row, or a ``ValueError`` for an error of the wrong
    length."""
    name = type(cost).__name__
    n_out = (status.shape[0] - 2) // 2
    if status[0] == WRONG_LENGTH:
        return ValueError(
            f"{name}.delta returned an error of the wrong length: the network "
            f"has {n_out} output units."
        )
    z, y = status[2 : 2 + n_out].copy(), status[2 + n_out :].copy()
    if cost.output_activation == "softmax":
        a = np.exp(z - z.max())
        a /= a.sum()
    elif cost.output_activation == "logistic":
        a = 1.0 / (1.0 + np.exp(-z))
    else:
        a = np.exp(z) if cost.output_activation == "exp" else z.copy()
    try:
        type(cost).fn(a, y)
        type(cost).delta(z, a, y)
    except Exception as error:  # the user's own exception, with its message
        return error
    return RuntimeError(f"{name}.fn or {name}.delta raised inside the kernels.")


# -- probabilities ----------------------------------------------------------------


@piece(PROBABILITIES)
def binary(n_rows, n_out, n_columns, z, p, lowest, highest):
    """``[1 - a, a]`` of the one logistic output, kept in
    ``[lowest, highest]``."""
    Z, P = carray(z, (n_rows, 1)), carray(p, (n_rows, 2))
    for i in range(n_rows):
        a = min(max(sigmoid(Z[i, 0]), lowest), highest)
        P[i, 0] = 1.0 - a
        P[i, 1] = a


@piece(PROBABILITIES)
def softmax(n_rows, n_out, n_columns, z, p, lowest, highest):
    """The softmax of the logits."""
    Z, P = carray(z, (n_rows, n_out)), carray(p, (n_rows, n_out))
    exps = np.empty(n_out, dtype=P.dtype)
    for i in range(n_rows):
        for j in range(n_out):
            P[i, j] = Z[i, j]
        lse, _ = logsumexp(P[i], exps)
        for j in range(n_out):
            P[i, j] = np.exp(P[i, j] - lse)


@piece(PROBABILITIES)
def normalized_logistic(n_rows, n_out, n_columns, z, p, lowest, highest):
    """The sigmoids scaled to sum to one, as a softmax of
    :math:`\\log\\sigma(z) = -\\mathrm{sp}(-z)`, so that rows of saturated
    (all zero) sigmoids still give a distribution."""
    Z, P = carray(z, (n_rows, n_out)), carray(p, (n_rows, n_out))
    exps = np.empty(n_out, dtype=P.dtype)
    for i in range(n_rows):
        for j in range(n_out):
            P[i, j] = -softplus(-Z[i, j])
        lse, _ = logsumexp(P[i], exps)
        for j in range(n_out):
            P[i, j] = np.exp(P[i, j] - lse)


@piece(PROBABILITIES)
def logistic_outputs(n_rows, n_out, n_columns, z, p, lowest, highest):
    """The sigmoids themselves (multilabel), kept in ``[lowest, highest]``."""
    Z, P = carray(z, (n_rows, n_out)), carray(p, (n_rows, n_out))
    for i in range(n_rows):
        for j in range(n_out):
            P[i, j] = min(max(sigmoid(Z[i, j]), lowest), highest)


@kernel
def probabilities(piece, Z, P, lowest, highest):
    """The probabilities piece at the address ``piece`` on the logits ``Z``
    (``(n_rows, n_outputs)``), into ``P`` (``(n_rows, n_columns)``), both
    C-contiguous of one dtype: a prediction's call from Python, which
    unboxes two arrays faster than ctypes takes their addresses."""
    n_rows, n_out = Z.shape
    probabilities_piece(piece, n_rows, n_out, P.shape[1], Z, P, lowest, highest)
