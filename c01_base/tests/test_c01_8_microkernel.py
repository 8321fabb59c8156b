"""c01.8: the register-blocked micro-kernel, the packed GEMM on one and on several threads.

Oracle: ``numpy.matmul`` in float64. Checked: the micro-kernel on its own (compiled and as plain
Python), the packed GEMM and its ``prange`` version for any shape (empty, 1 x 1, primes, not
multiples of the register tile or the cache blocks), dtype, layout and blocking; that the thread
count neither changes the result nor leaks; input validation; and the speed floor: the packed
GEMM reaches a stated fraction of single-threaded BLAS (a ratio measured in the same test, best of
several runs of each, so a burst of load on a shared machine does not decide it).
"""

from __future__ import annotations

import time

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from c01_base import gemm_microkernel, gemm_packed, gemm_packing, max_threads
from c01_base.gemm_microkernel import micro_kernel, micro_kernel_4x8, slp_vectorizer
from c01_base.gemm_packed import matmul_packed, matmul_packed_prange
from c01_base.gemm_packing import MR, NR, Blocking

pytestmark = pytest.mark.task("c01.8")

# Tolerance: per-element rounding bound of a length-K reduction (Higham 3.5), doubled for the
# float64 oracle: |C - A @ B| <= SLACK * K * eps(dtype) * (|A| @ |B|). The kernels fuse multiply
# and add (fastmath "contract": one rounding instead of two) but never reorder the sum, so the
# bound of the plain loop holds.
ERROR_BOUND_SLACK = 2.0
MAX_DIM = 40
DTYPES = [np.float32, np.float64]
THREAD_COUNTS = sorted({1, max_threads()})
# The speed floor: float64 n x n at this n, best of this many timed calls of each side.
FLOOR_N = 512
FLOOR_RUNS = 7


def make_matrix(rng, shape, dtype, layout):
    rows, cols = shape
    if layout == "C":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "F":
        return rng.standard_normal((cols, rows)).astype(dtype).T
    if layout == "strided":
        return rng.standard_normal((rows, 2 * cols + 1)).astype(dtype)[:, 1::2]
    return rng.standard_normal(shape).astype(dtype)[::-1, ::-1]


def assert_matmul_close(got, a, b):
    assert got.shape == (a.shape[0], b.shape[1]) and got.dtype == a.dtype
    assert got.flags.c_contiguous
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    bound = ERROR_BOUND_SLACK * max(a.shape[1], 1) * np.finfo(a.dtype).eps * (np.abs(a64) @ np.abs(b64))
    assert np.all(np.abs(got - a64 @ b64) <= bound)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("kernel", "rows"), [(micro_kernel, 8), (micro_kernel_4x8, 4)], ids=["8x8", "4x8"])
def test_micro_kernel_compiled_and_python(kernel, rows, dtype):
    rng = np.random.default_rng(0)
    kc = 37
    ap = rng.standard_normal((kc + 3, rows)).astype(dtype)  # longer than kc: the tail is never read
    bp = rng.standard_normal((kc + 3, NR)).astype(dtype)
    start = rng.standard_normal((rows + 3, NR + 5)).astype(dtype)
    expected = start.astype(np.float64)
    expected[2 : 2 + rows, 4 : 4 + NR] += ap[:kc].T.astype(np.float64) @ bp[:kc]
    for fn in (kernel, kernel.py_func):
        out = start.copy()
        with slp_vectorizer():  # compile as the public functions do
            fn(kc, ap, bp, out, 2, 4, np.dtype(dtype).type(0))
        assert out.dtype == dtype
        tile = (slice(2, 2 + rows), slice(4, 4 + NR))
        terms = np.abs(start[tile]).astype(np.float64) + np.abs(ap[:kc]).T.astype(np.float64) @ np.abs(bp[:kc])
        bound = ERROR_BOUND_SLACK * (kc + 1) * np.finfo(dtype).eps * terms  # kc products plus the start
        assert np.all(np.abs(out[tile] - expected[tile]) <= bound)
        mask = np.zeros(out.shape, bool)
        mask[tile] = True
        np.testing.assert_array_equal(out[~mask], start[~mask])  # nothing outside the tile changes


