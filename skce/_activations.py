"""The hidden layers' activations, as pieces, and dropout.

Each activation is two pieces (``_pieces``), compiled only for a fit that
uses it: ``forward`` applies it to a layer's products and biases, and
``derivative`` multiplies the error of the layer's outputs by its
derivative. ``PIECES`` maps the names of the ``activation`` parameter to
them (``skce.activations`` holds the classes users see); the output
layer's logits are the ``identity``'s.

Both work in place on a column block of ``n_rows`` rows: the columns
``[lo, lo + n_cols)`` of a C-contiguous matrix of ``width`` columns, whose
pointer starts at column ``lo`` of the first row. A C array of that pointer
is declared ``(n_rows, width)``, of which only the first ``n_cols`` columns
are read or written. ``parameter`` is the activation's one parameter
(leaky ReLU's slope; 0 for the others).

The derivative is written in terms of the layer's *outputs* ``a`` where
the outputs fix it (as in scikit-learn), so the pre-activations need not be
kept: logistic ``a(1 - a)``, tanh ``1 - a^2``, relu ``[a > 0]``, leaky
ReLU ``1`` or the slope by the sign of ``a``, ELU ``a + 1`` below zero,
softplus ``1 - e^{-a}``. GELU is not monotonic, so no function of its
output is its derivative: it *keeps its inputs* (``keeps_inputs``), and so
does a user's activation. Such a forward piece also writes each
pre-activation ``z`` into ``S``, a matrix laid out like ``Z`` elsewhere in
the kernels' work space, and its derivative reads them there. Pieces that
read their outputs ignore ``S``.

The derivative's argument ``keep`` is 0 without dropout; with dropout,
``1 - rate`` of the layer (1 where the layer's rate is 0): the kept units
hold ``a / keep``, so the derivative is taken at ``a * keep`` and scaled by
``1 / keep``, and the kernels have already zeroed the error of the dropped
units.
"""

from typing import NamedTuple

import numpy as np
from numba import carray

from ._compiled import helper, kernel
from ._pieces import Piece, Signature, piece

#: ``forward(n_rows, n_cols, width, Z, b, S, parameter)``: ``Z = f(Z + b)``
#: (and ``S = Z + b`` for an activation that keeps its inputs).
FORWARD = Signature("forward", "void", "iiiTTTf")
forward_piece = FORWARD.caller
#: ``derivative(n_rows, n_cols, width, A, S, D, keep, parameter)``:
#: ``D *= f'(Z)``, from the outputs ``A`` or the kept inputs ``S``.
DERIVATIVE = Signature("derivative", "void", "iiiTTTff")
derivative_piece = DERIVATIVE.caller

# GELU's tanh form: sqrt(2 / pi) and the cubic term's coefficient.
_GELU_SCALE = 0.7978845608028654
_GELU_CUBIC = 0.044715


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
def gelu(z):
    """GELU of a scalar in its tanh form,
    :math:`\\tfrac12 z (1 + \\tanh u)` with
    :math:`u = \\sqrt{2/\\pi}(z + 0.044715 z^3)`, computed as
    :math:`z\\,\\sigma(2u)` (the same number: :math:`\\tfrac12 (1 + \\tanh u)
    = \\sigma(2u)`), which keeps its relative precision far below zero, where
    :math:`1 + \\tanh u` cancels."""
    return z * sigmoid(2.0 * _GELU_SCALE * (z + _GELU_CUBIC * z * z * z))


@helper
def gelu_slope(z):
    """The derivative of ``gelu`` at ``z``: with :math:`s = \\sigma(2u)`,
    :math:`s + 2 z s (1 - s) u'(z)`."""
    if abs(z) > 1e100:  # z^3 would overflow; the slope is 0 or 1 to the last bit
        return 1.0 if z > 0.0 else 0.0
    s = sigmoid(2.0 * _GELU_SCALE * (z + _GELU_CUBIC * z * z * z))
    inner = _GELU_SCALE * (1.0 + 3.0 * _GELU_CUBIC * z * z)
    return s + 2.0 * z * s * (1.0 - s) * inner


# -- forward ----------------------------------------------------------------


@piece(FORWARD)
def identity(n_rows, n_cols, width, z, b, s, parameter):
    """``Z += b``: the logits of the output layer."""
    Z, bias = carray(z, (n_rows, width)), carray(b, n_cols)
    for i in range(n_rows):
        row = Z[i, :n_cols]
        for j in range(n_cols):
            row[j] += bias[j]


