"""Coverage in view (a module below its minimum) and the files a task edits in `next` and `hint`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from curriculum import cli
from curriculum.grade import grade_submission
from curriculum.learner import build_workspace, task_files
from curriculum.manifest import discover_modules, find_module
from curriculum.results import SCHEMA_PATH

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
UNTESTED = '''

def untested(values: list[int]) -> int:
    """Code no graded test runs: it drags the module's coverage down."""
    total = 0
    for value in values:
        if value > 0:
            total += value
        else:
            total -= value
    return total
'''


def run(capsys: pytest.CaptureFixture[str], course: Path, *args: str) -> tuple[int, str]:
    code = cli.main(["--course", str(course), *args])
    return code, capsys.readouterr().out


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "console", cli.Console(width=250, highlight=False))


def test_a_module_below_its_coverage_minimum(course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    arith = course / "c01_toy/src/c01_toy/arith.py"
    arith.write_text(arith.read_text() + UNTESTED)
    out = course / "build" / "grade"
    results = grade_submission(discover_modules(course), course, out)
    jsonschema.validate(results, SCHEMA)
    coverage = results["coverage"]["c01"]
    assert coverage["met"] is False and coverage["minimum"] == 80.0 and coverage["percent"] < 80.0
    # A shortfall costs no points: it is listed, and fails --strict (CI and the author check).
    assert results["score"] == 20
    assert f"c01: coverage {coverage['percent']}% < 80%" in results["shortfalls"]
    assert f"{coverage['percent']}% (min 80%)" in (out / "report.md").read_text()
    assert cli.main(["--course", str(course), "grade", "--out", str(tmp_path / "strict"), "--strict"]) == 1
    capsys.readouterr()

    # `curriculum check` puts the module's coverage beside its minimum, and the last full grade's verdict.
    code, text = run(capsys, course, "check", "c01.3")
    assert code == 0
    line = next(x for x in text.splitlines() if x.startswith("coverage of c01: "))
    assert "% by these tests; the module needs 80% from all its tests" in line
    assert f"(last full grade: {coverage['percent']}%, MISSED)" in line


def test_check_without_a_full_grade_says_how_to_measure(course: Path, capsys: pytest.CaptureFixture[str]):
    code, text = run(capsys, course, "check", "c01.1")
    assert code == 0
    assert "the module needs 80% from all its tests (run `curriculum grade --module c01` to measure it)" in text


def test_next_and_hint_show_the_files_a_task_edits(course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    toml = course / "c01_toy/tasks.toml"
    toml.write_text(toml.read_text().replace('hint = "A loop."', 'hint = "A loop."\nforbid = ["itertools"]'))
    modules = discover_modules(course)
    workspace = tmp_path / "ws"
    build_workspace(course, workspace, modules)
    for root in (course, workspace):  # markers in the reference, the generation record in the workspace
        code, text = run(capsys, root, "hint", "c01.2")
        assert code == 0 and "Files: c01_toy/src/c01_toy/arith.py" in text and "May not use: itertools" in text
    code, text = run(capsys, workspace, "next")
    assert "c01.1 Add two numbers" in text and "Files: c01_toy/src/c01_toy/arith.py" in text

    # A learner who solved c01.1 removed its stub; the workspace still knows the task's files.
    arith = workspace / "c01_toy/src/c01_toy/arith.py"
    arith.write_text(arith.read_text().replace('raise NotImplementedError("c01.1: add the two numbers")',
                                               "return a + b"))
    ws_module = find_module(discover_modules(workspace), "c01")
    assert task_files(ws_module)["c01.1"] == [Path("c01_toy/arith.py")]
