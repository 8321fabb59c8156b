"""c01.4: the benchmark harness runs every variant and prints one well-formed table.

The benchmark needs every kernel (c01.1 to c01.4), so it is graded with the last
kernel task. Only the table's structure and the sanity of its numbers are checked,
at n = 8 with one repeat: wall-clock speeds are never asserted.
"""

from __future__ import annotations

import math
import sys

import pytest

from c01_base import bench

pytestmark = pytest.mark.task("c01.4")

SIZES = [8, 12]
NAIVE_MAX_N = 10  # so that n = 12 shows a "skipped" naive row
PARALLEL_VARIANTS = {"threads", "prange", "processes"}
SINGLE_VARIANTS = {"numpy (BLAS)", "naive numba", "blocked numba"}


@pytest.fixture(scope="module")
def rows() -> list[bench.Row]:
    return bench.run_benchmark(SIZES, repeats=1, naive_max_n=NAIVE_MAX_N)


def test_every_variant_size_and_worker_count_has_one_row(rows):
    workers = [w for w in bench.WORKER_COUNTS if w <= bench.max_threads()]
    expected = {(v, n, None) for v in SINGLE_VARIANTS for n in SIZES}
    expected |= {(v, n, w) for v in PARALLEL_VARIANTS for n in SIZES for w in workers}
    keys = [(r.variant, r.n, r.workers) for r in rows]
    assert len(keys) == len(set(keys)) and set(keys) == expected
    for sizes, repeats in (([], 1), ([8], 0), ([0], 1)):
        with pytest.raises(ValueError, match="repeats"):
            bench.run_benchmark(sizes, repeats)


def test_numbers_are_finite_and_positive(rows):
    for r in rows:
        if r.variant == "naive numba" and r.n > NAIVE_MAX_N:
            assert r.skipped and r.gflops is None and r.ratio_to_blas is None
            continue
        assert not r.skipped
        for value in (r.seconds, r.gflops, r.ratio_to_blas):
            assert value is not None and math.isfinite(value) and value > 0
        if r.variant == "numpy (BLAS)":
            assert r.ratio_to_blas == pytest.approx(1.0)
        if r.variant in PARALLEL_VARIANTS and r.workers and r.workers > 1:
            assert r.speedup is not None and math.isfinite(r.speedup) and r.speedup > 0
        else:
            assert r.speedup is None


def test_tables_plain_and_rich(rows, monkeypatch):
    plain = bench.render_table(rows, plain=True)
    fancy = bench.render_table(rows)
    for table in (plain, fancy):
        assert "skipped" in table and "prange" in table and "GFLOP/s" in table
    assert len(plain.splitlines()) == len(rows) + 3  # header, rule, one line per row, note
    assert bench.table_note() in plain
    monkeypatch.setitem(sys.modules, "rich.table", None)  # as if rich were not installed
    assert bench.render_table(rows) == plain


def test_command_line(capsys, monkeypatch):
    assert bench.main(["--sizes", "8", "--repeats", "1", "--naive-max", "4", "--plain", "--table", "variants"]) == 0
    printed = capsys.readouterr().out
    assert "skipped" in printed and "processes" in printed
    calls = []
    monkeypatch.setattr(bench, "run_benchmark", lambda *a, **k: calls.append((a, k)) or [])
    bench.main(["--quick", "--plain", "--table", "variants"])
    assert calls == [((bench.QUICK_SIZES, 1), {"naive_max_n": 1024})]
