"""How many threads numpy's BLAS may use: a cap for a ``with`` block, or for a worker's whole life.

The benchmarks time our kernels against numpy (BLAS) and run thread and process pools beside it;
without a cap, n workers x BLAS threads would share the same cores. threadpoolctl (optional)
sets the cap; without it these are no-ops and the benchmark tables say so.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from contextlib import AbstractContextManager
from typing import Any, cast

BLAS_PINNED = importlib.util.find_spec("threadpoolctl") is not None


def blas_thread_limit(n_threads: int) -> AbstractContextManager[object]:
    """Cap numpy's BLAS at ``n_threads`` inside a ``with`` block (a no-op without threadpoolctl)."""
    if not BLAS_PINNED:
        return contextlib.nullcontext()
    threadpoolctl: Any = importlib.import_module("threadpoolctl")
    return cast(AbstractContextManager[object], threadpoolctl.threadpool_limits(n_threads, user_api="blas"))


def pin_blas_threads(n_threads: int) -> None:
    """Process-pool initializer: cap this worker's BLAS threads for its whole life."""
    blas_thread_limit(n_threads).__enter__()
