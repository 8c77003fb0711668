"""The profile of an epoch by phase (``skce._profile``, ``skce._profile``).

A profiled fit runs the kernels' timed specialization; it must compute the
same numbers, count every epoch it ran, and only those of its own thread.
"""

import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from threadpoolctl import threadpool_limits

from skce import MLPCostClassifier
from skce._profile import PHASES, cycles, cycles_per_second, profiled

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _phase(profile, name):
    return profile.counts[:, PHASES.index(name)]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def wide():
    """Batches of 200 x 300 x 512: the products are cut into column blocks,
    which a team of two threads shares."""
    X, y = make_classification(400, 300, n_informative=30, n_classes=3, random_state=0)
    return X, y


def _fit(X, y, **params):
    return MLPCostClassifier(**{"max_iter": 3, "random_state": 0, **params}).fit(X, y)


@quiet
@pytest.mark.parametrize(
    "case",
    [
        dict(solver="adam", hidden_layer_sizes=(30,)),
        dict(solver="sgd", hidden_layer_sizes=(20, 10), alpha=0.0),
        dict(solver="adam", hidden_layer_sizes=(30,), n_jobs=2),  # shards
    ],
    ids=["alone", "sgd-two-layers", "shards"],
)
def test_a_profiled_fit_computes_the_same_numbers(digits, case):
    X, y = digits
    plain = _fit(X, y, **case)
    with profiled() as profile:
        timed = _fit(X, y, **case)
    assert timed.theta_.tobytes() == plain.theta_.tobytes()
    assert timed.loss_curve_ == plain.loss_curve_
    assert profile.epochs == 3
    assert (profile.counts >= 0).all()
    for name in ("row gathering", "forward products", "backward products"):
        assert _phase(profile, name)[0] > 0, name
    for name in ("activations", "cost and output error", "optimizer update"):
        assert _phase(profile, name)[0] > 0, name
    # The phases are parts of the epochs' time, on every thread.
    seconds = profile.counts.sum(axis=1) / cycles_per_second()
    assert (seconds <= profile.seconds * 1.05).all()
    table = profile.table()
    assert set(table) == {*PHASES, "other"}
    if case.get("n_jobs") == 2:
        assert _phase(profile, "shard reduction")[0] > 0
    else:
        assert _phase(profile, "shard reduction").sum() == 0


@quiet
def test_a_team_of_two_counts_both_threads_and_their_barriers(wide):
    X, y = wide
    plain = _fit(X, y, solver="adam", hidden_layer_sizes=(512,))
    with threadpool_limits(limits=2, user_api="blas"), profiled() as profile:
        timed = _fit(X, y, solver="adam", hidden_layer_sizes=(512,))
    assert timed.theta_.tobytes() == plain.theta_.tobytes()
    if profile.counts.shape[0] < 2:
        pytest.skip("this machine gives a fit one core: no team to profile")
    products = _phase(profile, "forward products") + _phase(
        profile, "backward products"
    )
    assert (products[:2] > 0).all()  # both threads computed column blocks
    assert _phase(profile, "barriers")[:2].sum() > 0


@quiet
def test_only_the_fits_of_the_profiling_thread_count(digits):
    X, y = digits
    fitted = []
    # Stops on its loss after three epochs: no ConvergenceWarning in a thread.
    stops = dict(solver="adam", max_iter=50, tol=1e9, n_iter_no_change=1)
    other = threading.Thread(target=lambda: fitted.append(_fit(X, y, **stops)))
    with profiled() as profile:
        other.start()
        other.join()
    assert fitted[0].n_iter_ == 3
    assert profile.epochs == 0
    assert not profile.counts.any()
    _fit(X, y, solver="adam")  # after the context: not counted either
    assert profile.epochs == 0


def test_the_counter_runs_forward():
    first = cycles()
    rate = cycles_per_second(0.01)
    assert cycles() > first
    assert 1e7 < rate < 1e11  # 10 MHz to 100 GHz
    assert np.isfinite(rate)
