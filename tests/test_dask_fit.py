"""``DaskMLPCostClassifier``: one model trained on a real cluster of processes.

Every test runs on a ``LocalCluster`` of 2 worker processes with 1 thread
each (Dask keeps their BLAS to 1 thread) and has a timeout: nothing may hang.
"""

import os
import pickle
import signal
import subprocess
import sys
import threading
import time

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from _ports import local_cluster
from _user_activation import Swish
from dask.distributed import Client
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from skce import MLPCostClassifier
from skce._cluster import (
    Partition,
    Spec,
    aligned,
    local_batch_sizes,
    local_optimizer,
    partition_sums,
    round_rows,
    sync_schedule,
)
from skce._codes import SOLVER_ADAM, SOLVER_SGD
from skce._inputs import kernel_input, kernel_targets
from skce._optimizer import Optimizer
from skce._problem import Problem
from skce._shards import add_shard_sums
from skce.dask import DaskMLPCostClassifier

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]
N_ROWS, N_PARTS = 50_000, 8


@pytest.fixture(scope="module")
def client():
    with local_cluster() as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        N_ROWS + 10_000, 20, n_informative=10, n_classes=3, random_state=0
    )
    weights = np.random.RandomState(1).uniform(0.2, 2.0, N_ROWS)
    return X[:N_ROWS], y[:N_ROWS], weights, X[N_ROWS:], y[N_ROWS:]


def _dask(*arrays, parts=N_PARTS):
    rows = -(-arrays[0].shape[0] // parts)
    return [da.from_array(a, chunks=(rows,) + a.shape[1:]) for a in arrays]


class _Blockwise(Problem):
    """The in-memory reference: the same partitions, prepared and summed by
    the same functions as on the workers, added in the same order."""

    def __init__(self, data, bounds, cost, penalty, rates):
        targets = kernel_targets(data.Y, data.sample_weight)
        super().__init__(kernel_input(data.X), targets, cost, penalty, rates)
        w = data.sample_weight
        self.partitions = [
            Partition(
                aligned(data.X[lo:hi], data.dtype),
                aligned(data.Y[lo:hi], data.dtype),
                None if w is None else aligned(w[lo:hi], data.dtype),
                lo,
            )
            for lo, hi in bounds
        ]

    def sums(self, network, theta, grad, bias_sums, dropout=None):
        spec = Spec(network, self.cost, self.penalty)
        results = [partition_sums(p, theta, spec, dropout) for p in self.partitions]
        parts = [(g, b) for _, g, b in results]
        sums = [r[0] for r in results]
        return add_shard_sums(network.net, sums, parts, grad, bias_sums)


def blockwise_reference(params, X, y, sample_weight, chunks, kind=MLPCostClassifier):
    """``kind`` fitted in this process on the blocks ``chunks``."""
    clf = kind(**params)
    bounds = list(zip(np.cumsum([0, *chunks[:-1]]), np.cumsum(chunks), strict=True))
    make_data = clf._training_data

    def training_data(*args):
        data = make_data(*args)
        data.problem = lambda cost, penalty, rates, shards: _Blockwise(
            data, bounds, cost, penalty, rates
        )
        return data

    clf._training_data = training_data
    with threadpool_limits(1, "blas"):
        return clf.fit(X, y, sample_weight)


def _assert_same_fit(a, b, same_n_iter=True):
    assert a.theta_.dtype == b.theta_.dtype
    assert a.theta_.tobytes() == b.theta_.tobytes()
    for got, want in zip(
        a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(got, want)
    assert a.loss_curve_ == b.loss_curve_
    assert a.n_iter_ == b.n_iter_ or not same_n_iter


# -- exact solvers --------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cost", ["log_loss", "cross_entropy", "quadratic"])
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_full_batch_fit_is_the_blockwise_fit_bit_for_bit(
    client, data, solver, cost, dtype
):
    X, y, *_ = data
    X = X.astype(dtype)
    params = dict(
        hidden_layer_sizes=(16,),
        solver=solver,
        cost=cost,
        max_iter=8,
        learning_rate_init=0.1,
        random_state=0,
    )
    Xd, yd = _dask(X, y)
    fitted = DaskMLPCostClassifier(**params).fit(Xd, yd)
    _assert_same_fit(fitted, blockwise_reference(params, X, y, None, Xd.chunks[0]))


@pytest.mark.parametrize(
    "class_weight", [None, "balanced", {0: 2.0, 2: 0.5}], ids=["none", "bal", "dict"]
)
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_sample_and_class_weights_are_the_blockwise_fit(
    client, data, solver, class_weight
):
    X, y, weights, *_ = data
    params = dict(
        hidden_layer_sizes=(16,),
        solver=solver,
        class_weight=class_weight,
        max_iter=8,
        learning_rate_init=0.1,
        random_state=0,
    )
    Xd, yd, wd = _dask(X, y, weights)
    fitted = DaskMLPCostClassifier(**params).fit(Xd, yd, wd)
    reference = blockwise_reference(params, X, y, weights, Xd.chunks[0])
    _assert_same_fit(fitted, reference)


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="lbfgs", penalty="l1", alpha=500.0),
        dict(solver="gd", penalty="elasticnet", alpha=0.1, dropout=0.3),
    ],
    ids=["lbfgs-l1", "gd-elasticnet-dropout"],
)
def test_the_chapters_regularizers_are_the_blockwise_fit(client, data, params):
    X, y, *_ = data
    params = dict(hidden_layer_sizes=(16,), max_iter=8, random_state=0, **params)
    Xd, yd = _dask(X, y)
    fitted = DaskMLPCostClassifier(**params).fit(Xd, yd)
    _assert_same_fit(fitted, blockwise_reference(params, X, y, None, Xd.chunks[0]))
    if params["solver"] == "lbfgs":
        assert (fitted.coefs_[0] == 0).any()  # L1 by bounds: exact zeros


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "swish"])
def test_the_new_activations_are_the_blockwise_fit(client, data, activation):
    """The activations beyond scikit-learn's on the workers: the leaky
    ReLU's slope reaches them, GELU and a user's (pickled to the worker
    processes, compiled there) keep their inputs in each partition's work
    space."""
    X, y, *_ = data
    params = dict(
        hidden_layer_sizes=(16, 8),
        activation=Swish() if activation == "swish" else activation,
        negative_slope=0.2,
        solver="gd",
        max_iter=6,
        learning_rate_init=0.1,
        random_state=0,
    )
    Xd, yd = _dask(X, y)
    fitted = DaskMLPCostClassifier(**params).fit(Xd, yd)
    _assert_same_fit(fitted, blockwise_reference(params, X, y, None, Xd.chunks[0]))
    assert fitted.to_local()._activation == fitted._activation


