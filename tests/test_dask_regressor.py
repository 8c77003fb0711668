"""``DaskMLPCostRegressor``: the regressor trained on a real cluster of
processes, with the classifier's guarantees (``test_dask_fit.py``)."""

import pickle

import dask.array as da
import numpy as np
import pytest
from _ports import local_cluster
from dask.distributed import Client
from test_dask_fit import _assert_same_fit, _dask, blockwise_reference
from threadpoolctl import threadpool_limits

from skce import MLPCostRegressor
from skce.dask import DaskMLPCostRegressor

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]
N_ROWS = 20_000


@pytest.fixture(scope="module")
def client():
    with local_cluster() as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N_ROWS + 5000, 8))
    signal = np.c_[np.sin(X[:, 0]) + X[:, 1] * X[:, 2], np.tanh(X[:, 3])]
    Y = signal + 0.3 * rng.normal(size=signal.shape)
    weights = rng.uniform(0.2, 2.0, N_ROWS)
    return X[:N_ROWS], Y[:N_ROWS], weights, X[N_ROWS:], Y[N_ROWS:]


@pytest.mark.parametrize("loss", ["squared_error", "poisson", "huber", "quantile"])
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_full_batch_fit_is_the_blockwise_fit_bit_for_bit(client, data, solver, loss):
    X, Y, weights, *_ = data
    y = np.abs(Y[:, 0]) if loss == "poisson" else Y[:, 0]
    params = dict(
        loss=loss,
        hidden_layer_sizes=(16,),
        solver=solver,
        max_iter=5,
        learning_rate_init=0.01,
        random_state=0,
    )
    Xd, yd, wd = _dask(X, y, weights)
    fitted = DaskMLPCostRegressor(**params).fit(Xd, yd, wd)
    reference = blockwise_reference(
        params, X, y, weights, Xd.chunks[0], kind=MLPCostRegressor
    )
    _assert_same_fit(fitted, reference)
    plain = MLPCostRegressor(**params).fit(X, y, weights)
    np.testing.assert_allclose(fitted.theta_, plain.theta_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "softplus", "gelu"])
def test_the_new_activations_are_the_blockwise_fit(client, data, activation):
    """The regressor's Dask version takes the activations beyond
    scikit-learn's (the leaky ReLU's slope included) and fits what the
    blockwise fit in this process fits, bit for bit."""
    X, Y, weights, *_ = data
    params = dict(
        hidden_layer_sizes=(16, 8),
        activation=activation,
        negative_slope=0.2,
        solver="lbfgs",
        max_iter=5,
        random_state=0,
    )
    Xd, yd, wd = _dask(X, Y[:, 0], weights)
    fitted = DaskMLPCostRegressor(**params).fit(Xd, yd, wd)
    reference = blockwise_reference(
        params, X, Y[:, 0], weights, Xd.chunks[0], kind=MLPCostRegressor
    )
    _assert_same_fit(fitted, reference)
    assert fitted.get_params()["activation"] == activation


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_one_partition_is_the_in_memory_fit(client, data, solver):
    X, Y, *_ = data
    params = dict(loss="huber", hidden_layer_sizes=(16,), solver=solver, max_iter=3)
    params["random_state"] = 0
    fitted = DaskMLPCostRegressor(**params).fit(*_dask(X, Y, parts=1))
    with threadpool_limits(1, "blas"):
        plain = MLPCostRegressor(**params).fit(X, Y)
    _assert_same_fit(fitted, plain)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_the_in_memory_hyper_parameters_give_the_in_memory_r2(client, data, solver):
    """8 partitions, scikit-learn's defaults unchanged (but the rate of
    'sgd', which the in-memory fit needs too): within 0.02 of the in-memory
    R² on held-out rows after 20 epochs."""
    X, Y, _, X_test, Y_test = data
    params = dict(hidden_layer_sizes=(32,), solver=solver, max_iter=20, random_state=0)
    if solver == "sgd":
        params["learning_rate_init"] = 0.01
    fitted = DaskMLPCostRegressor(**params).fit(*_dask(X, Y))
    plain = MLPCostRegressor(**params).fit(X, Y)
    distributed, in_memory = fitted.score(X_test, Y_test), plain.score(X_test, Y_test)
    assert in_memory > 0.5
    assert abs(distributed - in_memory) <= 0.02, (distributed, in_memory)


def test_predict_to_local_pickle_and_a_validation_set(client, data):
    X, Y, _, X_test, Y_test = data
    reg = DaskMLPCostRegressor(
        "quantile",
        hidden_layer_sizes=(8,),
        quantile=0.3,
        max_iter=3,
        early_stopping=True,
        random_state=0,
    )
    reg.fit(*_dask(X, Y), X_val=X_test[:500], y_val=Y_test[:500])
    assert len(reg.validation_scores_) == reg.n_iter_
    (Xd,) = _dask(X_test)
    predicted = reg.predict(Xd)
    assert isinstance(predicted, da.Array)
    local = reg.to_local()
    assert type(local) is MLPCostRegressor
    # A partition's rows are predicted in a product of the partition's
    # height: OpenBLAS computes the last rows of a height that is no multiple
    # of its tile (here 625 rows) with edge kernels, which on AVX2 CPUs round
    # the last bit otherwise than the local prediction's full tiles.
    np.testing.assert_allclose(
        predicted.compute(), local.predict(X_test), rtol=1e-13, atol=1e-15
    )
    one = DaskMLPCostRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    one.fit(*_dask(X, Y[:, 0]))
    assert one.predict(Xd).compute().shape == (len(X_test),)
    loaded = pickle.loads(pickle.dumps(reg))
    assert loaded.client is None
    np.testing.assert_array_equal(loaded.predict(X_test), local.predict(X_test))


def test_bad_targets_are_clear_errors(client, data):
    X, Y, *_ = data
    labels = np.where(Y[:, 0] > 0, "up", "down")
    with pytest.raises(ValueError, match="predicts numbers"):
        DaskMLPCostRegressor(max_iter=1).fit(*_dask(X, labels))
    with pytest.raises(ValueError, match="non-negative targets"):
        DaskMLPCostRegressor("poisson", max_iter=1).fit(*_dask(X, Y))
    assert not hasattr(DaskMLPCostRegressor(), "partial_fit")
