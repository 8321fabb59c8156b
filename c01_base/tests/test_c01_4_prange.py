"""c01.4: the numba ``prange`` parallel kernel.

Oracle: ``numpy.matmul`` in float64. Checked: results for any shape, dtype and
layout with 1 and with all threads, that the thread count is restored, that the
kernel's Python semantics equal the compiled ones, and input validation.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c01_base import matmul_prange, max_threads, parallel_numba

pytestmark = pytest.mark.task("c01.4")

# Tolerance: per-element rounding bound of a length-K reduction (Higham 3.5), doubled for the
# float64 oracle's own error: |C - A @ B| <= SLACK * K * eps(dtype) * (|A| @ |B|).
ERROR_BOUND_SLACK = 2.0
MAX_DIM = 40
DTYPES = [np.float32, np.float64]
THREAD_COUNTS = sorted({1, max_threads()})


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


@settings(deadline=None, max_examples=40, derandomize=True, database=None)
@given(
    mkn=st.tuples(*(st.integers(0, MAX_DIM) for _ in range(3))),
    dtype=st.sampled_from(DTYPES),
    layouts=st.tuples(*(st.sampled_from(["C", "F", "strided"]) for _ in range(2))),
    n_threads=st.sampled_from(THREAD_COUNTS),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_numpy(mkn, dtype, layouts, n_threads, seed):
    m, k, n = mkn
    rng = np.random.default_rng(seed)
    a, b = make_matrix(rng, (m, k), dtype, layouts[0]), make_matrix(rng, (k, n), dtype, layouts[1])
    got = matmul_prange(a, b, n_threads=n_threads)
    assert_matmul_close(got, a, b)
    assert got.flags.c_contiguous


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mkn", [(0, 0, 0), (0, 4, 3), (4, 0, 3), (4, 3, 0), (1, 1, 1), (97, 31, 53)], ids=str)
def test_edge_shapes(mkn, dtype):
    m, k, n = mkn
    rng = np.random.default_rng(0)
    a, b = make_matrix(rng, (m, k), dtype, "C"), make_matrix(rng, (k, n), dtype, "C")
    assert_matmul_close(matmul_prange(a, b), a, b)


def test_thread_count_does_not_change_the_result():
    rng = np.random.default_rng(1)
    a, b = make_matrix(rng, (64, 50), np.float64, "C"), make_matrix(rng, (50, 70), np.float64, "C")
    results = [matmul_prange(a, b, n_threads=t) for t in THREAD_COUNTS]
    for result in results:  # each row is computed by one thread in a fixed order: bitwise equal
        np.testing.assert_array_equal(result, results[0])


def test_thread_count_is_restored():
    before = numba.get_num_threads()
    a = np.ones((8, 8))
    matmul_prange(a, a, n_threads=1)
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads must be between 1 and"):
        matmul_prange(a, a, n_threads=max_threads() + 1)
    with pytest.raises(ValueError, match="n_threads must be between 1 and"):
        matmul_prange(a, a, n_threads=0)
    assert numba.get_num_threads() == before


def test_python_semantics_equal_compiled():
    rng = np.random.default_rng(2)
    for dtype in DTYPES:
        a, b = make_matrix(rng, (6, 5), dtype, "C"), make_matrix(rng, (5, 4), dtype, "C")
        compiled, interpreted = np.zeros((6, 4), dtype), np.zeros((6, 4), dtype)
        parallel_numba._matmul_prange_kernel(a, b, compiled)
        parallel_numba._matmul_prange_kernel.py_func(a, b, interpreted)
        np.testing.assert_allclose(compiled, interpreted, rtol=4 * np.finfo(dtype).eps)
        assert_matmul_close(interpreted, a, b)


def test_bad_input_raises_a_clear_error():
    with pytest.raises(ValueError, match=r"a has shape \(3, 4\) but b has shape \(5, 2\)"):
        matmul_prange(np.ones((3, 4)), np.ones((5, 2)))
    with pytest.raises(TypeError, match=r"b has dtype int32"):
        matmul_prange(np.ones((3, 4)), np.ones((4, 2), np.int32))
    with pytest.raises(ValueError, match=r"a must be 2-D"):
        matmul_prange(np.ones(4), np.ones((4, 2)))
    bad = np.ones((3, 4))
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="a contains NaN or infinity"):
        matmul_prange(bad, np.ones((4, 2)), check_finite=True)
