"""Layout of the flat parameter vector: sizes, initialization and views.

For each weight layer ``l`` the vector holds ``W_l`` (``layer_units[l] x
layer_units[l + 1]``, row-major) followed by ``b_l``. The kernels walk the
same layout (see ``_kernels``).
"""

import numpy as np


def n_parameters(layer_units) -> int:
    """Length of the parameter vector of a network with these layer widths."""
    return int(sum(n_in * n_out + n_out for n_in, n_out in _pairs(layer_units)))


def _pairs(layer_units):
    return zip(layer_units[:-1], layer_units[1:], strict=True)


def layer_views(theta, layer_units):
    """Lists ``(coefs, intercepts)`` of views into ``theta``, one per layer."""
    coefs, intercepts = [], []
    start = 0
    for n_in, n_out in _pairs(layer_units):
        coefs.append(theta[start : start + n_in * n_out].reshape(n_in, n_out))
        start += n_in * n_out
        intercepts.append(theta[start : start + n_out])
        start += n_out
    return coefs, intercepts


def glorot_init(layer_units, activation, dtype, random_state):
    """A new parameter vector drawn as scikit-learn's MLP draws it.

    Glorot-uniform bounds ``sqrt(factor / (fan_in + fan_out))`` with factor 2
    for logistic hidden units and 6 otherwise; per layer the weights are drawn
    first, then the biases, in float64, then cast. Keeping this order lets a
    skce model start from exactly the weights of an ``MLPClassifier`` with the
    same ``random_state``.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    theta = np.empty(n_parameters(layer_units), dtype=dtype)
    for coef, intercept, (n_in, n_out) in zip(
        *layer_views(theta, layer_units), _pairs(layer_units), strict=True
    ):
        bound = np.sqrt(factor / (n_in + n_out))
        coef[...] = random_state.uniform(-bound, bound, (n_in, n_out))
        intercept[...] = random_state.uniform(-bound, bound, n_out)
    return theta
