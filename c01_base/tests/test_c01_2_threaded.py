"""c01.2: thread-parallel matmul over row blocks written into one preallocated output.

Oracle: ``numpy.matmul`` in float64. Checked: the row partition, results for
any shape, dtype, layout and worker count, that a caller's ``out`` is filled in
place (and validated), that no thread allocates a partial result, and that
many threads calling at once all get correct results.
"""

from __future__ import annotations

import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c01_base import matmul_threaded, row_slices

pytestmark = pytest.mark.task("c01.2")

# Tolerance: per-element rounding bound of a length-K reduction in any order (Higham 3.5),
# |fl(A @ B) - A @ B| <= K * u * (|A| @ |B|), u = eps/2; BLAS and the float64 oracle each add
# at most that, so we allow SLACK * K * eps(dtype) * (|A| @ |B|) (float32: eps = 1.2e-7).
ERROR_BOUND_SLACK = 2.0
MAX_DIM = 40
DTYPES = [np.float32, np.float64]
# A thread must write into out[rows], not allocate its block: peak Python-heap growth during the
# call must stay far below the size of the output (numpy reports its allocations to tracemalloc).
MAX_ALLOCATED_FRACTION_OF_OUT = 0.25


def make_matrix(rng, shape, dtype, layout):
    rows, cols = shape
    if layout == "C":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "F":
        return rng.standard_normal((cols, rows)).astype(dtype).T
    return rng.standard_normal((rows, 2 * cols + 1)).astype(dtype)[:, 1::2]


def assert_matmul_close(got, a, b):
    assert got.shape == (a.shape[0], b.shape[1])
    assert got.dtype == a.dtype
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    bound = ERROR_BOUND_SLACK * max(a.shape[1], 1) * np.finfo(a.dtype).eps * (np.abs(a64) @ np.abs(b64))
    assert np.all(np.abs(got - a64 @ b64) <= bound)


@settings(deadline=None, max_examples=200, derandomize=True, database=None)
@given(n_rows=st.integers(0, 300), n_blocks=st.integers(1, 20))
def test_row_slices_partition_the_rows(n_rows, n_blocks):
    slices = row_slices(n_rows, n_blocks)
    assert len(slices) == min(n_rows, n_blocks)
    covered = [i for s in slices for i in range(n_rows)[s]]
    assert covered == list(range(n_rows))  # in order, disjoint, complete
    sizes = [s.stop - s.start for s in slices]
    assert all(size >= 1 for size in sizes)
    assert not sizes or max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(("n_rows", "n_blocks", "message"), [(-1, 2, "n_rows"), (4, 0, "n_blocks")])
def test_row_slices_rejects_bad_arguments(n_rows, n_blocks, message):
    with pytest.raises(ValueError, match=message):
        row_slices(n_rows, n_blocks)


