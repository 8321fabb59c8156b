"""The module layering holds on the course, and the check catches each kind of planted violation."""

from __future__ import annotations

from pathlib import Path

from course_layering import check_layering

REPO = Path(__file__).resolve().parent.parent
PLANTED = Path(__file__).resolve().parent / "fixtures" / "layering"


def test_the_course_keeps_its_layers():
    violations = check_layering(REPO)
    assert not violations, "\n".join(map(str, violations))


def test_planted_violations_are_each_caught():
    rules = sorted(f"{v.path.relative_to(PLANTED)}:{v.line}: {v.rule}" for v in check_layering(PLANTED))
    assert rules == [
        # c01 reaches up to c03, inside a function (lazy imports count too)
        "c01_low/src/c01_low/__init__.py:6: c01 imports c03 (c03_top), a later module",
        # c03 imports c01 without declaring it anywhere, and c02 without making it a prerequisite
        "c03_top/src/c03_top/__init__.py:3: c03 imports c01_low but its pyproject.toml does not declare c01-low",
        "c03_top/src/c03_top/__init__.py:3: c03 imports c01_low but its tasks.toml does not list c01 among its "
        "prerequisites",
        "c03_top/tests/test_top.py:3: c03 imports c02_mid but its tasks.toml does not list c02 among its "
        "prerequisites",
        # the grader must never import what it grades
        "src/grader/__init__.py:3: the grader imports module code (c02_mid)",
    ]
