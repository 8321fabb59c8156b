"""GEMM the way BLAS does it, part 2: the register-blocked micro-kernel.

The micro-kernel computes ``C[i:i+8, j:j+8] += A_panel @ B_panel`` for one packed 8 x KC panel of
A and one packed KC x 8 panel of B (see :mod:`~c01_base.gemm_packing`). Its 64 partial sums live
in 64 local variables for the whole k loop, and each step of k is a rank-1 update:

    b0..b7 = B_panel[p, 0:8]             # one vector load (8 float64 = one AVX-512 register)
    for each row r:  c_r0..c_r7 += A_panel[p, r] * (b0..b7)   # one broadcast, one vector FMA

so one step of k does 8 fused multiply-adds of 8 lanes (128 flops) for 1 load of B and 8
broadcasts of A, and touches C not at all: C is read and written once per KC steps. That ratio
of arithmetic to memory traffic is what lets a core run near its peak; the i-k-j loop of
:mod:`~c01_base.kernels` instead loads and stores a vector of C for every vector FMA.

Three compiler details decide whether this becomes 8 vector registers or 64 scalars:

* **Locals, not an array.** LLVM keeps local scalars in registers. An accumulator array
  (``np.zeros((8, 8))``) lives in memory that LLVM cannot prove is separate from A and B, so
  every update is a load and a store. The 64 names below are the price; BLIS writes its
  micro-kernels in assembly for the same reason.
* **The SLP vectoriser.** Turning 8 scalar updates of one row into one vector FMA is the job of
  LLVM's superword-level-parallelism (SLP) vectoriser, which numba switches off by default
  (``NUMBA_SLP_VECTORIZE=0``; it vectorises loops with the loop vectoriser instead). We switch it
  on for the compilation of the packed GEMM only (:func:`slp_vectorizer`). Without it the
  kernel runs as scalar FMAs, several times slower.
* **Vector width.** On Intel server cores LLVM prefers 256-bit vectors even when AVX-512 is
  present (wide vectors once lowered the clock). :func:`enable_wide_vectors` lets the SLP
  vectoriser use 512-bit registers on a CPU with AVX-512F; it changes no other vectoriser.

``fastmath={"contract"}`` lets LLVM fuse ``c + a * b`` into one FMA instruction (one rounding
instead of two). That is the only fast-math flag: no reassociation, so every element of C is
still summed in the order k = 0, 1, 2, ... and the result does not depend on the thread count.
The rounding error stays within the usual bound for a length-K dot product.

The tile is 8 x 8 on a CPU with AVX-512 (32 vector registers: 8 hold the sums) and 4 x 8 without
(:func:`micro_kernel_4x8`; AVX2 has 16 registers of 4 float64, and an 8 x 8 tile would need all 16
for the sums and spill). Both dtypes use the same tile: for float64 a row of 8 is one 512-bit
register; float32 fills only half of one (a 16-column float32 tile would need 128 locals).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numba
from numba import njit
from numpy.typing import NDArray

from c01_base.gemm_packing import has_avx512

llvm: Any = importlib.import_module("llvmlite.binding")  # numba's LLVM binding (ships no type hints)
_SLP_LOCK = threading.Lock()  # numba.config is process-global: one compilation at a time changes it
_wide_vectors_enabled = False


def enable_wide_vectors() -> bool:
    """Let LLVM's SLP vectoriser use 512-bit registers when the CPU has them; returns whether it does.

    The LLVM option ``-slp-max-reg-size`` only affects the SLP vectoriser, which numba runs only
    inside :func:`slp_vectorizer`, so other numba code compiles exactly as before.
    """
    global _wide_vectors_enabled
    if not _wide_vectors_enabled and has_avx512():
        llvm.set_option("", "-slp-max-reg-size=512")
        _wide_vectors_enabled = True
    return _wide_vectors_enabled


@contextmanager
def slp_vectorizer() -> Iterator[None]:
    """Compile with numba's SLP vectoriser on inside the block (numba compiles on first call)."""
    config: Any = numba.config  # its attributes are set at import time, invisible to mypy
    with _SLP_LOCK:
        enable_wide_vectors()
        previous = config.SLP_VECTORIZE
        config.SLP_VECTORIZE = 1
        try:
            yield
        finally:
            config.SLP_VECTORIZE = previous


