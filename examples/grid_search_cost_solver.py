"""
Choosing the cost and the solver by grid search
===============================================

``MLPCostClassifier`` in a ``Pipeline`` with a ``StandardScaler``, searched by
``GridSearchCV`` over cost x solver x alpha on the digits; prints the ranked
table and plots the scores.
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
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skce import MLPCostClassifier

QUICK = bool(os.environ.get("SKCE_EXAMPLES_QUICK"))
FIGURES = os.environ.get("SKCE_FIGURES", ".")
COSTS = ["log_loss", "cross_entropy", "quadratic"]
SOLVERS = ["gd", "sgd", "adam", "lbfgs"]

X, y = load_digits(return_X_y=True)
if QUICK:
    X, y = X[:600], y[:600]
pipeline = make_pipeline(
    StandardScaler(),
    MLPCostClassifier(
        (32,), learning_rate_init=0.01, max_iter=30 if QUICK else 150, random_state=0
    ),
)
grid = {
    "mlpcostclassifier__cost": COSTS,
    "mlpcostclassifier__solver": SOLVERS,
    "mlpcostclassifier__alpha": [1e-4, 1e-1],
}
search = GridSearchCV(pipeline, grid, cv=3, n_jobs=2)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)

# %%
results = search.cv_results_
order = np.argsort(results["rank_test_score"], kind="stable")
print(f"{'rank':>4}  {'cost':<14} {'solver':<6} {'alpha':>6} {'accuracy':>17}")
for i in order:
    params = results["params"][i]
    print(
        f"{results['rank_test_score'][i]:>4}  "
        f"{params['mlpcostclassifier__cost']:<14} "
        f"{params['mlpcostclassifier__solver']:<6} "
        f"{params['mlpcostclassifier__alpha']:>6g} "
        f"{results['mean_test_score'][i]:>8.4f} ± {results['std_test_score'][i]:.4f}"
    )
print("best:", search.best_params_)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, alpha in zip(axes, grid["mlpcostclassifier__alpha"], strict=True):
    for offset, cost in enumerate(COSTS):
        scores = [
            results["mean_test_score"][i]
            for solver in SOLVERS
            for i in range(len(results["params"]))
            if results["params"][i]
            == {
                "mlpcostclassifier__alpha": alpha,
                "mlpcostclassifier__cost": cost,
                "mlpcostclassifier__solver": solver,
            }
        ]
        ax.bar(
            np.arange(len(SOLVERS)) + 0.27 * (offset - 1),
            scores,
            width=0.27,
            label=cost,
        )
    ax.set(
        xticks=range(len(SOLVERS)),
        xticklabels=SOLVERS,
        title=f"alpha = {alpha:g}",
        ylim=(0.5, 1.0),
    )
axes[0].set_ylabel("mean cross-validated accuracy")
axes[0].legend()
fig.tight_layout()
fig.savefig(os.path.join(FIGURES, "grid_search_scores.png"))
