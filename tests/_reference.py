"""Plain NumPy statements of the costs and of one-layer training: the oracle.

Never imported by skce; written from the formulas, not from the kernels.
"""

import numpy as np
from scipy.special import expit, log_expit, logsumexp


def softmax(z):
    return np.exp(z - logsumexp(z, axis=1, keepdims=True))


def reference_cost(name, z, y):
    """Per-sample cost of logits ``z`` for targets ``y`` (Nielsen's formulas)."""
    if name == "log_loss":
        return -(y * (z - logsumexp(z, axis=1, keepdims=True))).sum(axis=1)
    if name == "cross_entropy":
        return -(y * log_expit(z) + (1 - y) * log_expit(-z)).sum(axis=1)
    return 0.5 * ((expit(z) - y) ** 2).sum(axis=1)


def reference_delta(name, z, y):
    """dC/dz: a - y, or (a - y) * sigma'(z) for the quadratic cost."""
    if name == "log_loss":
        return softmax(z) - y
    a = expit(z)
    return a - y if name == "cross_entropy" else (a - y) * a * (1 - a)


def numeric_delta(cost, z, y, step=1e-6):
    """dC/dz of a cost object by central differences of ``cost.from_logits``."""
    numeric = np.empty_like(z)
    for index in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[index] += step
        down[index] -= step
        row = index[0]
        numeric[index] = (
            cost.from_logits(up, y)[row] - cost.from_logits(down, y)[row]
        ) / (2 * step)
    return numeric


def glorot_draw(n_in, n_out, seed):
    """scikit-learn's initialization of one layer from ``RandomState(seed)``."""
    rng = np.random.RandomState(seed)
    bound = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-bound, bound, (n_in, n_out)), rng.uniform(-bound, bound, n_out)


def linear_loss_grad(X, Y, W, b, cost, alpha):
    """Loss and gradient of a network with no hidden layer (mean cost + L2)."""
    n = X.shape[0]
    z = X @ W + b
    loss = reference_cost(cost, z, Y).mean() + 0.5 * alpha * (W**2).sum() / n
    delta = reference_delta(cost, z, Y)
    return loss, (X.T @ delta + alpha * W) / n, delta.sum(axis=0) / n


_GELU_SCALE = np.sqrt(2.0 / np.pi)


def _gelu(z):
    """GELU's tanh form, 0.5 z (1 + tanh u), as z sigmoid(2 u): the same
    number, without the cancellation of 1 + tanh u far below zero."""
    return z * expit(2 * _GELU_SCALE * (z + 0.044715 * z**3))


def _gelu_prime(z):
    s = expit(2 * _GELU_SCALE * (z + 0.044715 * z**3))
    return s + 2 * z * s * (1 - s) * _GELU_SCALE * (1 + 3 * 0.044715 * z**2)


def _swish(z):
    return z * expit(z)


#: Every hidden activation as (f(z), f'(z)), written from the formulas; the
#: leaky ReLU at the slope ``LEAKY_SLOPE`` the tests give it.
LEAKY_SLOPE = 0.1
ACTIVATIONS = {
    "identity": (lambda z: z, np.ones_like),
    "logistic": (expit, lambda z: expit(z) * (1 - expit(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "leaky_relu": (
        lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
        lambda z: np.where(z > 0, 1.0, LEAKY_SLOPE),
    ),
    "elu": (
        lambda z: np.where(z > 0, z, np.expm1(z)),
        lambda z: np.where(z > 0, 1.0, np.exp(z)),
    ),
    "softplus": (lambda z: np.logaddexp(0, z), expit),
    "gelu": (_gelu, _gelu_prime),
    "swish": (_swish, lambda z: expit(z) + _swish(z) * (1 - expit(z))),
}
