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

import atexit
import hashlib
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from numba.core import config
from numba.core.dispatcher import Dispatcher

from ._cores import cores_given
from ._pieces import Piece, in_cache

# Rough seconds each kind of unit takes to compile (docs/performance.rst,
# "The first fit"), which order the work, the largest first; pieces take
# about PIECE_SECONDS.
KERNEL_SECONDS = {
    "run_epoch": 2.0,
    "forward": 1.4,
    "backward": 0.85,
    "gather": 0.25,
    "penalty_sums": 0.1,
    "update": 0.45,
    "predict_logits": 0.3,
    "probabilities": 0.06,
    "step_shards": 1.5,
    "accumulate": 0.3,
    "finish_gradient": 0.5,
}
PIECE_SECONDS = 0.25
# Less work than this to hand over is not worth another process.
MOVABLE_SECONDS = 1.0
# A helper process ends after this long without work; a batch that takes
# longer than BATCH_SECONDS is taken for hung.
IDLE_SECONDS = 60
BATCH_SECONDS = 600

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
        return in_cache(dispatcher._cache, self.signature, dispatcher.targetctx)

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
    """Compile (or load) every unit not ready yet, in ``processes``
    processes at once (default: two if the fit is given two cores or more,
    else one), this one included.

    Each process takes the largest unit not yet claimed and claims it
    before it compiles it (``_claim``): the processes share the work by
    their actual speeds, end on small units, and none compiles a unit
    twice. This one then waits for the others, and loads what they left in
    the cache (or compiles what they did not).
    """
    if config.DISABLE_JIT:
        return
    if processes is None:
        processes = 2 if cores_given() > 1 else 1
    units = list(dict.fromkeys(units))
    grouped = {part for unit in units if isinstance(unit, Group) for part in unit.units}
    with _lock:
        missing = [unit for unit in units if unit not in grouped and not unit.ready()]
        missing.sort(key=lambda unit: -unit.seconds)
        movable = [unit for unit in missing if unit.task() is not None]
        if processes < 2 or sum(unit.seconds for unit in movable) < MOVABLE_SECONDS:
            for unit in missing:
                unit.compile()
            return
        tasks = [(_name(unit.task()), unit.task()) for unit in movable]
        with tempfile.TemporaryDirectory(prefix="skce-claims-") as claims:
            others = _helpers(processes - 1)
            for helper in others:
                helper.submit(claims, tasks)
            for unit in missing:
                if unit.task() is None or _claim(claims, _name(unit.task())):
                    unit.compile()
            for helper in others:
                helper.wait()
        for unit in missing:
            unit.compile()  # loaded from the cache, or compiled if missing


def _claim(folder, name):
    """Whether this process claims the unit ``name`` (``_name``): its file in
    ``folder`` made now, rather than by another process first."""
    try:
        os.close(os.open(os.path.join(folder, name), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def _name(task):
    """A unit's name among the claims, made by the process that starts the
    others (a task unpickled elsewhere need not pickle to the same bytes)."""
    return hashlib.sha1(pickle.dumps(task)).hexdigest()


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


class Helper:
    """Another Python process that compiles units for this one (``work``).

    Started when first needed (or by ``standby``), it takes one batch of
    tasks after another over its standard input and answers each on its
    standard output when done, so that later runs pay no start-up. It ends
    when this process ends (its input closes) or after ``IDLE_SECONDS``
    without work.
    """

    def __init__(self):
        root = str(Path(__file__).resolve().parent.parent)
        code = (
            f"import sys; sys.path.insert(0, {root!r}); "
            f"from {__package__}._ahead import work; work()"
        )
        self.owner = os.getpid()
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=os.environ.copy(),
        )
        self.busy = False

    def alive(self):
        """Whether the process runs, for this process (not a fork of it)."""
        return self.owner == os.getpid() and self.process.poll() is None

    def submit(self, claims, tasks):
        """Send a batch: the ``(name, task)`` pairs, claimed in ``claims``."""
        data = pickle.dumps((claims, tasks))
        try:
            self.process.stdin.write(struct.pack("<Q", len(data)) + data)
            self.process.stdin.flush()
            self.busy = True
        except OSError:  # it ended meanwhile: this process compiles alone
            self.busy = False

    def close(self):
        """End the process (its input closes, so it returns) and its pipes."""
        if self.owner != os.getpid():
            return  # a fork's copy: the process is its parent's
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def wait(self):
        """Wait until the batch is done (or the process is gone)."""
        if self.busy:
            if _readable(self.process.stdout, BATCH_SECONDS):
                self.process.stdout.readline()
            else:  # hung: stop it, this process compiles what is left
                self.process.kill()
            self.busy = False


_started = []


def _helpers(count):
    """``count`` helper processes, those alive reused."""
    for helper in [helper for helper in _started if not helper.alive()]:
        helper.close()
        _started.remove(helper)
    while len(_started) < count:
        try:
            _started.append(Helper())
        except OSError:
            break
    return _started[:count]


@atexit.register
def _close_helpers():
    for helper in _started:
        helper.close()


def standby():
    """Start a helper now, before a fit needs it, when skce's cache is cold
    and two cores are given: it imports and starts Numba while the caller
    imports and loads its data."""
    if config.DISABLE_JIT or cores_given() < 2 or _started:
        return
    _helpers(1)


def _readable(stream, seconds):
    """Whether ``stream`` has data (or ended) within ``seconds``; where
    pipes cannot be polled (Windows), wait."""
    if sys.platform == "win32":
        return True
    ready, _, _ = select.select([stream], [], [], seconds)
    return bool(ready)


def work():
    """The helper process: compile the batches read from standard input."""
    import importlib

    from numba import njit

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

    njit(lambda: 0)()  # Numba's start, before the first batch comes
    stdin = sys.stdin.buffer
    while _readable(stdin, IDLE_SECONDS):
        header = stdin.read(8)
        if len(header) < 8:
            return  # the process it served has ended
        claims, tasks = pickle.loads(stdin.read(struct.unpack("<Q", header)[0]))
        for name, task in tasks:
            if _claim(claims, name):
                try:
                    run([task])
                except Exception:  # noqa: BLE001 - the other process compiles it
                    pass
        sys.stdout.write("done\n")
        sys.stdout.flush()


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
    "Helper",
    "KernelUnit",
    "Piece",
    "PieceUnit",
    "cache_counts",
    "collecting",
    "planned",
    "prepare",
    "standby",
    "work",
]
