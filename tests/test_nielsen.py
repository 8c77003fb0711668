"""Nielsen's L2- and L1-regularized network and skce's alpha: the same fit.

Nielsen (Neural Networks and Deep Learning, ch. 3, ``network2.py``) decays
the weights by ``eta * lmbda / n`` per mini-batch step, with ``n`` the size
of the training set; skce (like scikit-learn) adds ``alpha * W`` to the
batch's gradient sum and divides by the batch size ``m``, a decay of
``eta * alpha / m``. So ``alpha = lmbda * m / n`` trains his network.
"""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import load_digits

from skce import MLPCostClassifier


def nielsen_sgd(X, Y, weights, biases, epochs, m, eta, lmbda, l1=False):
    """``network2.Network.SGD`` with the cross-entropy cost, rows in order.

    Weights are (n_in, n_out) here, his transposed; the arithmetic is his
    ``update_mini_batch``: the summed gradients of the batch, then
    ``w = (1 - eta * lmbda / n) * w - (eta / m) * nabla_w`` and
    ``b = b - (eta / m) * nabla_b``. With ``l1``, his L1 rule of the
    chapter's section on L1 regularization instead:
    ``w = w - (eta * lmbda / n) * sgn(w) - (eta / m) * nabla_w``.
    """
    weights = [w.copy() for w in weights]
    biases = [b.copy() for b in biases]
    n = X.shape[0]
    for _ in range(epochs):
        for start in range(0, n, m):
            x, y = X[start : start + m], Y[start : start + m]
            activations = [x]
            for w, b in zip(weights, biases, strict=True):
                activations.append(expit(activations[-1] @ w + b))
            delta = activations[-1] - y  # CrossEntropyCost.delta
            nabla_w, nabla_b = [], []
            for layer in range(len(weights) - 1, -1, -1):
                nabla_w.insert(0, activations[layer].T @ delta)
                nabla_b.insert(0, delta.sum(axis=0))
                if layer:
                    a = activations[layer]
                    delta = (delta @ weights[layer].T) * a * (1 - a)
            weights = [
                (
                    w - (eta * lmbda / n) * np.sign(w)
                    if l1
                    else (1 - eta * lmbda / n) * w
                )
                - (eta / len(x)) * nw
                for w, nw in zip(weights, nabla_w, strict=True)
            ]
            biases = [
                b - (eta / len(x)) * nb for b, nb in zip(biases, nabla_b, strict=True)
            ]
    return weights, biases


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_alpha_is_nielsens_lambda_times_batch_size_over_n(penalty):
    X, y = load_digits(return_X_y=True)
    X, y = X[:1000] / 16, y[:1000]  # n = 1000, a multiple of m = 10
    Y = np.eye(10)[y]
    rng = np.random.RandomState(0)
    # His "default" initialization: N(0, 1/n_in) weights, N(0, 1) biases.
    weights = [
        rng.normal(0, 1 / np.sqrt(64), (64, 30)),
        rng.normal(0, 1 / 30**0.5, (30, 10)),
    ]
    biases = [rng.normal(size=30), rng.normal(size=10)]
    n, m, eta, lmbda, epochs = 1000, 10, 0.5, 5.0, 3

    l1 = penalty == "l1"
    expected_w, expected_b = nielsen_sgd(
        X, Y, weights, biases, epochs, m, eta, lmbda, l1
    )
    clf = MLPCostClassifier(
        (30,),
        activation="logistic",
        cost="cross_entropy",
        solver="sgd",
        penalty=penalty,
        alpha=lmbda * m / n,
        batch_size=m,
        learning_rate_init=eta,
        momentum=0.0,
        shuffle=False,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
    )
    clf.fit(X, y, coefs_init=weights, intercepts_init=biases)
    for got, want in zip(
        clf.coefs_ + clf.intercepts_, expected_w + expected_b, strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    # The decay is what makes them agree: the same fit with alpha = lmbda
    # (his lambda taken for scikit-learn's alpha) lands elsewhere.
    clf.set_params(alpha=lmbda)
    clf.fit(X, y, coefs_init=weights, intercepts_init=biases)
    assert not np.allclose(clf.coefs_[0], expected_w[0], rtol=1e-3)
