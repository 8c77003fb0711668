"""Pieces: the small compiled functions a fit picks in Python, and how
kernels call them.

Every option of a fit (a hidden activation, a cost, an optimizer's step, the
probabilities of an output) is a *piece*: a C-callable function (a Numba
``cfunc``) of one of a few shapes, its ``Signature``. A piece is compiled
for a precision the first time a fit runs it, and cached on disk.

The kernels (``_backprop``, ``_epoch``) take the pieces of a fit as
addresses, int64 fields of a ``Calls`` tuple, and call them through the
signature's ``caller``. A kernel is therefore compiled once per precision
and input form whatever options a fit picks, a grid search over options
compiles each option once, however many fits combine it, and a fit compiles
the pieces it runs and no other. Numba links a jitted callee into every
caller and optimizes it again there; a call through an address links
nothing, so a piece is compiled once (docs/performance.rst, "The first
fit").

A signature lists the arguments by kind: ``i`` an int64 (an integer or a
boolean in a kernel), ``f`` a float64, ``T`` the data pointer of an array
of the fit's dtype, ``F`` of a float64 array and ``I`` of an int64 array. A
kernel passes an array for a pointer (a slice, to start further in); the
caller checks every argument against the signature when the kernel is
compiled, so a call and the piece it reaches agree on every type. Python
calls a piece through ``Piece.function``, with ``array.ctypes.data`` for
pointers.
"""

import ctypes
import threading

import numpy as np
from llvmlite import ir
from numba import cfunc, typeof, types
from numba.core import cgutils
from numba.core.caching import FunctionCache
from numba.core.errors import TypingError
from numba.core.registry import cpu_target
from numba.core.typing import signature
from numba.extending import intrinsic

_SCALARS = {"i": types.int64, "f": types.float64}
_POINTERS = {"F": types.float64, "I": types.int64}
_RESULTS = {"void": types.void, "i": types.int64, "f": types.float64}
_CTYPES = {
    "void": None,
    "i": ctypes.c_int64,
    "f": ctypes.c_double,
}


class Signature:
    """A piece's shape: what it returns (``"void"``, ``"i"``, ``"f"``) and
    the kinds of its arguments (a string of ``i f T F I``)."""

    def __init__(self, name, result, arguments):
        self.name = name
        self.result = result
        self.arguments = arguments
        self.caller = _caller(self)

    def numba(self, dtype):
        """The ``cfunc`` signature for arrays of ``dtype``."""
        real = types.float32 if np.dtype(dtype) == np.float32 else types.float64
        arguments = [
            _SCALARS[kind]
            if kind in _SCALARS
            else types.CPointer(_POINTERS.get(kind, real))
            for kind in self.arguments
        ]
        return _RESULTS[self.result](*arguments)

    def ctypes(self):
        """The ctypes prototype, with pointers as ``c_void_p``."""
        arguments = [
            _CTYPES[kind] if kind in _SCALARS else ctypes.c_void_p
            for kind in self.arguments
        ]
        return ctypes.CFUNCTYPE(_CTYPES[self.result], *arguments)


def _llvm_argument(context, builder, kind, numba_type, value):
    """A kernel's argument as the piece takes it: int64, double or a pointer."""
    if kind == "i":
        return context.cast(builder, value, numba_type, types.int64)
    if kind == "f":
        return context.cast(builder, value, numba_type, types.float64)
    return context.make_array(numba_type)(context, builder, value).data


def _check(signature, argument_types):
    """A ``TypingError`` unless the kernel's arguments fit ``signature``."""
    if len(argument_types) != len(signature.arguments):
        raise TypingError(
            f"{signature.name} takes {len(signature.arguments)} arguments after "
            f"the address, got {len(argument_types)}"
        )
    real = None
    for position, (kind, numba_type) in enumerate(
        zip(signature.arguments, argument_types, strict=True)
    ):
        if kind == "i":
            fits = isinstance(numba_type, types.Integer | types.Boolean)
        elif kind == "f":
            fits = isinstance(numba_type, types.Float)
        else:
            fits = isinstance(numba_type, types.Array)
            if fits and kind == "T":
                real = real or numba_type.dtype
                fits = numba_type.dtype == real and real in (
                    types.float32,
                    types.float64,
                )
            elif fits:
                fits = numba_type.dtype == _POINTERS[kind]
        if not fits:
            raise TypingError(
                f"{signature.name}: argument {position} ({kind}) cannot be {numba_type}"
            )


