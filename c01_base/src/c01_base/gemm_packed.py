"""GEMM the way BLAS does it, part 3: the five loops, serial and over ``prange``.

The loops of :mod:`~c01_base.gemm_packing` put a packed KC x NC block of B and a packed MC x KC
block of A in cache, and :mod:`~c01_base.gemm_microkernel` updates one MR x NR tile of C in
registers (8 x 8 on a CPU with AVX-512, 4 x 8 without). This file ties them together:

* :func:`matmul_packed_plain`: the five loops and the packing, but a plain inner kernel (the
  i-k-j loop over one tile, reading and writing C in memory at every step of k). It isolates
  what packing and cache blocking buy on their own.
* :func:`matmul_packed`: the same loops with the register-blocked micro-kernel.
* :func:`matmul_packed_prange`: the blocks of A spread over numba's threads. Each thread packs
  its own block of A into its own buffer and writes its own rows of C, so threads share only the
  packed B block, which they read. A is cut into one block per thread (or more, if the cache
  rule asks for smaller blocks), so two threads get equal work.

Edge tiles: packed panels are zero-padded to whole tiles (``pack_a``, ``pack_b``). A full tile
is updated in place in C; a tile that hangs over the edge of C is computed into a small zeroed
scratch tile, and only its valid rows and columns are added to C.

Caching: the functions here that call into other files (``_macro_kernel`` calls the
micro-kernel, the drivers call ``pack_a`` and ``pack_b``) are compiled without numba's on-disk
cache. That cache is keyed on the calling function's own source file only, and a cached caller
contains its callees inlined: after an edit of ``gemm_packing.py`` or ``gemm_microkernel.py`` it
would keep running the old code. The price is a few seconds of compilation per process and dtype
(on the first call, which the benchmark and the speed test do not time).

The result is summed in the same order as the blocked kernel (k block by k block, k in order
inside each), so it does not depend on the blocking of M and N or on the thread count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from c01_base.gemm_microkernel import micro_kernel, micro_kernel_4x8, slp_vectorizer
from c01_base.gemm_packing import MR, NR, Blocking, choose_blocking, pack_a, pack_b
from c01_base.parallel_numba import max_threads
from c01_base.validation import check_matmul_operands

_compiled: set[tuple[str, str]] = set()  # (driver, dtype) pairs already compiled with the SLP vectoriser
_compiled_lock = threading.Lock()


@njit(cache=True, nogil=True, fastmath={"contract"})
def _plain_kernel(kc: int, ap: NDArray[Any], bp: NDArray[Any], out: NDArray[Any], i: int, j: int) -> None:
    """``out[i:i+MR, j:j+NR] += ap[:kc].T @ bp[:kc]``, the tile of C updated in memory at every k."""
    # BEGIN SOLUTION c01.7: the i-k-j loop over one MR x NR tile of packed panels
    for r in range(MR):
        row = out[i + r, j : j + NR]  # NR is a constant: the c loop becomes one vector operation
        for p in range(kc):
            a_pr = ap[p, r]
            b_row = bp[p]
            for c in range(NR):
                row[c] += a_pr * b_row[c]
    # END SOLUTION


@njit(nogil=True, fastmath={"contract"})  # not cached: see the module docstring
def _macro_kernel(
    a_buf: NDArray[Any],
    b_buf: NDArray[Any],
    out: NDArray[Any],
    ic: int,
    jc: int,
    mc: int,
    nc: int,
    kc: int,
    register_blocked: bool,
    edge: NDArray[Any],
    zero: Any,
) -> None:
    """Loops 2 and 1: every (NR-column panel of B) x (MR-row panel of A) tile of one block of C."""
    # BEGIN SOLUTION c01.7: loop over B panels then A panels; plain kernel, micro-kernel or edge tile
    for jr in range((nc + NR - 1) // NR):
        cols = min(NR, nc - jr * NR)
        bp = b_buf[jr]  # (kc, NR), stays in L1 while every A panel streams past it
        for ir in range((mc + MR - 1) // MR):
            rows = min(MR, mc - ir * MR)
            ap = a_buf[ir]  # (kc, MR)
            i, j = ic + ir * MR, jc + jr * NR
            full = rows == MR and cols == NR
            target, ti, tj = (out, i, j) if full else (edge, 0, 0)
            if not full:  # the tile hangs over the edge of C: compute it aside, add the valid part
                edge[:] = zero
            if register_blocked and MR == 8:  # MR is a compile-time constant: one branch survives
                micro_kernel(kc, ap, bp, target, ti, tj, zero)
            elif register_blocked:
                micro_kernel_4x8(kc, ap, bp, target, ti, tj, zero)
            else:
                _plain_kernel(kc, ap, bp, target, ti, tj)
            if not full:
                for r in range(rows):
                    for c in range(cols):
                        out[i + r, j + c] += edge[r, c]
    # END SOLUTION


@njit(nogil=True, fastmath={"contract"})  # not cached: see the module docstring
def _gemm_serial(
    a: NDArray[Any], b: NDArray[Any], out: NDArray[Any], kc: int, mc: int, nc: int, register_blocked: bool, zero: Any
) -> None:
    """Loops 5, 4 and 3 on one thread: ``out += a @ b`` (out zeroed by the caller)."""
    # BEGIN SOLUTION c01.7: allocate the packed buffers once; jc, pc (pack B), ic (pack A), macro-kernel
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0 or k == 0:
        return
    kc, mc, nc = min(kc, k), min(mc, m), min(nc, n)
    a_buf = np.empty(((mc + MR - 1) // MR, kc, MR), a.dtype)
    b_buf = np.empty(((nc + NR - 1) // NR, kc, NR), a.dtype)
    edge = np.empty((MR, NR), a.dtype)
    for jc in range(0, n, nc):
        nc_eff = min(nc, n - jc)
        for pc in range(0, k, kc):
            kc_eff = min(kc, k - pc)
            pack_b(b, pc, pc + kc_eff, jc, jc + nc_eff, b_buf)
            for ic in range(0, m, mc):
                mc_eff = min(mc, m - ic)
                pack_a(a, ic, ic + mc_eff, pc, pc + kc_eff, a_buf)
                _macro_kernel(a_buf, b_buf, out, ic, jc, mc_eff, nc_eff, kc_eff, register_blocked, edge, zero)
    # END SOLUTION


@njit(parallel=True, fastmath={"contract"})  # not cached: see the module docstring
def _gemm_parallel(
    a: NDArray[Any], b: NDArray[Any], out: NDArray[Any], kc: int, mc: int, nc: int, n_threads: int, zero: Any
) -> None:
    """Loops 5 and 4 serial, loop 3 (blocks of A) over ``prange``: ``out += a @ b``."""
    # BEGIN SOLUTION c01.8: one or more MR-aligned blocks of A per thread; per-iteration A buffers
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0 or k == 0:
        return
    kc, nc = min(kc, k), min(nc, n)
    n_blocks = max((m + mc - 1) // mc, min(n_threads, (m + MR - 1) // MR))
    mc = (m + n_blocks - 1) // n_blocks  # equal blocks, a whole number of A panels each
    mc = (mc + MR - 1) // MR * MR
    n_blocks = (m + mc - 1) // mc
    b_buf = np.empty(((nc + NR - 1) // NR, kc, NR), a.dtype)  # shared: packed once, only read
    for jc in range(0, n, nc):
        nc_eff = min(nc, n - jc)
        for pc in range(0, k, kc):
            kc_eff = min(kc, k - pc)
            pack_b(b, pc, pc + kc_eff, jc, jc + nc_eff, b_buf)
            for block in prange(n_blocks):  # each iteration owns rows ic..ic+mc of C
                ic = block * mc
                mc_eff = min(mc, m - ic)
                a_buf = np.empty(((mc + MR - 1) // MR, kc, MR), a.dtype)  # private to this thread
                edge = np.empty((MR, NR), a.dtype)
                pack_a(a, ic, ic + mc_eff, pc, pc + kc_eff, a_buf)
                _macro_kernel(a_buf, b_buf, out, ic, jc, mc_eff, nc_eff, kc_eff, True, edge, zero)
    # END SOLUTION


def resolve_blocking(blocking: Blocking | None, dtype: np.dtype[Any]) -> Blocking:
    """``blocking`` checked, or the machine's (:func:`~c01_base.gemm_packing.choose_blocking`).

    Raises:
        ValueError: not a :class:`Blocking`, a register tile other than (MR, NR), or a block < 1.
    """
    # BEGIN SOLUTION c01.7: None -> choose_blocking(itemsize); else check type, tile and positive blocks
    if blocking is None:
        return choose_blocking(dtype.itemsize)
    if not isinstance(blocking, Blocking):
        raise ValueError(f"blocking must be a Blocking, got {type(blocking).__name__}")
    if (blocking.mr, blocking.nr) != (MR, NR):
        raise ValueError(f"blocking has a {blocking.mr} x {blocking.nr} register tile; the kernel needs {MR} x {NR}")
    if min(blocking.kc, blocking.mc, blocking.nc) < 1:
        raise ValueError(f"blocking needs kc, mc and nc >= 1, got {blocking}")
    return blocking
    # END SOLUTION


def _run_compiled(driver: Callable[..., None], *args: Any) -> None:
    """Call a numba driver; its first call per dtype compiles it with the SLP vectoriser on."""
    key = (getattr(driver, "__name__", repr(driver)), str(args[0].dtype))
    if key not in _compiled:
        with _compiled_lock:
            if key not in _compiled:
                with slp_vectorizer():
                    driver(*args)
                _compiled.add(key)
                return
    driver(*args)


def _prepare(
    a: NDArray[np.floating[Any]], b: NDArray[np.floating[Any]], blocking: Blocking | None, check_finite: bool
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], Blocking]:
    """Validate, make both operands C-contiguous, allocate the zeroed output, pick the blocking."""
    a, b = check_matmul_operands(a, b, check_finite=check_finite)
    chosen = resolve_blocking(blocking, a.dtype)
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a, b, np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype), chosen  # (M, K) @ (K, N) -> (M, N)


def matmul_packed_plain(
    a: NDArray[np.floating[Any]],
    b: NDArray[np.floating[Any]],
    *,
    blocking: Blocking | None = None,
    check_finite: bool = False,
) -> NDArray[np.floating[Any]]:
    """``a @ b`` with cache blocking and packed panels, but no register tile (the plain kernel).

    Args:
        a: (M, K) float32 or float64 matrix, any layout.
        b: (K, N) matrix of the same dtype.
        blocking: block sizes; ``None`` chooses them from this machine's caches.
        check_finite: reject NaN/inf inputs with a ValueError.

    Returns:
        A new C-contiguous (M, N) array of the operands' dtype.
    """
    # BEGIN SOLUTION c01.7: prepare, then run the serial driver with register_blocked=False
    a, b, out, bl = _prepare(a, b, blocking, check_finite)
    _run_compiled(_gemm_serial, a, b, out, bl.kc, bl.mc, bl.nc, False, a.dtype.type(0))
    return out
    # END SOLUTION


def matmul_packed(
    a: NDArray[np.floating[Any]],
    b: NDArray[np.floating[Any]],
    *,
    blocking: Blocking | None = None,
    check_finite: bool = False,
) -> NDArray[np.floating[Any]]:
    """``a @ b`` on one thread, GotoBLAS style: blocking, packing and the MR x NR micro-kernel.

    Arguments and result as :func:`matmul_packed_plain`.
    """
    # BEGIN SOLUTION c01.8: prepare, then run the serial driver with register_blocked=True
    a, b, out, bl = _prepare(a, b, blocking, check_finite)
    _run_compiled(_gemm_serial, a, b, out, bl.kc, bl.mc, bl.nc, True, a.dtype.type(0))
    return out
    # END SOLUTION


def matmul_packed_prange(
    a: NDArray[np.floating[Any]],
    b: NDArray[np.floating[Any]],
    *,
    n_threads: int | None = None,
    blocking: Blocking | None = None,
    check_finite: bool = False,
) -> NDArray[np.floating[Any]]:
    """:func:`matmul_packed` with the blocks of A spread over ``n_threads`` numba threads.

    Args:
        n_threads: 1..:func:`~c01_base.parallel_numba.max_threads`; ``None`` keeps numba's
            current setting, which is restored afterwards either way.
        (others as :func:`matmul_packed_plain`)

    Raises:
        ValueError: ``n_threads`` out of range, a bad ``blocking``, or bad operands.
    """
    # BEGIN SOLUTION c01.8: validate, set the thread count, run the parallel driver, restore the count
    if n_threads is not None and not 1 <= n_threads <= max_threads():
        raise ValueError(f"n_threads must be between 1 and {max_threads()}, got {n_threads}")
    a, b, out, bl = _prepare(a, b, blocking, check_finite)
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads if n_threads is not None else previous)
    try:
        _run_compiled(_gemm_parallel, a, b, out, bl.kc, bl.mc, bl.nc, numba.get_num_threads(), a.dtype.type(0))
    finally:
        numba.set_num_threads(previous)
    return out
    # END SOLUTION
