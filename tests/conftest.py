"""Small data sets shared by the tests (fixed seeds, no global RNG)."""

import os

import numpy as np
import pytest
from hypothesis import settings
from sklearn.datasets import load_digits, make_multilabel_classification


@pytest.fixture(scope="session")
def digits():
    """300 digits scaled to [0, 1]: multiclass, 64 features."""
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


@pytest.fixture(scope="session")
def multilabel():
    X, Y = make_multilabel_classification(
        n_samples=120, n_features=8, n_classes=4, random_state=0
    )
    return X / X.max(), Y


@pytest.fixture(scope="session")
def rng_data():
    """A tiny random regression of features on 3 one-hot classes."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(23, 5))
    y = rng.randint(0, 3, size=23)
    return X, y


# CI explores the same Hypothesis examples on every run, so that a red build
# always means a change, never the luck of the draw; locally it explores anew.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True)
    settings.load_profile("ci")