@njit(cache=True, nogil=True, fastmath={"contract"})
def micro_kernel(
    kc: int, ap: NDArray[Any], bp: NDArray[Any], out: NDArray[Any], i: int, j: int, zero: Any
) -> None:
    """``out[i:i+8, j:j+8] += ap[:kc].T @ bp[:kc]`` with the 64 sums of the tile in registers.

    Args:
        kc: steps of k to run (the panels may be longer: only ``ap[:kc]``, ``bp[:kc]`` are read).
        ap: (>= kc, 8) packed panel of A, C-contiguous: ``ap[p, r]`` = A[row r, k = p].
        bp: (>= kc, 8) packed panel of B, C-contiguous: ``bp[p, c]`` = B[k = p, column c].
        out: C-contiguous output with at least 8 rows from ``i`` and 8 columns from ``j``.
        zero: 0 of the operands' dtype, so the accumulators have that dtype (0.0 would make
            float32 sums float64).
    """
    # BEGIN SOLUTION c01.8: 64 local accumulators, kc rank-1 updates, then add the tile to out once
    c00 = c01 = c02 = c03 = c04 = c05 = c06 = c07 = zero
    c10 = c11 = c12 = c13 = c14 = c15 = c16 = c17 = zero
    c20 = c21 = c22 = c23 = c24 = c25 = c26 = c27 = zero
    c30 = c31 = c32 = c33 = c34 = c35 = c36 = c37 = zero
    c40 = c41 = c42 = c43 = c44 = c45 = c46 = c47 = zero
    c50 = c51 = c52 = c53 = c54 = c55 = c56 = c57 = zero
    c60 = c61 = c62 = c63 = c64 = c65 = c66 = c67 = zero
    c70 = c71 = c72 = c73 = c74 = c75 = c76 = c77 = zero
    for p in range(kc):  # one rank-1 update of the 8 x 8 tile per step of k
        b0, b1, b2, b3 = bp[p, 0], bp[p, 1], bp[p, 2], bp[p, 3]  # one row of the B panel
        b4, b5, b6, b7 = bp[p, 4], bp[p, 5], bp[p, 6], bp[p, 7]
        a = ap[p, 0]  # one value of the A panel, times the whole row of B
        c00, c01, c02, c03, c04, c05, c06, c07 = (
            c00 + a * b0, c01 + a * b1, c02 + a * b2, c03 + a * b3,
            c04 + a * b4, c05 + a * b5, c06 + a * b6, c07 + a * b7,
        )
        a = ap[p, 1]
        c10, c11, c12, c13, c14, c15, c16, c17 = (
            c10 + a * b0, c11 + a * b1, c12 + a * b2, c13 + a * b3,
            c14 + a * b4, c15 + a * b5, c16 + a * b6, c17 + a * b7,
        )
        a = ap[p, 2]
        c20, c21, c22, c23, c24, c25, c26, c27 = (
            c20 + a * b0, c21 + a * b1, c22 + a * b2, c23 + a * b3,
            c24 + a * b4, c25 + a * b5, c26 + a * b6, c27 + a * b7,
        )
        a = ap[p, 3]
        c30, c31, c32, c33, c34, c35, c36, c37 = (
            c30 + a * b0, c31 + a * b1, c32 + a * b2, c33 + a * b3,
            c34 + a * b4, c35 + a * b5, c36 + a * b6, c37 + a * b7,
        )
        a = ap[p, 4]
        c40, c41, c42, c43, c44, c45, c46, c47 = (
            c40 + a * b0, c41 + a * b1, c42 + a * b2, c43 + a * b3,
            c44 + a * b4, c45 + a * b5, c46 + a * b6, c47 + a * b7,
        )
        a = ap[p, 5]
        c50, c51, c52, c53, c54, c55, c56, c57 = (
            c50 + a * b0, c51 + a * b1, c52 + a * b2, c53 + a * b3,
            c54 + a * b4, c55 + a * b5, c56 + a * b6, c57 + a * b7,
        )
        a = ap[p, 6]
        c60, c61, c62, c63, c64, c65, c66, c67 = (
            c60 + a * b0, c61 + a * b1, c62 + a * b2, c63 + a * b3,
            c64 + a * b4, c65 + a * b5, c66 + a * b6, c67 + a * b7,
        )
        a = ap[p, 7]
        c70, c71, c72, c73, c74, c75, c76, c77 = (
            c70 + a * b0, c71 + a * b1, c72 + a * b2, c73 + a * b3,
            c74 + a * b4, c75 + a * b5, c76 + a * b6, c77 + a * b7,
        )
    row = out[i + 0, j : j + 8]  # add the tile to C once, after the k loop
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c00, row[1] + c01, row[2] + c02, row[3] + c03,
        row[4] + c04, row[5] + c05, row[6] + c06, row[7] + c07,
    )
    row = out[i + 1, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c10, row[1] + c11, row[2] + c12, row[3] + c13,
        row[4] + c14, row[5] + c15, row[6] + c16, row[7] + c17,
    )
    row = out[i + 2, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c20, row[1] + c21, row[2] + c22, row[3] + c23,
        row[4] + c24, row[5] + c25, row[6] + c26, row[7] + c27,
    )
    row = out[i + 3, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c30, row[1] + c31, row[2] + c32, row[3] + c33,
        row[4] + c34, row[5] + c35, row[6] + c36, row[7] + c37,
    )
    row = out[i + 4, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c40, row[1] + c41, row[2] + c42, row[3] + c43,
        row[4] + c44, row[5] + c45, row[6] + c46, row[7] + c47,
    )
    row = out[i + 5, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c50, row[1] + c51, row[2] + c52, row[3] + c53,
        row[4] + c54, row[5] + c55, row[6] + c56, row[7] + c57,
    )
    row = out[i + 6, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c60, row[1] + c61, row[2] + c62, row[3] + c63,
        row[4] + c64, row[5] + c65, row[6] + c66, row[7] + c67,
    )
    row = out[i + 7, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c70, row[1] + c71, row[2] + c72, row[3] + c73,
        row[4] + c74, row[5] + c75, row[6] + c76, row[7] + c77,
    )
    # END SOLUTION


