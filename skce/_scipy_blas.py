"""SciPy's BLAS on one thread while skce's L-BFGS fits run.

SciPy's L-BFGS-B calls LAPACK on SciPy's own OpenBLAS a few times per
iteration (a triangular solve with up to ``maxcor`` right-hand sides), and
OpenBLAS runs that tiny solve on its thread pool; its threads then spin on
the other cores, where the fit's own team, or the fit beside it, needs
them. Two L-BFGS fits in two threads ran no faster than one after the
other, and one fit beside two busy processes ran several times slower than
alone. One thread gives the same numbers: a threaded solve splits the
right-hand sides, each solved as on one thread.

OpenBLAS keeps one thread count per process, so ``one_thread`` counts the
L-BFGS fits running: the first sets SciPy's BLAS to one thread, the last
puts back what the first found, unless someone else changed it in between
(then theirs stays). Before and after skce's fits SciPy's BLAS is as the
user left it; NumPy's BLAS, which is another library in the wheels of both,
is never touched. Where SciPy and NumPy share one BLAS (some conda or
system builds), nothing is changed: setting it would change NumPy's too.
"""

import ctypes
import functools
import os
import threading
from contextlib import contextmanager
from typing import NamedTuple

_lock = threading.Lock()
_fits = 0  # L-BFGS fits inside ``one_thread`` now
_found = None  # SciPy's BLAS threads when the first of them started


class _Threads(NamedTuple):
    """The thread count functions of one OpenBLAS, and its file as
    threadpoolctl names it."""

    filepath: str
    get: object
    set: object

    @property
    def num_threads(self):
        return int(self.get())

    def set_num_threads(self, n):
        self.set(n)


@functools.cache
def library():
    """SciPy's own OpenBLAS (``_Threads``), or None where it is not a
    library of SciPy's alone (shared with NumPy, or not OpenBLAS).

    Its functions are called directly: threadpoolctl lets only the first
    Python thread that sets an OpenBLAS limit set it, and fits run in any
    thread.
    """
    import numpy
    import scipy
    import scipy.linalg  # loads SciPy's BLAS, if it is not loaded yet
    from threadpoolctl import ThreadpoolController

    def libs_folder(package):
        # Wheels keep their bundled libraries in ``<package>.libs`` beside it.
        site = os.path.dirname(os.path.dirname(os.path.realpath(package.__file__)))
        return os.path.join(site, package.__name__ + ".libs")

    scipy_libs, numpy_libs = libs_folder(scipy), libs_folder(numpy)
    if scipy_libs == numpy_libs:
        return None
    found = ThreadpoolController().select(internal_api="openblas").lib_controllers
    for controller in found:
        path = os.path.realpath(controller.filepath)
        if os.path.dirname(path) != scipy_libs:
            continue
        handle = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)  # the loaded library
        for prefix in ("scipy_", ""):  # scipy-openblas prefixes its symbols
            get = getattr(handle, prefix + "openblas_get_num_threads", None)
            set_ = getattr(handle, prefix + "openblas_set_num_threads", None)
            if get is not None and set_ is not None:
                get.restype, set_.restype = ctypes.c_int, None
                set_.argtypes = [ctypes.c_int]
                return _Threads(controller.filepath, get, set_)
    return None


@contextmanager
def one_thread():
    """SciPy's BLAS on one thread while the context lasts (see above)."""
    global _fits, _found
    controller = library()
    if controller is None:
        yield
        return
    with _lock:
        if _fits == 0:
            _found = int(controller.num_threads)
            if _found != 1:
                controller.set_num_threads(1)
        _fits += 1
    try:
        yield
    finally:
        with _lock:
            _fits -= 1
            if _fits == 0 and _found != 1 and controller.num_threads == 1:
                controller.set_num_threads(_found)


def users_threads(controller):
    """The thread count the user gave the library of ``controller`` (a
    threadpoolctl controller): what ``one_thread`` found, while it holds
    SciPy's BLAS at one thread."""
    ours = library()
    with _lock:
        if _fits > 0 and ours is not None and controller.filepath == ours.filepath:
            return _found
    return int(controller.num_threads)
