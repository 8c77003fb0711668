"""Fits side by side: in threads, in a grid search, and what a worker pays.

Every figure is taken at the process's default settings (no
``threadpool_limits``, no environment variables): that fits compose on
their own is what is measured. Each contender gets a pause before each
timed run (``bench.settle``), and each round's serial and parallel runs are
back to back, so their ratio is the least disturbed by the machine's drift.
"""

import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skce import MLPCostClassifier

# Two fits in two threads must take at most 1 / 1.7 of the two in turn;
# four in four threads (on two cores) no longer than the four in turn.
SPEEDUP_TARGETS = {2: 1.7, 4: 1.0}


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _wide(quick):
    X, y = make_classification(
        600 if quick else 4000,
        784,
        n_informative=300,
        n_classes=10,
        random_state=0,
    )
    return X, y


# (network, solver, batch size, epochs): from batches of 10 to the full
# batch, on the digits' 64-64-10 and on a 784-512-10 network. The epochs give
# each fit some tenths of a second.
THREAD_CASES = [
    ("small", "sgd", 10, 10),
    ("small", "sgd", 50, 40),
    ("small", "adam", 200, 80),
    ("small", "adam", 1000, 200),
    ("small", "gd", None, 300),
    ("small", "lbfgs", None, 150),
    ("large", "sgd", 10, 1),
    ("large", "adam", 200, 4),
    ("large", "gd", None, 20),
    ("large", "lbfgs", None, 15),
]


def _params(solver, batch_size, epochs):
    params = dict(solver=solver, max_iter=epochs, tol=0.0, n_iter_no_change=10**9)
    if solver in ("sgd", "adam"):
        params["batch_size"] = batch_size
    if solver in ("sgd", "gd"):
        params["learning_rate_init"] = 0.01
    return params


def side_by_side(cls, params, X, y, n_fits, rounds, settle):
    """``n_fits`` fits (random states 0, 1, ...) one after the other and in
    ``n_fits`` threads: per round the ratio serial / threaded, its median
    and spread, and whether the threaded models equal the serial ones."""

    def fit(seed):
        return cls(**params, random_state=seed).fit(X, y)

    ratios, serial_times, threaded_times = [], [], []
    with warnings.catch_warnings():
        # catch_warnings is not thread-safe: one filter around all threads.
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit(0)  # compile outside the timed rounds
        with ThreadPoolExecutor(max_workers=n_fits) as pool:
            for _ in range(rounds):
                settle()
                start = time.perf_counter()
                alone = [fit(seed) for seed in range(n_fits)]
                serial = time.perf_counter() - start
                settle()
                start = time.perf_counter()
                together = list(pool.map(fit, range(n_fits)))
                threaded = time.perf_counter() - start
                serial_times.append(serial)
                threaded_times.append(threaded)
                ratios.append(serial / threaded)
    identical = all(
        np.array_equal(a, b)
        for one, other in zip(alone, together, strict=True)
        for a, b in zip(
            one.coefs_ + one.intercepts_, other.coefs_ + other.intercepts_, strict=True
        )
    )
    return {
        "serial_seconds": float(np.median(serial_times)),
        "threaded_seconds": float(np.median(threaded_times)),
        "speedup": float(np.median(ratios)),
        "speedup_min": float(np.min(ratios)),
        "speedup_max": float(np.max(ratios)),
        "target": SPEEDUP_TARGETS[n_fits],
        "bitwise_identical": identical,
    }


def thread_section(rounds, settle, quick):
    """Two and four fits in threads for every case of ``THREAD_CASES``: skce
    with 2 and 4 fits, scikit-learn (which has no 'gd') with 2."""
    data = {"small": _digits(), "large": _wide(quick)}
    hidden = {"small": (64,), "large": (512,)}
    report = {}
    for network, solver, batch_size, epochs in THREAD_CASES:
        epochs = 1 if quick else epochs
        X, y = data[network]
        params = {
            "hidden_layer_sizes": hidden[network],
            **_params(solver, batch_size, epochs),
        }
        name = f"{network}-{solver}" + (f"-{batch_size}" if batch_size else "")
        for library, cls, counts in (
            ("skce", MLPCostClassifier, (2, 4)),
            ("sklearn", MLPClassifier, (2,)),
        ):
            if solver == "gd" and library == "sklearn":
                continue
            for n_fits in counts:
                row = side_by_side(cls, params, X, y, n_fits, rounds, settle)
                report[f"{library}-{name}-x{n_fits}"] = row
                print(format_thread_row(f"{library}-{name}-x{n_fits}", row), flush=True)
    return report


def format_thread_row(key, row):
    met = row["speedup"] >= row["target"]
    return (
        f"  {key:<28} serial {row['serial_seconds']:7.3f} s  threads "
        f"{row['threaded_seconds']:7.3f} s  speedup {row['speedup']:.2f} "
        f"[{row['speedup_min']:.2f}-{row['speedup_max']:.2f}] (>= "
        f"{row['target']}: {'yes' if met else 'NO'})"
        + ("" if row["bitwise_identical"] else "  NOT IDENTICAL")
    )


# -- GridSearchCV, each run a whole process ------------------------------------

