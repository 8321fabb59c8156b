"""The climb to BLAS, measured: each step of the packed GEMM against BLAS at the same thread count.

Steps, each adding one idea to the previous one (float64, n x n):

1. ``naive i-j-k``: one dot product per element of C, walking down columns of B;
2. ``loop order i-k-j``: the same arithmetic, B and C read along rows (unit stride, SIMD);
3. ``cache blocking``: i-k-j over tiles that stay in cache;
4. ``packing``: GotoBLAS's five loops with blocks sized from the caches, A and B copied into
   contiguous panels, a plain inner kernel;
5. ``micro-kernel``: the same with the register-blocked micro-kernel (8 x 8, or 4 x 8 without AVX-512);
6. ``micro-kernel, 2 threads``: blocks of A spread over two numba threads.

Each step is compared with numpy's BLAS pinned (threadpoolctl) to the step's own thread count:
a one-thread kernel against one-thread BLAS, two threads against two. On a shared 2-vCPU VM,
two BLAS threads can even be slower than one, so comparing with BLAS's default would flatter or
punish a kernel for the machine's load, not its design.

Timing: every cell is called once untimed (compilation, page faults), then the steps of one size
are timed round-robin, ``repeats`` rounds, so that a burst of load from other processes hits all
of them alike. The table reports the median round; the fraction of BLAS divides medians.
"""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from c01_base.blas_threads import BLAS_PINNED, blas_thread_limit
from c01_base.gemm_packed import matmul_packed, matmul_packed_plain, matmul_packed_prange
from c01_base.kernels import matmul_blocked, matmul_ijk, matmul_naive
from c01_base.parallel_numba import max_threads

Kernel = Callable[[NDArray[np.float64], NDArray[np.float64]], object]
BLAS = "numpy BLAS"


@dataclass(frozen=True)
class Step:
    """One rung of the climb: a name, its thread count, the call, and the largest n it runs at."""

    name: str
    threads: int
    fn: Kernel
    max_n: int | None = None  # None: every size


@dataclass(frozen=True)
class ClimbRow:
    """The median time of one step at one size, and its fraction of BLAS at the same thread count."""

    step: str
    threads: int
    n: int
    seconds: float | None  # None: skipped at this size
    gflops: float | None
    fraction_of_blas: float | None


def steps(naive_max_n: int = 1024) -> list[Step]:
    """The rungs in order, BLAS at 1 and 2 threads first (2-thread rows only with 2 cores)."""
    two = max_threads() >= 2
    rungs = [Step(BLAS, 1, np.matmul)] + ([Step(BLAS, 2, np.matmul)] if two else [])
    rungs += [
        Step("naive i-j-k", 1, matmul_ijk, min(naive_max_n, 512)),  # column walks: 30 s a call at 1024
        Step("loop order i-k-j", 1, matmul_naive, naive_max_n),
        Step("cache blocking", 1, matmul_blocked),
        Step("packing", 1, matmul_packed_plain),
        Step("micro-kernel", 1, matmul_packed),
    ]
    if two:
        rungs.append(Step("micro-kernel, 2 threads", 2, lambda a, b: matmul_packed_prange(a, b, n_threads=2)))
    return rungs


def blas_description() -> str:
    """Which BLAS numpy runs, as threadpoolctl reports it (library, version, kernel architecture)."""
    if not BLAS_PINNED:
        return "BLAS: threadpoolctl not installed, so BLAS is not pinned and not identified"
    threadpoolctl: Any = importlib.import_module("threadpoolctl")  # ships no type hints
    libs = [info for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]
    if not libs:
        return "BLAS: none found by threadpoolctl"
    parts = [  # the folder names the package that loaded it: numpy.libs is the one np.matmul calls
        f"{lib.get('internal_api')} {lib.get('version')} from {Path(str(lib.get('filepath'))).parent.name} "
        f"(kernel {lib.get('architecture')}, {lib.get('threading_layer')} threads)"
        for lib in libs
    ]
    return "BLAS: " + "; ".join(parts)


def _time_once(step: Step, a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    with blas_thread_limit(step.threads):  # only BLAS reads it; the numba steps set their own
        start = time.perf_counter()
        step.fn(a, b)
        return time.perf_counter() - start


def run_climb(sizes: Sequence[int], repeats: int = 3, *, naive_max_n: int = 1024, seed: int = 0) -> list[ClimbRow]:
    """Time every step at every size (median of ``repeats`` round-robin rounds); no printing."""
    if repeats < 1 or not sizes or min(sizes) < 1:
        raise ValueError("need repeats >= 1 and at least one size >= 1")
    rng = np.random.default_rng(seed)
    rungs = steps(naive_max_n)
    rows: list[ClimbRow] = []
    for n in sizes:
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        active = [s for s in rungs if s.max_n is None or n <= s.max_n]
        times: dict[str, list[float]] = {f"{s.name}/{s.threads}": [] for s in active}
        for s in active:
            _time_once(s, a, b)  # warm-up: compilation, first-touch page faults, thread start
        for _ in range(repeats):
            for s in active:
                times[f"{s.name}/{s.threads}"].append(_time_once(s, a, b))
        medians = {key: statistics.median(values) for key, values in times.items()}
        flops = 2.0 * n**3
        for s in rungs:
            median = medians.get(f"{s.name}/{s.threads}")
            if median is None:
                rows.append(ClimbRow(s.name, s.threads, n, None, None, None))
                continue
            blas = medians[f"{BLAS}/{s.threads}"]
            rows.append(ClimbRow(s.name, s.threads, n, median, flops / median / 1e9, blas / median))
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


CLIMB_HEADERS = ["step", "threads", "n", "median time (ms)", "GFLOP/s", "x BLAS (same threads)"]


def climb_cells(rows: Sequence[ClimbRow]) -> list[list[str]]:
    """The table cells as strings; a skipped step says "skipped"."""
    return [
        [
            r.step,
            str(r.threads),
            str(r.n),
            "skipped" if r.seconds is None else f"{r.seconds * 1e3:.2f}",
            _fmt(r.gflops, ".2f"),
            _fmt(r.fraction_of_blas, ".3f"),
        ]
        for r in rows
    ]


def render_climb(rows: Sequence[ClimbRow]) -> str:
    """The climb as a plain-text table, with the BLAS description and the timing rule under it."""
    cells = climb_cells(rows)
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(CLIMB_HEADERS)]

    def join(line: Sequence[str]) -> str:
        return " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )

    lines = ["c01 climb to BLAS (float64, n x n)", join(CLIMB_HEADERS), "-+-".join("-" * w for w in widths)]
    lines += [join(line) for line in cells]
    lines.append(blas_description())
    lines.append("medians of round-robin rounds; x BLAS: numpy BLAS pinned to the same thread count")
    return "\n".join(lines) + "\n"