@settings(deadline=None, max_examples=60, derandomize=True, database=None)
@given(
    mkn=st.tuples(*(st.integers(0, MAX_DIM) for _ in range(3))),
    dtype=st.sampled_from(DTYPES),
    layouts=st.tuples(*(st.sampled_from(["C", "F", "strided"]) for _ in range(2))),
    n_workers=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_numpy(mkn, dtype, layouts, n_workers, seed):
    m, k, n = mkn
    rng = np.random.default_rng(seed)
    a, b = make_matrix(rng, (m, k), dtype, layouts[0]), make_matrix(rng, (k, n), dtype, layouts[1])
    assert_matmul_close(matmul_threaded(a, b, n_workers=n_workers), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fills_the_callers_out_in_place(dtype):
    rng = np.random.default_rng(0)
    a, b = make_matrix(rng, (30, 20), dtype, "C"), make_matrix(rng, (20, 10), dtype, "F")
    out = np.full((30, 10), np.nan, dtype)  # garbage must be overwritten
    result = matmul_threaded(a, b, n_workers=3, out=out)
    assert result is out
    assert_matmul_close(out, a, b)


def test_out_may_be_a_non_contiguous_view():
    rng = np.random.default_rng(1)
    a, b = make_matrix(rng, (12, 5), np.float64, "C"), make_matrix(rng, (5, 7), np.float64, "C")
    big = np.zeros((12, 20))
    out = big[:, 3:17:2]  # (12, 7) strided view
    assert matmul_threaded(a, b, n_workers=4, out=out) is out
    assert_matmul_close(big[:, 3:17:2], a, b)
    assert not big[:, :3].any() and not big[:, 17:].any()  # nothing outside the view touched


def test_no_thread_allocates_a_partial_result():
    rng = np.random.default_rng(2)
    a, b = make_matrix(rng, (512, 128), np.float64, "C"), make_matrix(rng, (128, 512), np.float64, "C")
    out = np.empty((512, 512))
    with ThreadPoolExecutor(4) as pool:
        matmul_threaded(a, b, n_workers=4, out=out, executor=pool)  # warm the pool
        tracemalloc.start()
        try:
            matmul_threaded(a, b, n_workers=4, out=out, executor=pool)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < MAX_ALLOCATED_FRACTION_OF_OUT * out.nbytes, f"peak {peak} B vs out {out.nbytes} B"
    assert_matmul_close(out, a, b)


def test_a_caller_executor_is_reused_not_shut_down():
    rng = np.random.default_rng(3)
    a, b = make_matrix(rng, (9, 4), np.float32, "C"), make_matrix(rng, (4, 6), np.float32, "C")
    with ThreadPoolExecutor(2) as pool:
        for n_workers in (1, 2, 7):
            assert_matmul_close(matmul_threaded(a, b, n_workers=n_workers, executor=pool), a, b)
        assert pool.submit(lambda: 42).result() == 42  # still usable


def test_many_threads_calling_at_once_all_get_correct_results():
    rng = np.random.default_rng(4)
    a, b = make_matrix(rng, (96, 64), np.float64, "C"), make_matrix(rng, (64, 80), np.float64, "C")
    n_threads = 8
    barrier = threading.Barrier(n_threads)
    outs = [np.empty((96, 80)) for _ in range(n_threads)]
    errors: list[BaseException] = []

    def call(slot: int) -> None:
        barrier.wait()
        try:
            for _ in range(10):
                matmul_threaded(a, b, n_workers=3, out=outs[slot])
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    for out in outs:
        assert_matmul_close(out, a, b)


def test_bad_out_raises_a_clear_error():
    a, b = np.ones((3, 4)), np.ones((4, 2))
    with pytest.raises(ValueError, match=r"out has shape \(2, 3\) but the result has shape \(3, 2\)"):
        matmul_threaded(a, b, out=np.empty((2, 3)))
    with pytest.raises(TypeError, match=r"out has dtype float32 but the result has dtype float64"):
        matmul_threaded(a, b, out=np.empty((3, 2), np.float32))
    with pytest.raises(TypeError, match=r"out must be a numpy\.ndarray, got list"):
        matmul_threaded(a, b, out=[[0.0, 0.0]] * 3)
    read_only = np.empty((3, 2))
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="out is read-only"):
        matmul_threaded(a, b, out=read_only)
    square = np.ones((4, 4))
    with pytest.raises(ValueError, match="out shares memory with an input"):
        matmul_threaded(square, square, out=square)


def test_bad_operands_and_worker_count_raise():
    with pytest.raises(ValueError, match=r"inner dimensions 4 and 5 differ"):
        matmul_threaded(np.ones((3, 4)), np.ones((5, 2)))
    with pytest.raises(TypeError, match=r"a has dtype int64"):
        matmul_threaded(np.ones((3, 4), np.int64), np.ones((4, 2)))
    with pytest.raises(ValueError, match="n_workers must be >= 1"):
        matmul_threaded(np.ones((3, 4)), np.ones((4, 2)), n_workers=0)
    bad = np.ones((4, 2))
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="b contains NaN or infinity"):
        matmul_threaded(np.ones((3, 4)), bad, check_finite=True)
