"""
One model trained across a Dask cluster
=======================================

``DaskMLPCostClassifier`` fits one network on rows that stay on the workers
of a Dask cluster. Give the scheduler's address to use a real cluster::

    python dask_distributed_fit.py tcp://scheduler.example:8786

Without an address, the script starts a ``LocalCluster`` of two worker
processes on this machine. It fits the same network twice on 100 000 rows
in 8 partitions, drawn on the workers by ``dask.array.random``: once on the
cluster, and once in memory with ``MLPCostClassifier``. L-BFGS is exact on
the cluster (the same sums over rows, added in partition order); Adam runs
local SGD, the partitions' models averaged after every epoch, an
approximation.
"""

# %%
import os
import sys
import time
import warnings

import dask.array as da
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skce import MLPCostClassifier
from skce.dask import DaskMLPCostClassifier

QUICK = bool(os.environ.get("SKCE_EXAMPLES_QUICK"))
FIGURES = os.environ.get("SKCE_FIGURES", ".")
ROWS = 20_000 if QUICK else 100_000

FITS = {
    "lbfgs": dict(hidden_layer_sizes=(64,), solver="lbfgs", max_iter=100),
    "adam": dict(hidden_layer_sizes=(64,), solver="adam", max_iter=30),
}


def timed(make, *args):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make().fit(*args)
    return model, time.perf_counter() - start


# The guard matters: worker processes are started afresh and import this file.
if __name__ == "__main__":
    address = sys.argv[1] if len(sys.argv) > 1 and "://" in sys.argv[1] else None
    environ = dict(os.environ)  # a LocalCluster sets OMP_NUM_THREADS here
    cluster = (
        None
        if address
        else LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    )
    results = {}
    with Client(address or cluster) as client:
        print("cluster:", client)
        # The rows are made on the workers, 8 partitions of them and one
        # more for testing, as they would be read there from Parquet or Zarr.
        # Three classes by the largest of three random quadratic scores.
        X_all = da.random.RandomState(0).normal(
            size=(ROWS + ROWS // 8, 20), chunks=(ROWS // 8, 20)
        )
        W, V = np.random.RandomState(1).normal(size=(2, 20, 3))
        y_all = da.argmax(X_all @ W + 0.3 * (X_all**2) @ V, axis=1)
        X_dask, y_dask = X_all[:ROWS], y_all[:ROWS]
        # The same rows in this process, for the in-memory fits.
        X, y, X_test, y_test = da.compute(X_dask, y_dask, X_all[ROWS:], y_all[ROWS:])
        for name, params in FITS.items():
            results[name] = timed(
                lambda p=params: DaskMLPCostClassifier(random_state=0, **p),
                X_dask,
                y_dask,
            )
    if cluster is not None:
        cluster.close()
    os.environ.clear()
    os.environ.update(environ)

    # %%
    # The same fits in memory
    # -----------------------
    # BLAS is kept to one thread, as in the workers, so that the two
    # L-BFGS runs compute with the same rounding.
    print(f"{'solver':<7} {'where':<9} {'seconds':>8} {'loss':>8} {'test acc':>9}")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (name, params) in zip(axes, FITS.items(), strict=True):
        with threadpool_limits(1, "blas"):
            here, seconds = timed(
                lambda p=params: MLPCostClassifier(random_state=0, **p), X, y
            )
        there, dask_seconds = results[name]
        for where, model, s in (
            ("cluster", there, dask_seconds),
            ("memory", here, seconds),
        ):
            print(
                f"{name:<7} {where:<9} {s:8.2f} {model.loss_:8.4f} "
                f"{model.score(X_test, y_test):9.4f}"
            )
            ax.plot(
                model.loss_curve_,
                label=where,
                linestyle="-" if where == "cluster" else "--",
            )
        ax.set(
            title=name,
            xlabel="iteration" if name == "lbfgs" else "epoch",
            ylabel="loss",
        )
        ax.legend()
        if name == "lbfgs":
            a, b = np.array(there.loss_curve_), np.array(here.loss_curve_)
            apart = np.flatnonzero(np.abs(a - b) > 1e-8 * np.abs(b))
            same = apart[0] if apart.size else len(b)
            print(f"lbfgs: the losses agree to 1e-8 for the first {same} iterations")
    fig.tight_layout()
    path = os.path.join(FIGURES, "dask_distributed_fit.png")
    fig.savefig(path)
    print(f"saved {os.path.relpath(path)}")

# %%
# L-BFGS on the cluster is the in-memory fit to rounding: both minimize the
# same sums over rows, only added in partition order. The rounding
# differences are of the order of 1e-16, but L-BFGS amplifies them from one
# iteration to the next: the two runs agree for tens of iterations, then part
# and end at equally good minima. (On the cluster the fit is, bit for bit,
# the in-memory fit that adds the partitions in the same order: that is
# what the tests check.) Adam on the cluster
# averages 8 models that each learned from one partition in the epoch; it
# moves like SGD on 8 times larger batches, so it trails the in-memory fit
# per epoch and catches up with more epochs (see :doc:`/scaling`). On one
# machine the round trips cost more than the cluster saves: the cluster
# pays when the data do not fit one machine, or when each worker computes
# well over 100 ms per evaluation.
