"""A team: the threads that run one kernel call together, and how they meet.

A ``Team`` is passed to a kernel by each of its threads with the same
arguments; each takes its share of the work (the column blocks of every
large product, or a range of parameters) and the threads meet at
``barrier``, a spinning barrier in compiled code. A team of one
(``ALONE``) is the plain single-threaded call and never touches the
barrier's counters.

The barrier is built on LLVM's sequentially consistent atomics, so what
one thread wrote before a barrier is what the others read after it; a
Python-level lock would cost more than a mini-batch. A waiting thread
spins with the CPU's pause hint for a while, then yields its core
(``sched_yield``), so that more threads than cores (a grid search of
threaded fits, say) still make progress.
"""

import platform
import sys
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._compiled import external, helper
from ._profile import BARRIERS, lap, now

# Spins with the pause hint before a waiting thread starts yielding: a little
# longer than the wait of a balanced barrier.
_SPINS = 2000

# The spin-wait hint, as an LLVM intrinsic (Numba's LLVM has no inline
# assembler): x86's pause. Elsewhere the loop just spins.
_PAUSE = (
    "llvm.x86.sse2.pause" if platform.machine().lower() in ("x86_64", "amd64") else None
)


def _element_pointer(context, builder, array_type, array, index):
    array = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, array, [index])


@intrinsic
def atomic_load(typingctx, array, index):
    """``array[index]`` (int64), read atomically."""

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], *args)
        return builder.load_atomic(pointer, "seq_cst", 8)

    return types.int64(array, index), codegen


@intrinsic
def atomic_store(typingctx, array, index, value):
    """``array[index] = value`` (int64), written atomically."""

    def codegen(context, builder, signature, args):
        array, index, value = args
        pointer = _element_pointer(context, builder, signature.args[0], array, index)
        builder.store_atomic(value, pointer, "seq_cst", 8)
        return context.get_dummy_value()

    return types.void(array, index, value), codegen


@intrinsic
def atomic_add(typingctx, array, index, value):
    """``array[index] += value`` (int64) atomically; returns the old value."""

    def codegen(context, builder, signature, args):
        array, index, value = args
        pointer = _element_pointer(context, builder, signature.args[0], array, index)
        return builder.atomic_rmw("add", pointer, value, "seq_cst")

    return types.int64(array, index, value), codegen


@intrinsic
def relax(typingctx, spins):
    """Wait a moment: the CPU's pause hint, or yield the core after ``_SPINS``."""

    def codegen(context, builder, signature, args):
        (spins,) = args
        many = builder.icmp_signed(">", spins, ir.Constant(ir.IntType(64), _SPINS))
        with builder.if_else(many) as (then, otherwise):
            with then:
                if sys.platform != "win32":
                    builder.call(external(builder, "sched_yield", ir.IntType(32)), [])
            with otherwise:
                if _PAUSE is not None:
                    builder.call(external(builder, _PAUSE, ir.VoidType()), [])
        return context.get_dummy_value()

    return types.void(spins), codegen


@helper
def barrier(sync, n_threads):
    """Wait until ``n_threads`` threads have called this with ``sync``.

    ``sync`` is an int64 array, zeros at first: ``sync[0]`` counts the
    arrivals and ``sync[8]`` (another cache line) numbers the barrier
    rounds. The last thread to arrive resets the count and opens the round.
    """
    round_ = atomic_load(sync, 8)
    if atomic_add(sync, 0, 1) == n_threads - 1:
        atomic_store(sync, 0, 0)
        atomic_add(sync, 8, 1)
        return
    spins = 0
    while atomic_load(sync, 8) == round_:
        spins += 1
        relax(spins)


class Team(NamedTuple):
    """The threads that run one kernel call together (see ``_shards``).

    This thread is number ``thread`` of ``size``; ``sync`` (int64, 16 zeros
    at first) holds their barrier's counters and ``broadcast`` (float64, 4)
    what thread 0 computes for all. A team of one is the plain
    single-threaded call (``ALONE``), and never touches either array.
    ``rows``: whether the team cuts the rows of large products too, not
    only their columns (``_product.row_blocks``): a full batch's, which has
    rows to spare.
    """

    thread: int
    size: int
    sync: np.ndarray
    broadcast: np.ndarray
    rows: bool


#: A team of one: the calling thread.
ALONE = Team(0, 1, np.zeros(0, dtype=np.int64), np.zeros(0), False)


def team_of(size, rows=False):
    """The ``Team`` of each of ``size`` threads, sharing fresh counters."""
    sync = np.zeros(16, dtype=np.int64)
    broadcast = np.zeros(4)
    return [Team(thread, size, sync, broadcast, rows) for thread in range(size)]


@helper
def meet(team, timers=None):
    """Wait until every thread of ``team`` is here (nothing for one); the
    wait counts as ``BARRIERS`` in ``timers``."""
    if team.size > 1:
        clock = now(timers)
        barrier(team.sync, team.size)
        lap(timers, BARRIERS, clock)
