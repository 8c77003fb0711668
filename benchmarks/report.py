"""The benchmark's printed table and the machine it ran on."""

import os
import platform
from pathlib import Path

import numpy as np
import scipy
import sklearn
from contenders import jax_available, torch_available
from threadpoolctl import threadpool_info

import skce


def machine():
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "skce": skce.__version__,
    }
    import numba

    versions["numba"] = numba.__version__
    if torch_available():
        import torch

        versions["torch"] = torch.__version__
    if jax_available():
        import jax

        versions["jax"] = jax.__version__
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": {
            f"{info['internal_api']}:{Path(info['filepath']).name}": info["num_threads"]
            for info in threadpool_info()
        },
        "versions": versions,
    }


HEADER = (
    f"{'id':<5} {'skce s':>9} {'sklearn s':>9} {'ratio':>6} {'target':>6} "
    f"{'torch s':>9} {'r/torch':>7} {'/n_jobs=1':>9} {'acc':>20} {'%peak':>6} "
    f"{'%prod':>6}  met"
)


def _cell(row, key, width, scale=1.0, suffix=""):
    if key not in row or row[key] is None:
        return f"{'-':>{width}}"
    return (
        f"{scale * row[key]:>{width - len(suffix)}.{3 if scale == 1 else 1}f}{suffix}"
    )


def format_row(row):
    median = row["median_seconds"]
    accuracy = "/".join(f"{row['accuracy'][k]:.3f}" for k in row["accuracy"])
    met = True
    for ratio, target, below in (
        ("ratio_sklearn", "target_sklearn", True),
        ("ratio_torch", "target_torch", True),
        ("ratio_n_jobs_1", "target_n_jobs_1", True),
        ("peak_share", "target_peak_share", False),
    ):
        if row.get(ratio) is not None and row.get(target) is not None:
            met = met and (row[ratio] <= row[target]) == below
    verdict = ("yes" if met else "NO") if row["valid"] else "invalid"
    sklearn_s = f"{median['sklearn']:>9.4f}" if "sklearn" in median else f"{'-':>9}"
    torch_s = f"{median['torch']:>9.4f}" if "torch" in median else f"{'-':>9}"
    return (
        f"{row['id']:<5} {median['skce']:>9.4f} {sklearn_s} "
        f"{_cell(row, 'ratio_sklearn', 6)} {_cell(row, 'target_sklearn', 6)} "
        f"{torch_s} {_cell(row, 'ratio_torch', 7)} {_cell(row, 'ratio_n_jobs_1', 9)} "
        f"{accuracy:>20} {_cell(row, 'peak_share', 6, 100, '%')} "
        f"{_cell(row, 'product_share', 6, 100, '%')}  {verdict}"
    )


def format_dask(report):
    sgd = report["local_sgd"]
    low, high = sgd["speedup_spread"]
    return (
        f"dask: round trip of one evaluation {1e3 * report['round_trip_seconds']:.1f}"
        f" ms (target <= 30); L-BFGS on {report['rows']} x {report['features']} "
        f"{tuple(report['hidden'])}: 2 worker processes {report['dask_seconds']:.2f}"
        f" s, one process {report['local_seconds']:.2f} s, speed-up "
        f"{report['speedup']:.2f}x (target >= 1.5), losses agree: "
        f"{report['loss_agrees']}; Adam (local SGD) epochs on 2 workers "
        f"{sgd['speedup']:.2f}x faster than in memory [{low:.2f}-{high:.2f}] "
        f"(target >= {sgd['target']})"
    )
