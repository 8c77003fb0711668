"""
Three costs on the digits
=========================

The same network (64 hidden ReLU units, Adam) trained on the digits with the
log-likelihood, cross-entropy and quadratic costs, over several seeds:
learning curves, test accuracy and calibration. Then the case the costs were
designed for: output units that start saturated, trained by plain SGD.
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

from skce import LossCurveDisplay, MLPCostClassifier

warnings.simplefilter("ignore", ConvergenceWarning)  # short runs on purpose

QUICK = bool(os.environ.get("SKCE_EXAMPLES_QUICK"))
FIGURES = os.environ.get("SKCE_FIGURES", ".")
SEEDS = [0] if QUICK else [0, 1, 2]
COSTS = ["log_loss", "cross_entropy", "quadratic"]

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
X_fit, X_val, y_fit, y_val = train_test_split(
    X_train, y_train, test_size=0.2, random_state=0
)


def calibration_error(proba, y_true, bins=10):
    """Expected calibration error of the top-class probability."""
    confidence, predicted = proba.max(axis=1), proba.argmax(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            gap = (predicted[inside] == y_true[inside]).mean() - confidence[
                inside
            ].mean()
            error += inside.mean() * abs(gap)
    return error


# %%
# Learning curves, accuracy and calibration
# -----------------------------------------
models = {}
print(f"{'cost':<14} {'test accuracy':>16} {'calibration error':>18}")
for cost in COSTS:
    accuracy, calibration = [], []
    for seed in SEEDS:
        clf = MLPCostClassifier(
            (64,),
            cost=cost,
            learning_rate_init=0.005,
            max_iter=30 if QUICK else 150,
            random_state=seed,
        )
        clf.fit(X_fit, y_fit, X_val=X_val, y_val=y_val)
        accuracy.append(clf.score(X_test, y_test))
        calibration.append(calibration_error(clf.predict_proba(X_test), y_test))
        models.setdefault(cost, clf)
    print(
        f"{cost:<14} {np.mean(accuracy):>9.3f} ± {np.std(accuracy):.3f} "
        f"{np.mean(calibration):>11.3f} ± {np.std(calibration):.3f}"
    )

display = LossCurveDisplay.from_estimator(
    list(models.values()), labels=COSTS, log_scale=True
)
display.ax_.set_title("Training loss (solid) and validation cost (dashed)")
display.figure_.savefig(os.path.join(FIGURES, "cost_comparison_curves.png"))

# %%
# Saturated output units
# ----------------------
# Start with output weights about five times larger than usual, so that the
# output sigmoids are saturated, and train with plain SGD. The quadratic cost's
# output error carries the factor sigma'(z), which is almost zero there, and
# it stalls; the cross-entropy's does not. (Adam would hide the difference:
# it rescales every gradient by its own running size.)
rng = np.random.RandomState(0)
bound = np.sqrt(6 / (64 + 64))
coefs = [rng.uniform(-bound, bound, (64, 64)), 5 * rng.uniform(-1, 1, (64, 10))]
intercepts = [np.zeros(64), np.zeros(10)]
fig, ax = plt.subplots()
for cost in ("cross_entropy", "quadratic"):
    clf = MLPCostClassifier(
        (64,),
        cost=cost,
        solver="sgd",
        learning_rate_init=0.01,
        max_iter=10 if QUICK else 40,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
    )
    clf.fit(X_fit, y_fit, coefs_init=coefs, intercepts_init=intercepts)
    accuracy = clf.score(X_test, y_test)
    ax.plot(
        np.array(clf.loss_curve_) / clf.loss_curve_[0], label=f"{cost}: {accuracy:.3f}"
    )
    print(
        f"saturated start, {cost}: test accuracy {accuracy:.3f} after "
        f"{clf.n_iter_} epochs"
    )
ax.set(
    xlabel="epoch",
    ylabel="loss / initial loss",
    title="Saturated start, SGD (legend: test accuracy)",
)
ax.legend()
fig.savefig(os.path.join(FIGURES, "cost_comparison_saturated.png"))