@pytest.mark.parametrize("fn", [matmul_packed, matmul_packed_prange], ids=lambda f: f.__name__)
@settings(deadline=None, max_examples=30, derandomize=True, database=None)  # 2 threads: ~50 ms a call on a busy VM
@given(
    mkn=st.tuples(*(st.integers(0, MAX_DIM) for _ in range(3))),
    dtype=st.sampled_from(DTYPES),
    layouts=st.tuples(*(st.sampled_from(["C", "F", "strided", "reversed"]) for _ in range(2))),
    blocks=st.one_of(st.none(), st.tuples(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20))),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_numpy(fn, mkn, dtype, layouts, blocks, seed):
    m, k, n = mkn
    rng = np.random.default_rng(seed)
    a, b = make_matrix(rng, (m, k), dtype, layouts[0]), make_matrix(rng, (k, n), dtype, layouts[1])
    a_before, b_before = a.copy(), b.copy()
    blocking = None if blocks is None else Blocking(MR, NR, *blocks)
    assert_matmul_close(fn(a, b, blocking=blocking), a, b)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


EDGE_SHAPES = [
    (0, 0, 0),
    (0, 3, 2),
    (3, 0, 2),
    (3, 2, 0),
    (1, 1, 1),
    (1, 7, 1),
    (7, 1, 5),
    (8, 8, 8),
    (9, 17, 7),
    (31, 401, 37),
    (67, 193, 71),
    (130, 385, 127),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mkn", EDGE_SHAPES, ids=str)
def test_edge_and_prime_shapes(mkn, dtype):
    m, k, n = mkn
    rng = np.random.default_rng(1)
    a, b = make_matrix(rng, (m, k), dtype, "C"), make_matrix(rng, (k, n), dtype, "strided")
    for blocking in (None, Blocking(MR, NR, 64, 24, 16)):  # several K, M and N blocks, ragged edges
        serial = matmul_packed(a, b, blocking=blocking)
        assert_matmul_close(serial, a, b)
        for threads in THREAD_COUNTS:  # same summation order on any thread count: bitwise equal
            np.testing.assert_array_equal(matmul_packed_prange(a, b, n_threads=threads, blocking=blocking), serial)
    if k == 0:
        np.testing.assert_array_equal(matmul_packed(a, b), np.zeros((m, n), dtype))


def test_thread_count_is_validated_and_restored():
    before = numba.get_num_threads()
    a = np.ones((9, 9))
    np.testing.assert_array_equal(matmul_packed_prange(a, a, n_threads=1), np.full((9, 9), 9.0))
    assert numba.get_num_threads() == before
    for bad in (0, max_threads() + 1):
        with pytest.raises(ValueError, match="n_threads must be between 1 and"):
            matmul_packed_prange(a, a, n_threads=bad)
    with pytest.raises(ValueError, match="register tile"):
        matmul_packed_prange(a, a, blocking=Blocking(4, 4, 8, 8, 8))
    assert numba.get_num_threads() == before


@pytest.mark.parametrize("fn", [matmul_packed, matmul_packed_prange], ids=lambda f: f.__name__)
def test_bad_input_and_nan(fn):
    with pytest.raises(ValueError, match=r"inner dimensions 4 and 5 differ"):
        fn(np.ones((3, 4)), np.ones((5, 2)))
    with pytest.raises(TypeError, match=r"b has dtype int32"):
        fn(np.ones((3, 4)), np.ones((4, 2), np.int32))
    with pytest.raises(TypeError, match=r"a has dtype float32 but b has dtype float64"):
        fn(np.ones((3, 4), np.float32), np.ones((4, 2)))
    a = np.ones((10, 4))
    a[9, 2] = np.nan  # in the ragged last row panel
    with pytest.raises(ValueError, match="a contains NaN or infinity"):
        fn(a, np.ones((4, 2)), check_finite=True)
    got = fn(a, np.ones((4, 2)))
    assert np.isnan(got[9]).all() and (got[:9] == 4.0).all()


def test_python_semantics_equal_compiled():
    """The parallel driver's .py_func (prange runs as range) computes what the compiled code does."""
    rng = np.random.default_rng(2)
    for dtype in DTYPES:
        a, b = make_matrix(rng, (19, 11), dtype, "C"), make_matrix(rng, (11, 21), dtype, "C")
        zero = np.dtype(dtype).type(0)
        compiled, interpreted = np.zeros((19, 21), dtype), np.zeros((19, 21), dtype)
        with slp_vectorizer():
            gemm_packed._gemm_parallel(a, b, compiled, 4, 16, 16, 2, zero)
            gemm_packed._gemm_parallel.py_func(a, b, interpreted, 4, 16, 16, 2, zero)
        np.testing.assert_allclose(compiled, interpreted, rtol=8 * np.finfo(dtype).eps)
        assert_matmul_close(interpreted, a, b)
        # The macro-kernel as plain Python: full tiles and edge tiles of a 13 x 11 block of C.
        a_buf, b_buf = np.zeros((2, 11, MR), dtype), np.zeros((2, 11, NR), dtype)
        rows = min(13, 2 * MR)
        gemm_packing.pack_a(a, 0, rows, 0, 11, a_buf)
        gemm_packing.pack_b(b, 0, 11, 0, 11, b_buf)
        block = np.zeros((19, 21), dtype)
        gemm_packed._macro_kernel.py_func(
            a_buf, b_buf, block, 0, 0, rows, 11, 11, True, np.empty((MR, NR), dtype), zero
        )
        assert_matmul_close(block[:rows, :11].copy(), a[:rows], b[:, :11])
        assert not block[rows:].any() and not block[:, 11:].any()
        empty = np.zeros((0, 3), dtype)
        gemm_packed._gemm_parallel.py_func(empty, empty.T.copy(), np.zeros((0, 0), dtype), 4, 8, 8, 2, zero)


def test_slp_vectorizer_is_switched_on_only_inside():
    config = numba.config
    before = config.SLP_VECTORIZE
    # The first call per dtype compiles inside the SLP block; any later one must find it restored.
    np.testing.assert_array_equal(matmul_packed(np.ones((9, 3)), np.ones((3, 9))), np.full((9, 9), 3.0))
    assert before == config.SLP_VECTORIZE
    with slp_vectorizer():
        assert config.SLP_VECTORIZE == 1
    assert before == config.SLP_VECTORIZE
    with pytest.raises(RuntimeError, match="boom"), slp_vectorizer():
        raise RuntimeError("boom")
    assert before == config.SLP_VECTORIZE
    assert gemm_microkernel.enable_wide_vectors() == gemm_packing.has_avx512()
    assert (8 if gemm_packing.has_avx512() else 4) == MR
    with pytest.MonkeyPatch.context() as patch:  # as if numba compiled for a CPU without AVX-512
        patch.setattr(numba.config, "CPU_FEATURES", "+avx,+avx2,+fma")
        assert not gemm_packing.has_avx512()


def best_seconds(fn, runs):
    fn()  # warm-up: compilation, page faults
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_packed_over_blas_f64(metric):
    """Speed floor: the packed micro-kernel on one thread against BLAS pinned to one thread."""
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((FLOOR_N, FLOOR_N)), rng.standard_normal((FLOOR_N, FLOOR_N))
    assert_matmul_close(matmul_packed(a, b), a, b)
    with threadpool_limits(1, user_api="blas"):
        ratios = []
        for _ in range(2):  # interleave the two sides, so a burst of load hits both
            t_blas = best_seconds(lambda: np.matmul(a, b), FLOOR_RUNS)
            t_packed = best_seconds(lambda: matmul_packed(a, b), FLOOR_RUNS)
            ratios.append(t_blas / t_packed)
    metric("packed_over_blas_f64", max(ratios))