GRID_SCRIPT = """
import sys, time, warnings
start = time.perf_counter()
library, n_jobs, backend, epochs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(
    sys.argv[4])
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
if library == "skce":
    from skce import MLPCostClassifier as Model
else:
    from sklearn.neural_network import MLPClassifier as Model
X, y = load_digits(return_X_y=True)
X = X / 16.0
grid = {"solver": ["sgd", "adam", "lbfgs"], "alpha": [1e-4, 1e-3, 1e-2, 1e-1]}
model = Model((64,), max_iter=epochs, learning_rate_init=0.01, random_state=0)
warnings.simplefilter("ignore")
with parallel_config(backend=backend):
    fit_start = time.perf_counter()
    search = GridSearchCV(model, grid, cv=5, n_jobs=n_jobs).fit(X, y)
print(time.perf_counter() - fit_start, search.best_score_)
"""

GRID_RUNS = [
    ("skce", 1, "loky"),
    ("skce", 2, "loky"),
    ("skce", 2, "threading"),
    ("sklearn", 1, "loky"),
    ("sklearn", 2, "loky"),
    ("sklearn", 2, "threading"),
]


def _grid_run(library, n_jobs, backend, epochs):
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", GRID_SCRIPT, library, str(n_jobs), backend, str(epochs)],
        capture_output=True,
        text=True,
        check=True,
    )
    script = time.perf_counter() - start
    search, score = (float(value) for value in result.stdout.split())
    return script, search, score


def grid_section(rounds, settle, quick):
    """The issue's grid (solver x alpha, cv=5, digits, (64,), 120 epochs) in
    ``GridSearchCV`` with n_jobs 1 and 2, in processes (loky) and in threads,
    for skce and scikit-learn: ``search.fit`` and the whole script, medians
    of ``rounds`` runs taken in turn."""
    epochs = 5 if quick else 120
    times = {run: ([], []) for run in GRID_RUNS}
    scores = {}
    for _ in range(rounds):
        for run in GRID_RUNS:
            settle()
            script, search, score = _grid_run(*run, epochs)
            times[run][0].append(script)
            times[run][1].append(search)
            scores[run] = score
    report = {"epochs": epochs, "runs": {}}
    for (library, n_jobs, backend), (script, search) in times.items():
        report["runs"][f"{library}-{backend}-{n_jobs}"] = {
            "script_seconds": float(np.median(script)),
            "search_seconds": float(np.median(search)),
            "best_score": scores[library, n_jobs, backend],
        }
    runs = report["runs"]
    for library in ("skce", "sklearn"):
        one = runs[f"{library}-loky-1"]
        for backend in ("loky", "threading"):
            two = runs[f"{library}-{backend}-2"]
            two["script_speedup"] = one["script_seconds"] / two["script_seconds"]
            two["search_speedup"] = one["search_seconds"] / two["search_seconds"]
    best = {
        library: min(
            runs[f"{library}-{backend}-2"]["script_seconds"]
            for backend in ("loky", "threading")
        )
        for library in ("skce", "sklearn")
    }
    report["skce_over_sklearn_n_jobs_2"] = best["skce"] / best["sklearn"]
    report["targets"] = {
        "skce threading search_speedup": 1.8,
        "skce threading script_speedup": 1.6,
        "skce loky script_speedup": 1.3,
        "skce_over_sklearn_n_jobs_2": 0.35,
    }
    return report


def format_grid(report):
    lines = [f"GridSearchCV over solver x alpha, cv=5, {report['epochs']} epochs"]
    for key, row in report["runs"].items():
        extra = ""
        if "script_speedup" in row:
            extra = (
                f"  x{row['search_speedup']:.2f} search, "
                f"x{row['script_speedup']:.2f} script over n_jobs=1"
            )
        lines.append(
            f"  {key:<22} search {row['search_seconds']:7.2f} s  script "
            f"{row['script_seconds']:7.2f} s  best {row['best_score']:.4f}{extra}"
        )
    lines.append(
        "  skce / scikit-learn at n_jobs=2, whole script, each its better "
        f"backend: {report['skce_over_sklearn_n_jobs_2']:.3f} (target <= 0.35)"
    )
    return "\n".join(lines)


# -- what a worker process pays -------------------------------------------------

WORKER_SCRIPT = """
import time
start = time.perf_counter()
import sklearn.neural_network, sklearn.model_selection
sklearn_import = time.perf_counter() - start
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
X = X / 16.0
start = time.perf_counter()
import skce
skce_import = time.perf_counter() - start
start = time.perf_counter()
skce.MLPCostClassifier((64,), max_iter=1, random_state=0).fit(X, y)
first = time.perf_counter() - start
start = time.perf_counter()
skce.MLPCostClassifier((64,), max_iter=1, random_state=0).fit(X, y)
print(sklearn_import, skce_import, first, time.perf_counter() - start)
"""


def worker_startup(rounds):
    """What a fresh worker process pays for skce on top of scikit-learn's
    import, with the Numba cache filled: importing skce, and its first fit
    beyond the second (loading the cached kernels). Medians of ``rounds``."""
    subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT], check=True, capture_output=True
    )
    runs = []
    for _ in range(rounds):
        result = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", WORKER_SCRIPT],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append([float(value) for value in result.stdout.split()])
    sklearn_import, skce_import, first, second = np.median(runs, axis=0)
    return {
        "sklearn_import_seconds": float(sklearn_import),
        "skce_import_seconds": float(skce_import),
        "first_fit_load_seconds": float(first - second),
        "worker_overhead_seconds": float(skce_import + first - second),
        "target": 0.3,
    }
