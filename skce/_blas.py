"""How many threads BLAS gets during a fit.

Below ``_SMALL_PRODUCT`` multiply-adds per matrix product a second BLAS
thread costs more in hand-offs than it gains, so fits of small networks
keep BLAS single-threaded.
"""

import functools
import threading
from contextlib import contextmanager, nullcontext

from threadpoolctl import ThreadpoolController

# Measured on digits-sized layers (64-100-10, batches of 200: 1.3 M) and
# beside W4's 200 x 784 x 512 (80 M), which does gain from two threads.
_SMALL_PRODUCT = 4_000_000


@functools.cache
def _blas_libraries():
    # Found on first use, not at import: it scans the loaded libraries.
    return ThreadpoolController().select(user_api="blas").lib_controllers


def blas_threads(layer_units, n_rows):
    """A context that keeps BLAS single-threaded while the products are small.

    Besides the hand-off cost, idle BLAS threads of *other* libraries (such
    as NumPy's, after a scikit-learn fit) keep spinning for a while and take
    the second core; with one thread skce does not wait for them.
    """
    pairs = zip(layer_units[:-1], layer_units[1:], strict=True)
    largest = max(int(n_in) * int(n_out) for n_in, n_out in pairs)
    if largest * n_rows >= _SMALL_PRODUCT:
        return nullcontext()
    return single_threaded_blas()


_blas_lock = threading.Lock()
_blas_users = 0
_blas_original = None


@contextmanager
def single_threaded_blas():
    # threadpoolctl's limits are process-wide. Fits running in several threads
    # share one limit: the first sets it, the last one out restores it, so
    # that one fit finishing never hands BLAS threads back under another.
    # (threadpoolctl's limit() context does the same, but reads every
    # library's full description on the way: a fifth of a small fit's
    # fixed cost.)
    global _blas_users, _blas_original
    with _blas_lock:
        if _blas_users == 0:
            _blas_original = [lib.num_threads for lib in _blas_libraries()]
            for lib in _blas_libraries():
                lib.set_num_threads(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                for lib, threads in zip(_blas_libraries(), _blas_original, strict=True):
                    lib.set_num_threads(threads)
                _blas_original = None
