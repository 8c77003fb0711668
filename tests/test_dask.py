"""Dask: a grid search on a real local cluster, and out-of-core partial_fit.

The cluster runs worker processes on loopback, started by the test itself.
"""

import sys
import tracemalloc

import dask
import dask.array as da
import joblib
import numpy as np
import pytest
from _ports import DASHBOARD, dashboard_port_taken, local_cluster
from dask.distributed import Client, get_task_stream
from dask_ml.wrappers import Incremental
from sklearn.model_selection import GridSearchCV

from skce import MLPCostClassifier

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def cluster():
    # Started while 8787 is held, as it is where a user runs Dask of their own.
    with dashboard_port_taken(), local_cluster() as cluster, Client(cluster) as client:
        yield client


def test_the_test_cluster_leaves_a_users_dashboard_port_alone(cluster):
    """Port 8787 was taken while the cluster started (any running Dask holds
    it): the cluster started without a warning, on ports of its own."""
    services = cluster.scheduler_info()["services"]
    assert services and DASHBOARD not in services.values()
    assert cluster.scheduler.address != f"tcp://127.0.0.1:{DASHBOARD}"


@quiet
def test_grid_search_on_a_dask_cluster_equals_n_jobs_1(cluster, digits):
    X, y = digits
    grid = {
        "cost": ["log_loss", "cross_entropy", "quadratic"],
        "solver": ["gd", "sgd", "adam", "lbfgs"],
    }
    estimator = MLPCostClassifier((20,), max_iter=15, random_state=0)
    local = GridSearchCV(estimator, grid, cv=3, n_jobs=1, return_train_score=True)
    local.fit(X, y)
    with joblib.parallel_backend("dask"), get_task_stream(cluster) as stream:
        remote = GridSearchCV(estimator, grid, cv=3, n_jobs=-1, return_train_score=True)
        remote.fit(X, y)
    # The fits really ran in the worker processes (joblib sends them in
    # batches, so there are fewer tasks than fits).
    workers = set(cluster.scheduler_info()["workers"])
    assert stream.data and {task["worker"] for task in stream.data} <= workers
    assert all(cluster.run(lambda: "skce" in sys.modules).values())
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    scores = [key for key in local.cv_results_ if key.endswith("_score")]
    assert len(scores) == 11  # 3 splits, mean and std of train and test; test rank
    for key in scores:
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    np.testing.assert_array_equal(
        remote.best_estimator_.theta_, local.best_estimator_.theta_
    )


N_FEATURES, N_CLASSES = 20, 5
_teacher = np.random.RandomState(42)
W1 = _teacher.normal(size=(N_FEATURES, 16))
W2 = _teacher.normal(size=(16, N_CLASSES))


def teacher_labels(X):
    """The classes a fixed random network gives: a learnable, nonlinear task."""
    return np.argmax(np.tanh(X @ W1) @ W2, axis=1)


@quiet
def test_incremental_trains_out_of_core_as_well_as_in_memory():
    n_rows, chunk, passes = 200_000, 10_000, 2
    X = da.random.RandomState(0).normal(size=(n_rows, N_FEATURES), chunks=chunk)
    X = X.rechunk((chunk, N_FEATURES))
    y = X.map_blocks(teacher_labels, drop_axis=1, dtype=np.int64)
    X_test = np.random.RandomState(1).normal(size=(20_000, N_FEATURES))
    y_test = teacher_labels(X_test)
    params = dict(hidden_layer_sizes=(32,), batch_size=200, random_state=0)

    incremental = Incremental(
        MLPCostClassifier(**params), shuffle_blocks=True, random_state=0
    )
    classes = np.arange(N_CLASSES)
    # The threaded scheduler would make the blocks ahead of the sequential
    # fits, and hold most of them; the synchronous one makes one at a time.
    with dask.config.set(scheduler="synchronous"):
        incremental.partial_fit(X, y, classes=classes)  # also imports and compiles
        tracemalloc.start()
        try:
            for _ in range(passes - 1):
                incremental.partial_fit(X, y, classes=classes)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Never more than a few blocks in memory at once, far from all of X.
    block = (X.nbytes + y.nbytes) / X.numblocks[0]
    # (A block, its labels and the temporaries of making them: about 3.5.)
    assert peak < 6 * block, (peak, block)
    model = incremental.estimator_
    assert model.t_ == n_rows * passes

    in_memory = MLPCostClassifier(
        **params, max_iter=passes, tol=0.0, n_iter_no_change=10**9
    ).fit(X.compute(), y.compute())
    out_of_core = model.score(X_test, y_test)
    reference = in_memory.score(X_test, y_test)
    assert reference > 0.6  # a task that was learned, not a coin toss
    assert abs(out_of_core - reference) <= 0.01


@quiet
def test_incremental_on_the_cluster_equals_the_local_run(cluster):
    X = da.random.RandomState(0).normal(size=(40_000, N_FEATURES), chunks=10_000)
    X = X.rechunk((10_000, N_FEATURES))
    y = X.map_blocks(teacher_labels, drop_axis=1, dtype=np.int64)

    def trained():
        estimator = MLPCostClassifier((16,), random_state=0)
        model = Incremental(estimator, shuffle_blocks=True, random_state=0)
        return model.partial_fit(X, y, classes=np.arange(N_CLASSES)).estimator_

    # The client is the default scheduler: the blocks are made and trained on
    # in the worker processes.
    assert dask.base.get_scheduler() == cluster.get
    on_cluster = trained()
    with dask.config.set(scheduler="synchronous"):
        here = trained()
    assert on_cluster.theta_.tobytes() == here.theta_.tobytes()


def _fit_with_two_jobs(X, y):
    """A fit whose batches are split in two (64-128-10: about 0.95 M
    multiply-adds per 100-row shard), and the threads it could use."""
    from skce._cores import cores_given

    clf = MLPCostClassifier((128,), n_jobs=2, max_iter=3, random_state=0)
    clf.fit(X, y)
    return clf.theta_.tobytes(), cores_given()


@quiet
def test_n_jobs_inside_a_dask_worker(cluster, digits):
    """A fit with n_jobs=2 in a Dask worker gives the local bits, on one thread.

    Dask sets OMP_NUM_THREADS=1 in its workers, so the two shards run one
    after the other there (no oversubscription of the worker's core), and
    the model does not depend on that.
    """
    X, y = digits
    local, _ = _fit_with_two_jobs(X, y)
    remote, threads = cluster.submit(_fit_with_two_jobs, X, y, pure=False).result()
    assert threads == 1
    assert remote == local
