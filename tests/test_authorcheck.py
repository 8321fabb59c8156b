"""The author check names tests that check nothing and markers that are wrong."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from curriculum.authorcheck import check_markers, reused_reference_problems, run_author_check
from curriculum.manifest import discover_modules


def check(course: Path) -> tuple[bool, str]:
    console = Console(record=True, width=200)
    ok = run_author_check(course, discover_modules(course), console)
    return ok, console.export_text()


def test_toy_course_passes(course: Path):
    ok, text = check(course)
    assert ok, text
    assert "every graded test fails on the workspace through NotImplementedError" in text


def test_a_test_that_checks_nothing_is_named(course: Path):
    (course / "c01_toy/tests/test_c01_3_vacuous.py").write_text(
        'import pytest\n\npytestmark = pytest.mark.task("c01.3")\n\n\ndef test_nothing():\n    assert True\n'
    )
    ok, text = check(course)
    assert not ok
    assert "test_c01_3_vacuous.py::test_nothing passes on the learner workspace: it checks nothing" in text


def test_a_test_failing_for_another_reason_is_named(course: Path):
    (course / "c01_toy/tests/test_c01_3_import.py").write_text(
        'import pytest\n\npytestmark = pytest.mark.task("c01.3")\n\n\n'
        "def test_uses_given_code():\n    from c01_toy import arith\n\n"
        "    assert arith.checksum.__name__ == 'not this'\n"
    )
    ok, text = check(course)
    assert not ok
    assert "test_uses_given_code fails through failed, not NotImplementedError" in text


def test_marker_for_an_unknown_task_and_a_task_without_region(course: Path):
    arith = course / "c01_toy/src/c01_toy/arith.py"
    arith.write_text(arith.read_text().replace("# BEGIN SOLUTION c01.3", "# BEGIN SOLUTION c01.9"))
    problems = check_markers(discover_modules(course))
    assert any("task c01.9 is not in c01's manifest" in p for p in problems)
    assert any("task c01.3 has no solution region" in p for p in problems)
    ok, text = check(course)
    assert not ok and "grading the reference" not in text  # stops before spending time on grading


def test_a_fresh_full_grade_can_stand_in_for_the_reference_run(course: Path, tmp_path: Path):
    from curriculum.grade import grade_submission

    modules = discover_modules(course)
    grade_submission(modules, course, course / "build" / "grade")
    results = course / "build" / "grade" / "results.json"
    console = Console(record=True, width=200)
    assert run_author_check(course, modules, console, reference_results=results), console.export_text()
    assert "reading the reference's grade" in console.export_text()

    # A source file changed after the grade: the old grade is not trusted.
    arith = course / "c01_toy/src/c01_toy/arith.py"
    arith.write_text(arith.read_text() + "\n")
    console = Console(record=True, width=200)
    assert not run_author_check(course, modules, console, reference_results=results)
    assert "grade again" in console.export_text()

    other = tmp_path / "other.json"
    other.write_text(results.read_text().replace(str(course), "/elsewhere"))
    problems = reused_reference_problems(other, course, [m for m in modules if m.built])
    assert problems == [f"{other} grades /elsewhere, not {course}"]
