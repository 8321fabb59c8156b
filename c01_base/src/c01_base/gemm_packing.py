"""GEMM the way BLAS does it, part 1: cache blocking from the machine's cache sizes, and packing.

GotoBLAS (and BLIS, OpenBLAS after it) computes ``C += A @ B`` with five loops around a tiny
*micro-kernel* that updates an MR x NR tile of C held in registers:

    for jc in range(0, N, NC):                 # 5th loop: a KC x NC block of B ...
        for pc in range(0, K, KC):             # 4th loop: ... packed once, lives in L3
            pack B[pc:pc+KC, jc:jc+NC] into NR-column panels
            for ic in range(0, M, MC):         # 3rd loop: an MC x KC block of A ...
                pack A[ic:ic+MC, pc:pc+KC] into MR-row panels      # ... lives in L2
                for jr in range(0, NC, NR):    # 2nd loop: one KC x NR panel of B, in L1
                    for ir in range(0, MC, MR):    # 1st loop: one MR x KC panel of A
                        micro-kernel: C[ir:ir+MR, jr:jr+NR] += A_panel @ B_panel

Each block size is chosen so that the data a loop reuses stays in one cache level:

* **KC**: the micro-kernel streams an MR x KC panel of A against a KC x NR panel of B; both
  together should fill about half of L1, so that the B panel survives while A streams past.
* **MC**: the packed MC x KC block of A is reread for every B panel: it should fill about half
  of L2 (the other half holds B panels and C tiles passing through).
* **NC**: the packed KC x NC block of B is reread for every block of A: it should fit in a share
  of L3, and we cap it so the packed buffer stays a few MiB.

**Packing** copies each block into the exact order the micro-kernel reads it: panel by panel,
then k by k, MR (or NR) consecutive values per k. The micro-kernel then walks memory at unit
stride with no index arithmetic, whatever the layout of A and B (transposed, strided), the
hardware prefetcher sees one stream per operand, and no cache line is half wasted. Edges are
padded with zeros, so the micro-kernel always computes a full MR x NR tile: the padded rows and
columns of the product are computed and thrown away (see :mod:`~c01_base.gemm_packed`). The copy
costs O(MK + KN) per block, next to the O(MKN) multiply that reuses it.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
from numba import njit
from numpy.typing import NDArray

llvm: Any = importlib.import_module("llvmlite.binding")  # numba's LLVM binding (ships no type hints)


def has_avx512() -> bool:
    """Whether numba compiles for a CPU with AVX-512F (32 registers of 512 bits).

    That is the host CPU, unless ``NUMBA_CPU_FEATURES`` names the features to compile for.
    """
    config: Any = numba.config  # its attributes are set at import time, invisible to mypy
    features = config.CPU_FEATURES or llvm.get_host_cpu_features().flatten()
    return "+avx512f" in str(features).split(",")


# Register tile of the micro-kernel (c01_base.gemm_microkernel writes its accumulators out by
# hand, 8 x 8 and 4 x 8, so these must match one of them): 8 rows x 8 float64 columns fill 8
# AVX-512 registers; without AVX-512, 4 rows x 8 columns fill 8 of AVX2's 16 registers.
MR = 8 if has_avx512() else 4
NR = 8
# Used when the machine does not say (no /sys, another OS): a common desktop core.
DEFAULT_L1D = 32 * 1024
DEFAULT_L2 = 1024 * 1024
DEFAULT_L3 = 8 * 1024 * 1024
NC_CAP = 4096  # columns; a 4096 x KC packed block of B is a few MiB at most
CACHE_ROOT = Path("/sys/devices/system/cpu/cpu0/cache")


@dataclass(frozen=True)
class CacheSizes:
    """Data cache sizes of one core, in bytes."""

    l1d: int
    l2: int
    l3: int


@dataclass(frozen=True)
class Blocking:
    """Register tile (mr, nr) and cache blocks (kc, mc, nc) of the packed GEMM, in elements."""

    mr: int
    nr: int
    kc: int
    mc: int
    nc: int


def parse_size(text: str) -> int:
    """Parse a cache size as Linux writes it ("48K", "2048K", "300M", "512") into bytes."""
    # BEGIN SOLUTION c01.7: strip, read the unit suffix (K, M, G or none), multiply
    text = text.strip().upper()
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)
    # END SOLUTION


@functools.lru_cache(maxsize=16)  # read /sys once, not on every multiply
def read_cache_sizes(root: Path = CACHE_ROOT) -> CacheSizes:
    """The L1 data, L2 and L3 sizes of cpu0 from ``root/index*/{level,type,size}``.

    A level the machine does not report (or a missing ``root``) gets its ``DEFAULT_*`` size.
    """
    # BEGIN SOLUTION c01.7: read every index* folder, keep data/unified caches by level, fill defaults
    found: dict[int, int] = {}
    for index in sorted(root.glob("index*")):
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            size = parse_size((index / "size").read_text())
        except (OSError, ValueError):
            continue  # an unreadable or odd entry: fall back to the default for that level
        if kind in ("Data", "Unified"):  # skip the instruction cache
            found[level] = size
    return CacheSizes(found.get(1, DEFAULT_L1D), found.get(2, DEFAULT_L2), found.get(3, DEFAULT_L3))
    # END SOLUTION


def choose_blocking(itemsize: int, caches: CacheSizes | None = None) -> Blocking:
    """Block sizes for elements of ``itemsize`` bytes from the cache sizes (read if not given).

    kc: (MR + NR) x kc elements fill half of L1, a multiple of 8 in [64, 1024];
    mc: mc x kc elements fill half of L2, a multiple of MR in [MR, 4096];
    nc: kc x nc elements fill half of L3, a multiple of NR in [NR, NC_CAP].
    """
    # BEGIN SOLUTION c01.7: apply the three rules above, rounding down to whole panels
    caches = caches or read_cache_sizes()
    kc = min(max(caches.l1d // 2 // ((MR + NR) * itemsize) // 8 * 8, 64), 1024)
    mc = min(max(caches.l2 // 2 // (kc * itemsize) // MR * MR, MR), 4096)
    nc = min(max(caches.l3 // 2 // (kc * itemsize) // NR * NR, NR), NC_CAP)
    return Blocking(MR, NR, kc, mc, nc)
    # END SOLUTION


@njit(cache=True, nogil=True)
def pack_a(a: NDArray[Any], i0: int, i1: int, p0: int, p1: int, out: NDArray[Any]) -> None:
    """Copy ``a[i0:i1, p0:p1]`` into ``out[panel, p, r]`` = ``a[i0 + panel*MR + r, p0 + p]``.

    ``out`` has shape (>= ceil((i1-i0)/MR), >= p1-p0, MR); rows past ``i1`` are zero.
    """
    # BEGIN SOLUTION c01.7: one MR-row panel at a time, k-major inside the panel, zero the padding
    rows = i1 - i0
    for panel in range((rows + MR - 1) // MR):
        r0 = panel * MR
        valid = min(MR, rows - r0)
        for r in range(MR):
            if r < valid:
                row = a[i0 + r0 + r]
                for p in range(p1 - p0):
                    out[panel, p, r] = row[p0 + p]
            else:  # padding: the micro-kernel multiplies it, so it must be zero, not garbage
                for p in range(p1 - p0):
                    out[panel, p, r] = 0.0
    # END SOLUTION


@njit(cache=True, nogil=True)
def pack_b(b: NDArray[Any], p0: int, p1: int, j0: int, j1: int, out: NDArray[Any]) -> None:
    """Copy ``b[p0:p1, j0:j1]`` into ``out[panel, p, c]`` = ``b[p0 + p, j0 + panel*NR + c]``.

    ``out`` has shape (>= ceil((j1-j0)/NR), >= p1-p0, NR); columns past ``j1`` are zero.
    """
    # BEGIN SOLUTION c01.7: one NR-column panel at a time, row by row of B, zero the padding
    cols = j1 - j0
    for panel in range((cols + NR - 1) // NR):
        c0 = panel * NR
        valid = min(NR, cols - c0)
        for p in range(p1 - p0):
            row = b[p0 + p]
            dest = out[panel, p]
            for c in range(valid):
                dest[c] = row[j0 + c0 + c]
            for c in range(valid, NR):
                dest[c] = 0.0
    # END SOLUTION