@njit(cache=True, nogil=True, fastmath={"contract"})
def micro_kernel_4x8(kc: int, ap: NDArray[Any], bp: NDArray[Any], out: NDArray[Any], i: int, j: int, zero: Any) -> None:
    """:func:`micro_kernel` for a 4 x 8 tile (``ap`` is (>= kc, 4)), for CPUs without AVX-512.

    With 16 vector registers of 4 float64 (AVX2), an 8 x 8 tile needs 16 for its sums alone and
    spills to memory; 4 x 8 needs 8, plus 2 for the row of B and 1 for the broadcast.
    """
    # BEGIN SOLUTION c01.8: the same as micro_kernel with 4 rows: 32 locals
    c00 = c01 = c02 = c03 = c04 = c05 = c06 = c07 = zero
    c10 = c11 = c12 = c13 = c14 = c15 = c16 = c17 = zero
    c20 = c21 = c22 = c23 = c24 = c25 = c26 = c27 = zero
    c30 = c31 = c32 = c33 = c34 = c35 = c36 = c37 = zero
    for p in range(kc):
        b0, b1, b2, b3 = bp[p, 0], bp[p, 1], bp[p, 2], bp[p, 3]
        b4, b5, b6, b7 = bp[p, 4], bp[p, 5], bp[p, 6], bp[p, 7]
        a = ap[p, 0]
        c00, c01, c02, c03, c04, c05, c06, c07 = (
            c00 + a * b0, c01 + a * b1, c02 + a * b2, c03 + a * b3,
            c04 + a * b4, c05 + a * b5, c06 + a * b6, c07 + a * b7,
        )
        a = ap[p, 1]
        c10, c11, c12, c13, c14, c15, c16, c17 = (
            c10 + a * b0, c11 + a * b1, c12 + a * b2, c13 + a * b3,
            c14 + a * b4, c15 + a * b5, c16 + a * b6, c17 + a * b7,
        )
        a = ap[p, 2]
        c20, c21, c22, c23, c24, c25, c26, c27 = (
            c20 + a * b0, c21 + a * b1, c22 + a * b2, c23 + a * b3,
            c24 + a * b4, c25 + a * b5, c26 + a * b6, c27 + a * b7,
        )
        a = ap[p, 3]
        c30, c31, c32, c33, c34, c35, c36, c37 = (
            c30 + a * b0, c31 + a * b1, c32 + a * b2, c33 + a * b3,
            c34 + a * b4, c35 + a * b5, c36 + a * b6, c37 + a * b7,
        )
    row = out[i + 0, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c00, row[1] + c01, row[2] + c02, row[3] + c03,
        row[4] + c04, row[5] + c05, row[6] + c06, row[7] + c07,
    )
    row = out[i + 1, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c10, row[1] + c11, row[2] + c12, row[3] + c13,
        row[4] + c14, row[5] + c15, row[6] + c16, row[7] + c17,
    )
    row = out[i + 2, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c20, row[1] + c21, row[2] + c22, row[3] + c23,
        row[4] + c24, row[5] + c25, row[6] + c26, row[7] + c27,
    )
    row = out[i + 3, j : j + 8]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = (
        row[0] + c30, row[1] + c31, row[2] + c32, row[3] + c33,
        row[4] + c34, row[5] + c35, row[6] + c36, row[7] + c37,
    )
    # END SOLUTION
