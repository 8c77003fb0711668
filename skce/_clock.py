"""The CPU's cycle counter in compiled code: how an epoch is profiled by phase.

The training kernels take a ``timers`` argument: None in every fit, or,
when ``_profile`` records one, this thread's row of an int64 array of
``len(PHASES)`` cycle counts. Every phase of the kernels is bracketed by
``now`` and ``lap``. For ``timers=None`` Numba prunes their bodies when it
compiles (as it prunes the sparse branches for dense input), so ``now`` is
the constant 0 and ``lap`` does nothing: a fit runs the same machine code
as without them, and a profiled run compiles a specialization of its own.

The counter is LLVM's ``readcyclecounter``: the time-stamp counter on x86,
which ticks at a constant rate on the CPUs of this century, whatever the
clock speed; ``cycles_per_second`` measures that rate against the
process's clock. On a target without a counter it reads 0, and a profile
reads all zeros.
"""

import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: The phases of an epoch, by index into a row of ``timers``.
PHASES = (
    "row gathering",
    "forward products",
    "activations",
    "cost and output error",
    "backward products",
    "bias sums",
    "penalty",
    "shard reduction",
    "optimizer update",
    "barriers",
)
(
    GATHER,
    FORWARD_PRODUCTS,
    ACTIVATIONS,
    COST,
    BACKWARD_PRODUCTS,
    BIAS_SUMS,
    PENALTY,
    REDUCTION,
    UPDATE,
    BARRIERS,
) = range(len(PHASES))

_helper = njit(
    cache=True,
    nogil=True,
    no_cpython_wrapper=True,
    no_cfunc_wrapper=True,
)


@intrinsic
def read_cycles(typingctx):
    """The CPU's cycle counter (int64)."""

    def codegen(context, builder, signature, args):
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
        )
        return builder.call(function, [])

    return types.int64(), codegen


@_helper
def now(timers):
    """The counter, or 0 without ``timers`` (then nothing is read)."""
    if timers is None:
        return 0
    return read_cycles()


@_helper
def lap(timers, phase, since):
    """Add the cycles since ``since`` to ``timers[phase]``; returns the
    counter, the start of the next phase (nothing without ``timers``)."""
    if timers is None:
        return 0
    counter = read_cycles()
    timers[phase] += counter - since
    return counter


@njit(cache=True, nogil=True)
def cycles():
    """The cycle counter, for Python."""
    return read_cycles()


def cycles_per_second(seconds=0.05):
    """The counter's rate, measured against ``time.perf_counter``."""
    cycles()  # compiled (or loaded) before the clock starts
    start, counter = time.perf_counter(), cycles()
    while time.perf_counter() - start < seconds:
        pass
    return (cycles() - counter) / (time.perf_counter() - start)


def new_timers(n_threads):
    """Zeroed ``timers`` for ``n_threads`` threads: one row each."""
    return np.zeros((n_threads, len(PHASES)), dtype=np.int64)
