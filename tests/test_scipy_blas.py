"""SciPy's BLAS while L-BFGS fits run (``skce._scipy_blas``): one thread
during the fits, the user's setting before and after them, NumPy's never
touched, and the same bits side by side as one after the other."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from skce import MLPCostClassifier, MLPCostRegressor
from skce._scipy_blas import library, one_thread

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def scipy_blas():
    found = library()
    if found is None:
        pytest.skip("SciPy shares its BLAS with NumPy here: skce leaves it alone")
    before = found.num_threads
    if before == 1:  # nothing would change: give it two threads for the test
        found.set_num_threads(2)
    yield found
    found.set_num_threads(before)


def _numpy_blas():
    return {
        info["filepath"]: info["num_threads"]
        for info in threadpool_info()
        if info["user_api"] == "blas" and "numpy" in info["filepath"]
    }


def test_overlapping_fits_give_scipys_blas_back_when_the_last_ends(scipy_blas):
    user = scipy_blas.num_threads
    first, second = one_thread(), one_thread()
    first.__enter__()
    assert scipy_blas.num_threads == 1
    second.__enter__()
    first.__exit__(None, None, None)
    assert scipy_blas.num_threads == 1  # the second fit still runs
    second.__exit__(None, None, None)
    assert scipy_blas.num_threads == user


def test_a_setting_made_during_a_fit_is_kept(scipy_blas):
    with one_thread():
        scipy_blas.set_num_threads(3)  # the user's, from another thread
    assert scipy_blas.num_threads == 3


def test_the_limit_is_set_from_any_thread(scipy_blas):
    """threadpoolctl lets only one Python thread set OpenBLAS's limits;
    fits run in any thread, so skce calls OpenBLAS itself."""
    user = scipy_blas.num_threads
    seen = []

    def fit():
        with one_thread():
            seen.append(scipy_blas.num_threads)

    for _ in range(2):
        with ThreadPoolExecutor(1) as pool:
            pool.submit(fit).result()
    assert seen == [1, 1]
    assert scipy_blas.num_threads == user


@quiet
def test_lbfgs_fits_side_by_side_hold_scipys_blas_and_not_numpys(scipy_blas, digits):
    X, y = digits
    user, numpy_before = scipy_blas.num_threads, _numpy_blas()
    seen, numpy_seen = set(), []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.add(scipy_blas.num_threads)
            numpy_seen.append(_numpy_blas())

    def fit(seed):
        model = MLPCostClassifier((30,), solver="lbfgs", max_iter=30)
        return model.set_params(random_state=seed).fit(X, y).theta_

    serial = [fit(seed) for seed in (0, 1)]
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(2) as pool:
            threaded = list(pool.map(fit, (0, 1)))
    finally:
        stop.set()
        watcher.join()
    assert seen <= {1, user} and 1 in seen
    assert all(settings == numpy_before for settings in numpy_seen)
    assert scipy_blas.num_threads == user
    for alone, together in zip(serial, threaded, strict=True):
        assert alone.tobytes() == together.tobytes()


@quiet
def test_a_diverged_lbfgs_fit_gives_scipys_blas_back(scipy_blas):
    """The Poisson fit that diverges (``tests/test_regressor.py``) raises
    from inside L-BFGS."""
    rng = np.random.RandomState(14)
    X, y = rng.normal(loc=100, size=(100, 2)), rng.poisson(3, 100)
    user = scipy_blas.num_threads
    model = MLPCostRegressor(loss="poisson", solver="lbfgs", random_state=14)
    with pytest.raises(ValueError, match="non-finite"):
        model.fit(X, y)
    assert scipy_blas.num_threads == user
