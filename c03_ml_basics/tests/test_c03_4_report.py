"""c03.4: the report and the benchmark harness run end to end at small settings.

Both use every estimator of c03.1 to c03.3, so they are graded with the last task. The report is
written into a temporary folder; the benchmark runs at tiny sizes with one repeat, and only its
table's structure is checked: wall-clock speed is never asserted.
"""

from __future__ import annotations

import math
import re

import pytest

from c03_ml_basics import bench, report

pytestmark = pytest.mark.task("c03.4")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TINY_SIZES = (60, 90)


def test_report_writes_markdown_plots_and_names_the_worst_examples(tmp_path, capsys):
    assert report.main(["--out", str(tmp_path), "--quick", "--top", "3"]) == 0
    assert "wrote" in capsys.readouterr().out
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    for name in ("residuals.png", "confusion_matrices.png", "learning_curves.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE)
        assert f"]({name})" in text  # linked from the Markdown
    rows = re.findall(r"^\| (\d+) \| .* \| ([^|]+) \|$", text, flags=re.MULTILINE)
    assert len(rows) == 9  # 3 worst + 3 most influential patients, 3 worst cancer cases: row numbers and reasons
    assert all(reason.strip() for _, reason in rows)
    assert "## Cross-validation" in text and "## Learning curves" in text


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
