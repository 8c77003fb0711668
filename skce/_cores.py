"""The cores a fit is given, shared among the fits that run at the same time.

A fit runs at most as many threads as the cores it is given: those this
process may use (its CPU affinity and cgroup quota, as joblib counts them),
capped by what an outer layer of parallelism has said. That is
``OMP_NUM_THREADS`` or ``NUMBA_NUM_THREADS`` (joblib's loky workers and
Dask's workers set them) and threadpoolctl's limits on the process's other
BLAS libraries: ``threadpool_limits(1)`` around a fit means one thread, as
it would for scikit-learn's MLP, whose parallelism is BLAS's. skce's own
BLAS is single-threaded (``_blas``); its threads are the fit's.

Fits running at once in one process (a grid search on the threading
backend, a Dask worker's threads, a user's threads) share those cores. Each
fit registers while it runs (``running_fit``), and before every epoch (or
evaluation, for the full-batch solvers) it asks for its share: the cores
divided among the fits running, at least one. So two fits on two cores run
one thread each, and a fit left alone takes the second core back at its
next epoch. Only the number of threads follows the share, never the way the
work is cut (shards, column blocks): a fit's bits do not depend on what else
runs. Nothing here sets anything outside skce.
"""

import contextvars
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import joblib

from ._blas import keep_single_threaded, library_path
from ._scipy_blas import users_threads

_lock = threading.Lock()
_running = 0


def cores_given():
    """How many threads one fit alone may run in this process."""
    cores = _process_cores()
    for variable in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        try:
            cores = min(cores, max(int(os.environ[variable]), 1))
        except (KeyError, ValueError):
            pass
    if cores > 1:
        for library in _other_blas_libraries():
            cores = min(cores, max(users_threads(library), 1))
    return cores


@functools.cache
def _process_cores():
    # Read once: joblib reads the affinity and the cgroup's files, a fifth
    # of a millisecond, and a fit asks before every epoch or evaluation.
    return joblib.cpu_count()


@functools.cache
def _other_blas_libraries():
    # Scanned once, on the first fit that could use more than one thread
    # (the scan reads every loaded library's description: milliseconds).
    from threadpoolctl import ThreadpoolController

    ours = os.path.realpath(library_path())
    return [
        library
        for library in ThreadpoolController().select(user_api="blas").lib_controllers
        if os.path.realpath(library.filepath) != ours
    ]


@contextmanager
def running_fit():
    """Count this fit among the running ones while the context lasts."""
    global _running
    keep_single_threaded()
    with _lock:
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1


def fits_running():
    """How many fits are registered by ``running_fit`` now."""
    return _running


def thread_share(wanted):
    """Threads a running fit may use now, at most ``wanted``: its share of
    ``cores_given()`` among the fits running, at least one."""
    if wanted <= 1:
        return 1
    return max(1, min(wanted, cores_given() // max(_running, 1)))


class Threads:
    """A fit's helper threads, started on first use and kept until ``close``.

    ``run(tasks)`` runs the callables at once, the first on the calling
    thread, and returns their results in order. Kernels that meet at a
    barrier need every task running at the same time: the pool always has a
    thread for each task but the first. Each task runs in a copy of the
    caller's context (``contextvars``), as the first does, so the threads
    of one fit see what the fit's thread sees.
    """

    def __init__(self):
        self._pool = None
        self._size = 0

    def run(self, tasks):
        if len(tasks) == 1:
            return [tasks[0]()]
        if self._size < len(tasks) - 1:
            self.close()
            self._pool = ThreadPoolExecutor(len(tasks) - 1)
            self._size = len(tasks) - 1
        futures = [
            self._pool.submit(contextvars.copy_context().run, task)
            for task in tasks[1:]
        ]
        first = tasks[0]()
        return [first, *(future.result() for future in futures)]

    def close(self):
        """Stop the threads (they start again if needed)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
            self._size = 0
