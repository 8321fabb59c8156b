"""c01.3: process-parallel matmul over shared memory, without copies and without leaks.

Oracle: ``numpy.matmul`` in float64. One spawned pool serves the whole file
(spawning costs about a second). Leaks are checked on the file system: every
segment this module creates is named ``SEGMENT_PREFIX...`` and appears in
``/dev/shm`` on Linux until it is unlinked.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from pathlib import Path

import numpy as np
import pytest

from c01_base import (
    SEGMENT_PREFIX,
    RowBlockTask,
    SharedArray,
    compute_row_block,
    make_process_executor,
    matmul_processes,
)

pytestmark = pytest.mark.task("c01.3")

# Tolerance: per-element rounding bound of a length-K reduction (Higham 3.5), doubled for the
# float64 oracle's own error: |C - A @ B| <= SLACK * K * eps(dtype) * (|A| @ |B|).
ERROR_BOUND_SLACK = 2.0
# What crosses the process boundary per task must not grow with the matrices: names, shapes,
# dtype and a row range fit in well under this many pickled bytes.
MAX_PICKLED_TASK_BYTES = 2048
SHM_DIR = Path("/dev/shm")
needs_dev_shm = pytest.mark.skipif(not SHM_DIR.is_dir(), reason="needs /dev/shm (Linux)")


def our_segments() -> set[str]:
    """Names of this module's shared-memory segments that exist right now."""
    return {p.name for p in SHM_DIR.iterdir() if p.name.startswith(SEGMENT_PREFIX)}


def assert_matmul_close(got, a, b):
    assert got.shape == (a.shape[0], b.shape[1])
    assert got.dtype == a.dtype
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    bound = ERROR_BOUND_SLACK * max(a.shape[1], 1) * np.finfo(a.dtype).eps * (np.abs(a64) @ np.abs(b64))
    assert np.all(np.abs(got - a64 @ b64) <= bound)


@pytest.fixture(scope="module")
def pool() -> Iterator[Executor]:
    executor = make_process_executor(2)
    yield executor
    executor.shutdown()


