"""The two ways skce compiles Python with Numba, and its calls into LLVM.

Every compiled function in skce is one of two kinds:

- ``@kernel``: called from Python (and from other compiled code);
- ``@helper``: called only from other compiled code. It is compiled without
  the wrappers that let Python call it, which saves compile time on a cold
  cache.

``inlined(f)`` is ``f`` compiled again to be inlined into its caller.

Both are cached on disk and release the GIL, and both divide by NumPy's
rules (``error_model="numpy"``: a division by zero gives inf or nan, as in
NumPy, instead of raising), so the two kinds compile the same arithmetic.

``external`` is the one place compiled code declares a function that LLVM
links by name: skce's BLAS, the scheduler's ``sched_yield``, the CPU's
pause hint and cycle counter.
"""

from llvmlite import ir
from numba import njit
from numba.core import cgutils

kernel = njit(cache=True, nogil=True, error_model="numpy")
helper = njit(
    cache=True,
    nogil=True,
    error_model="numpy",
    no_cpython_wrapper=True,
    no_cfunc_wrapper=True,
)
#: ``inlined(f)`` compiles ``f`` again, to be inlined into each caller, so
#: that the caller's loop optimizations see through the call.
inlined = njit(cache=True, nogil=True, error_model="numpy", inline="always")


def external(builder, name, return_type, argument_types=()):
    """The LLVM function ``name`` of the given signature, declared in the
    module being built (once), for ``builder.call``."""
    function_type = ir.FunctionType(return_type, list(argument_types))
    return cgutils.get_or_insert_function(builder.module, function_type, name)
