"""c03.3: the benchmark harness times every estimator against scikit-learn and prints one table.

It runs every estimator of c03.1 to c03.3 (none of c03.4's evaluation), so it is graded with the
last estimator task. It runs at tiny sizes with one repeat, and only its table's structure is
checked: wall-clock speed is never asserted.
"""

from __future__ import annotations

import math

import pytest

from c03_ml_basics import bench

pytestmark = pytest.mark.task("c03.3")

TINY_SIZES = (60, 90)


def test_benchmark_rows_and_table(capsys):
    rows = bench.run_benchmark(TINY_SIZES, repeats=1)
    assert [(r.estimator, r.n_samples) for r in rows] == [(c.name, n) for c in bench.CASES for n in TINY_SIZES]
    for r in rows:
        for value in (r.fit_ours, r.fit_sklearn, r.predict_ours, r.predict_sklearn, r.fit_ratio, r.predict_ratio):
            assert math.isfinite(value) and value > 0
    plain = bench.render_table(rows, plain=True)
    fancy = bench.render_table(rows)
    for table in (plain, fancy):
        for header in ("fit ratio", "predict ratio"):
            assert header in table
        assert all(c.name in table for c in bench.CASES)
    assert len(plain.splitlines()) == 3 + len(rows)
    with pytest.raises(ValueError, match="repeats"):
        bench.run_benchmark(TINY_SIZES, repeats=0)
    with pytest.raises(ValueError, match="every size >= 60"):
        bench.run_benchmark([10], repeats=1)
    assert bench.main(["--sizes", "60", "--repeats", "1", "--plain"]) == 0
    assert "CART regressor" in capsys.readouterr().out
