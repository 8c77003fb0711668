"""Compiled forward pass, output costs and backpropagation of the MLP.

Only NumPy and Numba are imported here, so the kernels compile and cache on
their own and can be tested against a plain NumPy oracle.

Conventions shared by every kernel:

- ``theta`` is the flat parameter vector (float32 or float64, C-contiguous).
  For each weight layer ``l`` it holds ``W_l`` (``n_in x n_out``, row-major)
  followed by ``b_l`` (``n_out``); ``layer_units`` (int64) gives the widths.
- The input comes in two forms so that one compiled variant serves both: a
  dense C-contiguous ``X``, or a CSR matrix ``(data, indices, indptr)`` (int64
  indices) together with ``rows``, the CSR rows that make up the batch. The
  unused form is an empty placeholder and ``is_sparse`` says which is real.
- ``work`` is scratch space of ``workspace_size(layer_units, n_rows)``
  elements: the outputs of every layer, then two delta buffers.
- Activation, cost and solver arrive as the integer codes of ``_codes``.

Nothing here checks shapes, dtypes or index ranges: Numba does no bounds
checks, so the Python callers validate everything before a kernel runs.
"""

import numpy as np
from numba import njit

from ._codes import (
    ACT_IDENTITY,
    ACT_LOGISTIC,
    ACT_RELU,
    ACT_TANH,
    COST_CROSS_ENTROPY,
    COST_LOG_LIKELIHOOD,
)


@njit(cache=True, nogil=True, error_model="numpy")
def sigmoid(z):
    """Logistic function of a scalar, without overflow for any finite ``z``."""
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@njit(cache=True, nogil=True, error_model="numpy")
def softplus(z):
    """``log(1 + exp(z))`` of a scalar, without overflow for any finite ``z``.

    .. math:: \\mathrm{softplus}(z) = \\max(z, 0) + \\log(1 + e^{-|z|})
    """
    return max(z, 0.0) + np.log1p(np.exp(-abs(z)))


@njit(cache=True, nogil=True, error_model="numpy")
def workspace_size(layer_units, n_rows):
    """Number of scratch elements the kernels need for ``n_rows`` rows."""
    total = 0
    widest = 0
    for layer in range(1, layer_units.shape[0]):
        total += layer_units[layer]
        widest = max(widest, layer_units[layer])
    return n_rows * (total + 2 * widest)


@njit(cache=True, nogil=True, error_model="numpy")
def add_bias_and_activate(code, Z, b):
    """``Z = f(Z + b)`` in place, for a hidden layer with activation ``code``.

    One pass over ``Z`` (bias and activation fused); ``code`` is tested
    outside the loops so that each loop vectorizes.
    """
    n_rows, n_cols = Z.shape
    for i in range(n_rows):
        row = Z[i]
        if code == ACT_RELU:
            for j in range(n_cols):
                row[j] = max(row[j] + b[j], 0.0)
        elif code == ACT_TANH:
            for j in range(n_cols):
                row[j] = np.tanh(row[j] + b[j])
        elif code == ACT_LOGISTIC:
            for j in range(n_cols):
                row[j] = sigmoid(row[j] + b[j])
        else:
            for j in range(n_cols):
                row[j] += b[j]


@njit(cache=True, nogil=True, error_model="numpy")
def multiply_by_derivative(code, outputs, delta):
    """Multiply ``delta`` in place by the activation's derivative.

    The derivative is written in terms of the layer's *outputs* (as in
    scikit-learn), so the pre-activations never need to be kept:
    logistic ``a(1 - a)``, tanh ``1 - a^2``, relu ``[a > 0]``.
    """
    if code == ACT_LOGISTIC:
        for i in range(delta.shape[0]):
            delta[i] = delta[i] * outputs[i] * (1.0 - outputs[i])
    elif code == ACT_TANH:
        for i in range(delta.shape[0]):
            delta[i] = delta[i] * (1.0 - outputs[i] * outputs[i])
    elif code == ACT_RELU:
        for i in range(delta.shape[0]):
            delta[i] = delta[i] if outputs[i] != 0.0 else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def csr_rows_dot(data, indices, indptr, rows, weights, out):
    """``out = X[rows] @ weights`` for a CSR matrix ``X``; ``out`` is overwritten."""
    n_cols = weights.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(n_cols):
            out[i, j] = 0.0
        for p in range(indptr[r], indptr[r + 1]):
            x = data[p]
            w_row = weights[indices[p]]
            for j in range(n_cols):
                out[i, j] += x * w_row[j]


