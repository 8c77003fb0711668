"""Checks and conversions at the boundary between Python and the kernels.

The kernels trust their arguments (Numba does no bounds checks), so every
shape, dtype, contiguity and index range is settled here first.
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._kernels import CSR, Targets


class Inputs(NamedTuple):
    """A feature matrix in kernel form: the ``X, csr`` pair of ``_kernels``.

    ``csr`` is None for dense input; for sparse input ``X`` is an empty
    ``(0, n_features)`` placeholder.
    """

    X: np.ndarray
    csr: CSR | None

    @property
    def n_samples(self):
        return self.X.shape[0] if self.csr is None else self.csr.indptr.shape[0] - 1


def writeable(array, dtype=None):
    """``array`` as a C-contiguous, writeable array of ``dtype``.

    Read-only arrays (memory maps, pandas columns) are copied: the kernels
    are compiled for writeable arrays only, and a read-only argument would
    compile every kernel a second time.
    """
    array = np.ascontiguousarray(array, dtype=dtype)
    return array if array.flags.writeable else array.copy()


def kernel_input(X):
    """Convert an already checked float32/float64 matrix for the kernels.

    Dense input becomes C-contiguous and writeable. Sparse input becomes CSR
    with int64 indices whose ranges are checked.
    """
    if not sp.issparse(X):
        return Inputs(writeable(X), None)

    X = sp.csr_matrix(X)
    n_samples, n_features = X.shape
    data = writeable(X.data)
    indices = writeable(X.indices, dtype=np.int64)
    indptr = writeable(X.indptr, dtype=np.int64)
    if (
        indptr.shape[0] != n_samples + 1
        or indptr[0] != 0
        or indptr[-1] != indices.shape[0]
        or data.shape[0] != indices.shape[0]
        or np.any(np.diff(indptr) < 0)
        or (indices.shape[0] and (indices.min() < 0 or indices.max() >= n_features))
    ):
        raise ValueError(
            "The sparse matrix X is malformed: its index arrays do not match its "
            f"shape {X.shape}. Rebuild it with scipy.sparse.csr_array(...)."
        )
    placeholder = np.empty((0, n_features), dtype=data.dtype)
    return Inputs(placeholder, CSR(data, indices, indptr))


def kernel_targets(Y, sample_weight):
    """A ``Targets`` tuple of one-hot rows and optional weights (same dtype)."""
    Y = writeable(Y)
    if sample_weight is None:
        return Targets(Y, np.empty(0, dtype=Y.dtype), False)
    return Targets(Y, writeable(sample_weight, dtype=Y.dtype), True)


def check_sample_weight(sample_weight, n_samples, dtype, all_rows=True):
    """Checked sample weights as a contiguous array of ``dtype``, or None.

    Raises a ``ValueError`` for weights of the wrong shape, non-finite or
    negative weights, and weights that are all zero (unless ``all_rows`` is
    False: these are some of the training rows).
    """
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight):
        sample_weight = np.full(n_samples, sample_weight)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"sample_weight must be numeric: {error}") from None
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight.shape == {weights.shape}, expected ({n_samples},)."
        )
    if not np.isfinite(weights).all():
        raise ValueError("sample_weight contains NaN or infinity.")
    if (weights < 0).any():
        raise ValueError("sample_weight must not contain negative weights.")
    if all_rows and not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return writeable(weights, dtype=dtype)


def all_finite(X):
    """Whether a float array has no NaN or infinity.

    Its sum is finite exactly when it has none, unless finite values
    overflow the sum; only then does the elementwise test run (the trick of
    scikit-learn's ``_assert_all_finite``, without a temporary array).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = X.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(X).all())
