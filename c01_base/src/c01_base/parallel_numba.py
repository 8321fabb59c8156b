"""A numba ``prange`` kernel: compiled loops spread over threads without the GIL.

``@njit(parallel=True)`` lets numba split a loop written with ``prange`` across its
own thread pool. The compiled code holds no GIL, so unlike Python threads there
is no need for a GIL-releasing library call: the loop body itself runs in
parallel.

Which loop to parallelise matters. The outer row loop is the right one: row
``i`` of the output is written by iteration ``i`` only, so iterations never write
the same memory and need no lock or reduction. Parallelising the ``p`` (reduction)
loop instead would make every thread add into the same ``out[i, j]``: a race.

The number of threads is a runtime setting (``numba.set_num_threads``), capped
by ``numba.config.NUMBA_NUM_THREADS`` (the core count by default); the setting is
per calling thread, and :func:`matmul_prange` restores it afterwards.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from c01_base.validation import check_matmul_operands


@njit(parallel=True, cache=True)
def _matmul_prange_kernel(a: NDArray[Any], b: NDArray[Any], out: NDArray[Any]) -> None:
    """Accumulate ``a @ b`` into the zeroed ``out``, output rows spread over threads."""
    # BEGIN SOLUTION c01.4: prange over output rows; each iteration runs the k-j loops of its row
    m, k = a.shape
    n = b.shape[1]
    for i in prange(m):  # iteration i writes out[i, :] only: no shared writes
        for p in range(k):
            a_ip = a[i, p]
            for j in range(n):
                out[i, j] += a_ip * b[p, j]
    # END SOLUTION


def max_threads() -> int:
    """The most threads :func:`matmul_prange` may use (numba's pool size)."""
    config: Any = numba.config  # its attributes are set at import time, invisible to mypy
    return int(config.NUMBA_NUM_THREADS)


def matmul_prange(
    a: NDArray[np.floating[Any]],
    b: NDArray[np.floating[Any]],
    *,
    n_threads: int | None = None,
    check_finite: bool = False,
) -> NDArray[np.floating[Any]]:
    """Multiply ``a @ b`` with the ``prange`` kernel on ``n_threads`` threads.

    Args:
        a: (M, K) float32 or float64 matrix, any layout (copied to C order if needed).
        b: (K, N) matrix of the same dtype.
        n_threads: threads to use, 1..:func:`max_threads`; ``None`` keeps numba's
            current setting.
        check_finite: reject NaN/inf inputs with a ValueError.

    Returns:
        A new C-contiguous (M, N) array of the operands' dtype.

    Raises:
        ValueError: ``n_threads`` out of range, or bad operands.
    """
    # BEGIN SOLUTION c01.4: validate, set the thread count, run the kernel, restore the thread count
    a, b = check_matmul_operands(a, b, check_finite=check_finite)
    if n_threads is not None and not 1 <= n_threads <= max_threads():
        raise ValueError(f"n_threads must be between 1 and {max_threads()}, got {n_threads}")
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    out = np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype)  # (M, K) @ (K, N) -> (M, N)
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads if n_threads is not None else previous)
    try:
        _matmul_prange_kernel(a, b, out)
    finally:
        numba.set_num_threads(previous)
    return out
    # END SOLUTION
