"""
Regression costs: prediction intervals and outliers
===================================================

``MLPCostRegressor`` takes scikit-learn's ``loss`` and adds robust and
quantile costs. Two things they buy, on one noisy curve whose noise grows
with ``|x|``:

1. a 90 % prediction interval from two quantile networks (``quantile=0.05``
   and ``0.95``), beside the squared error's conditional mean;
2. a fit that is not dragged by gross outliers in ``y``: the Huber and
   absolute-error costs against the squared error.
"""

# %%
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skce import MLPCostRegressor

warnings.simplefilter("ignore", ConvergenceWarning)  # short runs on purpose

QUICK = bool(os.environ.get("SKCE_EXAMPLES_QUICK"))
FIGURES = os.environ.get("SKCE_FIGURES", ".")
N = 1000 if QUICK else 2000


def curve(n, seed):
    """``y = sin(2x) + x / 2`` with noise of scale ``0.1 + 0.3 |x|``."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-3, 3, size=n)
    y = np.sin(2 * x) + 0.5 * x + (0.1 + 0.3 * np.abs(x)) * rng.normal(size=n)
    return x.reshape(-1, 1), y


X, y = curve(N, 0)
X_test, y_test = curve(N, 1)
grid = np.linspace(-3, 3, 300).reshape(-1, 1)


def network(loss, **params):
    return MLPCostRegressor(
        loss,
        hidden_layer_sizes=(32, 32),
        activation="tanh",
        solver="lbfgs",
        alpha=1.0,
        max_iter=100 if QUICK else 200,
        random_state=0,
        **params,
    )


# %%
# A prediction interval from two quantiles
# ----------------------------------------
#
# Each quantile network minimizes the pinball loss at its ``quantile``; the
# two together bound 90 % of the targets, and the band widens where the
# noise does. The squared error fits the mean alone.

low = network("quantile", quantile=0.05).fit(X, y)
high = network("quantile", quantile=0.95).fit(X, y)
mean = network("squared_error").fit(X, y)
inside = np.mean((low.predict(X_test) <= y_test) & (y_test <= high.predict(X_test)))
print(f"held-out targets inside the 90 % interval: {inside:.1%}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
ax = axes[0]
ax.scatter(X_test[:, 0], y_test, s=3, color="0.75", label="held-out rows")
ax.fill_between(
    grid[:, 0],
    low.predict(grid),
    high.predict(grid),
    color="tab:blue",
    alpha=0.25,
    label=f"quantiles 0.05-0.95 ({inside:.0%} inside)",
)
ax.plot(grid[:, 0], mean.predict(grid), color="tab:red", label="squared error")
ax.set(title="A prediction interval from two quantile networks", xlabel="x", ylabel="y")
ax.legend(loc="upper left", fontsize=8)

# %%
# Outliers in y
# -------------
#
# Five percent of the training targets are moved by 15. The squared error's
# gradient grows with the residual, so these rows pull the fit towards them;
# Huber's stops growing at ``huber_threshold`` and the absolute error's
# never grows. Each is scored on the clean held-out rows.

rng = np.random.RandomState(2)
dirty = y.copy()
moved = rng.choice(N, size=N // 20, replace=False)
dirty[moved] += 15.0
fits = {
    "squared_error": network("squared_error"),
    "huber": network("huber", huber_threshold=1.0),
    "absolute_error": network("absolute_error"),
}
ax = axes[1]
ax.scatter(X[:, 0], dirty, s=3, color="0.75", label="training rows")
for (name, model), color in zip(
    fits.items(), ["tab:red", "tab:green", "tab:purple"], strict=True
):
    model.fit(X, dirty)
    error = np.mean(np.abs(model.predict(X_test) - y_test))
    print(f"{name:>15}: mean absolute error on clean held-out rows {error:.3f}")
    ax.plot(grid[:, 0], model.predict(grid), color=color, label=f"{name} ({error:.2f})")
ax.set(title="5 % of the targets moved by 15", xlabel="x", ylim=(-4, 18))
ax.legend(loc="upper left", fontsize=8, title="cost (held-out error)")
fig.savefig(os.path.join(FIGURES, "regression_costs.png"), dpi=100)
