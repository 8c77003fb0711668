"""Where one epoch of a fit spends its time, phase by phase.

Fits the benchmark's rows W1, W3, W4 and W4f (``workloads.py``) at
``n_jobs=1`` and ``n_jobs=2`` with the kernels' cycle counters on
(``skce._profile``), and prints for each the milliseconds per epoch of every
phase: the busiest thread's (the phases of the two threads overlap in
time), the products' share of that thread's timed work, and what the epoch
spends outside the kernels. Everything that is not a product is a cost to
remove.

    python benchmarks/profile_epoch.py [--rows W1 W4] [--repeat 5] [--json out]

Each fit runs ``--repeat`` times after a warm-up fit; a phase's figure is
the median over the runs.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))

from contenders import common_params  # noqa: E402
from workloads import FULL, SIZES, load  # noqa: E402

from skce import MLPCostClassifier  # noqa: E402
from skce._profile import (
    PHASES,  # noqa: E402
    profiled,  # noqa: E402
)

PRODUCTS = ("forward products", "backward products")


def profile_fit(w, X, y, n_jobs):
    """One profiled fit: per thread and phase, seconds per epoch; the
    epochs' time; the fit's time."""
    params = {**common_params(w), "n_jobs": n_jobs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with profiled() as profile:
            start = time.perf_counter()
            MLPCostClassifier(**params).fit(X, y)
            seconds = time.perf_counter() - start
    per_epoch = profile.phase_seconds()
    return per_epoch, profile.seconds / profile.epochs, seconds / profile.epochs


def profile_row(w, n_jobs, repeat):
    X, y = load(w.data, SIZES["full"], w.dtype)
    profile_fit(w, X, y, n_jobs)  # compiles the timed kernels
    runs = []
    for _ in range(repeat):
        time.sleep(1.0)
        runs.append(profile_fit(w, X, y, n_jobs))
    n_threads = max(run[0].shape[0] for run in runs)
    phases = np.zeros((len(runs), n_threads, len(PHASES)))
    for i, (per_epoch, _, _) in enumerate(runs):
        phases[i, : per_epoch.shape[0]] = per_epoch
    median = np.median(phases, axis=0)  # (threads, phases)
    busiest = int(np.argmax(median.sum(axis=1)))
    timed = median[busiest].sum()
    products = sum(median[busiest, PHASES.index(name)] for name in PRODUCTS)
    epoch = float(np.median([run[1] for run in runs]))
    fit_epoch = float(np.median([run[2] for run in runs]))
    return {
        "row": w.id,
        "n_jobs": n_jobs,
        "threads": n_threads,
        "ms_per_epoch": {
            name: (median[:, i] * 1e3).tolist() for i, name in enumerate(PHASES)
        },
        "busiest_thread": busiest,
        "timed_ms": timed * 1e3,
        "kernel_ms": epoch * 1e3,
        "fit_ms_per_epoch": fit_epoch * 1e3,
        "product_share_of_timed": products / timed,
        "product_share_of_fit": products / fit_epoch,
    }


def report(rows):
    header = "phase (ms/epoch, busiest thread)"
    ids = [f"{r['row']} j{r['n_jobs']}" for r in rows]
    print(f"{header:34}" + "".join(f"{i:>11}" for i in ids))
    for name in PHASES:
        cells = [r["ms_per_epoch"][name][r["busiest_thread"]] for r in rows]
        print(f"{name:34}" + "".join(f"{c:11.2f}" for c in cells))
    lines = [
        ("timed phases", "timed_ms"),
        ("epoch kernel, called to returned", "kernel_ms"),
        ("fit / epochs", "fit_ms_per_epoch"),
    ]
    for label, key in lines:
        print(f"{label:34}" + "".join(f"{r[key]:11.2f}" for r in rows))
    for label, key in [
        ("products / timed", "product_share_of_timed"),
        ("products / fit", "product_share_of_fit"),
    ]:
        print(f"{label:34}" + "".join(f"{r[key]:11.0%}" for r in rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=["W1", "W3", "W4", "W4f"])
    parser.add_argument("--n-jobs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    workloads = {w.id: w for w in FULL}
    rows = [
        profile_row(workloads[row], n_jobs, args.repeat)
        for row in args.rows
        for n_jobs in args.n_jobs
    ]
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