@pytest.mark.parametrize("cost", ["log_loss", "cross_entropy", "quadratic"])
def test_fifty_lbfgs_iterations_agree_with_a_plain_fit(client, data, cost):
    X, y, *_ = data
    params = dict(hidden_layer_sizes=(16,), solver="lbfgs", cost=cost, max_iter=50)
    fitted = DaskMLPCostClassifier(random_state=0, **params).fit(*_dask(X, y))
    with threadpool_limits(1, "blas"):
        plain = MLPCostClassifier(random_state=0, **params).fit(X, y)
    assert fitted.n_iter_ == plain.n_iter_ == 50
    # rtol=1e-8 relative to the weights' scale: a weight near 0 may differ
    # by more than 1e-8 of itself (measured: 2e-8 for 1 of 387 weights).
    scale = np.abs(plain.theta_).max()
    np.testing.assert_allclose(
        fitted.theta_, plain.theta_, rtol=1e-8, atol=1e-8 * scale
    )
    np.testing.assert_allclose(fitted.loss_curve_, plain.loss_curve_, rtol=1e-8)
    # float32 rounds every sum to 6e-8, so 1e-8 cannot be met: the order of
    # the blocks shows at 1e-4 in the first iterations, and L-BFGS's line
    # searches then take the two fits apart to a similar loss.
    X32 = X.astype(np.float32)
    fitted = DaskMLPCostClassifier(random_state=0, **params).fit(*_dask(X32, y))
    plain = MLPCostClassifier(random_state=0, **params).fit(X32, y)
    np.testing.assert_allclose(
        fitted.loss_curve_[:10], plain.loss_curve_[:10], rtol=1e-4
    )
    assert fitted.loss_ == pytest.approx(plain.loss_, rel=0.02)