@piece(FORWARD)
def logistic(n_rows, n_cols, width, z, b, s, parameter):
    """``Z = sigmoid(Z + b)``."""
    Z, bias = carray(z, (n_rows, width)), carray(b, n_cols)
    for i in range(n_rows):
        row = Z[i, :n_cols]
        for j in range(n_cols):
            row[j] = sigmoid(row[j] + bias[j])


@piece(FORWARD)
def tanh(n_rows, n_cols, width, z, b, s, parameter):
    """``Z = tanh(Z + b)``."""
    Z, bias = carray(z, (n_rows, width)), carray(b, n_cols)
    for i in range(n_rows):
        row = Z[i, :n_cols]
        for j in range(n_cols):
            row[j] = np.tanh(row[j] + bias[j])


@piece(FORWARD)
def relu(n_rows, n_cols, width, z, b, s, parameter):
    """``Z = max(Z + b, 0)``."""
    Z, bias = carray(z, (n_rows, width)), carray(b, n_cols)
    for i in range(n_rows):
        row = Z[i, :n_cols]
        for j in range(n_cols):
            row[j] = max(row[j] + bias[j], 0.0)


@piece(FORWARD)
def leaky_relu(n_rows, n_cols, width, z, b, s, parameter):
    """``Z = Z + b`` where positive, ``parameter (Z + b)`` elsewhere."""
    Z, bias = carray(z, (n_rows, width)), carray(b, n_cols)
    for i in range(n_rows):
        row = Z[i, :n_cols]
        for j in range(n_cols):
            value = row[j] + bias[j]
            row[j] = value if value > 0.0 else parameter * value


@piece(FORWARD)
def elu(n_rows, n_cols, width, z, b, s, parameter):
    """``Z = Z + b`` where positive, ``exp(Z + b) - 1`` elsewhere."""
    Z, bias = carray(z, (n_rows, width)), carray(b, n_cols)
    for i in range(n_rows):
        row = Z[i, :n_cols]
        for j in range(n_cols):
            value = row[j] + bias[j]
            row[j] = value if value > 0.0 else np.expm1(value)


@piece(FORWARD)
def softplus_forward(n_rows, n_cols, width, z, b, s, parameter):
    """``Z = log(1 + exp(Z + b))``."""
    Z, bias = carray(z, (n_rows, width)), carray(b, n_cols)
    for i in range(n_rows):
        row = Z[i, :n_cols]
        for j in range(n_cols):
            row[j] = softplus(row[j] + bias[j])


@piece(FORWARD)
def gelu_forward(n_rows, n_cols, width, z, b, s, parameter):
    """``S = Z + b``, then ``Z = gelu(S)``."""
    Z, bias = carray(z, (n_rows, width)), carray(b, n_cols)
    S = carray(s, (n_rows, width))
    for i in range(n_rows):
        row, inputs = Z[i, :n_cols], S[i, :n_cols]
        for j in range(n_cols):
            value = row[j] + bias[j]
            inputs[j] = value
            row[j] = gelu(value)


# -- derivative ---------------------------------------------------------------


@piece(DERIVATIVE)
def identity_derivative(n_rows, n_cols, width, a, s, d, keep, parameter):
    """``D *= 1``: nothing, but with dropout's scale."""
    if keep == 0.0:
        return
    D = carray(d, (n_rows, width))
    scale = 1.0 / keep
    for i in range(n_rows):
        errors = D[i, :n_cols]
        for j in range(n_cols):
            errors[j] *= scale * 1.0


@piece(DERIVATIVE)
def logistic_derivative(n_rows, n_cols, width, a, s, d, keep, parameter):
    """``D *= A (1 - A)``."""
    A, D = carray(a, (n_rows, width)), carray(d, (n_rows, width))
    for i in range(n_rows):
        outputs, errors = A[i, :n_cols], D[i, :n_cols]
        if keep == 0.0:
            for j in range(n_cols):
                errors[j] = errors[j] * outputs[j] * (1.0 - outputs[j])
        else:
            scale = 1.0 / keep
            for j in range(n_cols):
                output = outputs[j] * keep
                errors[j] *= scale * (output * (1.0 - output))


@piece(DERIVATIVE)
def tanh_derivative(n_rows, n_cols, width, a, s, d, keep, parameter):
    """``D *= 1 - A^2``."""
    A, D = carray(a, (n_rows, width)), carray(d, (n_rows, width))
    for i in range(n_rows):
        outputs, errors = A[i, :n_cols], D[i, :n_cols]
        if keep == 0.0:
            for j in range(n_cols):
                errors[j] = errors[j] * (1.0 - outputs[j] * outputs[j])
        else:
            scale = 1.0 / keep
            for j in range(n_cols):
                output = outputs[j] * keep
                errors[j] *= scale * (1.0 - output * output)


