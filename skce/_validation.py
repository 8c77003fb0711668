"""Checks and conversions at the boundary between Python and the kernels.

The kernels trust their arguments (Numba does no bounds checks), so every
shape, dtype, contiguity and index range is settled here first.
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

_NO_INDEX = np.empty(0, dtype=np.int64)


class KernelInput(NamedTuple):
    """A feature matrix in the form the kernels take (see ``_kernels``)."""

    dense: np.ndarray
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    is_sparse: bool

    @property
    def n_samples(self):
        return self.indptr.shape[0] - 1 if self.is_sparse else self.dense.shape[0]

    def kernel_args(self):
        return self.dense, self.data, self.indices, self.indptr, self.is_sparse


def kernel_input(X):
    """Convert an already validated float32/float64 matrix for the kernels.

    Dense input becomes C-contiguous and writeable: read-only arrays (such as
    memory maps) are copied, since the kernels are compiled for writeable
    arrays only and a second variant would double the compile time. Sparse
    input becomes CSR with int64 indices whose ranges are checked.
    """
    if not sp.issparse(X):
        X = np.ascontiguousarray(X)
        if not X.flags.writeable:
            X = X.copy()
        return KernelInput(X, np.empty(0, X.dtype), _NO_INDEX, _NO_INDEX, False)

    X = sp.csr_matrix(X)
    n_samples, n_features = X.shape
    data = np.ascontiguousarray(X.data)
    indices = np.ascontiguousarray(X.indices, dtype=np.int64)
    indptr = np.ascontiguousarray(X.indptr, dtype=np.int64)
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
    return KernelInput(placeholder, data, indices, indptr, True)


def check_sample_weight(sample_weight, n_samples, dtype):
    """Validated sample weights as a contiguous array of ``dtype``, or None.

    Raises a ``ValueError`` for weights of the wrong shape, non-finite or
    negative weights, and weights that are all zero.
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
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return np.ascontiguousarray(weights, dtype=dtype)
