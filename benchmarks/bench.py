"""Side-by-side benchmarks of skce against scikit-learn (and PyTorch and JAX,
if present).

Every workload runs each contender in turn, round after round, in this one
process, and reports the median time of each, the ratio skce / other, and the
training accuracy of each (a row whose accuracies differ by more than 2
points is marked invalid). The large workloads also report skce's achieved
GFLOP/s as a share of the machine's matrix-product peak, measured here with
NumPy. Start-up costs (cold and warm Numba cache) and peak memory are measured
in child processes. The side-by-side sections (``side_by_side.py``) time two
and four fits in threads against the same fits one after the other, at the
process's default settings, for skce and scikit-learn; with ``--grid``, a
whole ``GridSearchCV`` script at n_jobs 1 and 2, in processes and in
threads; and what a worker process pays for skce. With JAX importable,
skce races a jit-compiled JAX loop on one core and on two
(``versus_jax.py``). The workloads are in ``workloads.py``, the contenders
in ``contenders.py``, the printed table in ``report.py``. The table is
printed and written as JSON.

    python benchmarks/bench.py            # the full suite (several minutes)
    python benchmarks/bench.py --grid     # and the grid searches (~10 more)
    python benchmarks/bench.py --quick    # a tiny version, a few seconds
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from clusters import dask_section
from contenders import (
    fit_sklearn_like,
    fit_torch,
    jax_available,
    torch_available,
)
from numba import njit
from report import HEADER, format_dask, format_row, machine
from side_by_side import (
    format_grid,
    grid_section,
    thread_section,
    worker_startup,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from versus_jax import jax_section
from workloads import FULL, SIZES, load, quick_version, regression_target

from skce import MLPCostClassifier, MLPCostRegressor
from skce._cores import thread_share
from skce._product import block_columns, column_blocks, gemm, most_blocks

HERE = Path(__file__).resolve().parent


# -- measurement --------------------------------------------------------------


def matmul_peak(dtype, n):
    """Best GFLOP/s of an n x n NumPy matrix product (the machine's peak)."""
    A = np.random.RandomState(0).rand(n, n).astype(dtype)
    B = A.copy()
    A @ B
    best = min(_seconds(lambda: A @ B) for _ in range(5))
    return 2 * n**3 / best / 1e9


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


@njit(nogil=True)
def _products(X, layer_units, batch_size, epochs, thread, n_threads):
    """The matrix products of a fit, alone: per batch and layer the forward
    product, the weight gradient and (but for the first layer) the input
    error, with the fit's shapes, contiguous operands and column blocks
    (``skce._product.column_blocks``), of which this is thread ``thread``'s
    share among ``n_threads``, as in the fit."""
    n = X.shape[0]
    X = X.reshape(-1)
    n_layers = layer_units.shape[0] - 1
    rows = min(batch_size, n)
    widest = layer_units.max()
    sizes = layer_units[:-1] * layer_units[1:]
    weights = np.full(sizes.sum(), 0.01, dtype=X.dtype)
    grads = np.empty(sizes.sum(), dtype=X.dtype)
    A = np.ones(rows * widest, dtype=X.dtype)
    D = np.ones(rows * widest, dtype=X.dtype)
    out = np.empty(rows * widest, dtype=X.dtype)
    for _ in range(epochs):
        for start in range(0, n, batch_size):
            m = min(start + batch_size, n) - start
            offset = 0
            for layer in range(n_layers):
                a, b = layer_units[layer], layer_units[layer + 1]
                inputs, first = (X, start * a) if layer == 0 else (A, 0)
                blocks = column_blocks(m, a, b)
                for block in range(thread, blocks, n_threads):
                    lo, hi = block_columns(block, blocks, b)
                    gemm(False, False, m, b, a, inputs, first, weights, offset, out,
                         0, 0.0, 0, m, lo, hi)  # fmt: skip
                blocks = column_blocks(a, m, b)
                for block in range(thread, blocks, n_threads):
                    lo, hi = block_columns(block, blocks, b)
                    gemm(True, False, a, b, m, inputs, first, D, 0, grads, offset,
                         0.0, 0, a, lo, hi)  # fmt: skip
                if layer > 0:
                    blocks = column_blocks(m, b, a)
                    for block in range(thread, blocks, n_threads):
                        lo, hi = block_columns(block, blocks, a)
                        gemm(False, True, m, a, b, D, 0, weights, offset, out, 0,
                             0.0, 0, m, lo, hi)  # fmt: skip
                offset += a * b


def product_seconds(w, X, n_outputs):
    """Seconds of the fit's matrix products alone, on the threads the fit
    itself runs (its share of the cores, at most its widest product's
    column blocks), each thread its blocks, as in the fit."""
    units = np.array([X.shape[1], *w.hidden, n_outputs], dtype=np.int64)
    X = np.ascontiguousarray(X)
    n_threads = thread_share(most_blocks(units, min(w.batch_size, len(X))))
    _products(X[: w.batch_size], units, w.batch_size, 1, 0, 1)  # compile

    def run():
        with ThreadPoolExecutor(n_threads) as pool:
            list(
                pool.map(
                    lambda t: _products(X, units, w.batch_size, w.epochs, t, n_threads),
                    range(n_threads),
                )
            )

    return min(_seconds(run) for _ in range(3))


def training_flops(w, n_samples, n_features, n_outputs):
    """Multiply-adds x 2 of forward and backward passes over all epochs."""
    units = [n_features, *w.hidden, n_outputs]
    pairs = [a * b for a, b in zip(units[:-1], units[1:], strict=True)]
    # forward 2, weight gradient 2, input delta 2 (not for the first layer)
    per_sample = 6 * sum(pairs) - 2 * pairs[0]
    return per_sample * n_samples * w.epochs


# A pause before each timed run. NumPy's OpenBLAS threads keep spinning for
# up to about a second after a threaded product (scikit-learn's fits and
# predictions use them), and a spinning thread takes a core from whatever
# runs next: measured on W1, skce's n_jobs=2 speed-up falls from 1.75 to
# 1.3 when it starts right after a scikit-learn fit. Every contender gets
# the same pause, so each starts on an idle machine; --quick skips it.
SETTLE_SECONDS = 1.0


def settle():
    time.sleep(SETTLE_SECONDS)


def run_fit_row(w, X, y, rounds, with_torch):
    ours, theirs = MLPCostClassifier, MLPClassifier
    if w.task == "regression":
        ours, theirs = MLPCostRegressor, MLPRegressor
    contenders = {"skce": lambda: fit_sklearn_like(ours, w, X, y, n_jobs=w.n_jobs)}
    if w.n_jobs is not None and w.n_jobs > 1:
        contenders["skce_n_jobs_1"] = lambda: fit_sklearn_like(ours, w, X, y)
    if w.target is not None:
        contenders["sklearn"] = lambda: fit_sklearn_like(theirs, w, X, y)
    if with_torch and w.torch_target is not None:
        contenders["torch"] = lambda: fit_torch(w, X, y)
    contenders["skce"]()  # compile outside the timed rounds
    times = {name: [] for name in contenders}
    models = {}
    for _ in range(rounds):
        for name, fit in contenders.items():
            settle()
            start = time.perf_counter()
            models[name] = fit()
            times[name].append(time.perf_counter() - start)
    accuracy = {name: models[name].score(X, y) for name in contenders}
    return times, accuracy, models


def run_predict_row(w, models, X, y, rounds):
    if w.kind == "latency":
        row = X[:1]
        calls = 200 if len(X) > 500 else 20

        def timed(model):
            return lambda: [model.predict_proba(row) for _ in range(calls)]

        per_call = calls
    else:
        per_call = 1

        def timed(model):
            return lambda: model.predict_proba(X)

    times = {name: [] for name in ("skce", "sklearn")}
    for name in times:
        timed(models[name])()
    for _ in range(rounds):
        for name in times:
            settle()
            times[name].append(_seconds(timed(models[name])) / per_call)
    accuracy = {name: models[name].score(X, y) for name in times}
    return times, accuracy


def summarize(w, times, accuracy, flops=None, peak=None):
    median = {name: float(np.median(values)) for name, values in times.items()}
    row = {
        "id": w.id,
        "kind": w.kind,
        "dtype": w.dtype,
        "n_jobs": w.n_jobs,
        "median_seconds": median,
        "accuracy": accuracy,
        "valid": max(accuracy.values()) - min(accuracy.values()) <= 0.02,
    }
    if "sklearn" in median:
        row["ratio_sklearn"] = median["skce"] / median["sklearn"]
        row["target_sklearn"] = w.target
        # The day's spread: each round's ratio (the contenders alternate).
        rounds = np.array(times["skce"]) / np.array(times["sklearn"])
        row["ratio_sklearn_spread"] = [float(rounds.min()), float(rounds.max())]
    if "skce_n_jobs_1" in median:
        row["ratio_n_jobs_1"] = median["skce"] / median["skce_n_jobs_1"]
        row["target_n_jobs_1"] = w.target_vs_n_jobs_1
    if "torch" in median:
        row["ratio_torch"] = median["skce"] / median["torch"]
        row["target_torch"] = w.torch_target
    if flops is not None:
        row["gflops"] = flops / median["skce"] / 1e9
        if peak:
            row["peak_share"] = row["gflops"] / peak
            row["target_peak_share"] = w.peak_target
    return row


# -- start-up and memory (child processes) -------------------------------------

COLD_START = """
import time
start = time.perf_counter()
import skce
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
skce.MLPCostClassifier(random_state=0).fit(X / 16.0, y)
print(time.perf_counter() - start)
"""

WARM_START = """
import time
start = time.perf_counter()
import numpy, scipy.optimize, numba, sklearn.base, sklearn.model_selection
dependencies = time.perf_counter() - start
start = time.perf_counter()
import skce
own_import = time.perf_counter() - start
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
X = X / 16.0
start = time.perf_counter()
skce.MLPCostClassifier(random_state=0).fit(X, y)
first = time.perf_counter() - start
start = time.perf_counter()
skce.MLPCostClassifier(random_state=0).fit(X, y)
print(dependencies, own_import, first, time.perf_counter() - start)
"""

COMPILE_ALL = """
import time, warnings
start = time.perf_counter()
import numpy as np, scipy.sparse as sp
from skce import MLPCostClassifier
warnings.simplefilter("ignore")
rng = np.random.RandomState(0)
X, y = rng.normal(size=(40, 5)), rng.randint(0, 3, 40)
for dtype in (np.float64, np.float32):
    for data in (X.astype(dtype), sp.csr_matrix(X.astype(dtype))):
        for cost in ("log_loss", "cross_entropy", "quadratic"):
            for solver in ("gd", "sgd", "adam", "lbfgs"):
                for act in ("identity", "logistic", "tanh", "relu"):
                    clf = MLPCostClassifier((4,), act, cost=cost, solver=solver,
                                            max_iter=2).fit(data, y)
                    clf.predict_proba(data)
print(time.perf_counter() - start)
"""

PEAK_MEMORY = """
import sys, warnings
import numpy as np
warnings.simplefilter("ignore")

def peak_rss():
    # VmHWM: this process's peak resident memory (ru_maxrss would include
    # the parent's, which Linux carries across fork and exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

data, library = sys.argv[1], sys.argv[2]
X, y = np.load(data + "-X.npy"), np.load(data + "-y.npy")
if library == "skce":
    from skce import MLPCostClassifier as Model
else:
    from sklearn.neural_network import MLPClassifier as Model
Model((512,), solver="adam", max_iter=1, random_state=0).fit(X[:400], y[:400])
before = peak_rss()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current RSS: next, the peak of the fit
Model((512,), solver="adam", batch_size=200, max_iter=3, random_state=0).fit(X, y)
print(before, peak_rss())
"""


def child(script, *args, cache_dir=None):
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return [float(value) for value in result.stdout.split()]


def startup_costs(include_cold):
    """Seconds to the first fit with an empty and with a filled Numba cache."""
    report = {}
    with tempfile.TemporaryDirectory() as empty_cache:
        # --quick keeps the cache it was given, warm or not, to stay quick.
        cache_dir = empty_cache if include_cold else None
        seconds = child(COLD_START, cache_dir=cache_dir)[0]  # also fills the cache
        if include_cold:
            report["cold_first_fit_seconds"] = seconds
            report["cold_first_fit_target"] = 10.0
        dependencies, own_import, first, second = child(WARM_START, cache_dir=cache_dir)
        report["warm_import_dependencies_seconds"] = dependencies
        report["warm_import_skce_seconds"] = own_import
        report["warm_first_fit_seconds"] = first
        report["warm_second_fit_seconds"] = second
        # (import skce + first fit) - second fit, with and without the import
        # of numpy, scipy, numba and scikit-learn that any user of them pays.
        report["warm_overhead_seconds"] = dependencies + own_import + first - second
        report["warm_overhead_own_seconds"] = own_import + first - second
        report["warm_overhead_target"] = 0.5
    if include_cold:
        with tempfile.TemporaryDirectory() as cache_dir:
            seconds = child(COMPILE_ALL, cache_dir=cache_dir)[0]
            report["compile_everything_seconds"] = seconds
            report["compile_everything_target"] = 60.0
    return report


def peak_memory(X, y):
    """Peak resident memory of W4's fit, each library in a fresh process.

    The data are written to disk first, so that the children's peaks are the
    data plus the fit, not the data generator's temporaries.
    """
    report = {}
    with tempfile.TemporaryDirectory() as folder:
        stem = os.path.join(folder, "w4")
        np.save(stem + "-X.npy", X)
        np.save(stem + "-y.npy", y)
        for library in ("skce", "sklearn"):
            before, after = child(PEAK_MEMORY, stem, library)
            report[library] = {
                "peak_rss_bytes": max(before, after),
                "rss_before_fit_bytes": before,
                "fit_increment_bytes": after - before,
            }
    peaks = [report[lib]["peak_rss_bytes"] for lib in ("skce", "sklearn")]
    report["ratio"] = peaks[0] / peaks[1]
    increments = [report[lib]["fit_increment_bytes"] for lib in ("skce", "sklearn")]
    report["fit_increment_ratio"] = increments[0] / max(increments[1], 1)
    return report


# -- fixed cost per fit and per prediction -------------------------------------


def fixed_costs(calls):
    """What a fit of one epoch and a predict_proba of 100 rows cost beyond
    their compiled kernels, on digits (64-100-10, adam, batches of 200)."""
    from skce._backprop import Penalty
    from skce._inputs import kernel_input, kernel_targets
    from skce._optimizer import Moments, Optimizer
    from skce._problem import Problem
    from skce.costs import COSTS

    X, y = load("digits", {}, "float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)

        def one_epoch():
            return MLPCostClassifier((100,), max_iter=1, random_state=0).fit(X, y)

        model = one_epoch()
    network = model._network()
    problem = Problem(
        kernel_input(X),
        kernel_targets(np.eye(10)[y], None),
        COSTS["log_loss"],
        Penalty(1e-4, 0.0),
    )
    order = np.random.RandomState(0).permutation(len(y))
    optimizer = Optimizer(2, 1e-3, 0.9, True, 0.9, 0.999, 1e-8)

    def epoch_alone():
        theta = model.theta_.copy()
        moments = Moments(np.empty(0), np.zeros_like(theta), np.zeros_like(theta))
        problem.run_epoch(network, theta, optimizer, moments, 0, order, 200)

    rows = X[:100]
    theta = model.theta_
    x = kernel_input(rows)

    def predict():
        model.predict_proba(rows)

    def kernels_alone():
        network.probabilities(network.logits(theta, x))

    def median(function):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            function()
            return float(np.median([_seconds(function) for _ in range(calls)]))

    report = {}
    for _ in range(3):  # alternate, so that a drift of the machine hits both
        fit, epoch = median(one_epoch), median(epoch_alone)
        proba, kernels = median(predict), median(kernels_alone)
        report.setdefault("fit_overhead_seconds", []).append(fit - epoch)
        report.setdefault("predict_overhead_seconds", []).append(proba - kernels)
        report.setdefault("one_epoch_fit_seconds", []).append(fit)
        report.setdefault("epoch_seconds", []).append(epoch)
    report = {key: float(np.median(values)) for key, values in report.items()}
    report["fit_overhead_target"] = 1e-3
    report["predict_overhead_target"] = 50e-6
    return report


# -- report -------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny version")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (>= 3)")
    parser.add_argument("--json", type=Path, help="where to write the figures")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--no-jax", action="store_true", help="skip JAX")
    parser.add_argument("--only", nargs="*", help="workload ids to run")
    parser.add_argument(
        "--rows-only",
        action="store_true",
        help="only the workload rows: no fixed costs, threads, start-up or memory",
    )
    parser.add_argument(
        "--dask", action="store_true", help="add the one-model-on-a-cluster section"
    )
    parser.add_argument(
        "--grid", action="store_true", help="add the GridSearchCV section"
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="only the side-by-side sections (threads, worker start-up, --grid)",
    )
    args = parser.parse_args(argv)

    mode = "quick" if args.quick else "full"
    global SETTLE_SECONDS
    SETTLE_SECONDS = 0.0 if args.quick else SETTLE_SECONDS
    workloads = [quick_version(w) for w in FULL] if args.quick else FULL
    if args.only:
        workloads = [w for w in workloads if w.id in args.only]
    with_torch = not args.no_torch and torch_available()
    peak_size = 300 if args.quick else 2000
    peaks = {dtype: matmul_peak(dtype, peak_size) for dtype in ("float64", "float32")}

    rows, models = [], {}
    if args.side_by_side:
        workloads = []
    else:
        print(HEADER)
    for w in workloads:
        X, y = load(w.data, SIZES[mode], w.dtype)
        if w.task == "regression":
            y = regression_target(X)
        if w.kind in ("fit", "fits", "partial"):
            times, accuracy, models[w.id] = run_fit_row(
                w, X, y, args.rounds, with_torch
            )
            flops = None
            if w.peak_target is not None:
                flops = training_flops(w, len(X), X.shape[1], len(np.unique(y)))
            rows.append(summarize(w, times, accuracy, flops, peaks[w.dtype]))
            if w.roofline:
                products = product_seconds(w, X, len(np.unique(y)))
                rows[-1]["product_seconds"] = products
                rows[-1]["product_share"] = (
                    products / rows[-1]["median_seconds"]["skce"]
                )
        else:
            if w.model_of not in models:
                continue
            times, accuracy = run_predict_row(w, models[w.model_of], X, y, args.rounds)
            rows.append(summarize(w, times, accuracy))
        print(format_row(rows[-1]), flush=True)

    if args.rows_only:
        report = {"mode": mode, "machine": machine(), "matmul_peak_gflops": peaks}
        report.update(rounds=args.rounds, settle_seconds=SETTLE_SECONDS, workloads=rows)
        if args.json:
            args.json.write_text(json.dumps(report, indent=1))
        return

    fixed = None
    if not args.side_by_side:
        fixed = fixed_costs(20 if args.quick else 200)
        print(
            f"fixed cost: one-epoch fit {1e3 * fixed['one_epoch_fit_seconds']:.2f} "
            f"ms, its epoch {1e3 * fixed['epoch_seconds']:.2f} ms, overhead "
            f"{1e3 * fixed['fit_overhead_seconds']:.2f} ms (target <= 1); "
            f"predict_proba of 100 rows: overhead "
            f"{1e6 * fixed['predict_overhead_seconds']:.1f} us (target <= 50)",
            flush=True,
        )
    print("fits side by side in threads, default settings (speed-up: serial / threads)")
    side_rounds = args.rounds if args.quick else max(args.rounds, 5)
    threads = thread_section(side_rounds, settle, args.quick)
    grid = None
    if args.grid:
        grid = grid_section(args.rounds, settle, args.quick)
        print(format_grid(grid), flush=True)
    worker = worker_startup(args.rounds if args.quick else max(args.rounds, 5))
    print(
        f"a worker's cost of skce beyond scikit-learn's import: "
        f"{worker['worker_overhead_seconds']:.3f} s (import "
        f"{worker['skce_import_seconds']:.3f} s, loading the cached kernels "
        f"{worker['first_fit_load_seconds']:.3f} s; target <= {worker['target']})",
        flush=True,
    )

    versus = None
    if not args.side_by_side and not args.no_jax and jax_available():
        print("skce against a jit-compiled JAX loop (each fit in a process of its own)")
        versus = jax_section(
            args.rounds if args.quick else max(args.rounds, 5), settle, args.quick
        )

    dask = None
    if args.dask:
        dask = dask_section(args.quick, settle)
        print(format_dask(dask), flush=True)

    report = {
        "dask": dask,
        "jax": versus,
        "mode": mode,
        "machine": machine(),
        "matmul_peak_gflops": peaks,
        "rounds": args.rounds,
        "settle_seconds": SETTLE_SECONDS,
        "workloads": rows,
        "threads": threads,
        "grid_search": grid,
        "worker_startup": worker,
        "fixed_costs": fixed,
        "startup": None
        if args.side_by_side
        else startup_costs(include_cold=not args.quick),
        "memory_W4": None
        if args.side_by_side
        else peak_memory(*load("synthetic-784", SIZES[mode], "float64")),
        "driver_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        * 1024,
    }
    print(json.dumps({k: report[k] for k in ("startup", "memory_W4")}, indent=1))
    if args.side_by_side:
        mode += "-side-by-side"
    path = args.json or HERE / f"results-{mode}.json"
    path.write_text(json.dumps(report, indent=1))
    print(f"wrote {path}")
    return report


if __name__ == "__main__":
    main()
