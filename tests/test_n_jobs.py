"""``n_jobs``: one fit split into row shards on several threads.

Speed is measured in ``benchmarks/bench.py``; here: the result depends on
the number of shards only, agrees with ``n_jobs=1`` to rounding, and every
way of running it (threads, processes, nested parallelism) works.
"""

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from skce import InvalidParameterError, MLPCostClassifier
from skce._backprop import Penalty
from skce._cores import cores_given
from skce._inputs import kernel_input, kernel_targets
from skce._network import Network
from skce._params import n_shards
from skce._problem import Objective, Problem
from skce._shards import ShardedProblem
from skce.costs import COSTS

SOLVERS = ["gd", "sgd", "adam", "lbfgs"]
quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    """All the digits: enough rows per shard that batches of 200 are split."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _model(solver, n_jobs, **params):
    defaults = dict(
        max_iter=3,
        random_state=0,
        learning_rate_init=0.05 if solver in ("gd", "sgd") else 0.001,
    )
    return MLPCostClassifier(
        (64,), solver=solver, n_jobs=n_jobs, **{**defaults, **params}
    )


def _digest(solver, n_jobs, X, y):
    if n_jobs > 1:  # sharded fits keep BLAS to one thread themselves
        return _model(solver, n_jobs).fit(X, y).theta_.tobytes()
    with threadpool_limits(limits=1, user_api="blas"):
        return _model(solver, n_jobs).fit(X, y).theta_.tobytes()


_IN_A_CHILD = """
import contextlib, sys, warnings
import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits
from skce import MLPCostClassifier
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
for solver in ("gd", "sgd", "adam", "lbfgs"):
    for k in (1, 2, 3):
        # n_jobs=1 lets BLAS thread large products, which changes their
        # rounding: one BLAS thread there, as in the parent.
        blas = threadpool_limits(1, "blas") if k == 1 else contextlib.nullcontext()
        with blas:
            clf = MLPCostClassifier((64,), solver=solver, n_jobs=k, max_iter=3,
                                    random_state=0,
                                    learning_rate_init=0.05 if solver in ("gd", "sgd")
                                    else 0.001).fit(X / 16.0, y)
        sys.stdout.write(clf.theta_.tobytes().hex() + "\\n")
"""


@quiet
def test_same_bits_for_each_n_jobs_in_any_run_and_process(data):
    X, y = data
    here = [_digest(s, k, X, y).hex() for s in SOLVERS for k in (1, 2, 3)]
    again = [_digest(s, k, X, y).hex() for s in SOLVERS for k in (1, 2, 3)]
    assert here == again
    child = subprocess.run(
        [sys.executable, "-c", _IN_A_CHILD],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    assert child.stdout.split() == here
    # Two and three shards are other summation orders, not the same bits.
    for solver in range(len(SOLVERS)):
        runs = here[3 * solver : 3 * solver + 3]
        assert len(set(runs)) == 3


@quiet
def test_the_number_of_threads_does_not_change_the_bits(data):
    X, y = data
    for solver in ("adam", "lbfgs"):
        threaded = _model(solver, 3).fit(X, y).theta_
        with _threads(1):
            one = _model(solver, 3).fit(X, y).theta_
        assert one.tobytes() == threaded.tobytes()


class _threads:
    """Force the number of threads a sharded fit may use."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.patch = pytest.MonkeyPatch()
        self.patch.setenv("OMP_NUM_THREADS", str(self.n))
        assert cores_given() == self.n

    def __exit__(self, *exc):
        self.patch.undo()


