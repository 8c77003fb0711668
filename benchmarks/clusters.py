"""The benchmarks' Dask cluster (two single-thread workers on free ports),
and the section that trains one model on it (``bench.py --dask``)."""

import os
import time
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skce import MLPCostClassifier
from skce._network import Network
from skce._params import resolve


@contextmanager
def two_workers(processes=True):
    """A client of a ``LocalCluster`` of two single-thread workers.

    Yields ``(client, environ)``: ``environ`` is this process's environment
    as it was before the cluster set ``OMP_NUM_THREADS`` and friends in it
    for its workers, for in-memory contenders to run in; it is restored when
    the cluster closes. The dashboard takes any free port: 8787 belongs to
    whatever Dask already runs on the machine.
    """
    from dask.distributed import Client, LocalCluster

    environ = dict(os.environ)
    try:
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client, environ
    finally:
        os.environ.clear()
        os.environ.update(environ)


def dask_section(quick, settle):
    """One model across a cluster: the round trip of one evaluation, an
    L-BFGS fit on 2 worker processes against the same fit in one process,
    and Adam's epochs there against in memory (``local_sgd_epochs``).

    The round trip is ``ClusterProblem.sums`` on 2 partitions of 100 rows,
    whose computing takes microseconds: what remains is Dask's (send theta,
    run 2 tasks, gather their sums). The speed-up uses rows enough that each
    worker computes for well over 100 ms per evaluation; both fits keep BLAS
    to one thread per process, and their losses are checked to agree.
    """
    import dask.array as da

    from skce._backprop import Penalty
    from skce.costs import COSTS
    from skce.dask import DaskMLPCostClassifier

    rows, features, hidden, iterations = (
        (20_000, 20, (32,), 3) if quick else (400_000, 50, (128,), 10)
    )
    rng = np.random.RandomState(0)
    X = rng.normal(size=(rows, features))
    y = (X[:, :3] @ [1.0, -1.0, 0.5] > 0).astype(int) + (X[:, 3] > 1)
    params = dict(
        hidden_layer_sizes=hidden, solver="lbfgs", max_iter=iterations, tol=0.0
    )
    report = {"rows": rows, "features": features, "hidden": list(hidden)}
    with two_workers() as (_, environ):
        tiny = DaskMLPCostClassifier((16,), solver="lbfgs", max_iter=1)
        X_tiny = da.from_array(X[:200, :20], chunks=(100, 20))
        spec = resolve(tiny, incremental=False, given_weights=False)
        data = tiny._training_data(
            X_tiny, da.from_array(y[:200], chunks=100), None, spec, None
        )
        network = Network([20, 16, 3], "relu", "softmax")
        problem = data.problem(COSTS["log_loss"], Penalty(1e-4, 0.0), None, 1)
        theta = network.initial_theta("glorot_uniform", np.float64, rng)
        grad, bias = np.empty_like(theta), np.empty_like(theta)
        problem.sums(network, theta, grad, bias)  # the first sends the spec
        calls = 20 if quick else 200
        start = time.perf_counter()
        for _ in range(calls):
            problem.sums(network, theta, grad, bias)
        report["round_trip_seconds"] = (time.perf_counter() - start) / calls

        Xd = da.from_array(X, chunks=(rows // 2, features))
        yd = da.from_array(y, chunks=rows // 2)
        settle()
        start = time.perf_counter()
        distributed = DaskMLPCostClassifier(random_state=0, **params).fit(Xd, yd)
        report["dask_seconds"] = time.perf_counter() - start
        report["local_sgd"] = local_sgd_epochs(
            X, y, Xd, yd, hidden, quick, environ, settle
        )
    settle()
    with threadpool_limits(1, "blas"):
        start = time.perf_counter()
        local = MLPCostClassifier(random_state=0, **params).fit(X, y)
        report["local_seconds"] = time.perf_counter() - start
    report["speedup"] = report["local_seconds"] / report["dask_seconds"]
    report["loss_agrees"] = bool(
        np.allclose(distributed.loss_curve_, local.loss_curve_, rtol=1e-8)
    )
    return report


def local_sgd_epochs(X, y, Xd, yd, hidden, quick, environ, settle):
    """Adam's epochs at default settings on 2 worker processes (local SGD)
    against the same fit in memory, alternated, median of 5 rounds.

    An epoch's time is the difference of a fit of ``1 + extra`` epochs and
    a fit of 1, divided by ``extra``: it leaves out what a fit does once
    (preparing the partitions, the first epoch's compile or cache load).
    The in-memory fit runs at default settings, with the cores it is given:
    in this process's own environment, without the ``OMP_NUM_THREADS=1``
    that the cluster set here for its workers.
    """
    from skce.dask import DaskMLPCostClassifier

    extra = 1 if quick else 3
    params = dict(hidden_layer_sizes=hidden, solver="adam", tol=0.0, random_state=0)
    makers = {
        "memory": (MLPCostClassifier, X, y),
        "dask": (DaskMLPCostClassifier, Xd, yd),
    }

    def epoch_seconds(make, X_fit, y_fit):
        seconds = []
        for epochs in (1, 1 + extra):
            settle()
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                make(max_iter=epochs, **params).fit(X_fit, y_fit)
            seconds.append(time.perf_counter() - start)
        return (seconds[1] - seconds[0]) / extra

    cluster_environ = dict(os.environ)

    times = {name: [] for name in makers}
    for _ in range(2 if quick else 5):
        for name, (make, X_fit, y_fit) in makers.items():
            os.environ.clear()
            os.environ.update(environ if name == "memory" else cluster_environ)
            times[name].append(epoch_seconds(make, X_fit, y_fit))
    ratios = [m / d for m, d in zip(times["memory"], times["dask"], strict=True)]
    return {
        "epoch_seconds": times,
        "speedup": float(np.median(ratios)),
        "speedup_spread": [float(min(ratios)), float(max(ratios))],
        "target": 1.5,
    }
