"""The ways skce compiles Python with Numba, and its calls into LLVM.

Every compiled function in skce is one of these kinds:

- ``@kernel``: called from Python (and from other compiled code);
- ``@helper``: called only from other compiled code, compiled without the
  wrappers that let Python call it (less to compile);
- a piece or a deferred part (``_pieces``): compiled alone and called by
  address, so that no caller links and optimizes it again.

Kernels and helpers release the GIL, are cached on disk, and divide by
NumPy's rules (``error_model="numpy"``: a division by zero gives inf or
nan, as in NumPy, instead of raising), as pieces do. Calls from compiled
code type their constant arguments as plain types (``_Dispatcher``), and
the code runs without Numba's reference counting (see ``_OPTIONS``).

``external`` is the one place compiled code declares a function that LLVM
links by name: skce's BLAS, the scheduler's ``sched_yield``, the CPU's
pause hint and cycle counter.
"""

from llvmlite import ir
from numba.core import cgutils, config, types
from numba.core.registry import CPUDispatcher

# Numba's reference counting (NRT) is off: no kernel allocates, and every
# array a kernel touches belongs to its caller in Python for the whole call,
# so the counts of the views it makes would only add code (a call for each
# view) and atomic operations. A function that allocates does not compile
# without it, which keeps allocations out of the kernels.
_OPTIONS = {"nopython": True, "nogil": True, "error_model": "numpy", "_nrt": False}


class _Dispatcher(CPUDispatcher):
    """Numba's dispatcher, typing the arguments of a call from compiled code
    as plain types: a constant (``gemm(False, ...)``, ``f(x, 0)``) would
    otherwise compile a specialization of its own for its literal value."""

    def get_call_template(self, args, kws):
        args = [types.unliteral(value) for value in args]
        kws = {name: types.unliteral(value) for name, value in kws.items()}
        return super().get_call_template(args, kws)


def _compiled(**options):
    def decorate(function):
        if config.DISABLE_JIT:
            return function
        dispatcher = _Dispatcher(
            py_func=function, locals={}, targetoptions={**_OPTIONS, **options}
        )
        dispatcher.enable_caching()
        return dispatcher

    return decorate


kernel = _compiled(no_cfunc_wrapper=True)
helper = _compiled(no_cpython_wrapper=True, no_cfunc_wrapper=True)


def external(builder, name, return_type, argument_types=()):
    """The LLVM function ``name`` of the given signature, declared in the
    module being built (once), for ``builder.call``."""
    function_type = ir.FunctionType(return_type, list(argument_types))
    return cgutils.get_or_insert_function(builder.module, function_type, name)
