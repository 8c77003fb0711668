"""skce's own BLAS: matrix products on the calling thread, always.

OpenBLAS keeps one thread count for a whole process (threadpoolctl's
``thread_limit_scope`` says "process"). A fit that lowered it for its small
products changed it under every other fit and library of
the process; a fit that left it alone ran two-thread products on top of
other fits' threads, which OpenBLAS serializes on a lock. Neither composes.

So skce's kernels call a copy of OpenBLAS of their own: the library of the
``scipy-openblas32`` package, loaded privately (``RTLD_LOCAL``, never by
importing that package, which would load it into the global namespace where
scipy's extensions could bind to it) and set to one thread once, when this
module is imported. No other code calls it, so that setting is nobody
else's. Every thread that runs a kernel runs its own products, and the
parallelism of a fit is skce's: its shards and column blocks
(``_shards``), on the cores it is given (``_cores``).

The kernels reach the library through Numba intrinsics that call the
external symbols ``skce_cblas_*``, registered here with LLVM by address.
A kernel loaded from Numba's on-disk cache is linked against the same
names, so caching works as for Numba's own helpers.
"""

import ctypes
import functools
import importlib.util
import os
import sys

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._compiled import external

# CBLAS's enumerations.
_ROW_MAJOR = 101
_NO_TRANS = 111
_TRANS = 112


@functools.cache
def library_path():
    """The file of skce's OpenBLAS (from the scipy-openblas32 package)."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "skce needs the scipy-openblas32 package (its own single-threaded "
            "BLAS); install it with `pip install scipy-openblas32`."
        )
    lib_dir = os.path.join(spec.submodule_search_locations[0], "lib")
    suffix = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
    names = sorted(
        name
        for name in os.listdir(lib_dir)
        if name.startswith("libscipy_openblas") and name.endswith(suffix)
    )
    if not names:
        raise ImportError(f"No OpenBLAS library found in {lib_dir}.")
    return os.path.join(lib_dir, names[0])


def _load():
    library = ctypes.CDLL(library_path(), mode=ctypes.RTLD_LOCAL)
    library.scipy_openblas_set_num_threads(1)
    for name in (
        "cblas_dgemm",
        "cblas_sgemm",
        "cblas_dgemv",
        "cblas_sgemv",
        "cblas_ddot",
        "cblas_sdot",
    ):
        address = ctypes.cast(getattr(library, "scipy_" + name), ctypes.c_void_p)
        llvm.add_symbol("skce_" + name, address.value)
    return library


_LIBRARY = _load()


def library_threads():
    """The thread count of skce's OpenBLAS: 1 unless someone changed it
    (``threadpool_limits`` changes every OpenBLAS it finds, this one too)."""
    return int(_LIBRARY.scipy_openblas_get_num_threads())


def keep_single_threaded():
    """Set skce's OpenBLAS back to one thread if a ``threadpool_limits``
    context raised it. Only skce calls this library, so the setting belongs
    to skce; threadpoolctl restores what it found (1) when its context ends.
    """
    if library_threads() != 1:
        _LIBRARY.scipy_openblas_set_num_threads(1)


def _data_pointer(context, builder, array_type, array, offset):
    """Address of element ``offset`` of a contiguous array's data."""
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [offset])


