"""c01.1 (hidden): harder edge cases for the kernels and their validation."""

from __future__ import annotations

import numpy as np
import pytest

from c01_base import matmul_blocked, matmul_naive

pytestmark = pytest.mark.task("c01.1")

# Same rounding bound as the public tests: SLACK * K * eps(dtype) * (|A| @ |B|) (Higham 3.5).
ERROR_BOUND_SLACK = 2.0
KERNELS = [matmul_naive, matmul_blocked]


def assert_matmul_close(got, a, b):
    assert got.shape == (a.shape[0], b.shape[1]) and got.dtype == a.dtype
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    bound = ERROR_BOUND_SLACK * max(a.shape[1], 1) * np.finfo(a.dtype).eps * (np.abs(a64) @ np.abs(b64))
    assert np.all(np.abs(got - a64 @ b64) <= bound)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_reductions(kernel, dtype):
    rng = np.random.default_rng(10)
    a = rng.standard_normal((2, 5000)).astype(dtype)  # a 5000-term dot product per element
    b = rng.standard_normal((5000, 3)).astype(dtype)
    assert_matmul_close(kernel(a, b), a, b)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
def test_outer_product_and_vector_shapes(kernel):
    rng = np.random.default_rng(11)
    col, row = rng.standard_normal((50, 1)), rng.standard_normal((1, 60))
    assert_matmul_close(kernel(col, row), col, row)  # K = 1
    assert_matmul_close(kernel(row, row.T), row, row.T)  # (1, 60) @ (60, 1)


def test_block_size_does_not_change_correctness():
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal((70, 45)), rng.standard_normal((45, 33))
    for block in (1, 2, 7, 32, 45, 70, 10_000):
        assert_matmul_close(matmul_blocked(a, b, block=block), a, b)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
def test_both_operands_fortran_ordered_and_reversed(kernel):
    rng = np.random.default_rng(13)
    a = np.asfortranarray(rng.standard_normal((17, 23)).astype(np.float32))
    b = rng.standard_normal((23, 19)).astype(np.float32)[::-1]
    assert_matmul_close(kernel(a, b), a, b)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda f: f.__name__)
def test_big_endian_and_object_arrays_are_rejected(kernel):
    with pytest.raises(TypeError, match="only float32 and float64"):
        kernel(np.ones((2, 2), dtype=">f8"), np.ones((2, 2)))
    with pytest.raises(TypeError, match="dtype object"):
        kernel(np.ones((2, 2)), np.ones((2, 2), dtype=object))
    with pytest.raises(ValueError, match="0-D"):
        kernel(np.ones(()), np.ones((2, 2)))
