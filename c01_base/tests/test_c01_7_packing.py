"""c01.7: cache blocking from the machine's cache sizes, packed panels, and the packed GEMM loops.

Oracles: numpy slicing and zero padding for the packed panels (an exact copy), ``numpy.matmul``
in float64 for the products. Checked: cache sizes parsed from a fake sysfs tree (and defaults
when it is missing), block sizes from the stated rules, panels with zero padding, the packed
GEMM with the plain inner kernel for any shape, dtype, layout and blocking, input validation,
and the kernels' Python semantics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c01_base import gemm_packed, gemm_packing
from c01_base.gemm_microkernel import slp_vectorizer
from c01_base.gemm_packed import matmul_packed_plain, resolve_blocking
from c01_base.gemm_packing import MR, NR, Blocking, CacheSizes, choose_blocking, pack_a, pack_b, read_cache_sizes

pytestmark = pytest.mark.task("c01.7")

# Tolerance: per-element rounding bound of a length-K reduction in any order (Higham 3.5), doubled
# for the float64 oracle: |C - A @ B| <= SLACK * K * eps(dtype) * (|A| @ |B|). Fused multiply-adds
# round once instead of twice, so they stay inside the same bound.
ERROR_BOUND_SLACK = 2.0
MAX_DIM = 40
DTYPES = [np.float32, np.float64]
# A machine like the benchmark VM: 48 KiB L1d, 2 MiB L2, 300 MiB L3.
BENCH_CACHES = CacheSizes(48 * 1024, 2048 * 1024, 300 * 1024 * 1024)


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


def write_cache(root: Path, index: int, level: str, kind: str, size: str) -> None:
    folder = root / f"index{index}"
    folder.mkdir(parents=True)
    for name, text in (("level", level), ("type", kind), ("size", size)):
        (folder / name).write_text(text + "\n")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("48K", 48 * 1024),
        ("2048K\n", 2 << 20),
        ("300M", 300 << 20),
        ("1G", 1 << 30),
        ("512", 512),
        (" 32k ", 32 * 1024),
    ],
)
def test_parse_size(text, size):
    assert gemm_packing.parse_size(text) == size


def test_read_cache_sizes_from_sysfs(tmp_path):
    write_cache(tmp_path, 0, "1", "Data", "48K")
    write_cache(tmp_path, 1, "1", "Instruction", "32K")  # not a data cache: ignored
    write_cache(tmp_path, 2, "2", "Unified", "2048K")
    write_cache(tmp_path, 3, "3", "Unified", "300M")
    assert read_cache_sizes(tmp_path) == BENCH_CACHES


def test_read_cache_sizes_defaults(tmp_path):
    default = CacheSizes(gemm_packing.DEFAULT_L1D, gemm_packing.DEFAULT_L2, gemm_packing.DEFAULT_L3)
    assert read_cache_sizes(tmp_path / "missing") == default
    write_cache(tmp_path, 0, "1", "Data", "64K")
    write_cache(tmp_path, 2, "2", "Unified", "lots")  # unreadable size: default for L2
    (tmp_path / "index3").mkdir()  # no files at all
    assert read_cache_sizes(tmp_path) == CacheSizes(64 * 1024, default.l2, default.l3)
    machine = read_cache_sizes()
    assert min(machine.l1d, machine.l2, machine.l3) > 0


def test_choose_blocking_for_the_benchmark_machine():
    # With AVX-512 (MR = 8): kc = 24 KiB / ((8 + 8) * 8 B) = 192, mc = 1 MiB / (192 * 8 B) = 682 -> 680;
    # without (MR = 4): kc = 24 KiB / (12 * 8 B) = 256, mc = 1 MiB / (256 * 8 B) = 512. nc is capped.
    expected = {8: ((192, 680), (384, 680)), 4: ((256, 512), (512, 512))}[MR]
    assert choose_blocking(8, BENCH_CACHES) == Blocking(MR, NR, *expected[0], gemm_packing.NC_CAP)
    assert choose_blocking(4, BENCH_CACHES) == Blocking(MR, NR, *expected[1], gemm_packing.NC_CAP)


@settings(deadline=None, max_examples=60, derandomize=True, database=None)
@given(
    l1=st.integers(1, 1 << 20),
    l2=st.integers(1, 1 << 26),
    l3=st.integers(1, 1 << 31),
    itemsize=st.sampled_from([4, 8]),
)
def test_choose_blocking_rules(l1, l2, l3, itemsize):
    bl = choose_blocking(itemsize, CacheSizes(l1, l2, l3))
    assert (bl.mr, bl.nr) == (MR, NR)
    assert bl.kc % 8 == 0 and 64 <= bl.kc <= 1024
    assert bl.mc % MR == 0 and MR <= bl.mc <= 4096
    assert bl.nc % NR == 0 and NR <= bl.nc <= gemm_packing.NC_CAP
    if bl.kc > 64:  # not clamped from below: the two panels fit in half of L1
        assert (MR + NR) * bl.kc * itemsize <= l1 // 2
    if MR < bl.mc < 4096:
        assert bl.mc * bl.kc * itemsize <= l2 // 2 < (bl.mc + MR) * bl.kc * itemsize
    assert choose_blocking(8) == choose_blocking(8, read_cache_sizes())


def reference_pack_a(a, i0, i1, p0, p1):
    panels = -(-(i1 - i0) // MR)
    block = np.zeros((panels * MR, p1 - p0), a.dtype)
    block[: i1 - i0] = a[i0:i1, p0:p1]
    return block.reshape(panels, MR, p1 - p0).transpose(0, 2, 1)  # (panel, p, r)


def reference_pack_b(b, p0, p1, j0, j1):
    panels = -(-(j1 - j0) // NR)
    block = np.zeros((p1 - p0, panels * NR), b.dtype)
    block[:, : j1 - j0] = b[p0:p1, j0:j1]
    return block.reshape(p1 - p0, panels, NR).transpose(1, 0, 2)  # (panel, p, c)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("window", [(0, 1, 0, 1), (0, 8, 0, 8), (3, 20, 2, 13), (5, 6, 7, 19), (0, 17, 0, 0)], ids=str)
def test_pack_a_and_b_match_slicing_with_zero_padding(dtype, window):
    lo, hi, lo2, hi2 = window
    rng = np.random.default_rng(0)
    a = rng.standard_normal((23, 21)).astype(dtype)
    b = np.ascontiguousarray(a.T)  # (21, 23)
    cases = (
        (pack_a, a, reference_pack_a(a, lo, hi, lo2, hi2), (lo, hi, lo2, hi2)),
        (pack_b, b, reference_pack_b(b, lo2, hi2, lo, hi), (lo2, hi2, lo, hi)),
    )
    for pack, x, expected, args in cases:
        for fn in (pack, pack.py_func):
            out = np.full((expected.shape[0] + 1, expected.shape[1] + 2, MR), np.nan, dtype)  # bigger, garbage
            fn(x, *args, out)
            np.testing.assert_array_equal(out[: expected.shape[0], : expected.shape[1]], expected)


@settings(deadline=None, max_examples=40, derandomize=True, database=None)
@given(
    mkn=st.tuples(*(st.integers(0, MAX_DIM) for _ in range(3))),
    dtype=st.sampled_from(DTYPES),
    layouts=st.tuples(*(st.sampled_from(["C", "F", "strided", "reversed"]) for _ in range(2))),
    blocks=st.one_of(st.none(), st.tuples(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20))),
    seed=st.integers(0, 2**32 - 1),
)
def test_packed_plain_matches_numpy(mkn, dtype, layouts, blocks, seed):
    m, k, n = mkn
    rng = np.random.default_rng(seed)
    a, b = make_matrix(rng, (m, k), dtype, layouts[0]), make_matrix(rng, (k, n), dtype, layouts[1])
    a_before, b_before = a.copy(), b.copy()
    blocking = None if blocks is None else Blocking(MR, NR, *blocks)
    assert_matmul_close(matmul_packed_plain(a, b, blocking=blocking), a, b)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mkn", [(1, 1, 1), (7, 13, 11), (8, 8, 8), (9, 200, 17), (31, 401, 37)], ids=str)
def test_packed_plain_edge_and_prime_shapes(mkn, dtype):
    m, k, n = mkn
    rng = np.random.default_rng(1)
    a, b = make_matrix(rng, (m, k), dtype, "C"), make_matrix(rng, (k, n), dtype, "F")
    for blocking in (None, Blocking(MR, NR, 64, 16, 24)):  # several K, M and N blocks
        assert_matmul_close(matmul_packed_plain(a, b, blocking=blocking), a, b)


def test_resolve_blocking():
    assert resolve_blocking(None, np.dtype(np.float64)) == choose_blocking(8)
    mine = Blocking(MR, NR, 3, 5, 7)
    assert resolve_blocking(mine, np.dtype(np.float32)) is mine
    bad = [((MR, NR, 0, 5, 7), "kc, mc and nc >= 1"), ((4, NR, 8, 8, 8), "register tile")]
    for fields, message in bad:
        with pytest.raises(ValueError, match=message):
            matmul_packed_plain(np.ones((2, 2)), np.ones((2, 2)), blocking=Blocking(*fields))
    with pytest.raises(ValueError, match="blocking must be a Blocking"):
        matmul_packed_plain(np.ones((2, 2)), np.ones((2, 2)), blocking=(8, 8, 8, 8, 8))  # type: ignore[arg-type]


BAD_INPUTS = [
    ([[1.0]], np.ones((1, 1)), TypeError, r"a must be a numpy\.ndarray"),
    (np.ones(3), np.ones((3, 1)), ValueError, r"a must be 2-D"),
    (np.ones((2, 2), np.int64), np.ones((2, 2)), TypeError, r"a has dtype int64"),
    (np.ones((2, 2), np.float32), np.ones((2, 2)), TypeError, r"a has dtype float32 but b has dtype float64"),
    (np.ones((3, 4)), np.ones((5, 2)), ValueError, r"inner dimensions 4 and 5 differ"),
]


@pytest.mark.parametrize(("a", "b", "error", "message"), BAD_INPUTS)
def test_bad_input_raises_a_clear_error(a, b, error, message):
    with pytest.raises(error, match=message):
        matmul_packed_plain(a, b)


def test_check_finite_and_nan_propagation():
    a, b = np.ones((3, 4)), np.ones((4, 2))
    a[1, 2] = np.nan
    with pytest.raises(ValueError, match="a contains NaN or infinity"):
        matmul_packed_plain(a, b, check_finite=True)
    got = matmul_packed_plain(a, b)
    assert np.isnan(got[1]).all() and (got[[0, 2]] == 4.0).all()


def test_python_semantics_equal_compiled():
    """The drivers' .py_func (plain Python) compute what the compiled code computes."""
    rng = np.random.default_rng(2)
    for dtype in DTYPES:
        a, b = make_matrix(rng, (11, 9), dtype, "C"), make_matrix(rng, (9, 13), dtype, "C")
        zero = np.dtype(dtype).type(0)
        compiled, interpreted = np.zeros((11, 13), dtype), np.zeros((11, 13), dtype)
        with slp_vectorizer():  # compile as the public functions do
            gemm_packed._gemm_serial(a, b, compiled, 4, 8, 8, False, zero)
            gemm_packed._gemm_serial.py_func(a, b, interpreted, 4, 8, 8, False, zero)
        np.testing.assert_allclose(compiled, interpreted, rtol=8 * np.finfo(dtype).eps)
        assert_matmul_close(interpreted, a, b)
        tile = np.zeros((MR, NR), dtype)
        ap, bp = rng.standard_normal((5, MR)).astype(dtype), rng.standard_normal((5, NR)).astype(dtype)
        gemm_packed._plain_kernel.py_func(5, ap, bp, tile, 0, 0)
        np.testing.assert_allclose(tile, ap.T @ bp, rtol=1e-5)
        a_buf, b_buf = np.zeros((2, 9, MR), dtype), np.zeros((2, 9, NR), dtype)
        rows = min(11, 2 * MR)
        pack_a(a, 0, rows, 0, 9, a_buf)
        pack_b(b, 0, 9, 0, 13, b_buf)
        block = np.zeros((17, 19), dtype)  # the macro-kernel as plain Python: full and edge tiles
        gemm_packed._macro_kernel.py_func(
            a_buf, b_buf, block, 0, 0, rows, 13, 9, False, np.empty((MR, NR), dtype), zero
        )
        assert_matmul_close(block[:rows, :13].copy(), a[:rows], b)
        assert not block[rows:].any() and not block[:, 13:].any()
        empty = np.zeros((0, 0), dtype)
        gemm_packed._gemm_serial.py_func(empty, empty, empty, 4, 8, 8, False, zero)  # nothing to do
