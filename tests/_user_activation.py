"""A user's own activation, as the docs write one (module level, so that
its instances survive pickling and process pools), and the activations the
gradient tests run through."""

import numpy as np
import pytest
from _reference import ACTIVATIONS
from numba import njit

from skce.activations import Activation, LeakyReLU, activation_of


class Swish(Activation):
    """z * sigmoid(z) (SiLU), its derivative from both z and a."""

    name = "swish"

    @staticmethod
    @njit
    def fn(z):
        return z / (1.0 + np.exp(-z))

    @staticmethod
    @njit
    def derivative(z, a):
        s = 1.0 / (1.0 + np.exp(-z))
        return s + a * (1.0 - s)


def activation(name, slope=0.1):
    """The activation a test names: a built-in name, or 'swish'; the leaky
    ReLU at ``slope``."""
    if name == "swish":
        return Swish()
    if name == "leaky_relu":
        return LeakyReLU(slope)
    return activation_of(name)


# Every activation under one and two hidden layers; without a hidden layer
# the activation is never used, so once.
HIDDEN_ACTIVATIONS = [pytest.param((), "relu", id="none")] + [
    pytest.param(hidden, activation, id=f"{name}-{activation}")
    for name, hidden in (("one", (5,)), ("two", (4, 3)))
    for activation in ACTIVATIONS
]
