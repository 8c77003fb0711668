"""
Gradient descent, SGD, Adam and L-BFGS on the cross-entropy
===========================================================

The seed article optimizes the cross-entropy with full-batch gradient
descent, mini-batch SGD and Adam. Here the same network and cost on the
digits with all four solvers of skce: loss against epochs and against wall
time, and the final accuracy. Then Adam with and without its bias
correction, which the article's version of Adam leaves out.
"""

# %%
import os
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skce import MLPCostClassifier

warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epochs on purpose
QUICK = bool(os.environ.get("SKCE_EXAMPLES_QUICK"))
FIGURES = os.environ.get("SKCE_FIGURES", ".")
EPOCHS = 30 if QUICK else 150

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)
SOLVERS = {
    "gd": {"learning_rate_init": 0.5},
    "sgd": {"learning_rate_init": 0.05},
    "adam": {"learning_rate_init": 0.005},
    "lbfgs": {},
}

# %%
# Loss against epochs and against time
# ------------------------------------
# One epoch is one pass over the data: one step for gd, one per mini-batch
# of 200 for sgd and adam; for lbfgs the curve counts iterations.
fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(10, 4))
print(f"{'solver':<6} {'epochs':>6} {'seconds':>8} {'final loss':>10} {'test acc.':>9}")
for solver, params in SOLVERS.items():
    clf = MLPCostClassifier(
        (64,),
        cost="cross_entropy",
        solver=solver,
        max_iter=EPOCHS,
        tol=0.0,
        n_iter_no_change=EPOCHS,
        random_state=0,
        **params,
    )
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    curve = clf.loss_curve_
    # Epochs cost about the same, so spread the fit time evenly over them.
    times = seconds * np.arange(1, len(curve) + 1) / len(curve)
    by_epoch.plot(range(1, len(curve) + 1), curve, label=solver)
    by_time.plot(times, curve, label=solver)
    print(
        f"{solver:<6} {clf.n_iter_:>6} {seconds:>8.3f} {curve[-1]:>10.4f} "
        f"{clf.score(X_test, y_test):>9.3f}"
    )
for ax, label in ((by_epoch, "epoch (lbfgs: iteration)"), (by_time, "seconds")):
    ax.set(xlabel=label, ylabel="training loss", yscale="log")
    ax.legend()
fig.tight_layout()
fig.savefig(os.path.join(FIGURES, "solver_comparison.png"))

# %%
# Adam's bias correction
# ----------------------
# Adam keeps running means m and v of the gradient and of its square, both
# started at zero, so in the first steps they are biased towards zero.
# Kingma and Ba divide them by (1 - beta1^t) and (1 - beta2^t); skce does.
# Without the correction a step is (1 - beta1^t) / sqrt(1 - beta2^t) times
# the intended one: 3.2 at the first step, 6.5 at the tenth, still 3.2 at the
# hundredth and 1.3 at the thousandth. On this convex softmax regression of
# the digits (plain NumPy), those outsized early steps happen to speed the
# start up; the correction is there so that the step has the size the
# learning rate says from the first step on, which is what lets a rate tuned
# once carry over to problems where oversized steps overshoot.
for t in (1, 10, 100, 1000):
    print(
        f"step {t:>4}: uncorrected / corrected step = "
        f"{(1 - 0.9**t) / np.sqrt(1 - 0.999**t):.2f}"
    )
Y = np.eye(10)[y_train]
Xb = np.hstack([X_train, np.ones((len(X_train), 1))])


def adam_curve(corrected, steps=60 if QUICK else 200, rate=0.01, b1=0.9, b2=0.999):
    W = np.zeros((Xb.shape[1], 10))
    m, v, losses = np.zeros_like(W), np.zeros_like(W), []
    for t in range(1, steps + 1):
        logits = Xb @ W
        losses.append(-(Y * log_softmax(logits, axis=1)).sum(axis=1).mean())
        g = Xb.T @ (softmax(logits, axis=1) - Y) / len(Y)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
        m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if corrected else (m, v)
        W -= rate * m_hat / (np.sqrt(v_hat) + 1e-8)
    return losses


fig, ax = plt.subplots()
for corrected in (True, False):
    losses = adam_curve(corrected)
    label = "with bias correction" if corrected else "without (the seed article)"
    ax.plot(range(1, len(losses) + 1), losses, label=label)
    print(
        f"Adam {label}: loss after 10 steps {losses[9]:.4f}, "
        f"after {len(losses)} {losses[-1]:.4f}"
    )
ax.set(xlabel="step", ylabel="training cross-entropy", title="Adam, softmax regression")
ax.legend()
fig.savefig(os.path.join(FIGURES, "adam_bias_correction.png"))
