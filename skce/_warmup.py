"""Compile the kernels ahead of time: ``skce.warmup`` and ``skce warmup``.

Numba compiles a kernel for each type signature it is called with, the
first time, and caches the machine code on disk. The first fit in a fresh
environment therefore pays the compilation (about 9 s on 2 cores, see
"The first fit" in docs/performance.rst), and the first fit in another
precision (float32) or on sparse input pays it again. A deployment image or
a CI cache runs this once at build time instead: ``skce warmup --dtype
float64 float32`` takes about 35 s there.
"""

import time
import warnings

import numpy as np
import scipy.sparse as sp

from ._codes import SOLVERS

DTYPES = {"float64": np.float64, "float32": np.float32}


def warmup(dtypes=("float64",), sparse=False):
    """Compile and cache every kernel a fit or a prediction can run.

    Runs tiny fits that reach every kernel signature for the given input
    types: every solver, early stopping, sample weights, ``n_jobs=2``,
    ``partial_fit``, and prediction in both precisions (a float32 model
    predicts float64 rows in float64). The costs, activations and solvers are
    selected by integer codes inside the kernels and share their machine
    code; a user's own :class:`skce.costs.Cost` is compiled on its first
    fit and cached with its code.

    Parameters
    ----------
    dtypes : sequence of {"float64", "float32"}, default=("float64",)
        Precisions to compile for: the dtype of ``X`` in the fits to come.

    sparse : bool, default=False
        Also compile for sparse ``X`` (in each of ``dtypes``).

    Returns
    -------
    seconds : float
        Time taken; near zero when the cache already holds everything.
    """
    from ._estimator import MLPCostClassifier

    if isinstance(dtypes, str) or any(dtype not in DTYPES for dtype in dtypes):
        raise ValueError(
            f"dtypes must be a sequence of {sorted(DTYPES)}, got {dtypes!r}."
        )
    start = time.perf_counter()
    rng = np.random.RandomState(0)
    # 400 rows through 64 -> 256 -> 3 units: enough multiply-adds per batch
    # for n_jobs=2 to take its sharded path.
    X = rng.normal(size=(400, 64))
    y = rng.randint(0, 3, size=400)
    weights = rng.uniform(0.5, 1.5, size=400)
    formats = [np.asarray] + ([sp.csr_matrix] if sparse else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in dtypes:
            for to_format in formats:
                data = to_format(X.astype(DTYPES[name]))
                for solver in SOLVERS:
                    for n_jobs, early_stopping in ((None, False), (2, True)):
                        clf = MLPCostClassifier(
                            (256,),
                            solver=solver,
                            max_iter=2,
                            early_stopping=early_stopping,
                            n_jobs=n_jobs,
                            random_state=0,
                        )
                        clf.fit(data, y, sample_weight=weights)
                        # A model predicts in the precision of the rows it
                        # is given: both, whatever it was fitted on.
                        for precision in DTYPES.values():
                            clf.predict_proba(data.astype(precision))
                MLPCostClassifier((4,), max_iter=1).partial_fit(
                    data, y, classes=np.unique(y)
                )
    return time.perf_counter() - start
