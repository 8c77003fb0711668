"""The Numba cache: read-only installs, concurrent cold starts, warm workers."""

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import skce
from skce import MLPCostClassifier

# The copy is imported as ``skce_copy``: an editable install of skce would
# otherwise take precedence over PYTHONPATH.
FIT = """
import numpy as np
from skce_copy import MLPCostClassifier
from skce_copy._ahead import cache_counts
X = np.random.RandomState(0).normal(size=(30, 4))
y = np.arange(30) % 3
MLPCostClassifier((5,), max_iter=2).fit(X, y)
loaded, compiled = cache_counts()
print(int(loaded > 0), int(compiled > 0))
"""


def _run_on_read_only(site, code, env):
    """Run ``code`` with ``site`` read-only.

    Root may write through file permissions, so as root the folder is made a
    read-only bind mount in a private mount namespace; otherwise its
    permission bits suffice.
    """
    if os.geteuid() != 0:
        for path in [site, *site.rglob("*")]:
            os.chmod(path, 0o555 if path.is_dir() else 0o444)
        try:
            return subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            for path in [site, *site.rglob("*")]:
                os.chmod(path, 0o755)
    script = (
        f'mount --bind "{site}" "{site}" && mount -o remount,ro,bind "{site}" '
        f'&& touch "{site}/probe" 2>/dev/null && exit 3; exec "$0" -c "$1"'
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, sys.executable, code],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 and "mount" in result.stderr:
        pytest.skip(f"cannot make a read-only mount here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return result


def test_read_only_install_caches_per_user(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(
        Path(skce.__file__).parent,
        site / "skce_copy",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(site), HOME=str(home), XDG_CACHE_HOME=str(home / "cache"))
    if shutil.which("unshare") is None and os.geteuid() == 0:
        pytest.skip("running as root without unshare: cannot make a read-only folder")
    first = _run_on_read_only(site, FIT, env).stdout.split()
    second = _run_on_read_only(site, FIT, env).stdout.split()
    # First process: compiled and wrote the per-user cache (it may also load
    # what its second process compiled there); the second loaded from it
    # without compiling.
    assert first[1] == "1"
    assert second == ["1", "0"]
    assert not list(site.rglob("*.nbi"))
    assert list((home / "cache").rglob("*.nbi"))


# One worker: fit and predict, then report its model and how many compiled
# functions it loaded from the cache (hits) or had to compile (misses).
WORKER = """
import sys, time
import numba, numpy as np
from sklearn.datasets import load_digits
from skce import MLPCostClassifier
from skce._ahead import cache_counts
X, y = load_digits(return_X_y=True)
X = X[:400] / 16.0
y = y[:400]
start = float(sys.argv[2])
while time.time() < start:  # every worker begins compiling at the same moment
    time.sleep(0.005)
clf = MLPCostClassifier((20,), max_iter=5, random_state=0).fit(X, y)
np.save(sys.argv[1], np.concatenate([clf.theta_, clf.predict_proba(X).ravel()]))
print(*cache_counts())
"""


def _start_workers(count, cache, tmp_path, tag):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    start = time.time() + 2.0  # past every worker's imports
    return [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path / f"{tag}{i}.npy"), str(start)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]


def _finish(workers):
    counts = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        counts.append(tuple(int(n) for n in out.split()))
    return counts


def test_cold_workers_share_one_cache_then_another_loads_it(tmp_path):
    """Two workers, one per core of a 2-core machine, compile into one cache
    at the same moment (four took twice as long and showed nothing more)."""
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    cold = _finish(_start_workers(2, cache, tmp_path, "cold"))
    assert all(misses > 0 for _, misses in cold)  # both compiled, at once
    (warm,) = _finish(_start_workers(1, cache, tmp_path, "warm"))
    hits, misses = warm
    assert misses == 0 and hits > 0  # a fresh worker compiles nothing

    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = skce.MLPCostClassifier((20,), max_iter=5, random_state=0).fit(X, y)
    expected = np.concatenate([clf.theta_, clf.predict_proba(X).ravel()])
    for name in [f"cold{i}.npy" for i in range(2)] + ["warm0.npy"]:
        assert np.load(tmp_path / name).tobytes() == expected.tobytes(), name


def _compiled_signatures():
    """Every compiled signature of every skce kernel and helper, and the
    dtypes of every piece, by name."""
    from numba.core.registry import CPUDispatcher

    from skce import (
        _activations,
        _backprop,
        _epoch,
        _optimizer,
        _output,
        _product,
        _team,
    )
    from skce._pieces import Piece

    modules = (_activations, _backprop, _epoch, _optimizer, _output, _product, _team)
    found = {}
    for module in modules:
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher):
                found[f"{module.__name__}.{name}"] = tuple(value.signatures)
            elif isinstance(value, Piece):
                found[f"{module.__name__}.{name}"] = tuple(
                    sorted(map(str, value._compiled))
                )
    return found


