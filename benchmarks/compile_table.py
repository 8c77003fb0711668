"""What each first fit compiles, and how long it takes.

Runs the steps of the cold tour (``against.py``): the first default fit on
the digits and its ``predict_proba``, then the first fit of each further
variant (the last five: the activations beyond scikit-learn's, and a
user's), in one process with an empty Numba cache, twice:

- as a user meets it (skce compiles a run's missing units in two processes
  when the fit is given two cores): the whole time of each step;
- on one core, unit by unit: what each step compiles (``_ahead`` units:
  pieces, the epoch kernel and its parts) and each unit's own seconds.

    python benchmarks/compile_table.py
"""

import argparse
import os
import subprocess
import sys
import tempfile

SCRIPT = r"""
import sys, time, warnings
import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_classification
from numba import njit
from skce import MLPCostClassifier
from skce import _ahead
from skce.activations import Activation

one_core = sys.argv[1] == "one"
compiled = []
if one_core:
    _ahead.cores_given = lambda: 1
    compile_unit = {}
    for kind in (_ahead.PieceUnit, _ahead.KernelUnit):
        def timed(unit, original=kind.compile):
            start = time.perf_counter()
            original(unit)
            compiled.append((repr(unit), time.perf_counter() - start))
        kind.compile = timed
warnings.simplefilter("ignore")


class Swish(Activation):
    name = "swish"

    @staticmethod
    @njit
    def fn(z):
        return z / (1.0 + np.exp(-z))

    @staticmethod
    @njit
    def derivative(z, a):
        s = 1.0 / (1.0 + np.exp(-z))
        return s + a * (1.0 - s)


X, y = load_digits(return_X_y=True)
X = X / 16.0
wide = make_classification(2_000, 784, n_informative=100, random_state=0)
steps = [
    ("default fit + predict_proba", dict(max_iter=20), X, y),
    ("float32", dict(), X.astype(np.float32), y),
    ("CSR", dict(), sp.csr_matrix(X), y),
    ("lbfgs", dict(solver="lbfgs"), X, y),
    ("sgd", dict(solver="sgd"), X, y),
    ("early stopping", dict(early_stopping=True), X, y),
    ("cross_entropy", dict(cost="cross_entropy"), X, y),
    ("n_jobs=2", dict(n_jobs=2), X, y),
    ("(512,) on 784 features", dict(hidden_layer_sizes=(512,)), *wide),
    ("leaky_relu", dict(activation="leaky_relu"), X, y),
    ("elu", dict(activation="elu"), X, y),
    ("softplus", dict(activation="softplus"), X, y),
    ("gelu", dict(activation="gelu"), X, y),
    ("a user's (swish)", dict(activation=Swish()), X, y),
]
for name, params, data, target in steps:
    params = {"max_iter": 5, "random_state": 0, **params}
    del compiled[:]
    start = time.perf_counter()
    MLPCostClassifier(**params).fit(data, target).predict_proba(data[:5])
    seconds = time.perf_counter() - start
    if not one_core:
        print(f"{name}: {seconds:.2f} s")
        continue
    total = sum(spent for _, spent in compiled)
    print(f"{name}: {seconds:.2f} s on one core, {total:.2f} s of it compiling")
    for unit, spent in sorted(compiled, key=lambda item: -item[1]):
        print(f"    {spent:6.2f} s  {unit}")
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    for mode, title in (("two", "as a user meets it"), ("one", "on one core")):
        print(f"-- {title} --", flush=True)
        with tempfile.TemporaryDirectory(prefix="skce-compile-") as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            subprocess.run([sys.executable, "-c", SCRIPT, mode], env=env, check=True)


if __name__ == "__main__":
    main()