def _caller(signature):
    """The intrinsic ``caller(address, *arguments)`` that calls a piece of
    ``signature`` at ``address`` (an int64) from compiled code."""
    result = _RESULTS[signature.result]

    @intrinsic
    def caller(typingctx, address, *arguments):
        if len(arguments) == 1 and isinstance(arguments[0], types.StarArgTuple):
            arguments = tuple(arguments[0].types)
        _check(signature, arguments)
        if not isinstance(address, types.Integer):
            raise TypingError(f"{signature.name}: the address must be an integer")

        def codegen(context, builder, numba_signature, llvm_arguments):
            address_value, packed = llvm_arguments
            items = cgutils.unpack_tuple(builder, packed, len(arguments))
            values = [
                _llvm_argument(context, builder, kind, numba_type, value)
                for kind, numba_type, value in zip(
                    signature.arguments, arguments, items, strict=True
                )
            ]
            returns = (
                ir.VoidType()
                if result == types.void
                else context.get_value_type(result)
            )
            function_type = ir.FunctionType(returns, [value.type for value in values])
            address_value = context.cast(
                builder, address_value, numba_signature.args[0], types.int64
            )
            function = builder.inttoptr(address_value, function_type.as_pointer())
            returned = builder.call(function, values)
            if result == types.void:
                return context.get_dummy_value()
            return returned

        return result(address, types.StarArgTuple(arguments)), codegen

    return caller


class Piece:
    """A piece: ``py_func`` compiled as a ``cfunc`` of ``signature`` for a
    dtype when first asked for (and cached on disk unless ``cache`` is
    False, as for functions of a user's, which Numba cannot cache)."""

    def __init__(self, py_func, signature, cache=True):
        self.py_func = py_func
        self.signature = signature
        self.cache = cache
        self.__name__ = py_func.__name__
        self.__doc__ = py_func.__doc__
        self._compiled = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # loaded from the disk cache, compiled

    def compiled(self, dtype):
        """The ``cfunc`` for arrays of ``dtype``, compiled (or loaded) once."""
        dtype = np.dtype(dtype)
        found = self._compiled.get(dtype)
        if found is None:
            with self._lock:
                found = self._compiled.get(dtype)
                if found is None:
                    compiled = cfunc(
                        self.signature.numba(dtype),
                        cache=self.cache,
                        error_model="numpy",
                    )(self.py_func)
                    if compiled.cache_hits:
                        self.hits += 1
                    else:
                        self.misses += 1
                    found = (compiled, self.signature.ctypes()(compiled.address))
                    self._compiled[dtype] = found
        return found

    def ready(self, dtype):
        """Whether the piece for ``dtype`` is compiled in this process or in
        the on-disk cache (read from its index, without loading it)."""
        dtype = np.dtype(dtype)
        if dtype in self._compiled:
            return True
        if not self.cache:
            return False
        numba_signature = self.signature.numba(dtype)
        return in_cache(
            FunctionCache(self.py_func),
            signature(numba_signature.return_type, *numba_signature.args),
            cpu_target.target_context,
        )

    def address(self, dtype):
        """The address kernels call for arrays of ``dtype``."""
        return self.compiled(dtype)[0].address

    def function(self, dtype):
        """The piece for arrays of ``dtype`` as a ctypes function."""
        return self.compiled(dtype)[1]

    def __repr__(self):
        return f"<piece {self.__name__} ({self.signature.name})>"


def piece(signature):
    """Decorate a module-level function as a ``Piece`` of ``signature``."""
    return lambda py_func: Piece(py_func, signature)


def pointer(array):
    """An array's data address, for a ``Piece.function`` argument."""
    return array.ctypes.data


