"""Today's fits against the fits recorded before the solver redesign.

``tests/data/golden.npz`` was written by ``tests/_golden.py`` with the code of
commit a1b8371. On the machine that wrote it the fits agree bit for bit
(``SKCE_GOLDEN_EXACT=1`` asserts that); elsewhere OpenBLAS may round the last
bits of a matrix product differently, hence ``rtol=1e-10``.
"""

import os

import numpy as np
import pytest
from _golden import CASES, PATH, record

EXACT = bool(os.environ.get("SKCE_GOLDEN_EXACT"))


@pytest.fixture(scope="module")
def golden():
    with np.load(PATH) as archive:
        return {key: archive[key] for key in archive.files}


def test_every_case_was_recorded(golden):
    assert {key.split("/")[0] for key in golden} == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_fit_matches_the_recorded_fit(golden, name):
    now = record(name)
    recorded = {
        key.split("/")[1]: v for key, v in golden.items() if key.startswith(name + "/")
    }
    assert now.keys() == recorded.keys()
    for key, expected in recorded.items():
        assert now[key].dtype == expected.dtype, key
        assert now[key].shape == expected.shape, key
        if EXACT or key == "counters":
            np.testing.assert_array_equal(now[key], expected, err_msg=key)
        else:
            np.testing.assert_allclose(
                now[key], expected, rtol=1e-10, atol=1e-13, err_msg=key
            )
