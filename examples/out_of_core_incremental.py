"""
Training out of core with Dask-ML's Incremental
===============================================

A million rows that are never all in memory: a Dask array whose blocks are
made on demand, fed block by block to ``partial_fit`` by
``dask_ml.wrappers.Incremental``. The labels come from a fixed random network
(a nonlinear task an MLP can learn). The same data, computed into memory and
given to ``fit``, is the reference: both should score within a point of each
other on held-out rows. ``tracemalloc`` shows how much memory the
out-of-core fit ever held against the size of the whole array.

One setting matters: Dask's default threaded scheduler runs ready tasks on
every free thread, and while one thread trains on a block, the others would
make all the remaining blocks ahead of time (here: 150 of 160 MB held at
once). ``partial_fit`` over blocks is sequential anyway, so the synchronous
scheduler loses nothing and keeps about two blocks in memory.
"""

# sphinx_gallery_thumbnail_path = "_static/thumbnail_out_of_core_incremental.png"

import os
import time
import tracemalloc

import dask
import dask.array as da
import numpy as np
from dask_ml.wrappers import Incremental

from skce import MLPCostClassifier

QUICK = bool(os.environ.get("SKCE_EXAMPLES_QUICK"))
N_ROWS, CHUNK, PASSES = (100_000, 10_000, 2) if QUICK else (1_000_000, 50_000, 2)
N_FEATURES, N_CLASSES = 20, 5

teacher = np.random.RandomState(42)
W1, W2 = teacher.normal(size=(N_FEATURES, 16)), teacher.normal(size=(16, N_CLASSES))


def teacher_labels(X):
    return np.argmax(np.tanh(X @ W1) @ W2, axis=1)


X = da.random.RandomState(0).normal(size=(N_ROWS, N_FEATURES), chunks=CHUNK)
X = X.rechunk((CHUNK, N_FEATURES))
y = X.map_blocks(teacher_labels, drop_axis=1, dtype=np.int64)
X_test = np.random.RandomState(1).normal(size=(50_000, N_FEATURES))
y_test = teacher_labels(X_test)
params = dict(hidden_layer_sizes=(32,), batch_size=200, random_state=0)
print(
    f"data: {N_ROWS} rows, {X.nbytes / 1e6:.0f} MB as one array, "
    f"{X.numblocks[0]} blocks"
)

# %%
# Out of core: each block is made, trained on by one ``partial_fit`` and
# dropped; one ``Incremental.partial_fit`` call is one pass over the blocks.
incremental = Incremental(
    MLPCostClassifier(**params), shuffle_blocks=True, random_state=0
)
start = time.perf_counter()
block_peaks = []
with dask.config.set(scheduler="synchronous"):
    for _ in range(PASSES):
        tracemalloc.start()
        incremental.partial_fit(X, y, classes=np.arange(N_CLASSES))
        block_peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
seconds = time.perf_counter() - start
# The first pass also counts what Dask imports on first use; the last one is
# the steady state.
peak = block_peaks[-1]
block = (X.nbytes + y.nbytes) / X.numblocks[0]
out_of_core = incremental.estimator_.score(X_test, y_test)
print(
    f"out of core: accuracy {out_of_core:.4f} in {seconds:.1f} s, peak memory "
    f"of the last pass {peak / 1e6:.0f} MB ({peak / block:.1f} blocks)"
)

# %%
# In memory, for reference: the same rows and the same number of epochs.
start = time.perf_counter()
in_memory = MLPCostClassifier(
    **params, max_iter=PASSES, tol=0.0, n_iter_no_change=10**9
)
in_memory.fit(X.compute(), y.compute())
reference = in_memory.score(X_test, y_test)
print(f"in memory:   accuracy {reference:.4f} in {time.perf_counter() - start:.1f} s")
print(f"difference: {100 * abs(out_of_core - reference):.2f} points")
assert abs(out_of_core - reference) <= 0.01
assert peak < 6 * block  # of 20: a block and the temporaries of its labels
