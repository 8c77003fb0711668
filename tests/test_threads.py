"""Fits side by side: the same bits as alone, and nothing process-wide touched.

The speed-up itself is measured in ``benchmarks/bench.py`` (its threads
section), not here: these machines are shared and timing tests are noise.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_info, threadpool_limits

import skce._cores
from skce import MLPCostClassifier
from skce._blas import library_path, library_threads
from skce._cores import cores_given, fits_running, thread_share
from skce._scipy_blas import library

SOLVERS = ["gd", "sgd", "adam", "lbfgs"]
quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def wide():
    """Rows for a network whose first layer is cut into column blocks
    (200 x 300 x 512 multiply-adds per batch: two blocks of 256)."""
    X, y = make_classification(600, 300, n_informative=30, n_classes=3, random_state=0)
    return X, y


def _fit(solver, seed, X, y, hidden=(30,), **params):
    return MLPCostClassifier(
        hidden, solver=solver, max_iter=4, random_state=seed, batch_size=50, **params
    ).fit(X, y)


def _in_two_threads(function, arguments):
    """``function`` on each argument, in two threads started together."""
    barrier = threading.Barrier(len(arguments))

    def together(argument):
        barrier.wait(timeout=60)  # both fits start together and overlap
        return function(argument)

    with ThreadPoolExecutor(max_workers=len(arguments)) as pool:
        return list(pool.map(together, arguments))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("network", ["small", "wide"])
@quiet
def test_two_fits_in_two_threads_equal_the_serial_fits(digits, wide, solver, network):
    """With the process's default threads: no threadpool_limits needed."""
    X, y = digits if network == "small" else wide
    hidden = (30,) if network == "small" else (512,)
    serial = [_fit(solver, seed, X, y, hidden).theta_ for seed in (0, 1)]
    threaded = _in_two_threads(
        lambda seed: _fit(solver, seed, X, y, hidden).theta_, (0, 1)
    )
    assert not np.array_equal(serial[0], serial[1])  # two different fits
    for alone, together in zip(serial, threaded, strict=True):
        assert alone.tobytes() == together.tobytes()


@quiet
def test_a_fit_in_another_thread_equals_the_fit_here(digits):
    """A pool thread computes the main thread's bits: OpenBLAS, once set to
    one thread at run time, gave pool threads other bits here."""
    X, y = digits
    here = _fit("adam", 0, X, y, (64,)).theta_
    with ThreadPoolExecutor(max_workers=1) as pool:
        there = pool.submit(lambda: _fit("adam", 0, X, y, (64,)).theta_).result()
    assert here.tobytes() == there.tobytes()


@pytest.mark.parametrize("n_threads", [1, 2])
@quiet
def test_the_bits_of_a_wide_fit_do_not_depend_on_its_threads(wide, n_threads):
    """Column blocks are cut by shape, not by thread: one thread or two
    give the same model."""
    X, y = wide
    reference = _fit("adam", 0, X, y, (512,)).theta_
    with threadpool_limits(limits=n_threads, user_api="blas"):
        assert cores_given() <= n_threads
        assert _fit("adam", 0, X, y, (512,)).theta_.tobytes() == reference.tobytes()


def _blas_settings():
    return {
        info["filepath"]: info["num_threads"]
        for info in threadpool_info()
        if info["user_api"] == "blas"
    }


