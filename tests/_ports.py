"""Test clusters that leave a user's own Dask alone.

Any running Dask cluster holds the dashboard port 8787, and ``LocalCluster``
binds that port even with ``dashboard_address=None`` (distributed 2026.8
still serves its HTTP routes there, and warns when it is taken, which the
tests turn into an error). The project's clusters therefore ask for any
free port, and the tests hold 8787 while they start.
"""

import os
import socket
from contextlib import contextmanager

from dask.distributed import LocalCluster

DASHBOARD = 8787


@contextmanager
def local_cluster(n_workers=2):
    """A ``LocalCluster`` of worker processes with one thread each, on
    loopback and free ports; the environment variables it sets for its
    workers (``OMP_NUM_THREADS`` and friends) are undone when it closes."""
    environ = dict(os.environ)
    try:
        with LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster:
            yield cluster
    finally:
        os.environ.clear()
        os.environ.update(environ)


@contextmanager
def dashboard_port_taken():
    """Port 8787 held, as a user's running Dask holds it.

    If something holds it already (a user's cluster), that is as good.
    """
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            holder.bind(("", DASHBOARD))
            holder.listen()
        except OSError:
            pass  # taken already: what this context is for
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            assert probe.connect_ex(("127.0.0.1", DASHBOARD)) == 0, "8787 not held"
        finally:
            probe.close()
        yield
    finally:
        holder.close()
