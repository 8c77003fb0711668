"""Where the first fits' compile time goes, function by function.

Run in a fresh process with an empty Numba cache (the default here: a new
temporary folder), it records Numba's compile events around the first
default fit on the digits and its ``predict_proba``, then around the first
fit of each further variant of the cold tour (``against.py``), and prints
for each step its whole time, the compile time inside it and the functions
that took longest, with and without what they call.

    python benchmarks/compile_table.py [--top 12]
"""

import argparse
import os
import subprocess
import sys
import tempfile

SCRIPT = r"""
import collections, sys, time, warnings
import numpy as np
import scipy.sparse as sp
from numba.core import event
from sklearn.datasets import load_digits, make_classification
from skce import MLPCostClassifier

top = int(sys.argv[1])
warnings.simplefilter("ignore")
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
]
for name, params, data, target in steps:
    params = {"max_iter": 5, "random_state": 0, **params}
    start = time.perf_counter()
    with event.install_recorder("numba:compile") as recorder:
        MLPCostClassifier(**params).fit(data, target).predict_proba(data[:5])
    seconds = time.perf_counter() - start
    inclusive = collections.defaultdict(float)
    own = collections.defaultdict(float)
    count = collections.Counter()
    stack = []
    for stamp, record in recorder.buffer:
        dispatcher = record.data["dispatcher"]
        function = getattr(dispatcher, "py_func", dispatcher).__name__
        if record.is_start:
            stack.append([function, stamp, 0.0])
            continue
        function, begun, inner = stack.pop()
        inclusive[function] += stamp - begun
        own[function] += stamp - begun - inner
        count[function] += 1
        if stack:
            stack[-1][2] += stamp - begun
    total = sum(own.values())
    print(f"{name}: {seconds:.2f} s, of which compiling {total:.2f} s")
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])[:top]
    for function, spent in ranked:
        print(f"    {spent:6.2f} s  {own[function]:6.2f} s own  "
              f"{count[function]:3d}x  {function}")
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=12, help="functions per step")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="skce-compile-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        subprocess.run(
            [sys.executable, "-c", SCRIPT, str(args.top)], env=env, check=True
        )


if __name__ == "__main__":
    main()