def _read_only(array):
    array = np.array(array)
    array.flags.writeable = False
    return array


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_read_only_inputs_compile_nothing_new(solver):
    """Memory maps and pandas columns are read-only; Numba types them apart."""
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16
    y = y[:300]
    weights = np.linspace(0.5, 1.5, 250)
    init = MLPCostClassifier((8,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        init.fit(X, y)
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=2, random_state=0)
    fit_args = dict(
        sample_weight=weights,
        X_val=X[250:],
        y_val=y[250:],
        sample_weight_val=weights[:50],
        coefs_init=init.coefs_,
        intercepts_init=init.intercepts_,
    )

    def fit_all(wrap):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            models = [
                MLPCostClassifier(**params).fit(
                    wrap(X[:250]),
                    wrap(y[:250]),
                    **{
                        name: _wrap_all(value, wrap) for name, value in fit_args.items()
                    },
                )
            ]
            if solver != "lbfgs":
                model = MLPCostClassifier(**params)
                model.partial_fit(
                    wrap(X[:250]), wrap(y[:250]), classes=wrap(np.arange(10))
                )
                model.partial_fit(
                    wrap(X[:50]), wrap(y[:50]), sample_weight=wrap(weights[:50])
                )
                models.append(model)
            for model in models:
                model.predict_proba(wrap(X[:20]))
            return models

    writeable = fit_all(np.array)
    before = _compiled_signatures()
    read_only = fit_all(_read_only)
    assert _compiled_signatures() == before
    for a, b in zip(writeable, read_only, strict=True):
        assert a.theta_.tobytes() == b.theta_.tobytes()


def _wrap_all(value, wrap):
    if isinstance(value, list):
        return [wrap(item) for item in value]
    return wrap(value)


FLOAT32_FITS = """
import warnings
import numpy as np, scipy.sparse as sp
from sklearn.datasets import load_digits
from skce import MLPCostClassifier
from skce._ahead import cache_counts
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = (X[:400] / 16).astype(np.float32)
y = y[:400]
for cost in ("log_loss", "cross_entropy", "quadratic"):
    for solver in ("gd", "sgd", "adam", "lbfgs"):
        for activation in ("logistic", "relu"):
            for target in (y, y > 4):
                clf = MLPCostClassifier((300,), activation, cost=cost, solver=solver,
                                        max_iter=2, early_stopping=solver == "sgd",
                                        n_jobs=2 if solver == "adam" else None,
                                        class_weight="balanced", random_state=0)
                clf.fit(X, target).predict_proba(X[:5])
MLPCostClassifier((5,)).partial_fit(X[:50], y[:50], classes=np.arange(10))
print(*cache_counts())
"""


def test_warmup_command_compiles_what_float32_fits_run(tmp_path):
    """``skce warmup --dtype float32`` leaves nothing for a float32 fit to compile."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    warm = subprocess.run(
        [sys.executable, "-m", "skce", "warmup", "--dtype", "float32"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert warm.stdout.startswith("compiled for float32 in ")
    fits = subprocess.run(
        [sys.executable, "-c", FLOAT32_FITS],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    hits, misses = map(int, fits.stdout.split())
    assert hits > 0 and misses == 0


def test_warmup_function_checks_its_dtypes():
    with pytest.raises(ValueError, match="dtypes must be a sequence of"):
        skce.warmup(["float16"])
    with pytest.raises(ValueError, match="dtypes must be a sequence of"):
        skce.warmup("float32")
    assert skce.warmup(["float64"]) >= 0.0