@piece(DERIVATIVE)
def relu_derivative(n_rows, n_cols, width, a, s, d, keep, parameter):
    """``D *= [A > 0]``."""
    A, D = carray(a, (n_rows, width)), carray(d, (n_rows, width))
    for i in range(n_rows):
        outputs, errors = A[i, :n_cols], D[i, :n_cols]
        if keep == 0.0:
            for j in range(n_cols):
                errors[j] = errors[j] if outputs[j] != 0.0 else 0.0
        else:
            scale = 1.0 / keep
            for j in range(n_cols):
                errors[j] *= scale * (1.0 if outputs[j] * keep != 0.0 else 0.0)


@piece(DERIVATIVE)
def leaky_relu_derivative(n_rows, n_cols, width, a, s, d, keep, parameter):
    """``D *= 1`` where ``A > 0``, ``parameter`` elsewhere (exact for a
    slope >= 0, which keeps the sign of the input)."""
    A, D = carray(a, (n_rows, width)), carray(d, (n_rows, width))
    scale = 1.0 if keep == 0.0 else 1.0 / keep
    for i in range(n_rows):
        outputs, errors = A[i, :n_cols], D[i, :n_cols]
        for j in range(n_cols):
            errors[j] *= scale * (1.0 if outputs[j] > 0.0 else parameter)


@piece(DERIVATIVE)
def elu_derivative(n_rows, n_cols, width, a, s, d, keep, parameter):
    """``D *= 1`` where ``A > 0``, ``A + 1`` (= ``exp(z)``) elsewhere."""
    A, D = carray(a, (n_rows, width)), carray(d, (n_rows, width))
    for i in range(n_rows):
        outputs, errors = A[i, :n_cols], D[i, :n_cols]
        if keep == 0.0:
            for j in range(n_cols):
                if outputs[j] <= 0.0:
                    errors[j] = errors[j] * (outputs[j] + 1.0)
        else:
            scale = 1.0 / keep
            for j in range(n_cols):
                output = outputs[j] * keep
                errors[j] *= scale * (1.0 if output > 0.0 else output + 1.0)


@piece(DERIVATIVE)
def softplus_derivative(n_rows, n_cols, width, a, s, d, keep, parameter):
    """``D *= 1 - exp(-A)`` (= ``sigmoid(z)``)."""
    A, D = carray(a, (n_rows, width)), carray(d, (n_rows, width))
    scale = 1.0 if keep == 0.0 else 1.0 / keep
    factor = 1.0 if keep == 0.0 else keep
    for i in range(n_rows):
        outputs, errors = A[i, :n_cols], D[i, :n_cols]
        for j in range(n_cols):
            errors[j] *= scale * -np.expm1(-outputs[j] * factor)


@piece(DERIVATIVE)
def gelu_derivative(n_rows, n_cols, width, a, s, d, keep, parameter):
    """``D *= gelu'(S)``, from the kept inputs."""
    S, D = carray(s, (n_rows, width)), carray(d, (n_rows, width))
    scale = 1.0 if keep == 0.0 else 1.0 / keep
    for i in range(n_rows):
        inputs, errors = S[i, :n_cols], D[i, :n_cols]
        for j in range(n_cols):
            errors[j] *= scale * gelu_slope(inputs[j])


class Pieces(NamedTuple):
    """An activation's two pieces, and whether its derivative reads the
    kept inputs (``S``) rather than the outputs."""

    forward: object
    derivative: object
    keeps_inputs: bool = False


#: The built-in hidden activations by the name users pass.
PIECES = {
    "identity": Pieces(identity, identity_derivative),
    "logistic": Pieces(logistic, logistic_derivative),
    "tanh": Pieces(tanh, tanh_derivative),
    "relu": Pieces(relu, relu_derivative),
    "leaky_relu": Pieces(leaky_relu, leaky_relu_derivative),
    "elu": Pieces(elu, elu_derivative),
    "softplus": Pieces(softplus_forward, softplus_derivative),
    "gelu": Pieces(gelu_forward, gelu_derivative, True),
}