def test_gd_warm_start_and_dropout_continue_as_in_memory(client, data):
    X, y, *_ = data
    params = dict(hidden_layer_sizes=(16,), solver="gd", dropout=0.2, random_state=0)
    Xd, yd = _dask(X, y)
    halves = DaskMLPCostClassifier(max_iter=4, warm_start=True, **params)
    halves.fit(Xd, yd).fit(Xd, yd)
    whole = blockwise_reference({**params, "max_iter": 8}, X, y, None, Xd.chunks[0])
    _assert_same_fit(halves, whole, same_n_iter=False)  # n_iter_: the last fit's


def test_early_stopping_needs_a_validation_set_and_uses_one(client, data):
    X, y, _, X_test, y_test = data
    Xd, yd = _dask(X, y)
    clf = DaskMLPCostClassifier((16,), early_stopping=True, max_iter=30, random_state=0)
    with pytest.raises(ValueError, match="pass X_val and y_val"):
        clf.fit(Xd, yd)
    assert not hasattr(clf, "theta_")
    clf.set_params(solver="gd", learning_rate_init=0.5, n_iter_no_change=3)
    clf.fit(Xd, yd, X_val=da.from_array(X_test, chunks=5000), y_val=y_test)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.score(X_test, y_test) == pytest.approx(clf.best_validation_score_)


# -- local SGD ------------------------------------------------------------


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_one_partition_is_the_in_memory_fit(client, data, solver):
    X, y, *_ = data
    params = dict(
        hidden_layer_sizes=(16,), solver=solver, max_iter=3, dropout=0.1, random_state=0
    )
    fitted = DaskMLPCostClassifier(**params).fit(*_dask(X, y, parts=1))
    with threadpool_limits(1, "blas"):
        plain = MLPCostClassifier(**params).fit(X, y)
    _assert_same_fit(fitted, plain)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_the_in_memory_hyper_parameters_give_the_in_memory_accuracy(
    client, data, solver
):
    """scikit-learn's defaults, unchanged, on 8 partitions: within a point of
    test accuracy of the in-memory fit (30 epochs). Averaging once per epoch
    with full-size local batches, the scheme before, lost up to 19 points in
    the table of docs/scaling.rst ("local-sgd")."""
    X, y, _, X_test, y_test = data
    params = dict(hidden_layer_sizes=(32,), solver=solver, max_iter=30, random_state=0)
    fitted = DaskMLPCostClassifier(**params).fit(*_dask(X, y))
    plain = MLPCostClassifier(**params).fit(X, y)
    distributed, in_memory = fitted.score(X_test, y_test), plain.score(X_test, y_test)
    assert abs(distributed - in_memory) <= 0.01, (distributed, in_memory)


def test_sync_every_sets_how_often_the_copies_are_averaged(client, data):
    X, y, *_ = data
    Xd, yd = _dask(X[:8000], y[:8000])
    params = dict(hidden_layer_sizes=(16,), solver="adam", max_iter=4, random_state=0)
    fits = {
        every: DaskMLPCostClassifier(sync_every=every, **params).fit(Xd, yd)
        for every in (0.25, 0.5, 1, 2)
    }
    assert DaskMLPCostClassifier().sync_every == 0.25
    # Each schedule is a different fit, and a deterministic one.
    thetas = {every: fit.theta_.tobytes() for every, fit in fits.items()}
    assert len(set(thetas.values())) == 4
    again = DaskMLPCostClassifier(sync_every=0.5, **params).fit(Xd, yd)
    assert again.theta_.tobytes() == thetas[0.5]
    # Every epoch and every second one start the first epoch alike.
    assert fits[1].loss_curve_[0] == fits[2].loss_curve_[0]
    for bad in (0, -1, 1.5, float("nan"), True, "1"):
        with pytest.raises(ValueError, match="'sync_every' parameter"):
            DaskMLPCostClassifier(sync_every=bad).fit(Xd, yd)


