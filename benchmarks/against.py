"""This checkout against another source tree of skce, in fresh processes.

Every change that touches a kernel, a thread or an import is paired against
the commit before it: check that commit out beside this one
(``git worktree add ../before COMMIT``) and run

    python benchmarks/against.py ../before                 # every row
    python benchmarks/against.py ../before --rows cold sgd10 --rounds 5

Each round runs every row once for each tree, alternately, each in a fresh
process with ``PYTHONPATH`` set to that tree, after a pause of about a
second. A fit or prediction row times ``--repeat`` calls after a warm-up
call in its process and reports their median; the start-up rows time a
whole process with an empty Numba cache (``cold``: import, the first
default fit on the digits, then ``predict_proba``; ``tour``: that process
goes on to the first fits of eight variants; ``grid``: the first
``GridSearchCV`` over cost x solver), ``warm`` the same process as
``cold`` with the cache it filled, ``worker`` a fresh worker's start-up
with a filled cache (import, then the first sgd, adam and lbfgs fits).
``sklearn`` is ``cold`` with
scikit-learn's ``MLPClassifier``, the same in both columns (its ratio is
the machine's drift): the bar of the cold first fit is a ratio to it, in
one run. The table gives, per row, the median of the rounds for each tree,
the median of the rounds' ratios (this / other) and their spread, and for
the start-up rows this tree's ratio to ``sklearn`` in the same round.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# What each row runs in its process: setup, then ``run()`` is timed.
ROWS = {
    "W1": "digits (100,) adam, 50 epochs",
    "sgd10": "digits (100,) sgd, batches of 10, 5 epochs",
    "W3": "10 000 x 100 (64, 64) adam, 5 epochs",
    "W4": "20 000 x 784 (512,) adam, 3 epochs",
    "lbfgs": "digits (100,) lbfgs, 200 iterations",
    "lbfgs64": "digits (64,) lbfgs, default settings",
    "lbfgs20k": "20 000 x 100 (64, 64) lbfgs, 50 iterations",
    "W1j2": "digits (100,) adam, n_jobs=2 (shards), 50 epochs",
    "lbfgsj2": "digits (100,) lbfgs, n_jobs=2 (shards), 200 iterations",
    "csr": "digits as CSR (100,) adam, 20 epochs",
    "proba": "predict_proba of 100 000 x 784 -> (512,)",
    "cold": "whole process, empty cache: import, first fit, predict_proba",
    "warm": "whole process, filled cache: import, first fit, predict_proba",
    "worker": "whole process, filled cache: import, first sgd, adam, lbfgs fits",
    "tour": "whole process, empty cache: cold, then 8 first variant fits",
    "grid": "whole process, empty cache: GridSearchCV cost x solver, 3 folds",
    "sklearn": "whole process: cold with scikit-learn's MLPClassifier",
}
# Rows that time a whole process with a new, empty cache each round.
COLD = ("cold", "tour", "grid", "sklearn")

ROW_SCRIPT = """
import sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from sklearn.datasets import load_digits, make_classification
from skce import MLPCostClassifier
what, repeat = sys.argv[1], int(sys.argv[2])
X, y = load_digits(return_X_y=True)
X = X / 16.0

def fitter(**params):
    return lambda: MLPCostClassifier(random_state=0, **params).fit(X, y)

if what == "W1":
    run = fitter(hidden_layer_sizes=(100,), max_iter=50)
elif what == "sgd10":
    run = fitter(hidden_layer_sizes=(100,), solver="sgd", batch_size=10, max_iter=5)
elif what == "lbfgs":
    run = fitter(hidden_layer_sizes=(100,), solver="lbfgs", max_iter=200)
elif what == "lbfgs64":
    run = fitter(hidden_layer_sizes=(64,), solver="lbfgs")
elif what == "lbfgs20k":
    X, y = make_classification(20_000, 100, n_informative=50, n_classes=5,
                               random_state=0)
    run = fitter(hidden_layer_sizes=(64, 64), solver="lbfgs", max_iter=50)
elif what == "W1j2":
    run = fitter(hidden_layer_sizes=(100,), max_iter=50, n_jobs=2)
elif what == "lbfgsj2":
    run = fitter(hidden_layer_sizes=(100,), solver="lbfgs", max_iter=200, n_jobs=2)
elif what == "csr":
    import scipy.sparse as sp
    X = sp.csr_matrix(X)
    run = fitter(hidden_layer_sizes=(100,), max_iter=20)
elif what == "W3":
    X, y = make_classification(10_000, 100, n_informative=50, n_classes=5,
                               random_state=0)
    run = fitter(hidden_layer_sizes=(64, 64), max_iter=5)
elif what == "W4":
    X, y = make_classification(20_000, 784, n_informative=392, n_classes=10,
                               random_state=0)
    run = fitter(hidden_layer_sizes=(512,), max_iter=3)
