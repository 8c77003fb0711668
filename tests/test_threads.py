"""Fits in threads: the kernels release the GIL, and results stay bit-exact.

The speed-up itself is measured in ``benchmarks/bench.py`` (its threads
section), not here: these machines are shared and timing tests are noise.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from skce import MLPCostClassifier
from skce._blas import blas_threads

SOLVERS = ["gd", "sgd", "adam", "lbfgs"]
quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _fit(solver, seed, X, y):
    return MLPCostClassifier(
        (30,), solver=solver, max_iter=8, random_state=seed, batch_size=50
    ).fit(X, y)


@pytest.mark.parametrize("solver", SOLVERS)
@quiet
def test_two_fits_in_two_threads_equal_the_serial_fits(digits, solver):
    X, y = digits
    with threadpool_limits(limits=1, user_api="blas"):
        serial = [_fit(solver, seed, X, y).theta_ for seed in (0, 1)]
        barrier = threading.Barrier(2)

        def in_thread(seed):
            barrier.wait(timeout=60)  # both fits start together and overlap
            return _fit(solver, seed, X, y).theta_

        with ThreadPoolExecutor(max_workers=2) as pool:
            threaded = list(pool.map(in_thread, (0, 1)))
    assert not np.array_equal(serial[0], serial[1])  # two different fits
    for alone, together in zip(serial, threaded, strict=True):
        assert alone.tobytes() == together.tobytes()


def _blas_threads_now():
    return {
        info["filepath"]: info["num_threads"]
        for info in threadpool_info()
        if info["user_api"] == "blas"
    }


def test_overlapping_fits_share_one_blas_limit():
    """The first fit out must not give BLAS its threads back under the other."""
    before = _blas_threads_now()
    small = [64, 10, 10]
    first, second = blas_threads(small, 200), blas_threads(small, 200)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert set(_blas_threads_now().values()) == {1}
    second.__exit__(None, None, None)
    assert _blas_threads_now() == before


@quiet
def test_one_model_serves_predictions_to_many_threads(digits):
    """predict allocates its scratch space per call: threads cannot mix rows."""
    X, y = digits
    clf = MLPCostClassifier((30,), max_iter=5, random_state=0).fit(X, y)
    chunks = [X[i::4] for i in range(4)] * 8
    expected = [clf.predict_proba(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        served = list(pool.map(clf.predict_proba, chunks))
    for alone, together in zip(expected, served, strict=True):
        assert alone.tobytes() == together.tobytes()
