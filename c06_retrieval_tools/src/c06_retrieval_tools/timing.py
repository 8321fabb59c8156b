"""Timing helpers shared by the evaluation, the ablation and the benchmark.

Wall-clock time (``time.perf_counter``) is what a user waits; process CPU time
(``time.process_time``) is what the machine spends, summed over this process's
threads, so a call that keeps two cores busy for 10 ms costs 20 ms of CPU. Report
both: a server's throughput is bounded by CPU time, a user's patience by latency.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def timed(call: Callable[[], T]) -> tuple[T, float, float]:
    """(result, wall ms, CPU ms) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, 1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)


def percentiles(values_ms: Sequence[float], points: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` of a list of timings (zeros for an empty list)."""
    values = np.asarray(values_ms, dtype=np.float64) if len(values_ms) else np.zeros(1)
    return {f"p{p:g}": float(np.percentile(values, p)) for p in points}