elif what == "proba":
    X, y = make_classification(4_000, 784, n_informative=392, n_classes=10,
                               random_state=0)
    model = MLPCostClassifier((512,), max_iter=2, random_state=0).fit(X, y)
    rows = X[np.resize(np.arange(len(X)), 100_000)]
    run = lambda: model.predict_proba(rows)
run()
seconds = []
for _ in range(repeat):
    time.sleep(0.2)
    start = time.perf_counter()
    run()
    seconds.append(time.perf_counter() - start)
print(np.median(seconds))
"""

FIRST_FIT = """
import sys, time, warnings
start = time.perf_counter()
import numpy as np
from sklearn.datasets import load_digits
if sys.argv[1] == "sklearn":
    from sklearn.neural_network import MLPClassifier as MLPCostClassifier
else:
    from skce import MLPCostClassifier
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X / 16.0
if sys.argv[1] == "worker":
    for solver in ("sgd", "adam", "lbfgs"):
        MLPCostClassifier(max_iter=5, solver=solver, random_state=0).fit(X, y)
    print(time.perf_counter() - start)
    sys.exit()
if sys.argv[1] == "grid":
    from sklearn.model_selection import GridSearchCV
    grid = {"cost": ["log_loss", "cross_entropy", "quadratic"],
            "solver": ["gd", "sgd", "adam", "lbfgs"]}
    GridSearchCV(MLPCostClassifier(max_iter=30, random_state=0), grid, cv=3).fit(X, y)
    print(time.perf_counter() - start)
    sys.exit()
MLPCostClassifier(max_iter=20, random_state=0).fit(X, y).predict_proba(X[:5])
print(time.perf_counter() - start)
if sys.argv[1] == "tour":
    import scipy.sparse as sp
    from sklearn.datasets import make_classification
    variants = [
        (dict(), X.astype(np.float32), y),
        (dict(), sp.csr_matrix(X), y),
        (dict(solver="lbfgs"), X, y),
        (dict(solver="sgd"), X, y),
        (dict(early_stopping=True), X, y),
        (dict(cost="cross_entropy"), X, y),
        (dict(n_jobs=2), X, y),
        (dict(hidden_layer_sizes=(512,)),
         *make_classification(2_000, 784, n_informative=100, random_state=0)),
    ]
    for params, data, target in variants:
        model = MLPCostClassifier(max_iter=5, random_state=0, **params)
        model.fit(data, target).predict_proba(data[:5])
    print(time.perf_counter() - start)
"""


def run_row(tree, row, repeat, cache_dir):
    """Seconds of ``row`` with the skce of ``tree``, in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=cache_dir)
    if row in (*COLD, "warm", "worker"):
        argv = [sys.executable, "-c", FIRST_FIT, row]
    else:
        argv = [sys.executable, "-c", ROW_SCRIPT, row, str(repeat)]
    # Run outside either tree, so that the working directory adds no skce.
    result = subprocess.run(
        argv, env=env, capture_output=True, text=True, check=True, cwd="/"
    )
    return float(result.stdout.split()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other source tree")
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=ROWS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="calls per process")
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    trees = {"this": ROOT, "other": args.other.resolve()}
    with tempfile.TemporaryDirectory(prefix="skce-against-") as folder:
        caches = {name: os.path.join(folder, name) for name in trees}
        for name, tree in trees.items():  # fill the caches the timed rows read
            for row in args.rows:
                if row not in COLD:
                    warming = "cold" if row == "warm" else row
                    run_row(tree, warming, 1, caches[name])
        times = {row: {name: [] for name in trees} for row in args.rows}
        for round_ in range(args.rounds):
            for row in args.rows:
                for name, tree in trees.items():
                    cache = caches[name]
                    if row in COLD:  # a new, empty cache each time
                        cache = os.path.join(folder, f"{row}-{name}-{round_}")
                    time.sleep(args.pause)
                    times[row][name].append(run_row(tree, row, args.repeat, cache))
    print(f"this: {trees['this']}  other: {trees['other']}  rounds: {args.rounds}")
    print(f"{'row':7s} {'this s':>9s} {'other s':>9s} {'ratio':>6s}  spread")
    report = {}
    for row, by_tree in times.items():
        ratios = np.array(by_tree["this"]) / np.array(by_tree["other"])
        report[row] = {
            "what": ROWS[row],
            "seconds": by_tree,
            "ratio_median": float(np.median(ratios)),
            "ratio_spread": [float(ratios.min()), float(ratios.max())],
        }
        line = (
            f"{row:7s} {np.median(by_tree['this']):9.4f} "
            f"{np.median(by_tree['other']):9.4f} {np.median(ratios):6.3f}  "
            f"{ratios.min():.3f}-{ratios.max():.3f}"
        )
        if row in COLD and row != "sklearn" and "sklearn" in times:
            to_sklearn = np.array(by_tree["this"]) / np.array(times["sklearn"]["this"])
            report[row]["this_to_sklearn"] = [float(r) for r in to_sklearn]
            line += (
                f"  this/sklearn {np.median(to_sklearn):.2f} "
                f"({to_sklearn.min():.2f}-{to_sklearn.max():.2f})"
            )
        print(line, flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
