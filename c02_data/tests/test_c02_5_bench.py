"""c02.5: the benchmark harness fits every PCA and prints one well-formed table (and a plot).

The benchmark fits every variant (c02.2 to c02.5), so it is graded with the last task. Only the
table's structure and the sanity of its numbers are checked, at tiny sizes with one repeat:
wall-clock speeds are never asserted.
"""

from __future__ import annotations

import math

import pytest

from c02_data import bench

pytestmark = pytest.mark.task("c02.5")

SIZES = [(40, 6), (50, 8)]
K = 3


@pytest.fixture(scope="module")
def rows() -> list[bench.Row]:
    return bench.run_benchmark(SIZES, repeats=1, k=K)


def test_every_variant_and_size_has_one_row(rows):
    keys = [(r.variant, r.n_samples, r.n_features) for r in rows]
    assert len(keys) == len(set(keys)) == len(bench.VARIANTS) * len(SIZES)
    assert {r.variant for r in rows} == set(bench.VARIANTS)
    for sizes, repeats in (([], 1), ([(40, 6)], 0), ([(1, 6)], 1), ([(40, 2)], 1)):
        with pytest.raises(ValueError, match="repeats"):
            bench.run_benchmark(sizes, repeats, k=K)
    with pytest.raises(ValueError, match="clock must be one of"):
        bench.run_benchmark(SIZES, 1, k=K, clock="sundial")


def test_numbers_are_finite_and_exact_solvers_agree(rows):
    for r in rows:
        assert r.k == K and r.seconds > 0 and math.isfinite(r.speedup) and r.speedup > 0
        assert math.isfinite(r.component_error) and math.isfinite(r.variance_error)
        if r.variant == bench.BASELINE:
            assert r.speedup == pytest.approx(1.0) and r.component_error == 0.0
        if r.variant in ("ours covariance+eigh", "ours svd", "ours randomized"):  # exact here: k + p >= d
            assert r.component_error < 1e-9 and r.variance_error < 1e-9, r


def test_tables_plain_and_rich(rows, monkeypatch):
    import sys

    plain = bench.render_table(rows, plain=True)
    fancy = bench.render_table(rows)
    for table in (plain, fancy):
        assert "ours randomized" in table and "speed-up vs full" in table and "50 x 8" in table
    assert len(plain.splitlines()) == len(rows) + 3  # header, rule, one line per row, note
    monkeypatch.setitem(sys.modules, "rich.table", None)  # as if rich were not installed
    assert bench.render_table(rows) == plain


def test_command_line_and_plot(tmp_path, capsys, monkeypatch):
    png = tmp_path / "docs" / "bench.png"
    command = ["--sizes", "30x5", "--repeats", "2", "--k", "2", "--plain", "--plot", str(png), "--blas-threads", "1"]
    assert bench.main([*command, "--clock", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "sklearn incremental" in printed and f"plot saved to {png}" in printed
    assert "clock: cpu time; BLAS threads: 1" in printed
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    calls = []
    monkeypatch.setattr(bench, "run_benchmark", lambda *a, **k: calls.append((a, k)) or [])
    bench.main(["--quick", "--plain"])
    assert calls == [((bench.QUICK_SIZES, 1), {"k": 10, "clock": "wall"})]
