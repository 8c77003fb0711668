"""Matrix products of the kernels: dense ones on skce's own BLAS, sparse
ones over a CSR matrix's rows, and how a product is cut into column blocks.

Every operand is a flat vector (``X`` flattened, ``theta``, ``work``, the
gradient) and a matrix is a run of it: ``rows x columns`` row-major from an
element offset. So one compiled product serves every operand, and no kernel
makes 2-D views of its buffers.

A dense product goes to skce's single-threaded OpenBLAS (``_blas``); every
thread of a team (``_team``) runs its own column blocks, so a fit's
parallelism is its own. The blocks depend on the product's shape alone,
never on the thread count, so the numbers do not either.
"""

from ._blas import cblas_dot, cblas_gemm, cblas_gemv
from ._compiled import helper

# Products of at least this many multiply-adds are cut into column blocks of
# BLOCK_COLUMNS (the last block takes the remainder), at most MAX_BLOCKS,
# which a team's threads share; a smaller one is a single block. The blocks
# depend on the product's shape alone, so a fit's numbers never depend on
# how many threads computed them (BLAS rounds a narrower product its own
# way, so the cut itself must not move). The sizes were measured on W4:
# docs/performance.rst, "The constants and what they were measured on".
SPLIT_WORK = 4_000_000
BLOCK_COLUMNS = 256
MAX_BLOCKS = 16
# A team that cuts rows too (a full batch's: ``_team.Team.rows``) cuts a
# product of ROW_SPLIT_WORK multiply-adds or more and one column block into
# at most MAX_BLOCKS row blocks, each a whole number of units of rows but
# the last (``row_unit``: ROW_UNIT_64 for float64, ROW_UNIT_32 for
# float32). A row block of a product is the same sums as the product's
# rows, and BLAS computes them alike where the cut falls on a multiple of
# its kernels' unroll, as its own threads cut products: so the rows of a
# block are those of the whole product, bit for bit, where the unit is a
# multiple of the unroll (Haswell's sgemm unrolls 24 rows, its dgemm 4;
# ``tests/test_kernels.py`` checks it on the machine it runs on).
ROW_UNIT_64 = 32
ROW_UNIT_32 = 96
ROW_SPLIT_WORK = 1_000_000
# A full batch of fewer multiply-adds (over its forward and backward
# products) keeps one thread: waking a second and meeting it at every layer
# costs more than it saves (docs/performance.rst, "The constants and what
# they were measured on").
ROW_TEAM_WORK = 50_000_000


