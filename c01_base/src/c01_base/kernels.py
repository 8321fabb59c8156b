"""Matrix multiply kernels compiled with numba: a naive loop and a blocked (tiled) loop.

``C = A @ B`` with A of shape (M, K) and B of shape (K, N) costs 2·M·K·N flops
(one multiply and one add per term). Both kernels use the *i-k-j* loop order:

    for i in rows of A:            # one output row at a time
        for p in range(K):         # one term of the reduction
            a_ip = A[i, p]
            C[i, :] += a_ip * B[p, :]   # unit-stride in B and C: vectorisable

The naive kernel runs that loop over the whole matrices, so once B no longer
fits in cache, every row of B comes from main memory again for every row of A.
The blocked kernel runs the same loop over tiles of ``block`` x ``block``
elements: a tile of B is loaded once and reused for every row of the current
tile of A while it is still in cache. Tiling has a cost (shorter inner loops,
more loop overhead), so it only wins once B falls out of cache: on the
benchmark machine at n = 2048, not at n <= 1024. Neither comes close to BLAS,
which adds register tiling, packing and hand-tuned SIMD.

Layout: the kernels are compiled for C-contiguous inputs only. A non-contiguous
operand (a transposed or sliced view) is copied into C order once, an O(n²)
cost next to the O(n³) multiply, so the inner loop always runs at unit stride and
numba compiles two signatures per kernel (float32 and float64) instead of one
per memory layout.

One detail decides whether LLVM vectorises the innermost loop: indexing from 0
(``out_row[j]`` for ``j in range(width)``) lets numba prove the index is not
negative, while ``out[i, j]`` for ``j in range(j0, j1)`` needs a negative-index
check on every element, which blocks SIMD and makes the blocked kernel about
3x slower. So the blocked kernel slices 1-D row views of the tile first.

The kernels are ``nogil=True``: they touch no Python objects, so several threads
can run them at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from c01_base.validation import check_matmul_operands

DEFAULT_BLOCK = 128  # a 128 x 128 float64 tile of B is 128 KiB: it fits in a typical L2 cache


@njit(cache=True, nogil=True)
def _matmul_ijk_kernel(a: NDArray[Any], b: NDArray[Any], out: NDArray[Any]) -> None:
    """``out = a @ b`` with the textbook i-j-k loop: one dot product per element of C.

    Given, not an exercise: it is the first step of the benchmark's climb. The inner loop walks a
    column of B (stride N elements), so every step touches a new cache line, and the dot product's
    running sum is one serial dependency chain that LLVM may not reorder into SIMD lanes.
    """
    m, k = a.shape
    n = b.shape[1]
    for i in range(m):
        for j in range(n):
            total = out[i, j]
            for p in range(k):
                total += a[i, p] * b[p, j]
            out[i, j] = total


def matmul_ijk(a: NDArray[np.floating[Any]], b: NDArray[np.floating[Any]]) -> NDArray[np.floating[Any]]:
    """``a @ b`` with the textbook i-j-k kernel (operands validated and made C-contiguous)."""
    a, b = check_matmul_operands(a, b)
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    out = np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype)
    _matmul_ijk_kernel(a, b, out)
    return out


@njit(cache=True, nogil=True)
def _matmul_naive_kernel(a: NDArray[Any], b: NDArray[Any], out: NDArray[Any]) -> None:
    """Accumulate ``a @ b`` into the zeroed ``out`` with the plain i-k-j loop."""
    # BEGIN SOLUTION c01.1: the i-k-j triple loop, accumulating into out
    m, k = a.shape
    n = b.shape[1]
    for i in range(m):
        for p in range(k):
            a_ip = a[i, p]
            for j in range(n):
                out[i, j] += a_ip * b[p, j]
    # END SOLUTION


@njit(cache=True, nogil=True)
def _matmul_blocked_kernel(a: NDArray[Any], b: NDArray[Any], out: NDArray[Any], block: int) -> None:
    """Accumulate ``a @ b`` into the zeroed ``out``, one ``block``-sized tile at a time."""
    # BEGIN SOLUTION c01.1: loop over tiles (i0, p0, j0), run the i-k-j loop inside each tile
    m, k = a.shape
    n = b.shape[1]
    for i0 in range(0, m, block):
        i1 = min(i0 + block, m)
        for p0 in range(0, k, block):
            p1 = min(p0 + block, k)
            for j0 in range(0, n, block):
                j1 = min(j0 + block, n)
                # The tile B[p0:p1, j0:j1] stays in cache for all rows i0..i1.
                for i in range(i0, i1):
                    out_row = out[i, j0:j1]  # 1-D views: no copy
                    for p in range(p0, p1):
                        a_ip = a[i, p]
                        b_row = b[p, j0:j1]
                        for j in range(j1 - j0):
                            out_row[j] += a_ip * b_row[j]
    # END SOLUTION


def matmul_naive(
    a: NDArray[np.floating[Any]], b: NDArray[np.floating[Any]], *, check_finite: bool = False
) -> NDArray[np.floating[Any]]:
    """Multiply two matrices with the naive compiled kernel.

    Args:
        a: (M, K) float32 or float64 matrix, any memory layout.
        b: (K, N) matrix of the same dtype.
        check_finite: reject NaN/inf inputs with a ValueError.

    Returns:
        A new C-contiguous (M, N) array of the operands' dtype.
    """
    # BEGIN SOLUTION c01.1: validate, make operands C-contiguous, zero the output, run the kernel
    a, b = check_matmul_operands(a, b, check_finite=check_finite)
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    out = np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype)  # (M, K) @ (K, N) -> (M, N)
    _matmul_naive_kernel(a, b, out)
    return out
    # END SOLUTION


def matmul_blocked(
    a: NDArray[np.floating[Any]],
    b: NDArray[np.floating[Any]],
    block: int = DEFAULT_BLOCK,
    *,
    check_finite: bool = False,
) -> NDArray[np.floating[Any]]:
    """Multiply two matrices with the blocked (tiled) compiled kernel.

    Args:
        a: (M, K) float32 or float64 matrix, any memory layout.
        b: (K, N) matrix of the same dtype.
        block: tile edge length, a positive int; any value is correct, the
            default is a cache-friendly size.
        check_finite: reject NaN/inf inputs with a ValueError.

    Returns:
        A new C-contiguous (M, N) array of the operands' dtype.

    Raises:
        ValueError: ``block`` is not a positive integer, or see
            :func:`~c01_base.validation.check_matmul_operands`.
    """
    # BEGIN SOLUTION c01.1: validate (including block), allocate the output, run the tiled kernel
    a, b = check_matmul_operands(a, b, check_finite=check_finite)
    if isinstance(block, bool) or not isinstance(block, int | np.integer) or block < 1:
        raise ValueError(f"block must be a positive integer, got {block!r}")
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    out = np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype)  # (M, K) @ (K, N) -> (M, N)
    _matmul_blocked_kernel(a, b, out, int(block))
    return out
    # END SOLUTION