def custom_pieces(fn, derivative):
    """The ``Pieces`` of a user's jitted scalar ``fn(z)`` and
    ``derivative(z, a)`` (``a = fn(z)``), which keep their inputs.

    Numba cannot cache a piece that calls functions given at run time, so
    they are compiled in each process that uses them. A piece cannot raise:
    where ``fn`` or ``derivative`` raises, the output or error is NaN, which
    stops the fit as a diverged one. Under dropout a dropped unit's error
    stays 0, whatever the derivative there.
    """

    def user_forward(n_rows, n_cols, width, z, b, s, parameter):
        Z, bias = carray(z, (n_rows, width)), carray(b, n_cols)
        S = carray(s, (n_rows, width))
        for i in range(n_rows):
            row, inputs = Z[i, :n_cols], S[i, :n_cols]
            for j in range(n_cols):
                value = row[j] + bias[j]
                inputs[j] = value
                try:
                    row[j] = fn(value)
                except Exception:
                    row[j] = np.nan

    def user_derivative(n_rows, n_cols, width, a, s, d, keep, parameter):
        A, S = carray(a, (n_rows, width)), carray(s, (n_rows, width))
        D = carray(d, (n_rows, width))
        scale = 1.0 if keep == 0.0 else 1.0 / keep
        factor = 1.0 if keep == 0.0 else keep
        for i in range(n_rows):
            outputs, inputs, errors = A[i, :n_cols], S[i, :n_cols], D[i, :n_cols]
            for j in range(n_cols):
                if keep != 0.0 and errors[j] == 0.0:
                    continue  # dropped (or no error to scale)
                try:
                    slope = derivative(inputs[j], outputs[j] * factor)
                except Exception:
                    slope = np.nan
                errors[j] *= scale * slope

    return Pieces(
        Piece(user_forward, FORWARD, cache=False),
        Piece(user_derivative, DERIVATIVE, cache=False),
        True,
    )


# -- dropout ------------------------------------------------------------------


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
def first_unit(layer_units, layer):
    """The index of hidden layer ``layer``'s first unit across hidden layers."""
    total = 0
    for hidden in range(1, layer + 1):
        total += layer_units[hidden]
    return total


def dropout_scales(dropout, rows, layer_units, layer):
    """The factors dropout multiplies hidden layer ``layer``'s outputs of the
    rows ``rows`` by: 0 where a unit is dropped, ``1 / (1 - rate)`` where it
    is kept; ``(n_rows, n_units)`` float64. What the training kernels apply,
    as a matrix (for tests and for readers)."""
    scales = np.empty((rows.shape[0], int(layer_units[layer + 1])))
    _fill_dropout_scales(dropout, rows, layer_units, layer, scales)
    return scales


@kernel
def _fill_dropout_scales(dropout, rows, layer_units, layer, scales):
    rate = dropout.rates[layer]
    unit = first_unit(layer_units, layer)
    for i in range(rows.shape[0]):
        row_key = keyed(dropout.key, rows[i])
        for j in range(scales.shape[1]):
            scales[i, j] = 1.0 / (1.0 - rate) if kept(row_key, unit + j, rate) else 0.0


@helper
def drop_units(A, a0, width, rows, dropout, layer_units, layer, lo, hi):
    """Dropout of hidden layer ``layer`` on the columns ``lo:hi`` of its
    outputs, the ``n_rows x width`` matrix at ``A[a0]``, in place: each unit
    zeroed with probability ``rate``, else scaled by ``1 / (1 - rate)``."""
    rate = dropout.rates[layer]
    if rate == 0.0:
        return
    scale = 1.0 / (1.0 - rate)
    unit = first_unit(layer_units, layer)
    for i in range(rows.shape[0]):
        row_key = keyed(dropout.key, rows[i])
        row = A[a0 + i * width : a0 + (i + 1) * width]
        for j in range(lo, hi):
            row[j] = row[j] * scale if kept(row_key, unit + j, rate) else 0.0


@helper
def drop_errors(D, d0, width, rows, dropout, layer_units, layer, lo, hi):
    """Zero the columns ``lo:hi`` of the errors of hidden layer ``layer``'s
    outputs, the ``n_rows x width`` matrix at ``D[d0]``, where dropout
    dropped the unit. Returns the layer's ``keep``, ``1 - rate``, for its
    ``derivative`` piece."""
    rate = dropout.rates[layer]
    if rate != 0.0:
        unit = first_unit(layer_units, layer)
        for i in range(rows.shape[0]):
            row_key = keyed(dropout.key, rows[i])
            row = D[d0 + i * width : d0 + (i + 1) * width]
            for j in range(lo, hi):
                if not kept(row_key, unit + j, rate):
                    row[j] = 0.0
    return 1.0 - rate
