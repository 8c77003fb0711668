"""
Grid search on a Dask cluster
=============================

The same ``GridSearchCV`` over cost x solver, dispatched through joblib's Dask
backend: each fit runs in a worker process of a Dask cluster. Give the
scheduler's address to use a real cluster::

    python dask_grid_search.py tcp://scheduler.example:8786

Without an address, the script starts a ``LocalCluster`` of two worker
processes on this machine. Either way the scores equal those of
``n_jobs=1``: each fit is deterministic, wherever it runs. The workers need
skce installed, and they compile its kernels once into their own Numba
cache (or load them from a shared one).
"""

# sphinx_gallery_thumbnail_path = "_static/thumbnail_dask_grid_search.png"

import sys
import warnings

import joblib
import numpy as np
from dask.distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skce import MLPCostClassifier


def search(n_jobs):
    X, y = load_digits(return_X_y=True)
    grid = {
        "cost": ["log_loss", "cross_entropy", "quadratic"],
        "solver": ["gd", "sgd", "adam", "lbfgs"],
    }
    estimator = MLPCostClassifier(
        (32,), learning_rate_init=0.01, max_iter=40, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs).fit(X / 16.0, y)


# The guard matters: worker processes are started afresh and import this file.
if __name__ == "__main__":
    address = sys.argv[1] if len(sys.argv) > 1 else None
    with (
        Client(address)
        if address
        else Client(
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
        )
    ) as client:
        print("cluster:", client)
        with joblib.parallel_backend("dask"):
            on_cluster = search(n_jobs=-1)
    here = search(n_jobs=1)

    results = on_cluster.cv_results_
    for i in np.argsort(results["rank_test_score"], kind="stable"):
        params = results["params"][i]
        print(
            f"{results['rank_test_score'][i]:>3}  {params['cost']:<14} "
            f"{params['solver']:<6} {results['mean_test_score'][i]:.3f}"
        )
    same = np.array_equal(
        results["mean_test_score"], here.cv_results_["mean_test_score"]
    )
    print("scores equal to n_jobs=1:", same)
    assert same