# -- parts of kernels, compiled apart ----------------------------------------


class Deferred:
    """A compiled helper that kernels call by address (``caller``), with
    Numba's own calling convention: compiled once, alone, and linked into
    no caller, so its code is optimized once, only when a run first needs it
    (a part few fits run, as ``n_jobs``' shards), and possibly in another
    process (``_ahead``).

    ``address(signature)`` compiles ``dispatcher`` for ``signature`` (the
    types of the arguments the kernel passes, which ``numba.typeof`` of the
    same objects gives) and returns the address. Its result must be of type
    ``result``, which the kernel's caller declares. A kernel compiled in
    this process records the types it passes in ``typed``, and each address
    given out is kept by its signature: where the two differ, the call reads
    its arguments wrongly (``tests/test_first_use.py`` compares them).
    """

    def __init__(self, dispatcher, result):
        self.dispatcher = dispatcher
        self.result = result
        self.typed = set()
        self._addresses = {}
        self._lock = threading.Lock()
        self.caller = self._caller()

    def address(self, signature):
        """The address of the helper compiled for ``signature``."""
        found = self._addresses.get(signature)
        if found is None:
            with self._lock:
                found = self._addresses.get(signature)
                if found is None:
                    found = self._compile(signature)
                    self._addresses[signature] = found
        return found

    def asked(self):
        """The signatures whose addresses were given out."""
        return set(self._addresses)

    def _compile(self, signature):
        compiled = self.dispatcher.overloads.get(signature)
        if compiled is None:
            self.dispatcher.compile(signature)
            compiled = self.dispatcher.overloads[signature]
        if compiled.signature.return_type != self.result:
            raise TypeError(
                f"{self.dispatcher.__name__} returns "
                f"{compiled.signature.return_type}, not {self.result}"
            )
        name = compiled.fndesc.llvm_func_name
        return compiled.library.get_pointer_to_function(name)

    def _caller(self):
        """The intrinsic ``caller(address, *arguments) -> result``; an
        exception the helper raises is raised in the kernel."""
        deferred, result = self, self.result

        @intrinsic
        def caller(typingctx, address, *arguments):
            if len(arguments) == 1 and isinstance(arguments[0], types.StarArgTuple):
                arguments = tuple(arguments[0].types)
            if not isinstance(address, types.Integer):
                raise TypingError("a deferred helper's address must be an integer")
            plain = tuple(types.unliteral(argument) for argument in arguments)
            deferred.typed.add(plain)

            def codegen(context, builder, numba_signature, llvm_arguments):
                address_value, packed = llvm_arguments
                values = [
                    context.cast(builder, value, given, wanted)
                    for value, given, wanted in zip(
                        cgutils.unpack_tuple(builder, packed, len(arguments)),
                        arguments,
                        plain,
                        strict=True,
                    )
                ]
                call_conv = context.call_conv
                function_type = call_conv.get_function_type(result, plain)
                address_value = context.cast(
                    builder, address_value, numba_signature.args[0], types.int64
                )
                function = builder.inttoptr(address_value, function_type.as_pointer())
                status, returned = call_conv.call_function(
                    builder, function, result, plain, values
                )
                with cgutils.if_unlikely(builder, status.is_error):
                    call_conv.return_status_propagate(builder, status)
                return returned

            return result(address, types.StarArgTuple(arguments)), codegen

        return caller


def signature_of(*arguments):
    """The Numba types of ``arguments``, as a kernel receiving these objects
    passes them on to a ``Deferred`` part."""
    return tuple(typeof(argument) for argument in arguments)


def in_cache(cache, key_signature, target_context):
    """Whether Numba's on-disk ``cache`` holds ``key_signature``, read from
    its index without loading the code (which the compile that follows
    does)."""
    try:
        key = cache._index_key(key_signature, target_context.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # no index yet, or Numba's internals moved: not known
        return False


def has_cached(dispatcher):
    """Whether Numba's on-disk cache holds any compiled version of
    ``dispatcher`` (read from its index)."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:  # Numba's internals moved: take it as cached
        return True