@helper
def column_blocks(m, k, n):
    """How many column blocks ``(m x k) @ (k x n)`` is computed in."""
    if m < 2 or n < 2 or m * k * n < SPLIT_WORK:
        return 1
    return max(1, min(n // BLOCK_COLUMNS, MAX_BLOCKS))


@helper
def block_columns(block, n_blocks, n):
    """The columns ``(lo, hi)`` of block ``block`` of ``n_blocks`` of ``n``."""
    lo = block * BLOCK_COLUMNS
    return lo, n if block == n_blocks - 1 else lo + BLOCK_COLUMNS


@helper
def row_unit(itemsize):
    """The rows of a row block's unit, for elements of ``itemsize`` bytes."""
    return ROW_UNIT_64 if itemsize == 8 else ROW_UNIT_32


@helper
def row_blocks(m, k, n, unit):
    """How many row blocks ``(m x k) @ (k x n)`` is cut into by a team that
    cuts rows (``Team.rows``): one unless the product is large and has a
    single column block. Products with one column stay whole (they are
    matrix-vector products, which BLAS rounds by other rules)."""
    if n < 2 or m < 2 * unit or m * k * n < ROW_SPLIT_WORK:
        return 1
    if m * k * n >= SPLIT_WORK and n // BLOCK_COLUMNS > 1:
        return 1  # cut into column blocks (``column_blocks``) instead
    return min(m // unit, MAX_BLOCKS)


@helper
def block_rows(block, n_blocks, m, unit):
    """The rows ``(lo, hi)`` of row block ``block`` of ``n_blocks`` of
    ``m``: whole multiples of ``unit``, as even as they go; the last takes
    the rest."""
    units = m // unit
    lo = unit * (units * block // n_blocks)
    hi = m if block == n_blocks - 1 else unit * (units * (block + 1) // n_blocks)
    return lo, hi


def most_blocks(layer_units, n_rows, rows=False, itemsize=8):
    """The most blocks of any product of a batch of ``n_rows`` rows (column
    blocks, and with ``rows`` row blocks, if the batch has ``ROW_TEAM_WORK``
    multiply-adds): how many threads a team of ``backprop`` can keep busy.
    Python, by the kernels' own rules (``column_blocks`` and
    ``row_blocks``, run as Python); ``itemsize``: of the elements."""
    unit = row_unit.py_func(itemsize)

    def blocks(m, k, n):
        columns = column_blocks.py_func(m, k, n)
        return max(columns, row_blocks.py_func(m, k, n, unit) if rows else 1)

    units = [int(u) for u in layer_units]
    if rows:
        products = sum(a * b for a, b in zip(units[:-1], units[1:], strict=True))
        if 3 * n_rows * products < ROW_TEAM_WORK:
            rows = False
    most = 1
    for layer, (n_in, n_out) in enumerate(zip(units[:-1], units[1:], strict=True)):
        most = max(most, blocks(n_rows, n_in, n_out), blocks(n_in, n_rows, n_out))
        if layer > 0:
            most = max(most, blocks(n_rows, n_out, n_in))
    return most


@helper
def gemm(trans_a, trans_b, m, n, k, A, a0, B, b0, C, c0, beta, r_lo, r_hi, lo, hi):
    """Rows ``[r_lo, r_hi)`` and columns ``[lo, hi)`` of ``C = op(A) @
    op(B) + beta * C``, by skce's single-threaded BLAS (``_blas``).

    ``op(A)`` is ``m x k``, stored row-major in the flat array ``A`` from
    element ``a0`` (as ``k x m`` where ``trans_a``); ``op(B)`` is ``k x n``
    (stored ``n x k`` where ``trans_b``) from ``B[b0]``; ``C`` is ``m x n``
    from ``C[c0]``. A column block is the same sums as the whole product,
    but BLAS may round them otherwise (it picks its kernels by shape):
    callers cut products by shape alone (``column_blocks``, ``row_blocks``),
    never by thread; a row range is only taken from a product of two rows
    and two columns or more. The extents are checked here, since BLAS reads
    whatever memory it is told to.
    """
    if (
        min(m, n, k, a0, b0, c0) < 0
        or a0 + m * k > A.shape[0]
        or b0 + k * n > B.shape[0]
        or c0 + m * n > C.shape[0]
        or not (0 <= lo <= hi <= n)
        or not (0 <= r_lo <= r_hi <= m)
        or ((r_lo > 0 or r_hi < m) and (m < 2 or n < 2))
    ):
        raise ValueError("gemm: operands out of their arrays")
    if r_hi == r_lo or hi == lo:
        return
    if k == 0:  # BLAS never reads C when beta is 0: it may hold garbage
        for i in range(r_lo, r_hi):
            row = C[c0 + i * n + lo : c0 + i * n + hi]
            for j in range(row.shape[0]):
                row[j] = beta * row[j] if beta != 0.0 else 0.0
        return
    # A product with one row or one column is a matrix-vector product (one
    # number: a dot product), which BLAS computes with other kernels and
    # other rounding: as np.dot does in Numba, so the numbers stay those of
    # the kernels that called np.dot.
    if m == 1 and n == 1:
        product = cblas_dot(A[a0 : a0 + k], B[b0 : b0 + k])
        C[c0] = product + beta * C[c0] if beta != 0.0 else product
    elif n == 1:
        if trans_a:  # op(A) = A.T, A stored k x m
            cblas_gemv(True, k, m, A, a0, m, B, b0, beta, C, c0)
        else:
            cblas_gemv(False, m, k, A, a0, k, B, b0, beta, C, c0)
    elif m == 1:
        # C = a @ op(B) with a the one row of op(A), stored contiguously
        # either way; columns lo:hi of op(B).
        if trans_b:  # op(B) = B.T, B stored n x k: rows lo:hi of B
            cblas_gemv(False, hi - lo, k, B, b0 + lo * k, k, A, a0, beta, C, c0 + lo)
        else:  # B stored k x n: its columns lo:hi
            cblas_gemv(True, k, hi - lo, B, b0 + lo, n, A, a0, beta, C, c0 + lo)
    else:
        cblas_gemm(
            trans_a,
            trans_b,
            r_hi - r_lo,
            hi - lo,
            k,
            A,
            a0 + (r_lo if trans_a else r_lo * k),
            m if trans_a else k,
            B,
            b0 + (lo * k if trans_b else lo),
            k if trans_b else n,
            beta,
            C,
            c0 + r_lo * n + lo,
            n,
        )


@helper
def csr_rows_dot(csr, rows, weights, w0, n_cols, out, o0):
    """``out = X[rows] @ W`` for the CSR matrix ``csr`` and ``W`` the
    ``n_features x n_cols`` matrix at ``weights[w0]``, into the
    ``n_rows x n_cols`` matrix at ``out[o0]`` (overwritten)."""
    for i in range(rows.shape[0]):
        r = rows[i]
        out_row = out[o0 + i * n_cols : o0 + (i + 1) * n_cols]
        for j in range(n_cols):
            out_row[j] = 0.0
        for p in range(csr.indptr[r], csr.indptr[r + 1]):
            value = csr.data[p]
            start = w0 + csr.indices[p] * n_cols
            w_row = weights[start : start + n_cols]
            for j in range(n_cols):
                out_row[j] += value * w_row[j]


@helper
def csr_rows_transpose_dot(csr, rows, delta, d0, n_cols, out, o0, n_features):
    """``out = X[rows].T @ D`` for the CSR matrix ``csr`` and ``D`` the
    ``n_rows x n_cols`` matrix at ``delta[d0]``, into the ``n_features x
    n_cols`` matrix at ``out[o0]`` (overwritten)."""
    for k in range(o0, o0 + n_features * n_cols):
        out[k] = 0.0
    for i in range(rows.shape[0]):
        r = rows[i]
        d_row = delta[d0 + i * n_cols : d0 + (i + 1) * n_cols]
        for p in range(csr.indptr[r], csr.indptr[r + 1]):
            value = csr.data[p]
            start = o0 + csr.indices[p] * n_cols
            out_row = out[start : start + n_cols]
            for j in range(n_cols):
                out_row[j] += value * d_row[j]