@njit(cache=True, nogil=True, error_model="numpy")
def csr_rows_transpose_dot(data, indices, indptr, rows, delta, out):
    """``out = X[rows].T @ delta`` for a CSR matrix ``X``; ``out`` is overwritten."""
    out[:, :] = 0.0
    n_cols = delta.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for p in range(indptr[r], indptr[r + 1]):
            x = data[p]
            out_row = out[indices[p]]
            for j in range(n_cols):
                out_row[j] += x * delta[i, j]


@njit(cache=True, nogil=True, error_model="numpy")
def forward(X, data, indices, indptr, rows, is_sparse, theta, layer_units, act, work):
    """Forward pass of ``n_rows = rows.shape[0]`` rows.

    Writes every layer's output into ``work``: hidden layers activated, the
    last layer left as logits ``z``. Returns the offset of the logits in
    ``work``; they form an ``(n_rows, layer_units[-1])`` block.
    """
    n_rows = rows.shape[0]
    n_weight_layers = layer_units.shape[0] - 1
    p = 0
    out = 0
    prev = 0
    for layer in range(n_weight_layers):
        n_in = layer_units[layer]
        n_out = layer_units[layer + 1]
        W = theta[p : p + n_in * n_out].reshape((n_in, n_out))
        p += n_in * n_out
        b = theta[p : p + n_out]
        p += n_out
        Z = work[out : out + n_rows * n_out].reshape((n_rows, n_out))
        if layer > 0:
            A = work[prev : prev + n_rows * n_in].reshape((n_rows, n_in))
            np.dot(A, W, Z)
        elif is_sparse:
            csr_rows_dot(data, indices, indptr, rows, W, Z)
        else:
            np.dot(X, W, Z)
        add_bias_and_activate(
            act if layer < n_weight_layers - 1 else ACT_IDENTITY, Z, b
        )
        prev = out
        out += n_rows * n_out
    return prev


@njit(cache=True, nogil=True, error_model="numpy")
def custom_cost_and_delta(
    softmax, Z, Y, sample_weight, has_weight, delta, row_cost, fn, fn_delta
):
    """``output_cost_and_delta`` for a user's cost: jitted ``fn`` and ``fn_delta``.

    Per sample, the output activations ``a`` (softmax or sigmoid of ``z``)
    are formed here, then ``fn(a, y)`` gives the cost and
    ``fn_delta(z, a, y)`` the error, Nielsen's interface; all three vectors
    are float64. The length of the returned error is checked, since a wrong
    one would be read out of bounds.
    """
    n_rows, n_out = Z.shape
    z = np.empty(n_out)
    a = np.empty(n_out)
    y = np.empty(n_out)
    total = 0.0
    for i in range(n_rows):
        w = sample_weight[i] if has_weight else 1.0
        for j in range(n_out):
            z[j] = Z[i, j]
            y[j] = Y[i, j]
        if softmax:
            z_max = z.max()
            s = 0.0
            for j in range(n_out):
                a[j] = np.exp(z[j] - z_max)
                s += a[j]
            for j in range(n_out):
                a[j] /= s
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


