"""Where the epochs of a fit spend their time, by phase: the cycle counter and
the profile.

``profiled()`` is a context: the mini-batch epochs (``sgd``, ``adam``) of
the fits it wraps, in this thread, run the kernels' timed specialization
(below), and the ``Profile`` it yields adds up every thread's cycles
per phase. The context is a ``ContextVar``, so fits in other threads, run
by other code meanwhile, are neither slowed nor counted.

This is a tool for developers (``benchmarks/profile_epoch.py``): a profiled
fit computes the same numbers, but its kernels are compiled once more.

The training kernels take a ``timers`` argument: None in every fit, or,
when a profile records one, this thread's row of an int64 array of
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
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._compiled import external, helper, kernel

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


@intrinsic
def read_cycles(typingctx):
    """The CPU's cycle counter (int64)."""

    def codegen(context, builder, signature, args):
        counter = external(builder, "llvm.readcyclecounter", ir.IntType(64))
        return builder.call(counter, [])

    return types.int64(), codegen


@helper
def now(timers):
    """The counter, or 0 without ``timers`` (then nothing is read)."""
    if timers is None:
        return 0
    return read_cycles()


@helper
def lap(timers, phase, since):
    """Add the cycles since ``since`` to ``timers[phase]``; returns the
    counter, the start of the next phase (nothing without ``timers``)."""
    if timers is None:
        return 0
    counter = read_cycles()
    timers[phase] += counter - since
    return counter


@kernel
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


_current = ContextVar("skce_profile", default=None)


class Profile:
    """Cycles per phase and thread of the epochs run while it was current.

    Attributes
    ----------
    counts : ndarray of int64, shape (n_threads, n_phases)
        Cycles per thread (the fit's threads, by number) and phase
        (``PHASES``).
    epochs : int
        The epochs counted.
    seconds : float
        Their time, from the calls of the epoch kernels to their returns.
    """

    def __init__(self):
        self.counts = new_timers(1)
        self.epochs = 0
        self.seconds = 0.0

    def add(self, timers, seconds):
        """Count an epoch's ``timers`` (one row per thread) and its time."""
        if timers.shape[0] > self.counts.shape[0]:
            grown = new_timers(timers.shape[0])
            grown[: self.counts.shape[0]] = self.counts
            self.counts = grown
        self.counts[: timers.shape[0]] += timers
        self.epochs += 1
        self.seconds += seconds

    def phase_seconds(self):
        """Seconds per epoch, shape ``(n_threads, n_phases)``."""
        return self.counts / cycles_per_second() / max(self.epochs, 1)

    def table(self):
        """``{phase: [seconds per epoch of each thread]}``, with ``"other"``:
        the epoch's time outside the timed phases, on thread 0."""
        per_epoch = self.phase_seconds()
        table = {name: per_epoch[:, i].tolist() for i, name in enumerate(PHASES)}
        wall = self.seconds / max(self.epochs, 1)
        table["other"] = [wall - float(np.sum(per_epoch[0]))]
        return table


@contextmanager
def profiled():
    """Profile the mini-batch epochs of the fits run in this context."""
    profile = Profile()
    token = _current.set(profile)
    try:
        yield profile
    finally:
        _current.reset(token)


@contextmanager
def epoch_timers(n_threads):
    """Counters for one epoch on ``n_threads`` threads (a row each), or
    ``[None] * n_threads`` when no profile is current. On leaving, the
    epoch counts in the current profile."""
    profile = _current.get()
    if profile is None:
        yield [None] * n_threads
        return
    timers = new_timers(n_threads)
    start = time.perf_counter()
    yield list(timers)
    profile.add(timers, time.perf_counter() - start)