@pytest.mark.parametrize("n_jobs", [2, 3])
@pytest.mark.parametrize("cost", list(COSTS))
def test_sharded_gradient_equals_the_whole(data, n_jobs, cost):
    X, y = data
    network = Network([64, 64, 10], "tanh", COSTS[cost].output_activation)
    rng = np.random.RandomState(0)
    theta = network.initial_theta("glorot_uniform", np.float64, rng)
    Y = np.eye(10)[y]
    weights = np.random.RandomState(1).uniform(0.5, 2, len(y))
    penalty = Penalty(0.1, 0.0)
    args = (kernel_input(X), kernel_targets(Y, weights), COSTS[cost], penalty, None)
    whole = Problem(*args)
    sharded = ShardedProblem(*args, n_jobs)
    assert sharded.splits(network, len(y))
    grads = []
    for problem in (whole, sharded):
        grad = np.empty_like(theta)
        grads.append((Objective(problem, network)(theta, grad), grad))
    sharded.close()
    assert grads[1][0] == pytest.approx(grads[0][0], rel=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("solver", SOLVERS)
@quiet
def test_a_short_fit_agrees_with_n_jobs_1(data, solver):
    X, y = data
    one = _model(solver, 1).fit(X, y)
    for k in (2, 3):
        sharded = _model(solver, k).fit(X, y)
        np.testing.assert_allclose(sharded.theta_, one.theta_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sharded.loss_curve_, one.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("solver", ["gd", "adam"])
@quiet
def test_the_first_step_agrees_with_n_jobs_1(data, solver):
    X, y = data
    one = _model(solver, 1, max_iter=1).fit(X, y)
    two = _model(solver, 2, max_iter=1).fit(X, y)
    np.testing.assert_allclose(two.theta_, one.theta_, rtol=1e-10, atol=1e-14)
    assert two.loss_ == pytest.approx(one.loss_, rel=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
@quiet
def test_sparse_input_and_float32(data, solver):
    X, y = data
    dense = _model(solver, 2).fit(X, y)
    sparse = _model(solver, 2).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.theta_, dense.theta_, rtol=1e-9, atol=1e-12)
    single = _model(solver, 2).fit(X.astype(np.float32), y)
    reference = _model(solver, 1).fit(X.astype(np.float32), y)
    assert single.theta_.dtype == np.float32
    np.testing.assert_allclose(single.theta_, reference.theta_, rtol=1e-3, atol=1e-5)


@quiet
def test_small_batches_are_not_split(data):
    """Batches of 10 rows would cost more in barriers than they gain."""
    X, y = data
    params = dict(solver="sgd", batch_size=10, max_iter=2)
    one = _model(n_jobs=1, **params).fit(X, y)
    two = _model(n_jobs=2, **params).fit(X, y)
    assert one.theta_.tobytes() == two.theta_.tobytes()


@quiet
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_batches_cut_into_column_blocks_are_not_split(solver):
    """200 x 300 x 512 multiply-adds a batch: the products are cut into two
    column blocks, which the threads share; the fit is that of n_jobs=1,
    where shards would be slower (see benchmarks/profile_epoch.py)."""
    X, y = make_classification(600, 300, n_informative=30, n_classes=3, random_state=0)
    fits = [
        MLPCostClassifier(
            (512,), solver=solver, max_iter=2, random_state=0, n_jobs=n
        ).fit(X, y)
        for n in (1, 2)
    ]
    assert fits[0].theta_.tobytes() == fits[1].theta_.tobytes()
    assert fits[0].loss_curve_ == fits[1].loss_curve_


@quiet
def test_grid_search_and_clone_carry_n_jobs(data):
    X, y = data
    model = _model("adam", 2)
    assert clone(model).n_jobs == 2
    grid = GridSearchCV(model, {"n_jobs": [1, 2]}, cv=2).fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert scores[0] == pytest.approx(scores[1], abs=0.01)


@quiet
def test_grid_search_in_processes_with_n_jobs_inside(data):
    """GridSearchCV(n_jobs=2) with n_jobs=2 inside: loky tells each worker to
    use one thread; the shards then run one after the other, to the bits of
    the same grid search run in this process."""
    X, y = data
    grid = {"alpha": [1e-4, 1e-2]}
    inner = _model("adam", 2)
    parallel = GridSearchCV(inner, grid, cv=2, n_jobs=2).fit(X, y)
    serial = GridSearchCV(inner, grid, cv=2, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(
        parallel.cv_results_["split0_test_score"],
        serial.cv_results_["split0_test_score"],
    )
    assert (
        parallel.best_estimator_.theta_.tobytes()
        == serial.best_estimator_.theta_.tobytes()
    )
    workers = joblib.Parallel(n_jobs=2)(joblib.delayed(cores_given)() for _ in "ab")
    assert workers == [max(joblib.cpu_count() // 2, 1)] * 2


@quiet
def test_two_threaded_fits_each_on_two_threads(data):
    X, y = data
    with threadpool_limits(limits=1, user_api="blas"):
        serial = [_model(s, 2).fit(X, y).theta_ for s in ("adam", "lbfgs")]
        barrier = threading.Barrier(2)

        def in_thread(solver):
            barrier.wait(timeout=60)
            return _model(solver, 2).fit(X, y).theta_

        with ThreadPoolExecutor(2) as pool:
            threaded = list(pool.map(in_thread, ("adam", "lbfgs")))
    for alone, together in zip(serial, threaded, strict=True):
        assert alone.tobytes() == together.tobytes()


_AFTER_FORK = """
import multiprocessing, warnings
import numpy as np
from sklearn.datasets import load_digits
from skce import MLPCostClassifier
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X / 16.0

def fit(_):
    model = MLPCostClassifier((64,), n_jobs=2, max_iter=3, random_state=0)
    return model.fit(X, y).theta_.tobytes()

here = fit(0)  # threads started in the parent, then fork
with multiprocessing.get_context("fork").Pool(2) as pool:
    assert pool.map(fit, range(2)) == [here, here]
print("ok")
"""


def test_forked_processes_fit_alike():
    result = subprocess.run(
        [sys.executable, "-c", _AFTER_FORK],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_n_shards_follows_joblib():
    cores = joblib.cpu_count()
    assert n_shards(None) == 1 and n_shards(3) == 3
    assert n_shards(-1) == cores
    assert n_shards(-2) == max(cores - 1, 1)
    assert n_shards(-1000) == 1


@quiet
def test_minus_one_is_the_number_of_cores(data):
    X, y = data
    every_core = _model("adam", -1).fit(X, y)
    explicit = _model("adam", joblib.cpu_count()).fit(X, y)
    assert every_core.theta_.tobytes() == explicit.theta_.tobytes()


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", True])
def test_bad_n_jobs_is_refused(data, n_jobs):
    X, y = data
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter"):
        MLPCostClassifier(n_jobs=n_jobs).fit(X, y)


def test_a_custom_cost_raising_in_a_thread_gives_its_error(data):
    from test_custom_costs import WrongLength

    X, y = data
    for solver in ("adam", "gd"):
        clf = MLPCostClassifier((64,), cost=WrongLength(), solver=solver, n_jobs=2)
        with pytest.raises(ValueError, match="wrong length"):
            clf.fit(X, y)
        assert not hasattr(clf, "theta_")