@njit(cache=True, nogil=True, error_model="numpy")
def output_cost_and_delta(
    cost, Z, Y, sample_weight, has_weight, delta, row_cost, fn=None, fn_delta=None
):
    """Weighted sum of the per-sample costs, and the output-layer error.

    ``Z`` are the output logits, ``Y`` the targets in [0, 1], both
    ``(n_rows, n_outputs)``. ``delta`` receives ``w_i * dC_i/dz`` and
    ``row_cost`` (``n_rows``) the unweighted :math:`C_i`. Every value comes
    from the logits, so nothing overflows, and a target of 0 or 1 drops its
    term (``0 * log 0 = 0``), so infinite logits give an infinite cost, not NaN:

    - log-likelihood (softmax): ``C = lse(z) - sum_j y_j z_j``, ``delta = a - y``
    - cross-entropy (sigmoid): ``C = sum_j (1 - y_j) sp(z_j) + y_j sp(-z_j)``,
      ``delta = a - y``
    - quadratic (sigmoid): ``C = 1/2 sum_j (a_j - y_j)^2``,
      ``delta = (a - y) a (1 - a)``

    with ``lse`` the log-sum-exp and ``sp`` the softplus. With a user's
    cost (``fn`` not None) ``cost`` only picks the output activation, softmax
    for the log-likelihood code and sigmoid otherwise.
    """
    if fn is not None:
        softmax = cost == COST_LOG_LIKELIHOOD
        return custom_cost_and_delta(
            softmax, Z, Y, sample_weight, has_weight, delta, row_cost, fn, fn_delta
        )
    n_rows, n_out = Z.shape
    total = 0.0
    for i in range(n_rows):
        w = sample_weight[i] if has_weight else 1.0
        cost_i = 0.0
        if cost == COST_LOG_LIKELIHOOD:
            z_max = Z[i, 0]
            for j in range(1, n_out):
                z_max = max(z_max, Z[i, j])
            s = 0.0
            for j in range(n_out):
                e = np.exp(Z[i, j] - z_max)
                delta[i, j] = e
                s += e
            lse = z_max + np.log(s)
            for j in range(n_out):
                if Y[i, j] != 0.0:
                    cost_i += Y[i, j] * (lse - Z[i, j])
                delta[i, j] = (delta[i, j] / s - Y[i, j]) * w
        elif cost == COST_CROSS_ENTROPY:
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
        else:
            for j in range(n_out):
                a = sigmoid(Z[i, j])
                r = a - Y[i, j]
                cost_i += 0.5 * r * r
                delta[i, j] = r * a * (1.0 - a) * w
        row_cost[i] = cost_i
        total += w * cost_i
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def loss_and_grad(
    X,
    data,
    indices,
    indptr,
    rows,
    is_sparse,
    Y,
    sample_weight,
    has_weight,
    theta,
    layer_units,
    act,
    cost,
    alpha,
    grad,
    work,
    fn=None,
    fn_delta=None,
):
    """Regularized mean cost of a batch and its gradient (backpropagation).

    .. math::

        L = \\frac{\\sum_i w_i C_i + \\tfrac{\\alpha}{2} \\sum_l \\|W_l\\|^2}
                 {\\sum_i w_i}

    the objective of scikit-learn's MLP (``w_i = 1`` without sample weights).
    ``grad`` (shaped like ``theta``) is overwritten with :math:`\\nabla L`;
    returns :math:`L` as a float64. ``fn`` and ``fn_delta`` are a user's
    cost functions, or None for the built-in costs (see
    ``output_cost_and_delta``).
    """
    n_rows = rows.shape[0]
    n_weight_layers = layer_units.shape[0] - 1
    n_out = layer_units[n_weight_layers]

    logits = forward(
        X, data, indices, indptr, rows, is_sparse, theta, layer_units, act, work
    )
    widest = 0
    for layer in range(1, layer_units.shape[0]):
        widest = max(widest, layer_units[layer])
    current = logits + n_rows * n_out  # first delta buffer, after the outputs
    spare = current + n_rows * widest

    Z = work[logits : logits + n_rows * n_out].reshape((n_rows, n_out))
    D = work[current : current + n_rows * n_out].reshape((n_rows, n_out))
    row_cost = np.empty(n_rows)
    weighted_cost = output_cost_and_delta(
        cost, Z, Y, sample_weight, has_weight, D, row_cost, fn, fn_delta
    )

    weight_sum = 0.0
    if has_weight:
        for i in range(n_rows):
            weight_sum += sample_weight[i]
    else:
        weight_sum = float(n_rows)

    # Offsets of each layer's parameters in theta and of its output in work.
    param_start = np.empty(n_weight_layers + 1, np.int64)
    output_start = np.empty(n_weight_layers + 1, np.int64)
    param_start[0] = 0
    output_start[0] = 0
    for layer in range(n_weight_layers):
        size = layer_units[layer] * layer_units[layer + 1]
        param_start[layer + 1] = param_start[layer] + size + layer_units[layer + 1]
        output_start[layer + 1] = output_start[layer] + n_rows * layer_units[layer + 1]

    column_sum = np.empty(widest)
    penalty = 0.0
    for layer in range(n_weight_layers - 1, -1, -1):
        n_in = layer_units[layer]
        n_out = layer_units[layer + 1]
        p = param_start[layer]
        W = theta[p : p + n_in * n_out].reshape((n_in, n_out))
        grad_W = grad[p : p + n_in * n_out].reshape((n_in, n_out))
        grad_b = grad[p + n_in * n_out : p + n_in * n_out + n_out]
        D = work[current : current + n_rows * n_out].reshape((n_rows, n_out))

        a_in = output_start[layer - 1] if layer > 0 else 0
        # grad_W = (A_in.T @ D + alpha * W) / sum(w); A_in is X for layer 0.
        if layer > 0:
            A_in = work[a_in : a_in + n_rows * n_in].reshape((n_rows, n_in))
            np.dot(A_in.T, D, grad_W)
        elif is_sparse:
            csr_rows_transpose_dot(data, indices, indptr, rows, D, grad_W)
        else:
            np.dot(X.T, D, grad_W)
        w_flat = theta[p : p + n_in * n_out]
        g_flat = grad[p : p + n_in * n_out]
        penalty += np.dot(w_flat, w_flat)  # BLAS: a plain loop would not vectorize
        for k in range(w_flat.shape[0]):
            g_flat[k] = (g_flat[k] + alpha * w_flat[k]) / weight_sum

        # Column sums in float64: a float32 running sum over a full batch
        # would lose digits.
        column_sum[:n_out] = 0.0
        for i in range(n_rows):
            for j in range(n_out):
                column_sum[j] += D[i, j]
        for j in range(n_out):
            grad_b[j] = column_sum[j] / weight_sum

        if layer > 0:
            # delta of the layer below: (D @ W.T) * f'(A_in)
            D_in = work[spare : spare + n_rows * n_in].reshape((n_rows, n_in))
            np.dot(D, W.T, D_in)
            multiply_by_derivative(
                act,
                work[a_in : a_in + n_rows * n_in],
                work[spare : spare + n_rows * n_in],
            )
            current, spare = spare, current

    return (weighted_cost + 0.5 * alpha * penalty) / weight_sum