@intrinsic
def cblas_gemm(
    typingctx, trans_a, trans_b, m, n, k, A, a0, lda, B, b0, ldb, beta, C, c0, ldc
):
    """``C[c0:] = op(A[a0:]) @ op(B[b0:]) + beta * C[c0:]`` by CBLAS, row-major.

    ``A``, ``B`` and ``C`` are contiguous arrays of one dtype (float32 or
    float64; sgemm or dgemm), addressed from elements ``a0``, ``b0``, ``c0``
    with leading dimensions ``lda``, ``ldb``, ``ldc``; ``trans_a`` and
    ``trans_b`` are booleans. Nothing is checked: see ``gemm``.
    """
    if A.dtype not in (types.float32, types.float64) or not (
        A.dtype == B.dtype == C.dtype
    ):
        return None
    single = A.dtype == types.float32
    signature = types.void(
        trans_a, trans_b, m, n, k, A, a0, lda, B, b0, ldb, beta, C, c0, ldc
    )

    def codegen(context, builder, sig, args):
        (ta, tb, m_, n_, k_, A_, a0_, lda_, B_, b0_, ldb_, beta_, C_, c0_, ldc_) = args
        types_ = sig.args
        i32 = ir.IntType(32)
        real = ir.FloatType() if single else ir.DoubleType()
        pointer = real.as_pointer()

        def integer(value, numba_type):
            return context.cast(builder, value, numba_type, types.int32)

        def flag(value, numba_type):
            value = context.cast(builder, value, numba_type, types.boolean)
            return builder.select(
                value, ir.Constant(i32, _TRANS), ir.Constant(i32, _NO_TRANS)
            )

        function = external(
            builder,
            "skce_cblas_sgemm" if single else "skce_cblas_dgemm",
            ir.VoidType(),
            [i32, i32, i32, i32, i32, i32, real, pointer, i32]
            + [pointer, i32, real, pointer, i32],
        )
        scalar = types.float32 if single else types.float64
        builder.call(
            function,
            [
                ir.Constant(i32, _ROW_MAJOR),
                flag(ta, types_[0]),
                flag(tb, types_[1]),
                integer(m_, types_[2]),
                integer(n_, types_[3]),
                integer(k_, types_[4]),
                ir.Constant(real, 1.0),
                _data_pointer(context, builder, types_[5], A_, a0_),
                integer(lda_, types_[7]),
                _data_pointer(context, builder, types_[8], B_, b0_),
                integer(ldb_, types_[10]),
                context.cast(builder, beta_, types_[11], scalar),
                _data_pointer(context, builder, types_[12], C_, c0_),
                integer(ldc_, types_[14]),
            ],
        )
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def cblas_gemv(typingctx, trans, m, n, A, a0, lda, x, x0, beta, y, y0):
    """``y[y0:] = op(A[a0:]) @ x[x0:] + beta * y[y0:]`` by CBLAS, row-major:
    ``A`` is ``m x n`` with leading dimension ``lda``, the vectors
    contiguous. Nothing is checked: see ``_product.gemm``."""
    if A.dtype not in (types.float32, types.float64) or not (
        A.dtype == x.dtype == y.dtype
    ):
        return None
    single = A.dtype == types.float32
    signature = types.void(trans, m, n, A, a0, lda, x, x0, beta, y, y0)

    def codegen(context, builder, sig, args):
        (trans_, m_, n_, A_, a0_, lda_, x_, x0_, beta_, y_, y0_) = args
        types_ = sig.args
        i32 = ir.IntType(32)
        real = ir.FloatType() if single else ir.DoubleType()
        pointer = real.as_pointer()
        function = external(
            builder,
            "skce_cblas_sgemv" if single else "skce_cblas_dgemv",
            ir.VoidType(),
            [i32, i32, i32, i32, real, pointer, i32, pointer, i32, real, pointer, i32],
        )
        flag = context.cast(builder, trans_, types_[0], types.boolean)
        one = ir.Constant(i32, 1)
        builder.call(
            function,
            [
                ir.Constant(i32, _ROW_MAJOR),
                builder.select(
                    flag, ir.Constant(i32, _TRANS), ir.Constant(i32, _NO_TRANS)
                ),
                context.cast(builder, m_, types_[1], types.int32),
                context.cast(builder, n_, types_[2], types.int32),
                ir.Constant(real, 1.0),
                _data_pointer(context, builder, types_[3], A_, a0_),
                context.cast(builder, lda_, types_[5], types.int32),
                _data_pointer(context, builder, types_[6], x_, x0_),
                one,
                context.cast(
                    builder,
                    beta_,
                    types_[8],
                    types.float32 if single else types.float64,
                ),
                _data_pointer(context, builder, types_[9], y_, y0_),
                one,
            ],
        )
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def cblas_dot(typingctx, x, y):
    """``x @ y`` of two contiguous vectors of one dtype by CBLAS (sdot or
    ddot: a float32 result for float32 input, as ``np.dot`` gives)."""
    if x.dtype not in (types.float32, types.float64) or x.dtype != y.dtype:
        return None
    single = x.dtype == types.float32

    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        real = ir.FloatType() if single else ir.DoubleType()
        function = external(
            builder,
            "skce_cblas_sdot" if single else "skce_cblas_ddot",
            real,
            [i32, real.as_pointer(), i32, real.as_pointer(), i32],
        )
        x_array = context.make_array(sig.args[0])(context, builder, args[0])
        y_array = context.make_array(sig.args[1])(context, builder, args[1])
        length = context.cast(builder, x_array.nitems, types.intp, types.int32)
        one = ir.Constant(i32, 1)
        return builder.call(function, [length, x_array.data, one, y_array.data, one])

    return x.dtype(x, y), codegen