@pytest.mark.parametrize(
    "sizes", [[50_000], [6_250] * 8, [7_001, 5_000, 3], [100] * 16, [10, 10]]
)
@pytest.mark.parametrize("batch_size", [1, 10, 200, 999])
def test_local_batches_take_the_in_memory_steps_in_whole_batch_rounds(
    sizes, batch_size
):
    n_samples = sum(sizes)
    batch_size = min(batch_size, n_samples)
    batches = local_batch_sizes(batch_size, sizes)
    in_memory = -(-n_samples // batch_size)
    for n_rows, local in zip(sizes, batches, strict=True):
        assert 1 <= local <= n_rows
        steps = -(-n_rows // local)
        assert steps <= in_memory
        if len(set(sizes)) == 1 and batch_size >= len(sizes):
            # Equal shares of at least a row: the in-memory count, less what
            # rounding the batch up to whole rows costs.
            share = batch_size / len(sizes)
            assert steps >= (in_memory - 1) * share / local
        for rounds in (1, 3, 4):
            spans = [round_rows(n_rows, local, r, rounds) for r in range(rounds)]
            # The rounds cover the rows once, in order, in whole batches.
            assert spans[0][0] == 0 and spans[-1][1] == n_rows
            for (_, hi), (lo, _) in zip(spans, spans[1:], strict=False):
                assert hi == lo and lo % local == 0
    if len(sizes) == 1:
        assert batches == [batch_size]


def test_only_adam_scales_its_step_with_the_local_batch():
    adam = Optimizer(SOLVER_ADAM, 1e-3, 0.9, True, 0.9, 0.999, 1e-8)
    sgd = adam._replace(solver=SOLVER_SGD)
    assert local_optimizer(adam, 200, 200) is adam
    assert local_optimizer(sgd, 200, 25) is sgd
    scaled = local_optimizer(adam, 200, 50)
    assert scaled.learning_rate == pytest.approx(2e-3, rel=1e-15)
    assert scaled._replace(learning_rate=1e-3) == adam


@pytest.mark.parametrize(
    "sync_every, parts, schedule",
    [
        (0.25, 8, (4, 1)),
        (0.25, 1, (1, 1)),
        (0.3, 2, (3, 1)),
        (1, 8, (1, 1)),
        (3, 8, (1, 3)),
        (0.5, 16, (2, 1)),
    ],
)
def test_sync_schedule(sync_every, parts, schedule):
    assert sync_schedule(sync_every, parts) == schedule


# -- faults ---------------------------------------------------------------


@pytest.mark.timeout(240)
def test_a_worker_killed_mid_fit_is_recovered_from(data):
    """The documented outcome: the lost partitions are prepared again on a
    worker that lives, the evaluation is retried, and the fit ends as if
    nothing had happened; it never uses a partial gradient."""
    X, y, *_ = data
    X, y = X[:20_000], y[:20_000]
    params = dict(hidden_layer_sizes=(64,), solver="lbfgs", max_iter=120, tol=0.0)
    with local_cluster() as cluster, Client(cluster) as client:
        Xd, yd = _dask(X, y)
        undisturbed = DaskMLPCostClassifier(random_state=0, **params).fit(Xd, yd)
        warm = DaskMLPCostClassifier(random_state=0, warm_start=True, **params)
        warm.set_params(max_iter=5).fit(Xd, yd)
        before = warm.theta_.copy()
        pids = list(client.run(os.getpid).values())
        outcome = {}

        def fit():
            try:
                outcome["model"] = DaskMLPCostClassifier(random_state=0, **params).fit(
                    Xd, yd
                )
            except Exception as error:  # noqa: BLE001 - asserted below
                outcome["error"] = error

        thread = threading.Thread(target=fit)
        thread.start()
        time.sleep(1.5)
        assert thread.is_alive(), "the fit ended before the worker was killed"
        os.kill(pids[0], signal.SIGKILL)
        thread.join(200)
        assert not thread.is_alive()
        assert "error" not in outcome, outcome.get("error")
        _assert_same_fit(outcome["model"], undisturbed)
        # A warm start killed mid-fit: recovered alike, or left as it was.
        client.wait_for_workers(2, timeout=60)
        pids = list(client.run(os.getpid).values())
        warm.set_params(max_iter=120)
        thread = threading.Thread(target=lambda: _try_fit(warm, Xd, yd, outcome))
        outcome.clear()
        thread.start()
        time.sleep(1.0)
        os.kill(pids[1], signal.SIGKILL)
        thread.join(200)
        if "error" in outcome:
            np.testing.assert_array_equal(warm.theta_, before)
        else:
            assert np.isfinite(warm.theta_).all() and warm.n_iter_ >= 1


def _try_fit(model, X, y, outcome):
    try:
        model.fit(X, y)
    except Exception as error:  # noqa: BLE001 - the test reads it
        outcome["error"] = error


# -- the estimator's API ------------------------------------------------


def test_numpy_input_is_split_over_the_workers_and_predicts_numpy(client, data):
    X, y, *_ = data
    X, y = X[:4000], y[:4000]
    clf = DaskMLPCostClassifier((8,), solver="lbfgs", max_iter=20, random_state=0)
    clf.fit(X, y)
    assert isinstance(clf.predict(X), np.ndarray)
    proba = clf.predict_proba(da.from_array(X, chunks=1000))
    assert isinstance(proba, da.Array)
    np.testing.assert_array_equal(proba.compute(), clf.predict_proba(X))
    labels = clf.predict(da.from_array(X, chunks=1000))
    np.testing.assert_array_equal(labels.compute(), clf.predict(X))
    log_proba = clf.predict_log_proba(da.from_array(X, chunks=1000)).compute()
    np.testing.assert_allclose(log_proba, np.log(clf.predict_proba(X)))
    assert clf.client_ is client


def test_dataframes_are_accepted_with_their_column_names(client, data):
    X, y, *_ = data
    frame = pd.DataFrame(X[:4000], columns=[f"f{i}" for i in range(20)])
    names = np.array(["ant", "bee", "cat"])[y[:4000]]
    X_df = dd.from_pandas(frame, npartitions=4)
    y_ser = dd.from_pandas(pd.Series(names, name="y"), npartitions=4)
    clf = DaskMLPCostClassifier((8,), solver="lbfgs", max_iter=20, random_state=0)
    clf.fit(X_df, y_ser, X_val=X_df.partitions[0], y_val=y_ser.partitions[0])
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert clf.classes_.tolist() == ["ant", "bee", "cat"]
    assert len(clf.validation_scores_) == clf.n_iter_
    labels = clf.predict(X_df)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), clf.predict(frame))
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(X_df.rename(columns={"f0": "g0"}))


