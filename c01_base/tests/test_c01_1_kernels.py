"""c01.1: the naive and blocked numba kernels and their input validation.

Oracle: ``numpy.matmul`` in float64. Every shape is allowed, including empty
and 1-sized dimensions, any memory layout (transposed, strided, reversed views),
float32 and float64. Bad inputs must raise a TypeError or ValueError whose
message names what is wrong.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c01_base import check_matmul_operands, kernels, matmul_blocked, matmul_naive

pytestmark = pytest.mark.task("c01.1")

# Tolerance. For a length-K reduction in any summation order the rounding error obeys
# |fl(A @ B) - A @ B| <= gamma_K * (|A| @ |B|) elementwise, gamma_K = K*u/(1 - K*u) with
# u = eps/2 (Higham, "Accuracy and Stability of Numerical Algorithms", 3.5). The kernel and the
# float64 oracle each contribute at most that, so we allow SLACK * K * eps(dtype) * (|A| @ |B|):
# eps is 1.2e-7 for float32 and 2.2e-16 for float64, and the bound grows with the reduction length.
ERROR_BOUND_SLACK = 2.0
# The metric: max |C - C_ref| / max |C_ref| on one float64 case (normwise relative error).
METRIC_SHAPES = ((257, 300), (300, 263))  # not multiples of any block size
MAX_DIM = 40  # hypothesis shapes range over 0..MAX_DIM
KERNELS = [matmul_naive, matmul_blocked]
DTYPES = [np.float32, np.float64]


def make_matrix(rng: np.random.Generator, shape: tuple[int, int], dtype: type, layout: str) -> np.ndarray:
    """A random (rows, cols) matrix in the given memory layout (views, not copies)."""
    rows, cols = shape
    if layout == "C":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "F":  # a transposed view: column-major
        return rng.standard_normal((cols, rows)).astype(dtype).T
    if layout == "strided":  # every other column of a wider matrix
        return rng.standard_normal((rows, 2 * cols + 1)).astype(dtype)[:, 1::2]
    assert layout == "reversed"  # negative strides
    return rng.standard_normal(shape).astype(dtype)[::-1, ::-1]


def assert_matmul_close(got: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    assert got.shape == (a.shape[0], b.shape[1])
    assert got.dtype == a.dtype
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    expected = np.matmul(a64, b64)
    bound = ERROR_BOUND_SLACK * max(a.shape[1], 1) * np.finfo(a.dtype).eps * (np.abs(a64) @ np.abs(b64))
    error = np.abs(got.astype(np.float64) - expected)
    assert np.all(error <= bound), f"max error {error.max()} exceeds the rounding bound"


@st.composite
def operand_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    m, k, n = (draw(st.integers(0, MAX_DIM)) for _ in range(3))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    layouts = st.sampled_from(["C", "F", "strided", "reversed"])
    return make_matrix(rng, (m, k), dtype, draw(layouts)), make_matrix(rng, (k, n), dtype, draw(layouts))


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
@settings(deadline=None, max_examples=40, derandomize=True, database=None)
@given(pair=operand_pairs())
def test_matches_numpy_for_any_shape_dtype_and_layout(kernel, pair):
    a, b = pair
    a_before, b_before = a.copy(), b.copy()
    got = kernel(a, b)
    assert_matmul_close(got, a, b)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(a, a_before)  # inputs untouched
    np.testing.assert_array_equal(b, b_before)


EDGE_SHAPES = [(0, 0, 0), (0, 3, 2), (3, 0, 2), (3, 2, 0), (1, 1, 1), (1, 7, 1), (7, 1, 5), (33, 17, 65)]


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mkn", EDGE_SHAPES, ids=str)
def test_edge_shapes(kernel, dtype, mkn):
    m, k, n = mkn
    rng = np.random.default_rng(1)
    a, b = make_matrix(rng, (m, k), dtype, "C"), make_matrix(rng, (k, n), dtype, "C")
    got = kernel(a, b)
    assert_matmul_close(got, a, b)
    if k == 0:  # an empty reduction is exactly zero
        np.testing.assert_array_equal(got, np.zeros((m, n), dtype))


@pytest.mark.parametrize("block", [1, 3, 16, 64, 1000, np.int64(5)])
def test_blocked_any_block_size(block):
    rng = np.random.default_rng(2)
    a, b = make_matrix(rng, (37, 29), np.float64, "C"), make_matrix(rng, (29, 41), np.float64, "F")
    assert_matmul_close(matmul_blocked(a, b, block=block), a, b)


@pytest.mark.parametrize("block", [0, -4, 2.5, True, "8"])
def test_blocked_rejects_bad_block(block):
    a = np.ones((2, 2))
    with pytest.raises(ValueError, match="block must be a positive integer"):
        matmul_blocked(a, a, block=block)


def test_blocked_max_rel_error_f64(metric):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(shape) for shape in METRIC_SHAPES)
    expected = np.matmul(a, b)
    error = float(np.abs(matmul_blocked(a, b) - expected).max() / np.abs(expected).max())
    metric("blocked_max_rel_error_f64", error)


def test_python_semantics_equal_compiled():
    """The kernels' .py_func (plain Python) computes what the compiled code computes."""
    rng = np.random.default_rng(3)
    for dtype in DTYPES:
        a, b = make_matrix(rng, (5, 7), dtype, "C"), make_matrix(rng, (7, 3), dtype, "C")
        for kernel, extra in ((kernels._matmul_naive_kernel, ()), (kernels._matmul_blocked_kernel, (2,))):
            compiled, interpreted = np.zeros((5, 3), dtype), np.zeros((5, 3), dtype)
            kernel(a, b, compiled, *extra)
            kernel.py_func(a, b, interpreted, *extra)
            np.testing.assert_allclose(compiled, interpreted, rtol=4 * np.finfo(dtype).eps)
            assert_matmul_close(interpreted, a, b)