@quiet
def test_fits_never_change_the_process_blas_threads(digits, wide):
    """Concurrent fits, one of which raises, leave every BLAS library's
    thread count as it was, during the fits as after them; SciPy's alone
    is one thread while an L-BFGS fit runs (``tests/test_scipy_blas.py``)."""
    X, y = digits
    scipy_blas = library()
    before = _blas_settings()
    assert before[library_path()] == 1  # skce's own copy: one thread
    seen = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.append(_blas_settings())

    def fit(kind):
        if kind == "raises":
            with pytest.raises(ValueError, match="diverged"):
                MLPCostClassifier(
                    (30,), solver="sgd", learning_rate_init=1e12, momentum=0.0
                ).fit(X * 1e3, y)
        elif kind == "wide":
            _fit("adam", 0, *wide, (512,))
        else:
            _fit(kind, 0, X, y)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        _in_two_threads(fit, ("raises", "wide"))
        _in_two_threads(fit, ("lbfgs", "adam"))
    finally:
        stop.set()
        watcher.join()
    assert seen, "the watcher never ran"
    if scipy_blas is not None:
        for settings in seen:
            assert settings.pop(scipy_blas.filepath) in (1, before[scipy_blas.filepath])
        others = {path: n for path, n in before.items() if path != scipy_blas.filepath}
    else:
        others = before
    assert all(settings == others for settings in seen)
    assert _blas_settings() == before
    assert fits_running() == 0


def _team_sizes(monkeypatch):
    """The sizes of the teams the fits start from now on, in a list."""
    sizes = []
    real_run = skce._cores.Threads.run

    def run(self, tasks):
        sizes.append(len(tasks))
        return real_run(self, tasks)

    monkeypatch.setattr(skce._cores.Threads, "run", run)
    return sizes


@quiet
def test_a_fit_inside_threadpool_limits_1_uses_one_thread(wide, monkeypatch):
    """The limit a user sets on BLAS is the fit's: its team is one thread."""
    X, y = wide
    if cores_given() < 2:
        pytest.skip("one core here: a fit never has a second thread to use")
    sizes = _team_sizes(monkeypatch)
    _fit("adam", 0, X, y, (512,))
    assert max(sizes) == 2  # alone, the wide fit uses both cores
    sizes.clear()
    with threadpool_limits(limits=1):
        assert cores_given() == 1 and thread_share(16) == 1
        _fit("adam", 0, X, y, (512,))
        _fit("lbfgs", 0, X, y, (512,))
        _fit("adam", 0, X, y, (30,), n_jobs=2)
    assert sizes and max(sizes) == 1
    assert library_threads() == 1


@pytest.mark.parametrize("solver", ["gd", "lbfgs"])
@quiet
def test_a_full_batch_on_two_threads_is_the_one_thread_fit(solver, monkeypatch):
    """A full batch large enough for a team (``_product.ROW_TEAM_WORK``)
    is cut into row blocks by shape; two threads share them, to the bits
    of one thread."""
    X, y = make_classification(3000, 100, n_informative=40, n_classes=3, random_state=0)
    if cores_given() < 2:
        pytest.skip("one core here: a fit never has a second thread to use")
    sizes = _team_sizes(monkeypatch)
    fit = lambda: _fit(solver, 0, X, y, (64, 64)).theta_  # noqa: E731
    two = fit()
    assert max(sizes) == 2
    sizes.clear()
    with threadpool_limits(limits=1):
        one = fit()
    assert max(sizes) == 1
    assert one.tobytes() == two.tobytes()


def test_fits_running_share_the_cores():
    """Each running fit gets its share of the cores, at least one thread."""
    cores = cores_given()
    assert fits_running() == 0
    with skce._cores.running_fit():
        assert thread_share(64) == cores
        assert thread_share(1) == 1
        with skce._cores.running_fit():
            assert thread_share(64) == max(1, cores // 2)
        assert thread_share(64) == cores
    assert fits_running() == 0


@quiet
def test_threadpool_limits_on_skce_blas_is_undone_by_the_next_fit(digits):
    """threadpool_limits sets every OpenBLAS it finds, skce's copy too; a fit
    sets that copy (and only that one) back to one thread."""
    X, y = digits
    with threadpool_limits(limits=2, user_api="blas"):
        assert library_threads() == 2
        others = {k: v for k, v in _blas_settings().items() if k != library_path()}
        MLPCostClassifier((5,), max_iter=1).fit(X, y)
        assert library_threads() == 1
        assert {
            k: v for k, v in _blas_settings().items() if k != library_path()
        } == others
    assert library_threads() == 1


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
