"""c01.8: the benchmark's climb from the textbook loop to the packed GEMM, at tiny sizes.

The climb runs every kernel of the module, the packed ones included, so it is graded with the
last kernel task. Only the table's structure and the sanity of its numbers are checked, at
n = 8 and 12 with one round: wall-clock speeds are never asserted here.
"""

from __future__ import annotations

import math

import pytest

from c01_base import bench, bench_climb, max_threads

pytestmark = pytest.mark.task("c01.8")

SIZES = [8, 12]
NAIVE_MAX_N = 10  # so that n = 12 shows skipped naive rows


@pytest.fixture(scope="module")
def rows() -> list[bench_climb.ClimbRow]:
    return bench_climb.run_climb(SIZES, repeats=1, naive_max_n=NAIVE_MAX_N)


def test_every_step_and_size_has_one_row(rows):
    names = [(s.name, s.threads) for s in bench_climb.steps()]
    assert names[0] == (bench_climb.BLAS, 1) and names[-1][0].startswith("micro-kernel")
    assert ("micro-kernel", 1) in names and ("packing", 1) in names and ("naive i-j-k", 1) in names
    assert ((bench_climb.BLAS, 2) in names) == (max_threads() >= 2)
    keys = [(r.step, r.threads, r.n) for r in rows]
    assert keys == [(name, threads, n) for n in SIZES for name, threads in names]
    for sizes, repeats in (([], 1), ([8], 0), ([0], 1)):
        with pytest.raises(ValueError, match="repeats"):
            bench_climb.run_climb(sizes, repeats)


def test_numbers_are_finite_and_blas_is_one(rows):
    for r in rows:
        if r.step in ("naive i-j-k", "loop order i-k-j") and r.n > NAIVE_MAX_N:
            assert r.seconds is None and r.gflops is None and r.fraction_of_blas is None
            continue
        for value in (r.seconds, r.gflops, r.fraction_of_blas):
            assert value is not None and math.isfinite(value) and value > 0
        if r.step == bench_climb.BLAS:
            assert r.fraction_of_blas == pytest.approx(1.0)


def test_table_and_command_line(rows, capsys, monkeypatch):
    table = bench_climb.render_climb(rows)
    assert len(table.splitlines()) == len(rows) + 5  # title, header, rule, rows, BLAS line, note
    assert "skipped" in table
    assert ("micro-kernel, 2 threads" in table) == (max_threads() >= 2)
    assert bench_climb.blas_description().startswith("BLAS: ")
    with monkeypatch.context() as patch:
        patch.setattr(bench_climb, "BLAS_PINNED", False)
        assert "threadpoolctl not installed" in bench_climb.blas_description()
    assert bench.main(["--sizes", "8", "--repeats", "1", "--table", "climb"]) == 0
    printed = capsys.readouterr().out
    assert "climb to BLAS" in printed and "micro-kernel" in printed and "blocked numba" not in printed