@njit(cache=True, nogil=True, error_model="numpy")
def predict_logits(X, data, indices, indptr, is_sparse, theta, layer_units, act, chunk):
    """Output logits ``(n_samples, layer_units[-1])`` of the network.

    Rows go through in chunks of ``chunk`` so that the scratch space stays
    small (and in cache) whatever the number of samples.
    """
    n_samples = indptr.shape[0] - 1 if is_sparse else X.shape[0]
    n_out = layer_units[layer_units.shape[0] - 1]
    Z = np.empty((n_samples, n_out), dtype=theta.dtype)
    chunk = max(1, min(chunk, n_samples))
    work = np.empty(workspace_size(layer_units, chunk), dtype=theta.dtype)
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        rows = np.arange(start, stop)
        logits = forward(
            X[start:stop],
            data,
            indices,
            indptr,
            rows,
            is_sparse,
            theta,
            layer_units,
            act,
            work,
        )
        n_rows = stop - start
        Z[start:stop] = work[logits : logits + n_rows * n_out].reshape((n_rows, n_out))
    return Z


@njit(cache=True, nogil=True, error_model="numpy")
def probabilities(cost, normalize, Z, P, lowest, highest):
    """Class probabilities from output logits, into ``P``.

    - ``P`` with 2 columns and ``Z`` with 1: binary, ``[1 - a, a]``.
    - log-likelihood cost: softmax of ``z``.
    - sigmoid outputs with ``normalize``: the sigmoids scaled to sum to one,
      computed as a softmax of :math:`\\log\\sigma(z) = -\\mathrm{sp}(-z)` so
      that rows of saturated (all zero) sigmoids still give a distribution.
    - otherwise (multilabel): the sigmoids themselves.

    A sigmoid is never 0 or 1, but rounds to them once ``|z|`` passes about
    37 (float64) or 17 (float32); such values are kept in
    ``[lowest, highest]``, the floats closest to 0 and 1 inside the interval.
    """
    n_rows, n_out = Z.shape
    binary = n_out == 1 and P.shape[1] == 2
    softmax = cost == COST_LOG_LIKELIHOOD or normalize
    for i in range(n_rows):
        if binary:
            a = min(max(sigmoid(Z[i, 0]), lowest), highest)
            P[i, 0] = 1.0 - a
            P[i, 1] = a
        elif softmax:
            for j in range(n_out):
                P[i, j] = (
                    Z[i, j] if cost == COST_LOG_LIKELIHOOD else -softplus(-Z[i, j])
                )
            s_max = P[i, 0]
            for j in range(1, n_out):
                s_max = max(s_max, P[i, j])
            total = 0.0
            for j in range(n_out):
                total += np.exp(P[i, j] - s_max)
            lse = s_max + np.log(total)
            for j in range(n_out):
                P[i, j] = np.exp(P[i, j] - lse)
        else:
            for j in range(n_out):
                P[i, j] = min(max(sigmoid(Z[i, j]), lowest), highest)
