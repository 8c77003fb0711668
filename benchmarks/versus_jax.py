"""skce against a jit-compiled JAX loop, on one core and on two.

Each fit runs in a child process of its own, so that each contender gets a
clean thread setting: on one core the process is pinned to a single CPU,
skce runs ``n_jobs=1`` and XLA runs single-threaded; on two cores skce runs
``n_jobs=2`` and XLA its default threads. Rounds alternate the contenders
with a pause before each. A child fits once to load skce's cached kernels
or to compile JAX's epoch (reported apart), then times one fit.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROWS = ("W1", "W3", "W4", "W4f")
TARGET = 0.8  # skce / JAX

CHILD = """
import json, os, sys, time
mode, contender, workload, quick = sys.argv[1:5]
if mode == "one core":
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    os.environ["XLA_FLAGS"] = (
        "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )
sys.path.insert(0, sys.argv[5])
from workloads import FULL, SIZES, load, quick_version

w = next(w for w in FULL if w.id == workload)
if quick == "1":
    w = quick_version(w)
X, y = load(w.data, SIZES["quick" if quick == "1" else "full"], w.dtype)
if contender == "jax":
    from contenders import fit_jax

    model = fit_jax(w, X, y)
    seconds, compile_seconds = model.train_seconds, model.compile_seconds
else:
    from contenders import fit_sklearn_like
    from skce import MLPCostClassifier

    n_jobs = 1 if mode == "one core" else 2
    fit_sklearn_like(MLPCostClassifier, w, X, y, n_jobs=n_jobs)
    start = time.perf_counter()
    model = fit_sklearn_like(MLPCostClassifier, w, X, y, n_jobs=n_jobs)
    seconds, compile_seconds = time.perf_counter() - start, None
print(json.dumps(dict(
    seconds=seconds, compile_seconds=compile_seconds, accuracy=model.score(X, y)
)))
"""


def _child(mode, contender, workload, quick):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            mode,
            contender,
            workload,
            str(int(quick)),
            str(HERE),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def jax_section(rounds, settle, quick):
    """``{"<mode>/<workload>": row}``: the median seconds of each contender,
    their ratio skce / JAX (target <= 0.8), its spread over the rounds, JAX's
    compile time and both accuracies."""
    report = {}
    for mode in ("one core", "two cores"):
        for workload in ROWS:
            runs = {"skce": [], "jax": []}
            for _ in range(rounds):
                for contender in runs:
                    settle()
                    runs[contender].append(_child(mode, contender, workload, quick))
            seconds = {c: [r["seconds"] for r in runs[c]] for c in runs}
            ratios = [
                s / j for s, j in zip(seconds["skce"], seconds["jax"], strict=True)
            ]
            report[f"{mode}/{workload}"] = {
                "median_seconds": {c: float(np.median(v)) for c, v in seconds.items()},
                "ratio_jax": float(
                    np.median(seconds["skce"]) / np.median(seconds["jax"])
                ),
                "ratio_spread": [float(min(ratios)), float(max(ratios))],
                "jax_compile_seconds": float(
                    np.median([r["compile_seconds"] for r in runs["jax"]])
                ),
                "accuracy": {c: runs[c][-1]["accuracy"] for c in runs},
                "target": TARGET,
            }
            print(
                format_jax_row(f"{mode}/{workload}", report[f"{mode}/{workload}"]),
                flush=True,
            )
    return report


def format_jax_row(name, row):
    low, high = row["ratio_spread"]
    met = "yes" if row["ratio_jax"] <= row["target"] else "NO"
    return (
        f"{name:<16} skce {row['median_seconds']['skce']:8.4f} s  JAX "
        f"{row['median_seconds']['jax']:8.4f} s (compile "
        f"{row['jax_compile_seconds']:.2f} s)  skce/JAX {row['ratio_jax']:.2f} "
        f"[{low:.2f}-{high:.2f}] (target <= {row['target']})  accuracy "
        f"{row['accuracy']['skce']:.3f}/{row['accuracy']['jax']:.3f}  {met}"
    )
