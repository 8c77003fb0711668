"""
Every cost with every solver on the digits data
===============================================

Trains :class:`skce.MLPCostClassifier` on scikit-learn's bundled digits with
each cost (log-likelihood, cross-entropy, quadratic) and each solver (gd,
sgd, adam, lbfgs), and prints held-out accuracy, epochs and fit time.
"""

# %%
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skce import MLPCostClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.25, stratify=y, random_state=0
)

# Full-batch gradient descent takes one step an epoch, so it gets a larger
# step and more epochs than the mini-batch solvers, and runs all of them:
# under the quadratic cost its loss creeps along a plateau (the learning
# slowdown of saturated sigmoid outputs) that the stopping rule would end.
SETTINGS = {
    "gd": {"learning_rate_init": 0.5, "max_iter": 500, "n_iter_no_change": 500},
    "sgd": {"learning_rate_init": 0.1, "max_iter": 200},
    "adam": {"learning_rate_init": 0.01, "max_iter": 200},
    "lbfgs": {"max_iter": 200},
}

# %%
print(f"{'cost':<14} {'solver':<6} {'accuracy':>8} {'epochs':>6} {'fit time':>9}")
for cost in ("log_loss", "cross_entropy", "quadratic"):
    for solver, params in SETTINGS.items():
        clf = MLPCostClassifier(
            hidden_layer_sizes=(64,), cost=cost, solver=solver, random_state=0, **params
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        accuracy = clf.score(X_test, y_test)
        print(
            f"{cost:<14} {solver:<6} {accuracy:>8.3f} {clf.n_iter_:>6} {seconds:>8.2f}s"
        )