def test_to_local_clone_pickle_skops_and_onnx(client, data, tmp_path):
    X, y, *_ = data
    X, y = X[:4000].astype(np.float32), y[:4000]
    clf = DaskMLPCostClassifier((8,), solver="lbfgs", max_iter=20, random_state=0)
    clf.set_params(client=client).fit(*_dask(X, y))
    local = clf.to_local()
    assert type(local) is MLPCostClassifier
    assert "client" not in local.get_params()
    np.testing.assert_array_equal(local.predict_proba(X), clf.predict_proba(X))
    local.theta_[0] += 1.0  # a copy: the model is not shared
    assert local.theta_[0] != clf.theta_[0]

    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and not hasattr(twin, "theta_")

    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.client is None and clf.client is client
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))

    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    assert sio.get_untrusted_types(file=path) == ["skce.dask.DaskMLPCostClassifier"]
    restored = sio.load(path, trusted=["skce.dask.DaskMLPCostClassifier"])
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))

    import onnxruntime as ort
    from skl2onnx import to_onnx

    import skce.onnx  # noqa: F401  (registers the converter)

    onx = to_onnx(clf.to_local(), X[:1], options={"zipmap": False})
    session = ort.InferenceSession(onx.SerializeToString())
    labels, proba = session.run(None, {session.get_inputs()[0].name: X})
    np.testing.assert_array_equal(labels, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)


def test_grid_search_over_the_dask_classifier(client, data):
    X, y, *_ = data
    X, y = X[:3000], y[:3000]
    search = GridSearchCV(
        DaskMLPCostClassifier((8,), solver="lbfgs", max_iter=15, random_state=0),
        {"cost": ["log_loss", "cross_entropy"], "alpha": [1e-4, 1e-2]},
        cv=2,
    ).fit(X, y)
    assert search.best_score_ > 0.6
    assert isinstance(search.best_estimator_, DaskMLPCostClassifier)
    assert search.cv_results_["mean_test_score"].shape == (4,)


def test_partial_fit_is_not_offered(client):
    clf = DaskMLPCostClassifier()
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="Incremental"):
        clf.partial_fit  # noqa: B018


# -- bad input ------------------------------------------------------------