def test_textbook_ijk_kernel():
    """The given i-j-k kernel (the first step of the benchmark's climb) runs on validated operands."""
    rng = np.random.default_rng(5)
    a, b = make_matrix(rng, (5, 7), np.float64, "F"), make_matrix(rng, (7, 3), np.float64, "C")
    assert_matmul_close(kernels.matmul_ijk(a, b), a, b)
    interpreted = np.zeros((5, 3))
    kernels._matmul_ijk_kernel.py_func(np.ascontiguousarray(a), b, interpreted)
    assert_matmul_close(interpreted, a, b)
    with pytest.raises(ValueError, match="inner dimensions"):
        kernels.matmul_ijk(a, a)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
def test_many_threads_at_once_get_identical_results(kernel):
    rng = np.random.default_rng(4)
    a, b = make_matrix(rng, (64, 48), np.float64, "C"), make_matrix(rng, (48, 80), np.float64, "C")
    expected = kernel(a, b)
    n_threads = 8
    barrier = threading.Barrier(n_threads)
    results: list[np.ndarray | None] = [None] * n_threads
    errors: list[BaseException] = []

    def call(slot: int) -> None:
        barrier.wait()  # start together
        try:
            for _ in range(5):
                results[slot] = kernel(a, b)
        except BaseException as exc:  # re-raised below: never let an error die with its thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    for result in results:  # our own kernels are deterministic: bitwise equal
        np.testing.assert_array_equal(result, expected)


def test_read_only_inputs_are_accepted():
    a, b = np.ones((3, 4), np.float32), np.ones((4, 2), np.float32)
    a.setflags(write=False)
    b.setflags(write=False)
    for kernel in KERNELS:
        np.testing.assert_array_equal(kernel(a, b), np.full((3, 2), 4.0, np.float32))


BAD_INPUTS = [
    ([[1.0, 2.0]], np.ones((2, 1)), TypeError, r"a must be a numpy\.ndarray, got list"),
    (np.ones((2, 2)), 3.0, TypeError, r"b must be a numpy\.ndarray, got float"),
    (np.ones(3), np.ones((3, 1)), ValueError, r"a must be 2-D .* got a 1-D array of shape \(3,\)"),
    (np.ones((2, 2)), np.ones((2, 2, 2)), ValueError, r"b must be 2-D .* got a 3-D array"),
    (np.ones((2, 2), np.int64), np.ones((2, 2)), TypeError, r"a has dtype int64; only float32 and float64"),
    (np.ones((2, 2)), np.ones((2, 2), np.float16), TypeError, r"b has dtype float16"),
    (np.ones((2, 2), np.complex128), np.ones((2, 2)), TypeError, r"a has dtype complex128"),
    (np.ones((2, 2), bool), np.ones((2, 2)), TypeError, r"a has dtype bool"),
    (
        np.ones((2, 2), np.float32),
        np.ones((2, 2), np.float64),
        TypeError,
        r"a has dtype float32 but b has dtype float64",
    ),
    (
        np.ones((3, 4)),
        np.ones((5, 2)),
        ValueError,
        r"a has shape \(3, 4\) but b has shape \(5, 2\): inner dimensions 4 and 5 differ",
    ),
]


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("a", "b", "error", "message"), BAD_INPUTS)
def test_bad_input_raises_a_clear_error(kernel, a, b, error, message):
    with pytest.raises(error, match=message):
        kernel(a, b)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_finite(kernel, bad):
    a, b = np.ones((3, 4)), np.ones((4, 2))
    b[1, 1] = bad
    with pytest.raises(ValueError, match=r"b contains NaN or infinity"):
        kernel(a, b, check_finite=True)
    a[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"a contains NaN or infinity"):
        check_matmul_operands(a, b, check_finite=True)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
def test_nan_propagates_like_numpy_without_check_finite(kernel):
    a, b = np.ones((3, 4)), np.ones((4, 2))
    a[1, 2] = np.nan
    got = kernel(a, b)
    assert np.isnan(got[1]).all()
    np.testing.assert_array_equal(got[[0, 2]], np.full((2, 2), 4.0))


def test_validation_returns_operands_unchanged():
    a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    checked_a, checked_b = check_matmul_operands(a, b, check_finite=True)
    assert checked_a is a and checked_b is b  # no copy
