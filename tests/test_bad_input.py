"""Every bad input gets a clear ValueError, TypeError or NotFittedError.

The calls run in a spawned child process: a bad index reaching a compiled
kernel could crash the interpreter, and must then fail the test rather than
end the test run.
"""

import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import _bad_inputs
import pytest


@pytest.fixture(scope="module")
def child():
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        yield pool


def test_there_are_at_least_forty_cases():
    methods = {method for method, _, _ in _bad_inputs.CASES.values()}
    assert len(_bad_inputs.CASES) >= 40
    assert methods == {
        "fit",
        "partial_fit",
        "predict",
        "predict_proba",
        "predict_log_proba",
        "score",
    }


@pytest.mark.parametrize("name", list(_bad_inputs.CASES))
def test_bad_input_gets_a_clear_error(child, name):
    _, pattern, _ = _bad_inputs.CASES[name]
    try:
        kind, message, allowed = child.submit(_bad_inputs.run, name).result(timeout=120)
    except BrokenProcessPool:  # pragma: no cover - the point of the child
        pytest.fail(f"{name}: the child process crashed")
    assert allowed, f"{name}: {kind}: {message}"
    assert re.search(pattern, message), f"{name}: {kind}: {message!r} lacks {pattern!r}"
