"""
Dying ReLU units, and the activations that keep them alive
==========================================================

A ReLU unit whose pre-activation :math:`z` is negative for every training row
outputs 0 for all of them and passes no gradient back: nothing moves its
weights again, and it stays *dead*. In a deep, narrow network a few large
early steps can kill many units, sometimes every unit of a layer, and the
layers above it then see a constant. The leaky ReLU (slope 0.01 below zero)
and the ELU (:math:`e^z - 1` below zero) pass a gradient there, so a unit
pushed below zero can come back.

This example trains the same deep, narrow network (ten hidden layers of
four units) on the digits with ``"relu"``, ``"leaky_relu"`` and ``"elu"``,
from the same initial weights for each seed, counts the units whose
pre-activation is at most 0 on every training row (dead for ReLU; for the
other two, units in the region where a ReLU would be dead), and scores each
network on held-out digits.
"""

# %%
import os
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skce import MLPCostClassifier
from skce.activations import ELU, LeakyReLU, ReLU

QUICK = bool(os.environ.get("SKCE_EXAMPLES_QUICK"))
FIGURES = os.environ.get("SKCE_FIGURES", ".")
SEEDS = range(3 if QUICK else 8)
HIDDEN = (4,) * 10
ACTIVATIONS = {"relu": ReLU(), "leaky_relu": LeakyReLU(0.01), "elu": ELU()}

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)


def dead_units(clf, X):
    """Per hidden layer, the units whose pre-activation is <= 0 on every
    row of ``X``: computed layer by layer from ``coefs_`` and
    ``intercepts_``, with the activation the kernels apply (an
    ``skce.activations`` object called on an array)."""
    f = ACTIVATIONS[clf.activation]
    a, dead = X, []
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1], strict=True):
        z = a @ W + b
        dead.append(int(np.sum(z.max(axis=0) <= 0)))
        a = f(z)
    return dead


# %%
# Training
# --------
# Adam at a rate of 0.01, ten times the default: large early steps are what
# push units below zero for good.
results = {name: [] for name in ACTIVATIONS}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for seed in SEEDS:
        for name in ACTIVATIONS:
            clf = MLPCostClassifier(
                HIDDEN,
                activation=name,
                learning_rate_init=0.01,
                max_iter=60 if QUICK else 150,
                random_state=seed,
            ).fit(X_train, y_train)
            dead = dead_units(clf, X_train)
            results[name].append((dead, clf.score(X_test, y_test)))

n_units = sum(HIDDEN)
print(f"{'activation':<12} {f'dead units (of {n_units}), per seed':<40} test accuracy")
for name, runs in results.items():
    dead = [sum(layers) for layers, _ in runs]
    accuracy = np.array([score for _, score in runs])
    print(
        f"{name:<12} {str(dead):<40} {accuracy.mean():.3f} (min {accuracy.min():.3f})"
    )

# %%
# Dead units and accuracy
# -----------------------
# Left, the share of the 40 hidden units that are dead (ReLU) or below zero
# on every row (the others), one dot per seed; right, the test accuracy of
# the same networks. Where many ReLU units die, whole layers pass a
# constant and the accuracy drops; the leaky ReLU and the ELU keep their
# units and their accuracy.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
rng = np.random.RandomState(0)
for position, runs in enumerate(results.values()):
    share = np.array([sum(layers) / n_units for layers, _ in runs])
    accuracy = np.array([score for _, score in runs])
    jitter = position + rng.uniform(-0.12, 0.12, len(runs))
    for ax, values in ((left, share), (right, accuracy)):
        ax.bar(position, values.mean(), color=f"C{position}", alpha=0.35)
        ax.scatter(jitter, values, color=f"C{position}", zorder=3)
for ax, label in (
    (left, "share of hidden units dead\n(pre-activation <= 0 on every row)"),
    (right, "test accuracy"),
):
    ax.set_xticks(range(len(results)), list(results))
    ax.set_ylabel(label)
left.set_ylim(0, 1)
right.set_ylim(0, 1)
right.axhline(0.1, color="gray", linestyle=":", label="chance (10 classes)")
right.legend(loc="upper left")
fig.suptitle(
    f"Digits, {len(HIDDEN)} hidden layers of {HIDDEN[0]} units, Adam at 0.01: "
    f"{len(SEEDS)} seeds"
)
path = os.path.join(FIGURES, "dying_relu.png")
fig.savefig(path)
print(f"saved {os.path.relpath(path)}")

# %%
# Per layer
# ---------
# Where the dead ReLU units sit: the count per hidden layer, summed over the
# seeds. A layer of four dead units cuts the network in two: every row gets
# the same output, and the accuracy falls to chance (0.1).
for name, runs in results.items():
    per_layer = np.sum([layers for layers, _ in runs], axis=0)
    print(f"{name:<12} {per_layer.tolist()}")
