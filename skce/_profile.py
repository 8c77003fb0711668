"""Where the epochs of a fit spend their time, by phase.

``profiled()`` is a context: the mini-batch epochs (``sgd``, ``adam``) of
the fits it wraps, in this thread, run the kernels' timed specialization
(``_clock``), and the ``Profile`` it yields adds up every thread's cycles
per phase. The context is a ``ContextVar``, so fits in other threads, run
by other code meanwhile, are neither slowed nor counted.

This is a tool for developers (``benchmarks/profile_epoch.py``): a profiled
fit computes the same numbers, but its kernels are compiled once more.
"""

import time
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from ._clock import PHASES, cycles_per_second, new_timers

_current = ContextVar("skce_profile", default=None)


class Profile:
    """Cycles per phase and thread of the epochs run while it was current.

    Attributes
    ----------
    counts : ndarray of int64, shape (n_threads, n_phases)
        Cycles per thread (the fit's threads, by number) and phase
        (``_clock.PHASES``).
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
