"""The benchmarks' Dask cluster: two single-thread workers on free ports."""

import os
from contextlib import contextmanager


@contextmanager
def two_workers(processes=True):
    """A client of a ``LocalCluster`` of two single-thread workers.

    Yields ``(client, environ)``: ``environ`` is this process's environment
    as it was before the cluster set ``OMP_NUM_THREADS`` and friends in it
    for its workers, for in-memory contenders to run in; it is restored when
    the cluster closes. The dashboard takes any free port: 8787 belongs to
    whatever Dask already runs on the machine.
    """
    from dask.distributed import Client, LocalCluster

    environ = dict(os.environ)
    try:
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client, environ
    finally:
        os.environ.clear()
        os.environ.update(environ)
