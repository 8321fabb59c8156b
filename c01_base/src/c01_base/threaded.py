"""Thread-parallel matmul: row blocks of one preallocated output, one block per thread.

Python threads normally cannot run Python bytecode at the same time (the GIL),
but ``np.matmul`` on float arrays calls BLAS and *releases the GIL* while it
runs, so threads that spend their time inside numpy do run in parallel.

Row ``i`` of ``C = A @ B`` only needs row ``i`` of A (and all of B), so splitting
the rows of A splits the work with no communication at all:

    C[r0:r1] = A[r0:r1] @ B          # (r1-r0, K) @ (K, N) -> (r1-r0, N)

Each thread computes one such block and writes it, through ``out=``, straight
into its own disjoint slice of ONE output array allocated up front. No thread
allocates a partial result, nothing is copied or concatenated afterwards, and
because the slices are disjoint no lock is needed. Reading A and B from several
threads at once is safe: nobody writes them. (That is also why ``out`` must not
overlap an input.)

Note: numpy's BLAS may itself be multithreaded; with 2 workers on a 2-core
machine the two levels compete for the same cores.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from c01_base.validation import check_matmul_operands, check_output


def row_slices(n_rows: int, n_blocks: int) -> list[slice]:
    """Split ``range(n_rows)`` into at most ``n_blocks`` contiguous, near-equal slices.

    The slices are disjoint, in order, cover every row exactly once and differ in
    length by at most one. Empty slices are never returned: with fewer rows than
    blocks you get one slice per row, and with ``n_rows == 0`` an empty list.

    Raises:
        ValueError: ``n_rows`` is negative or ``n_blocks`` is not positive.
    """
    # BEGIN SOLUTION c01.2: near-equal contiguous slices; the first n_rows % n_blocks get +1 row
    if n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    if n_blocks < 1:
        raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
    n_blocks = min(n_blocks, n_rows)
    if n_blocks == 0:
        return []
    base, extra = divmod(n_rows, n_blocks)
    slices, start = [], 0
    for block in range(n_blocks):
        stop = start + base + (1 if block < extra else 0)
        slices.append(slice(start, stop))
        start = stop
    return slices
    # END SOLUTION


def matmul_threaded(
    a: NDArray[np.floating[Any]],
    b: NDArray[np.floating[Any]],
    *,
    n_workers: int = 2,
    out: NDArray[np.floating[Any]] | None = None,
    executor: Executor | None = None,
    check_finite: bool = False,
) -> NDArray[np.floating[Any]]:
    """Multiply ``a @ b`` with ``n_workers`` threads, each filling a disjoint row block.

    Args:
        a: (M, K) float32 or float64 matrix, any memory layout.
        b: (K, N) matrix of the same dtype.
        n_workers: number of row blocks (and threads), at least 1.
        out: optional preallocated (M, N) output of the same dtype, e.g. from a
            :class:`~c01_base.buffer_pool.BufferPool`; it is filled in place.
        executor: optional thread pool to reuse across calls; when omitted a
            pool of ``n_workers`` threads is created and shut down per call.
        check_finite: reject NaN/inf inputs with a ValueError.

    Returns:
        ``out`` itself when given, else a new (M, N) array.

    Raises:
        ValueError: ``n_workers < 1``, a bad ``out`` (see
            :func:`~c01_base.validation.check_output`) or bad operands.
        TypeError: operands or ``out`` of the wrong type or dtype.
    """
    # BEGIN SOLUTION c01.2: validate, allocate or check out, one np.matmul(out=out[rows]) per block
    a, b = check_matmul_operands(a, b, check_finite=check_finite)
    if n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    shape = (a.shape[0], b.shape[1])  # (M, K) @ (K, N) -> (M, N)
    out = np.empty(shape, dtype=a.dtype) if out is None else check_output(out, shape, a.dtype, a, b)
    blocks = row_slices(shape[0], n_workers)
    pool = executor if executor is not None else ThreadPoolExecutor(max_workers=n_workers)
    try:
        # out[rows] is a view: each thread writes straight into its own rows of out.
        futures = [pool.submit(np.matmul, a[rows], b, out=out[rows]) for rows in blocks]
        for future in futures:
            future.result()  # re-raises a worker's exception in the caller
    finally:
        if executor is None:
            pool.shutdown(wait=True)
    return out
    # END SOLUTION