def test_mlpcostclassifier_refuses_a_dask_collection():
    X, y = _dask(np.random.RandomState(0).normal(size=(40, 3)), np.arange(40) % 2)
    clf = MLPCostClassifier(max_iter=2)
    for args in [(X, y), (X.compute(), y), (X.compute(), y.compute(), y)]:
        with pytest.raises(TypeError, match="skce.dask.DaskMLPCostClassifier"):
            clf.fit(*args)
    assert not hasattr(clf, "theta_")


@pytest.mark.timeout(120)
def test_bad_collections_are_clear_errors(client, data):
    X, y, *_ = data
    X, y = X[:2000], y[:2000]
    Xd, yd = _dask(X, y, parts=4)
    clf = DaskMLPCostClassifier((4,), solver="lbfgs", max_iter=3)
    unknown = Xd[Xd[:, 0] > -100]  # boolean indexing: chunk sizes unknown
    with pytest.raises(ValueError, match="unknown size.*compute_chunk_sizes"):
        clf.fit(unknown, yd)
    with pytest.raises(ValueError, match="partitions of y do not line up"):
        clf.fit(Xd, yd.rechunk(300))
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"]).assign(
        colour=np.where(y == 0, "red", "blue")
    )
    with pytest.raises(ValueError, match=r"non-numeric columns \['colour'\]"):
        clf.fit(dd.from_pandas(frame, npartitions=2), yd.rechunk(1000))
    # A filter that keeps no row of the first partition leaves it empty.
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"]).assign(y=y, row=range(2000))
    kept = dd.from_pandas(frame, npartitions=2)
    kept = kept[kept.row >= 1000]
    with pytest.raises(ValueError, match=r"empty partitions \[0\]"):
        clf.fit(kept[["a", "b", "c"]], kept["y"])
    nan = Xd.copy()
    nan[5, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity \\(partition 0\\)"):
        clf.fit(nan, yd)
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(Xd, da.zeros_like(yd))
    # Positive weights on one class only: the same error in memory and here.
    weights = (y == 1).astype(float)
    for model, args in [
        (MLPCostClassifier((4,), max_iter=3), (X, y, weights)),
        (clf, (Xd, yd, _dask(weights, parts=4)[0])),
    ]:
        with pytest.raises(
            ValueError, match="Only one class has samples with non-zero"
        ):
            model.fit(*args)
    with pytest.raises(ValueError, match="single-label"):
        clf.fit(Xd, da.stack([yd, yd], axis=1))
    assert not hasattr(clf, "theta_")


def test_no_client_is_a_clear_error():
    # In a fresh process: this module's cluster is the default client here.
    script = (
        "import numpy as np\n"
        "from skce.dask import DaskMLPCostClassifier\n"
        "try:\n"
        "    DaskMLPCostClassifier().fit(np.ones((4, 2)), [0, 1, 0, 1])\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert "No Dask client: pass one as client=" in result.stdout, result.stderr


@pytest.mark.timeout(120)
def test_a_closed_client_is_a_clear_error(data):
    X, y, *_ = data
    with local_cluster() as cluster:
        closed = Client(cluster)
        closed.close()
        clf = DaskMLPCostClassifier((4,), client=closed, max_iter=2)
        with pytest.raises(ValueError, match="client is closed"):
            clf.fit(*_dask(X[:1000], y[:1000]))


def test_a_warm_start_keeps_the_fitted_classes(client, data):
    X, y, *_ = data
    Xd, yd = _dask(X[:4000], y[:4000], parts=2)
    clf = DaskMLPCostClassifier((4,), solver="gd", warm_start=True, max_iter=2)
    clf.fit(Xd, yd)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(Xd, yd % 2)
    assert clf.n_iter_ == 2


def test_verbose_prints_the_lines_of_the_in_memory_fit(client, data, capsys):
    X, y, *_ = data
    X, y = X[:4000], y[:4000]
    params = dict(hidden_layer_sizes=(4,), solver="adam", max_iter=3, verbose=True)
    with pytest.warns(ConvergenceWarning):
        DaskMLPCostClassifier(random_state=0, **params).fit(*_dask(X, y, parts=1))
    distributed = capsys.readouterr().out
    with pytest.warns(ConvergenceWarning), threadpool_limits(1, "blas"):
        MLPCostClassifier(random_state=0, **params).fit(X, y)
    assert distributed == capsys.readouterr().out
    assert distributed.count("Iteration") == 3
