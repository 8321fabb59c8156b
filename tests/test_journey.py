"""The journey check walks the toy course task by task and names what a learner would trip over."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from curriculum.journey import apply_tasks, run_journey, run_journeys, sheet_files, stubs_reached
from curriculum.manifest import discover_modules
from curriculum.markers import strip_solutions

ARITH = "c01_toy/src/c01_toy/arith.py"
TABLE = """# c01 toy

| id | title | points | files |
|---|---|---|---|
| c01.1 | Add two numbers, with `+` | 10 | `arith.py` |
| c01.2 | Count to n | 5 | `arith.py` |
| c01.3 | A checksum | 5 | `checksum.py` (`arith.py` is given) |
"""


def test_apply_tasks_goes_from_the_workspace_to_the_reference(course: Path):
    source = (course / ARITH).read_text()
    assert apply_tasks(source, set()) == strip_solutions(source)
    assert apply_tasks(source, {"c01.1", "c01.2", "c01.3"}) == source
    middle = apply_tasks(source, {"c01.2"})
    assert 'raise NotImplementedError("c01.1: add the two numbers")' in middle
    assert "while count < n:" in middle
    assert 'raise NotImplementedError("c01.3: implement this")' in middle


def test_stubs_reached_reads_the_failure_line_first():
    output = ('    def add(a, b):\n>       raise NotImplementedError("c01.1: add")\n'
              "E       NotImplementedError: c01.3: sum the bytes\n")
    assert stubs_reached(output) == {"c01.3"}
    assert stubs_reached('raise NotImplementedError("c01.2: count")') == {"c01.2"}
    assert stubs_reached("E   AssertionError: 3 != 4") == set()


def test_sheet_files_reads_the_task_table(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text(TABLE)
    assert sheet_files(readme) == {"c01.1": {"arith.py"}, "c01.2": {"arith.py"}, "c01.3": {"checksum.py"}}
    assert sheet_files(tmp_path / "missing.md") == {}


def test_the_toy_course_walks_clean(course: Path, tmp_path: Path):
    console = Console(record=True, width=200)
    assert run_journeys(course, discover_modules(course), console), console.export_text()
    record = json.loads((course / "build/author-check/journey/c01/journey.json").read_text())
    assert record["ok"] and [s["task"] for s in record["steps"]] == ["(workspace)", "c01.1", "c01.2", "c01.3"]
    # Each step ran only the task just solved: no other test had reached its stub.
    assert [s["ran"] for s in record["steps"][1:]] == [["c01.1"], ["c01.2"], ["c01.3"]]
    assert record["files"] == {"c01.1": ["arith.py"], "c01.2": ["arith.py"], "c01.3": ["arith.py"]}
    # The last step leaves the reference itself.
    workspace = course / "build/author-check/journey/c01/workspace"
    assert (workspace / ARITH).read_text() == (course / ARITH).read_text()


def test_planted_defects_are_named(course: Path, tmp_path: Path):
    tests = course / "c01_toy/tests"
    # c01.1's test needs c01.3's code: the task's listed files are not all it needs.
    (tests / "test_c01_1_uses_later.py").write_text(
        'import pytest\n\nfrom c01_toy import add, checksum\n\npytestmark = pytest.mark.task("c01.1")\n\n\n'
        "def test_add_of_checksums():\n    assert add(checksum(b'ab'), 1) == 196\n")
    # c01.3's test runs c01.2's code, and c01.3 does not require c01.2.
    (tests / "test_c01_3_counts.py").write_text(
        'import pytest\n\nfrom c01_toy import checksum, count_to\n\npytestmark = pytest.mark.task("c01.3")\n\n\n'
        "def test_checksum_of_a_count():\n    assert checksum(bytes([count_to(3)])) == 3\n")
    # A c01.2 test that only runs c01.1's code passes before c01.2 is solved.
    (tests / "test_c01_2_vacuous.py").write_text(
        'import pytest\n\nfrom c01_toy import add\n\npytestmark = pytest.mark.task("c01.2")\n\n\n'
        "def test_only_adds():\n    assert add(1, 2) == 3\n")
    (course / "c01_toy/README.md").write_text(TABLE)

    modules = discover_modules(course)
    journey = run_journey(course, modules, modules[0], tmp_path / "walk")
    assert not journey.ok
    by_step = {s.task: s.problems for s in journey.steps}
    assert by_step["(workspace)"] == []  # the author check sees nothing wrong with any of these
    assert by_step["c01.1"] == [
        "tests/test_c01_1_uses_later.py::test_add_of_checksums (c01.1) needs code of a later task: "
        "c01.3 (arith.py:21)",
        "tests/test_c01_2_vacuous.py::test_only_adds (c01.2) passes before c01.2 is solved (tasks up to c01.1 "
        "applied): it checks none of its own task's code",
    ]
    assert by_step["c01.2"] == [] and by_step["c01.3"] == []
    assert journey.needs == {"c01.2": ["c01.1"], "c01.1": ["c01.3"], "c01.3": ["c01.2"]}
    assert journey.problems == [
        "c01.3: the sheet's task table lists checksum.py but the task's regions are also in arith.py",
        "c01.3's tests run the code of c01.2, which its requires in tasks.toml does not name",
    ]
