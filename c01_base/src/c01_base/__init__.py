"""c01: concurrency, vectorisation and memory reuse, built around one matrix multiply.

``C = A @ B`` is computed many ways, each file one idea:

* :mod:`~c01_base.validation` - check operands once, with messages that say what is wrong;
* :mod:`~c01_base.kernels` - naive and blocked (tiled) loops compiled with numba;
* :mod:`~c01_base.threaded` - threads filling disjoint row blocks of one output;
* :mod:`~c01_base.processes` - processes sharing memory by segment name, leak-free;
* :mod:`~c01_base.parallel_numba` - a numba ``prange`` kernel;
* :mod:`~c01_base.gemm_packing`, :mod:`~c01_base.gemm_microkernel`, :mod:`~c01_base.gemm_packed` -
  GEMM the way BLAS does it: cache blocking, packed panels, a register-blocked micro-kernel;
* :mod:`~c01_base.accumulator`, :mod:`~c01_base.work_queue`, :mod:`~c01_base.job_runner` -
  locks, conditions and asyncio for concurrency-safe coordination;
* :mod:`~c01_base.buffer_pool` - reusing output buffers, and views instead of copies;
* :mod:`~c01_base.bench`, :mod:`~c01_base.bench_climb` - every variant against numpy's BLAS, and the
  climb from the textbook loop to the packed GEMM (``python -m c01_base.bench``).
"""

from c01_base.accumulator import Accumulator, Snapshot
from c01_base.buffer_pool import BufferPool, row_block_views
from c01_base.gemm_packed import matmul_packed, matmul_packed_plain, matmul_packed_prange
from c01_base.gemm_packing import Blocking, CacheSizes, choose_blocking, read_cache_sizes
from c01_base.job_runner import Job, JobResult, JobRunner, JobStatus
from c01_base.kernels import DEFAULT_BLOCK, matmul_blocked, matmul_naive
from c01_base.parallel_numba import matmul_prange, max_threads
from c01_base.processes import (
    SEGMENT_PREFIX,
    RowBlockTask,
    SegmentSpec,
    SharedArray,
    compute_row_block,
    make_process_executor,
    matmul_processes,
)
from c01_base.threaded import matmul_threaded, row_slices
from c01_base.validation import SUPPORTED_DTYPES, check_matmul_operands, check_output
from c01_base.work_queue import QueueClosedError, WorkQueue

__all__ = [
    "DEFAULT_BLOCK",
    "SEGMENT_PREFIX",
    "SUPPORTED_DTYPES",
    "Accumulator",
    "Blocking",
    "BufferPool",
    "CacheSizes",
    "Job",
    "JobResult",
    "JobRunner",
    "JobStatus",
    "QueueClosedError",
    "RowBlockTask",
    "SegmentSpec",
    "SharedArray",
    "Snapshot",
    "WorkQueue",
    "check_matmul_operands",
    "check_output",
    "choose_blocking",
    "compute_row_block",
    "make_process_executor",
    "matmul_blocked",
    "matmul_naive",
    "matmul_packed",
    "matmul_packed_plain",
    "matmul_packed_prange",
    "matmul_prange",
    "matmul_processes",
    "matmul_threaded",
    "max_threads",
    "read_cache_sizes",
    "row_block_views",
    "row_slices",
]
