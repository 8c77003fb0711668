"""Compiling a run's code before it runs, in two processes at once when the
cache is cold.

A run (``_epoch.run``) reaches a few *units*: its pieces (``_pieces``),
the epoch kernel and its deferred parts, each for one signature. Numba
compiles under one lock per process, so a process compiles them one after
the other; but the units do not link into each other, and Numba caches
each on disk, where another process can find it. So when a run's units are
neither compiled in this process nor cached, and the fit is given two cores
or more (``_cores.cores_given``), ``prepare`` hands part of them to a
second Python process, compiles the rest here meanwhile, waits for the
other and loads its units from the cache. The first fit in a fresh
environment pays the longer of the two halves instead of their sum.

Anything the second process fails to leave in the cache (it crashed, the
cache is not shared) is compiled here after it ends, so the result is the
same either way; a user's own pieces (``Piece.cache`` False) are always
compiled here. ``warmup`` uses the same split over its processes.
"""

import os
import pickle
import subprocess
import sys
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from numba.core import config
from numba.core.dispatcher import Dispatcher

from ._cores import cores_given
from ._pieces import Piece, _in_cache

# Rough seconds each kind of unit takes to compile on a 2-core machine, to
# share them out (docs/performance.rst, "The first fit"); pieces take
# about PIECE_SECONDS, a second process STARTUP_SECONDS before it compiles.
KERNEL_SECONDS = {
    "run_epoch": 1.3,
    "forward": 1.4,
    "backward": 0.8,
    "gather": 0.3,
    "penalty_sums": 0.2,
    "update": 0.6,
    "predict_logits": 0.4,
    "probabilities": 0.1,
    "step_shards": 1.5,
    "accumulate": 0.3,
    "finish_gradient": 0.5,
}
PIECE_SECONDS = 0.35
STARTUP_SECONDS = 0.6

_lock = threading.Lock()
_collecting = ContextVar("skce_collecting", default=None)
_planned = {}


class PieceUnit:
    """A piece for arrays of ``dtype``."""

    def __init__(self, piece, dtype):
        self.piece, self.dtype = piece, dtype

    def __eq__(self, other):
        return isinstance(other, PieceUnit) and (self.piece, self.dtype) == (
            other.piece,
            other.dtype,
        )

    def __hash__(self):
        return hash((self.piece, self.dtype))

    seconds = PIECE_SECONDS

    def __repr__(self):
        return f"{self.piece.__name__}[{self.dtype}]"

    def ready(self):
        return self.piece.ready(self.dtype)

    def compile(self):
        self.piece.compiled(self.dtype)

    def task(self):
        """What another process compiles, or None: a user's piece."""
        if not self.piece.cache:
            return None
        return ("piece", self.piece.py_func.__module__, self.piece.__name__, self.dtype)


class KernelUnit:
    """A compiled kernel or deferred part for ``signature`` (Numba types)."""

    def __init__(self, dispatcher, signature):
        self.dispatcher, self.signature = dispatcher, tuple(signature)

    def __eq__(self, other):
        return isinstance(other, KernelUnit) and (
            self.dispatcher,
            self.signature,
        ) == (other.dispatcher, other.signature)

    def __hash__(self):
        return hash((self.dispatcher, self.signature))

    @property
    def seconds(self):
        return KERNEL_SECONDS.get(self.dispatcher.__name__, 1.0)

    def __repr__(self):
        return self.dispatcher.__name__

    def ready(self):
        dispatcher = self.dispatcher
        if self.signature in dispatcher.overloads:
            return True
        return _in_cache(dispatcher._cache, self.signature, dispatcher.targetctx)

    def compile(self):
        self.dispatcher.compile(self.signature)

    def task(self):
        function = self.dispatcher.py_func
        return ("kernel", function.__module__, function.__name__, self.signature)


class Group:
    """Units compiled one after the other in one process: they share
    helpers, which the first compiles and the others reuse."""

    def __init__(self, units):
        self.units = tuple(units)

    def __eq__(self, other):
        return isinstance(other, Group) and self.units == other.units

    def __hash__(self):
        return hash(self.units)

    @property
    def seconds(self):
        return sum(unit.seconds for unit in self.units)

    def __repr__(self):
        return "+".join(map(repr, self.units))

    def ready(self):
        return all(unit.ready() for unit in self.units)

    def compile(self):
        for unit in self.units:
            unit.compile()

    def task(self):
        tasks = [unit.task() for unit in self.units]
        return None if None in tasks else ("group", None, None, tasks)