class RecordingExecutor(Executor):
    """Forwards to a real executor and records the pickled size of everything submitted."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.payload_sizes: list[int] = []

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self.payload_sizes.append(len(pickle.dumps((fn, args, kwargs))))
        return self.inner.submit(fn, *args, **kwargs)


SHAPES = [(0, 3, 2), (3, 0, 2), (3, 2, 0), (1, 1, 1), (5, 7, 3), (64, 33, 17)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mkn", SHAPES, ids=str)
def test_matches_numpy(pool, mkn, dtype):
    m, k, n = mkn
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    before = our_segments() if SHM_DIR.is_dir() else set()
    assert_matmul_close(matmul_processes(a, b, n_workers=3, executor=pool), a, b)
    if SHM_DIR.is_dir():
        assert our_segments() <= before


def test_non_contiguous_inputs_and_ndarray_out(pool):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((20, 31))[:, ::2]  # (20, 16) strided view
    b = rng.standard_normal((12, 16)).T  # (16, 12) transposed view
    out = np.full((20, 12), np.nan)
    assert matmul_processes(a, b, n_workers=2, out=out, executor=pool) is out
    assert_matmul_close(out, a, b)


def test_shared_inputs_and_output_are_used_in_place(pool):
    rng = np.random.default_rng(2)
    with (
        SharedArray.create((40, 30), np.float64) as sa,
        SharedArray.create((30, 20), np.float64) as sb,
        SharedArray.create((40, 20), np.float64) as sc,
    ):
        sa.array[...] = rng.standard_normal((40, 30))  # allocated in shared memory: no copy later
        sb.array[...] = rng.standard_normal((30, 20))
        payloads = RecordingExecutor(pool)
        result = matmul_processes(sa, sb, n_workers=2, out=sc, executor=payloads)
        assert np.shares_memory(result, sc.array)  # the caller's segment, not a copy
        assert_matmul_close(result, sa.array, sb.array)
        assert payloads.payload_sizes and max(payloads.payload_sizes) < MAX_PICKLED_TASK_BYTES
        del result  # a live view pins the segment: drop it before the with block closes it


def test_no_matrix_is_pickled_to_the_workers(pool):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((300, 300)), rng.standard_normal((300, 300))  # 720 KB each
    payloads = RecordingExecutor(pool)
    assert_matmul_close(matmul_processes(a, b, n_workers=2, executor=payloads), a, b)
    assert len(payloads.payload_sizes) >= 2
    assert max(payloads.payload_sizes) < MAX_PICKLED_TASK_BYTES


@needs_dev_shm
def test_a_failing_worker_leaves_no_segment_behind(pool):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((10, 6)), rng.standard_normal((6, 4))
    before = our_segments()
    with pytest.raises(RuntimeError, match="injected failure"):
        matmul_processes(a, b, n_workers=3, executor=pool, fail_block=1)
    assert our_segments() <= before, "segments of the failed call were not unlinked"
    assert_matmul_close(matmul_processes(a, b, executor=pool), a, b)  # the pool survived


@needs_dev_shm
def test_own_pool_is_spawned_and_cleaned_up():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((9, 5)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    before = our_segments()
    assert_matmul_close(matmul_processes(a, b, n_workers=2), a, b)
    assert our_segments() <= before


@needs_dev_shm
def test_bad_input_raises_before_any_segment_exists(pool):
    before = our_segments()
    with pytest.raises(ValueError, match=r"inner dimensions 4 and 5 differ"):
        matmul_processes(np.ones((3, 4)), np.ones((5, 2)), executor=pool)
    with pytest.raises(TypeError, match=r"a has dtype float32 but b has dtype float64"):
        matmul_processes(np.ones((3, 4), np.float32), np.ones((4, 2)), executor=pool)
    with pytest.raises(ValueError, match="n_workers must be >= 1"):
        matmul_processes(np.ones((3, 4)), np.ones((4, 2)), n_workers=0, executor=pool)
    with pytest.raises(ValueError, match=r"out has shape \(2, 2\)"):
        matmul_processes(np.ones((3, 4)), np.ones((4, 2)), out=np.empty((2, 2)), executor=pool)
    assert our_segments() <= before


def test_shared_out_that_overlaps_an_input_is_refused(pool):
    with SharedArray.create((4, 4), np.float64) as shared:
        shared.array[...] = 1.0
        with pytest.raises(ValueError, match="out shares memory with an input"):
            matmul_processes(shared, shared, out=shared, executor=pool)


@needs_dev_shm
def test_shared_array_lifecycle():
    shared = SharedArray.create((3, 2), np.float32)
    assert shared.spec.name.startswith(SEGMENT_PREFIX) and shared.spec.name in our_segments()
    shared.array[...] = [[1, 2], [3, 4], [5, 6]]
    view = SharedArray.attach(shared.spec)  # a second mapping of the same memory
    np.testing.assert_array_equal(view.array, shared.array)
    with pytest.raises(ValueError, match="only the creator may unlink"):
        view.unlink()
    pinned = view.array[1:]  # a live view pins the mapping
    with pytest.raises(BufferError, match="views of it are still alive"):
        view.close()
    del pinned
    view.close()
    view.close()  # idempotent
    with pytest.raises(ValueError, match="is closed"):
        _ = view.array
    shared.close()
    shared.unlink()
    shared.unlink()  # idempotent
    assert shared.spec.name not in our_segments()


@needs_dev_shm
def test_shared_array_copies_and_empty_shapes():
    x = np.arange(12.0).reshape(3, 4)
    with SharedArray.from_array(x) as shared:
        np.testing.assert_array_equal(shared.array, x)
        assert not np.shares_memory(shared.array, x)
        name = shared.spec.name
    assert name not in our_segments()  # the context manager unlinked it
    with SharedArray.create((0, 5), np.float64) as empty:  # size-0 segments are not allowed
        assert empty.array.shape == (0, 5)


@needs_dev_shm
def test_worker_function_in_process():
    """compute_row_block runs in the workers; call it here too so coverage sees it."""
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 3))
    with (
        SharedArray.from_array(a) as sa,
        SharedArray.from_array(b) as sb,
        SharedArray.create((6, 3), np.float64) as sc,
    ):
        sc.array[...] = 0.0
        compute_row_block(RowBlockTask(sa.spec, sb.spec, sc.spec, 2, 5))
        np.testing.assert_allclose(sc.array[2:5], a[2:5] @ b, rtol=1e-12)
        assert not sc.array[:2].any() and not sc.array[5:].any()  # only its rows
        with pytest.raises(RuntimeError, match="injected failure"):
            compute_row_block(RowBlockTask(sa.spec, sb.spec, sc.spec, 0, 6, fail=True))
    # The worker closed its own mappings even when it failed, so the closes above succeeded.
