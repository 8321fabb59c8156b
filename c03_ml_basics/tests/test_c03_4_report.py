"""c03.4: the report runs end to end at small settings.

It uses every estimator of c03.1 to c03.3 and the evaluation of c03.4, so it is graded with the last
task. The report is written into a temporary folder.
"""

from __future__ import annotations

import re

import pytest

from c03_ml_basics import report

pytestmark = pytest.mark.task("c03.4")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