def prepare(units, processes=None):
    """Compile (or load) every unit not ready yet: spread over
    ``processes`` processes (default: two if the fit is given two cores or
    more, else one) where that saves time, this one included."""
    if config.DISABLE_JIT:
        return
    if processes is None:
        processes = 2 if cores_given() > 1 else 1
    units = list(dict.fromkeys(units))
    grouped = {part for unit in units if isinstance(unit, Group) for part in unit.units}
    with _lock:
        missing = [unit for unit in units if unit not in grouped and not unit.ready()]
        if not missing:
            return
        here, *elsewhere = split(missing, processes)
        others = [_start(share) for share in elsewhere]
        for unit in here:
            unit.compile()
        for other in others:
            if other is not None:
                _finish(other)
        for share in elsewhere:
            for unit in share:
                unit.compile()  # loaded from the cache, or compiled if missing


def split(units, processes):
    """The units of each of ``processes`` processes, this one's first: the
    largest first, each to the process that would finish it first, another
    process only for units it can compile and only where it saves time."""
    shares = [[] for _ in range(processes)]
    loads = [0.0] + [STARTUP_SECONDS] * (processes - 1)
    for unit in sorted(units, key=lambda unit: -unit.seconds):
        choices = range(processes) if unit.task() is not None else range(1)
        best = min(choices, key=lambda p: loads[p])
        shares[best].append(unit)
        loads[best] += unit.seconds
    if max(loads) >= sum(unit.seconds for unit in units):
        return [list(units)] + [[] for _ in range(processes - 1)]
    return shares


def planned(key, units, resolve):
    """What ``resolve()`` gives once the ``units()`` a configuration ``key``
    reaches are compiled: planned on the configuration's first run, kept for
    the next ones. Inside ``collecting``, the units are listed instead and
    None is returned (nothing may run)."""
    found = _planned.get(key)
    collected = _collecting.get()
    if collected is not None:
        collected.extend(units())
        return None
    if found is None:
        prepare(units())
        found = _planned[key] = resolve()
    return found


@contextmanager
def collecting():
    """A context in which runs (``_epoch.run``) list the units they reach
    into the list it yields, and run nothing (``warmup``)."""
    units = []
    token = _collecting.set(units)
    try:
        yield units
    finally:
        _collecting.reset(token)


def _start(units):
    """A second process compiling ``units`` into the cache, or None if it
    cannot be started."""
    root = str(Path(__file__).resolve().parent.parent)
    code = (
        f"import sys; sys.path.insert(0, {root!r}); "
        f"from {__package__}._ahead import work; work()"
    )
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=os.environ.copy(),
        )
        process.stdin.write(pickle.dumps([unit.task() for unit in units]))
        process.stdin.close()
    except (OSError, pickle.PicklingError):
        return None
    return process


def _finish(process):
    """Wait for a second process (a hung one is stopped)."""
    try:
        process.wait(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def work():
    """The second process: compile the tasks read from standard input."""
    import importlib

    def run(tasks):
        for kind, module, name, detail in tasks:
            if kind == "group":
                run(detail)
                continue
            target = getattr(importlib.import_module(module), name)
            if kind == "piece":
                target.compiled(detail)
            else:
                target.compile(detail)

    run(pickle.load(sys.stdin.buffer))


def cache_counts():
    """``(loaded, compiled)``: how many of skce's compiled functions this
    process has loaded from Numba's on-disk cache, and compiled; a process
    that finds everything cached compiles none."""
    loaded = compiled = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith(__package__ + ".") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Piece):
                loaded += value.hits
                compiled += value.misses
            elif isinstance(value, Dispatcher) and value.__module__ == name:
                loaded += sum(value.stats.cache_hits.values())
                compiled += sum(value.stats.cache_misses.values())
    return loaded, compiled


__all__ = [
    "Group",
    "KernelUnit",
    "Piece",
    "PieceUnit",
    "cache_counts",
    "collecting",
    "planned",
    "prepare",
    "split",
    "work",
]
